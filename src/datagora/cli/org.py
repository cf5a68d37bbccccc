"""Organisations and customers: register, approve members, audit or suspend (supervisor), show."""

from __future__ import annotations

from typing import Annotated

import typer

from datagora.cli.app import DatagoraTyper, console, print_done, session
from datagora.domain.models import OrgStatus

PANEL = "Accounts and organisations"

app = DatagoraTyper()
org_app = DatagoraTyper(help="Organisations: register, approve members, audit or suspend, show.")
customer_app = DatagoraTyper(help="Individual customers (the people data is about).")
app.add_typer(org_app, name="org", rich_help_panel=PANEL)
app.add_typer(customer_app, name="customer", rich_help_panel=PANEL)


@org_app.command("register")
def org_register(name: Annotated[str, typer.Argument(help="Name of the organisation (1 to 64 bytes).")]) -> None:
    """Register the account in organisation NAME: a new organisation starts "to audit"; joining an existing one
    is a request a member (or the supervisor) approves.

    Example: datagora org register "Acme Data" -a seller"""
    from datagora.services import registry

    s = session()
    contracts = s.contracts()
    org, tx = registry.register_organisation(contracts, s.participant(), name)
    joined = any(e.name == "MemberJoined" for e in tx.events)
    how = "joined" if joined else "asked to join (a member must approve with `datagora org approve`)"
    print_done(f"{s.account_name()} {how} organisation #{org.id} {org.name!r} ({org.status.name})", tx)


@org_app.command("approve")
def org_approve(address: Annotated[str, typer.Argument(help="Address that asked to join the organisation.")]) -> None:
    """Approve a request to join your organisation (its members, or the supervisor).

    Example: datagora org approve 0x1234…abcd -a seller"""
    from datagora.crypto.keys import checksum_address
    from datagora.services import registry

    s = session()
    who = checksum_address(address)
    contracts = s.contracts()
    org, tx = registry.approve_member(contracts, s.participant().account, who)
    print_done(f"{who} is now a member of #{org.id} {org.name!r}", tx)


@org_app.command("reject")
def org_reject(address: Annotated[str, typer.Argument(help="Address that asked to join the organisation.")]) -> None:
    """Refuse a request to join your organisation (its members, or the supervisor); the address may then
    register elsewhere.

    Example: datagora org reject 0x1234…abcd -a seller"""
    from datagora.crypto.keys import checksum_address
    from datagora.services import registry

    s = session()
    who = checksum_address(address)
    contracts = s.contracts()
    tx = registry.reject_member(contracts, s.participant().account, who)
    print_done(f"refused {who}'s request to join", tx)


@org_app.command("withdraw")
def org_withdraw() -> None:
    """Withdraw your pending request to join an organisation (say someone registered your organisation's name
    first): you can then register under another name.

    Example: datagora org withdraw -a founder && datagora org register "Contoso Ltd" -a founder"""
    from datagora.services import registry

    s = session()
    tx = registry.withdraw_request(s.contracts(), s.participant())
    print_done(f"{s.account_name()} withdrew its request to join and may register afresh", tx)


@org_app.command("status", rich_help_panel="Supervisor")
def org_status(
    name: Annotated[str, typer.Argument(help="Organisation name or id.")],
    status: Annotated[str, typer.Argument(help="to-audit, audited or suspended")],
) -> None:
    """Set an organisation's status: audited members may trade, suspended ones may not (supervisor only).

    Example: datagora org status "Acme Data" audited -a supervisor"""
    from datagora.services import registry

    wanted = OrgStatus.parse(status)
    s = session()
    contracts = s.contracts()
    org, tx = registry.set_status(contracts, s.participant().account, name, wanted)
    print_done(f"organisation #{org.id} {org.name!r} is now {org.status.name}", tx)


@org_app.command("show", account=False)
def org_show(name: Annotated[str, typer.Argument(help="Organisation name or id.")]) -> None:
    """Show an organisation's status and number of members.

    Example: datagora org show "Acme Data\""""
    from datagora.services.registry import resolve_organisation

    contracts = session().contracts()
    org = contracts.registry.organisation(resolve_organisation(contracts, name))
    console.print(f"#{org.id} {org.name!r} status {org.status.name}, {org.members} member(s)", highlight=False)


@customer_app.command("register")
def customer_register() -> None:
    """Register the account as an individual customer (no audit needed).

    Example: datagora customer register -a alice"""
    from datagora.services import registry

    s = session()
    tx = registry.register_customer(s.contracts(), s.participant())
    print_done(f"{s.account_name()} registered as a customer", tx)
