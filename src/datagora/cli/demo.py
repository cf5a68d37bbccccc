"""``datagora demo`` (one data trade end to end) and ``datagora demo market`` (every market scenario): each
renders the records of a :mod:`datagora.scenarios` run, a line per step, and the gas table with ``--gas``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from datagora.cli.app import DatagoraTyper
from datagora.domain.errors import DatagoraError

if TYPE_CHECKING:
    from datagora.scenarios.records import ScenarioResult, Step

app = DatagoraTyper()
demo_app = DatagoraTyper(
    help="Run a whole data trade on real data, a line per step, on a fresh set of contracts; `datagora demo "
    "market` plays every market scenario instead. Example: `datagora demo --gas`.",
    no_args_is_help=False,
)
app.add_typer(
    demo_app,
    name="demo",
    rich_help_panel="Start here",
    short_help="Run a whole data trade on real data, a line per step, on a fresh set of contracts.",
)
console = Console(highlight=False)  # step lines: no colouring of numbers and addresses

RpcUrl = Annotated[
    str | None,
    typer.Option(
        "--rpc-url", envvar="DATAGORA_RPC_URL", help="JSON-RPC URL of a development chain (default: built in)."
    ),
]
Workdir = Annotated[
    Path | None, typer.Option(help="Keep the participants' stores here (default: a temporary directory, removed).")
]
Gas = Annotated[bool, typer.Option("--gas", help="Also print the gas each step used (from transaction receipts).")]

# What each outcome means, in plain words.
OUTCOMES = {
    "CONFIRMED": "the buyer confirmed, the seller is paid",
    "FOR_BUYER": "the platform ruled for the buyer: refunded",
    "FOR_SELLER": "the platform ruled for the seller: paid",
    "REDELIVERED": "the platform passed on the real data, the seller is paid",
    "NOT_DELIVERED": "the buyer was refunded",
    "RELEASED": "the seller was paid without the buyer's confirmation",
    "REFUSED": "every attempt was refused",
    "ESCROW EMPTY": "the Market holds nothing",
    "COMPLETED": "the requester confirmed the result, the owner is paid",
    "EMPTY": "every member withdrew its share: the Collaboration contract holds nothing",
}


def _line(actor: str, action: str) -> None:
    console.print(f"[bold cyan]{escape(actor):>10}[/]  {escape(action)}")


def _print_step(step: Step) -> None:
    _line(step.actor, step.action)


@demo_app.callback(common=False, invoke_without_command=True)
def trade(ctx: typer.Context, rpc_url: RpcUrl = None, workdir: Workdir = None, gas: Gas = False) -> None:
    """Run one data trade on real data, a line per step: four participants join, the seller publishes a table
    and a photo, the buyer pays, receives the table encrypted to its key, checks it and confirms, everyone
    withdraws. Example: `datagora demo --gas`. `datagora demo market` plays every market scenario instead."""
    if ctx.invoked_subcommand is not None:
        return
    from datagora.chain.client import connect
    from datagora.scenarios import trade as scenario
    from datagora.scenarios.records import amount

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora demo[/]: a data trade on the {chain.kind} chain (chain id {chain.chain_id})")
    with tempfile.TemporaryDirectory(prefix="datagora-demo-") as tmp:
        result = scenario.run(chain, workdir or Path(tmp), on_step=_print_step)
        failed = result.trade.failed_checks()
        if gas:
            table = Table(title="Gas per operation", caption="from transaction receipts")
            table.add_column("operation")
            table.add_column("calls", justify="right")
            table.add_column("gas per call", justify="right")
            for op, used in result.gas_by_operation().items():
                table.add_row(
                    op, str(len(used)), f"{used[0]:,}" if len(set(used)) == 1 else f"{min(used):,}–{max(used):,}"
                )
            console.print(table)
        if failed or not result.ok:
            raise DatagoraError("the trade did not end as expected: " + "; ".join(failed or [result.trade.outcome]))
        price = scenario.PRICES["table"]
        console.print(
            f"[bold green]Trade completed[/]: dataset #{result.token_ids['table']} sold for {amount(price)} and now "
            f"owned by the buyer; {len(result.trail)} events on chain record every step."
        )


@demo_app.command("market", common=False)
def market(rpc_url: RpcUrl = None, workdir: Workdir = None, gas: Gas = False) -> None:
    """Play every market scenario on real data, a line per step: sales through the platform, reselling, paying
    per query, negotiation, an auction in a token, and what happens when someone cheats or walks away. Exit code
    1 when a scenario ends otherwise than expected or the Market is not empty at the end. The chain must let
    time be moved (the built-in chain, Anvil). Example: `datagora demo market --gas`."""
    from datagora.chain.client import connect
    from datagora.scenarios import market as scenarios

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora market demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    started: list[ScenarioResult] = []

    def on_scenario(scenario: ScenarioResult) -> None:
        if started:
            _verdict(started[-1])
        number = f"{len(started)}. " if started else ""
        started.append(scenario)
        console.print(f"\n[bold]{number}{escape(scenario.title)}[/]")

    with tempfile.TemporaryDirectory(prefix="datagora-market-") as tmp:
        report = scenarios.run(chain, workdir or Path(tmp), on_step=_print_step, on_scenario=on_scenario)
    if report.scenarios:
        _verdict(report.scenarios[-1])
    if gas:
        console.print(_gas_table([report.setup, *report.scenarios]))
    failed = [s.title for s in report.scenarios if not s.ok]
    if failed or not report.escrow_empty:
        raise DatagoraError(
            "the market demo did not end as expected: " + (", ".join(failed) if failed else "the Market is not empty")
        )
    console.print(
        f"\n[bold green]All {len(report.scenarios)} scenarios ended as expected[/]; the Market holds nothing. "
        f"({report.seconds:.0f} s)"
    )


@demo_app.command("points", common=False)
def points(rpc_url: RpcUrl = None, tls: Annotated[bool, typer.Option(help="TLS between the parties.")] = True) -> None:
    """Play the loyalty-points case study, a line per step: Mallory earns 2600 points at a brand's store and holds
    3200 on the platform; brand, platform and MPC platform compute her tier without either side revealing its
    points, all three sign it, it goes on chain, and she spends points at checkout. Example: `datagora demo points`."""
    from datagora.chain.client import connect
    from datagora.scenarios import points as scenario

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora points demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    demo = scenario.run(chain, tls=tls, on_step=_print_step)
    failed = [c.description for c in demo.scenario.checks if not c.passed]
    if failed or not demo.ok:
        raise DatagoraError("the points demo did not end as expected: " + "; ".join(failed or [demo.scenario.outcome]))
    console.print(
        f"[bold green]Tier {demo.expected.tier} on chain[/], the same as computing it in the clear from "
        f"{scenario.BRAND_POINTS} + {scenario.PLATFORM_POINTS} points."
    )


@demo_app.command("compute", common=False)
def compute(
    rpc_url: RpcUrl = None,
    workdir: Workdir = None,
    with_federated: Annotated[
        bool,
        typer.Option(
            "--federated/--no-federated",
            help="End with the federated run across three hospitals (a minute or more: Flower's processes).",
        ),
    ] = True,
) -> None:
    """Run a model on someone else's data, a line per step: the buyer pays for a logistic regression on the
    seller's breast tumour table, the seller's node checks it against its policy, trains on its own copy and sends
    back only the coefficients and the accuracy on rows the buyer never sees; a second job asking for one value per
    row is refused automatically and refunded; then a model trained across three hospitals without their rows
    leaving them (`datagora demo federated` alone). Example: `datagora demo compute --no-federated`."""
    from datagora.chain.client import connect
    from datagora.scenarios import compute as scenario

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora compute-to-data demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    with tempfile.TemporaryDirectory(prefix="datagora-compute-") as tmp:
        demo = scenario.run(chain, workdir or Path(tmp), on_step=_print_step)
    _verdict(demo.scenario)
    if not demo.ok:
        raise DatagoraError("the compute demo did not end as expected: " + "; ".join(demo.scenario.failed_checks()))
    if with_federated:
        console.print()
        federated(rpc_url=rpc_url, workdir=None)


@demo_app.command("federated", common=False)
def federated(rpc_url: RpcUrl = None, workdir: Workdir = None) -> None:
    """Train a diagnosis model across three hospitals without their patients' rows leaving them, a line per step:
    each hospital accepts the job on chain, a small practice refuses it and is kept out, Flower runs the rounds
    with one process per owner and every round's model hash is recorded; then the accuracy table, federated
    against training on the pooled rows. Example: `datagora demo federated`."""
    from datagora.chain.client import connect
    from datagora.scenarios import federated as scenario

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora federated learning demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    with tempfile.TemporaryDirectory(prefix="datagora-federated-") as tmp:
        demo = scenario.run(
            chain, workdir or Path(tmp), on_step=_print_step, on_progress=lambda line: _line("flower", line)
        )
    table = Table(title="Accuracy on the lab's own test rows")
    table.add_column("training")
    table.add_column("accuracy", justify="right")
    for row in demo.table:
        table.add_row(row.training, f"{row.accuracy:.1%}")
    console.print(table)
    failed = demo.scenario.failed_checks()
    if failed or not demo.ok:
        raise DatagoraError("the federated demo did not end as expected: " + "; ".join(failed))
    console.print(
        f"[bold green]Federated model {demo.federated_accuracy:.1%}[/] against {demo.centralised_accuracy:.1%} "
        f"trained on the pooled rows; {len(demo.run.rounds)} round hashes on chain."
    )


@demo_app.command("dao", common=False)
def dao(
    rpc_url: RpcUrl = None,
    workdir: Workdir = None,
    gas: Gas = False,
    with_workload: Annotated[
        bool,
        typer.Option(
            "--workload/--no-workload",
            help="Start the collaboration's workload with Ansible on this machine (some seconds more).",
        ),
    ] = True,
) -> None:
    """Play a collaboration, a line per step: a hospital invests its diabetes table with two value providers,
    they negotiate stakes, form a DAO with nested encrypted channels, revenue is paid in and split by stake, one
    provider stops reporting and is terminated, everyone withdraws. Example: `datagora demo dao`."""
    from datagora.chain.client import connect
    from datagora.scenarios import collaboration as scenario

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora collaboration demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    with tempfile.TemporaryDirectory(prefix="datagora-dao-") as tmp:
        from datagora.scenarios.infrastructure import ansible_workload_hook

        hook = ansible_workload_hook if with_workload else None
        demo = scenario.run(chain, workdir or Path(tmp), on_step=_print_step, on_infrastructure=hook)
    _verdict(demo.scenario)
    if gas:
        console.print(_gas_table([demo.scenario]))
    if not demo.ok:
        failed = "; ".join(demo.scenario.failed_checks())
        raise DatagoraError(f"the collaboration demo did not end as expected: {failed}")
    console.print("[bold green]The DAO split every wei by stake and the contract ends empty.[/]")


@demo_app.command("shop", common=False)
def shop(rpc_url: RpcUrl = None, workdir: Workdir = None, gas: Gas = False) -> None:
    """Play the shopping-cart case study's checkout, a line per step: a coffee shop sells the shipped catalogue,
    customers (names generated with Faker, kept off-chain) pay their carts in ether with a deposit on each side,
    the shop delivers and they confirm; an order never shipped is refunded; a cart paid from a second tab and a
    customer short of ether are refused before anything is sent. Needs a chain whose time can be moved (the
    built-in chain, Anvil). Example: `datagora demo shop`."""
    from datagora.chain.client import connect
    from datagora.scenarios import shop as scenario

    chain = connect(rpc_url)
    console.print(f"[bold]Datagora shop demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    with tempfile.TemporaryDirectory(prefix="datagora-shop-") as tmp:
        demo = scenario.run(chain, workdir or Path(tmp), on_step=lambda s: _line(s.actor, s.action))
    mark = "[green]✓[/]" if demo.ok else "[bold red]✗[/]"
    console.print(f"{'':>10}  {mark} {escape(demo.scenario.outcome)} (the Shop contract holds nothing)")

    def eth(wei: int) -> str:
        return f"{wei / 10**18:,.6f}"

    table = Table(title="Balances in ETH (after gas)")
    for col in ("who", "before", "after", "change"):
        table.add_column(col, justify="left" if col == "who" else "right")
    for who, (before, after) in demo.balances.items():
        table.add_row(who, eth(before), eth(after), ("+" if after >= before else "-") + eth(abs(after - before)))
    console.print(table)
    if gas:
        console.print(_gas_table([demo.scenario]))
    if not demo.ok:
        raise DatagoraError("the shop demo did not end as expected: " + "; ".join(demo.scenario.failed_checks()))


@demo_app.command("consent", common=False)
def consent(rpc_url: RpcUrl = None, workdir: Workdir = None) -> None:
    """Play the shop's customer data story, a line per step: customers' profiles stored encrypted with their hashes
    in a stream, a consent per purpose, a partner's access paid with reward tokens, another purpose refused, the
    consent withdrawn and the next access refused, a category erased. Example: `datagora demo consent`."""
    from datagora.chain.client import connect
    from datagora.scenarios import consent as scenario

    chain = connect(rpc_url)
    if chain.kind == "embedded":
        chain.fixed_gas = 8_000_000  # no gas estimation on the built-in chain: each estimate replays the call
    console.print(f"[bold]Datagora consent demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    with tempfile.TemporaryDirectory(prefix="datagora-consent-") as tmp:
        demo = scenario.run(chain, workdir or Path(tmp), on_step=_print_step)
    failed = [c.description for c in demo.scenario.checks if not c.passed]
    if failed:
        raise DatagoraError("the consent demo did not end as expected: " + "; ".join(failed))
    for check in demo.scenario.checks:
        console.print(f"{'':>10}  [green]✓[/] {escape(check.description)}")


def _verdict(scenario: ScenarioResult) -> None:
    """The scenario's outcome in a line (with its meaning), then any check that failed."""
    if not scenario.expected:
        return
    words = OUTCOMES.get(scenario.outcome.split(", ")[-1], "")
    mark = "[green]✓[/]" if scenario.ok else "[bold red]✗[/]"
    console.print(f"{'':>10}  {mark} {escape(scenario.outcome)}{f' ({words})' if words else ''}")
    for check in scenario.failed_checks():
        console.print(f"{'':>10}  [bold red]✗[/] {escape(check)}")


def _gas_table(results: list[ScenarioResult]) -> Table:
    table = Table(title="Gas per step", caption="from transaction receipts")
    for col in ("scenario", "step", "actor"):
        table.add_column(col)
    table.add_column("txs", justify="right")
    table.add_column("gas", justify="right")
    for scenario in results:
        steps = [s for s in scenario.steps if s.txs]
        for i, s in enumerate(steps):
            table.add_row(scenario.title if i == 0 else "", s.name, s.actor, str(len(s.txs)), f"{s.gas:,}")
        if steps:
            table.add_section()
    return table
