"""Running a node: deploy the contracts, see where the node stands (``datagora status``), serve the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, console, plain_message, print_done, session
from datagora.cli.fingerprint import fingerprint_command
from datagora.cli.serve import serve
from datagora.domain.errors import ChainError, DatagoraError

PANEL = "Running a node"

app = DatagoraTyper()
app.command("serve", common=False, rich_help_panel=PANEL)(serve)
app.command("fingerprint", common=False, rich_help_panel=PANEL)(fingerprint_command)


@app.command(account=False, rich_help_panel=PANEL)
def deploy(
    supervisor: Annotated[
        str | None, typer.Option(help="Keystore name of the supervisor (deploys the Registry).")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Keystore name of the platform (deploys the others).")] = None,
    add: Annotated[
        str | None, typer.Option("--add", help="Add one contract to an existing deployment, e.g. --add Reputation.")
    ] = None,
    fee_bps: Annotated[int, typer.Option(help="Platform fee in basis points (1/100 %).")] = 250,
) -> None:
    """Deploy the contracts and record their addresses in <home>/deployments/<chain id>.json.

    Example: datagora deploy --supervisor supervisor --platform platform"""
    from datagora.services import deployment

    s = session()
    s.require_rpc_url()
    if add is None and (supervisor is None or platform is None):
        raise DatagoraError("pass --supervisor and --platform (the keystore names that deploy the contracts)")
    s.signs = True
    for name in (supervisor, platform):
        s.unlock_in_background(name)
    chain = s.chain()
    for name in (supervisor, platform):
        if name is not None:
            s.address(name)  # both keystores exist before either is unlocked
    signers = {
        role: s.participant(name).account
        for role, name in (("supervisor", supervisor), ("platform", platform))
        if name is not None
    }
    if add is None:
        contracts = deployment.deploy(chain, signers["supervisor"], signers["platform"], fee_bps=fee_bps)
    else:
        contracts = deployment.add(chain, s.home.deployments, add, signers, fee_bps=fee_bps)
    path = contracts.deployment.save(s.home.deployments)
    for name, address in contracts.addresses.items():
        print_done(f"{name} {address}")
    console.print(f"recorded in {path}", highlight=False)


@app.command(rich_help_panel="Start here", signs=False)
def status() -> None:
    """Where this node stands: the home folder and remembered options, the chain (id, latest block), the
    deployment, and the account with its organisation. No password needed.

    Example: datagora status -a seller"""
    from datagora.services import accounts

    s = session()
    lines = [
        ("home", str(s.home.root)),
        ("profile", f"{s.home.profile}" + ("" if s.home.profile.exists() else " (none)")),
    ]
    keystores = sorted(p.stem for p in s.home.keystores.glob("*.json"))
    lines.append(("keystores", ", ".join(keystores) or "none (create one: datagora account new NAME)"))
    address = s.address() if s.account else ""
    if not s.rpc_url:
        lines.append(("chain", "none chosen: pass --rpc-url, set DATAGORA_RPC_URL or `datagora profile set --rpc-url`"))
        if address:
            lines.append(("account", f"{s.account} {address}"))
        _print(lines)
        return
    chain = s.chain()
    problem = ""
    contracts = None
    try:
        contracts = s.contracts(chain)
    except ChainError:
        raise
    except DatagoraError as exc:
        problem = plain_message(exc)
    st = accounts.status(contracts, chain, address, problem)
    lines.append(
        ("chain", f"{s.rpc_url}, chain id {st.chain_id}, block {st.block_number:,} at {units.when(st.block_time)}")
    )
    if contracts is None:
        lines.append(("deployment", problem))
    else:
        lines.append(("deployment", f"{s.home.deployment(st.chain_id)}"))
        for name, where in st.contracts.items():
            lines.append((f"  {name}", where))
    if address:
        roles = [r for r, on in (("supervisor", st.is_supervisor), ("platform", st.is_platform)) if on]
        lines.append(("account", f"{s.account} {address}" + (f" ({', '.join(roles)})" if roles else "")))
        lines.append(("  balance", units.ether(st.ether, exact=True, places=4) + "  (more: datagora balance)"))
        if contracts is not None:
            if st.organisation_id:
                pending = " (request to join not yet approved)" if st.kind.name == "PENDING" else ""
                lines.append(
                    (
                        "  organisation",
                        f"#{st.organisation_id} {st.organisation!r}, {st.organisation_status.name}{pending}",
                    )
                )
            elif st.kind.name == "CUSTOMER":
                lines.append(("  registered", "as a customer"))
            else:
                lines.append(("  organisation", "none (join or create one: datagora org register NAME)"))
    _print(lines)


def _print(lines: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        console.print(f"{key:<{width}}  {value}", highlight=False, soft_wrap=True)
