"""``datagora dao``: collaborations between a data provider and value providers: offers and counter-offers in the
services explorer, DAOs with stakes, revenue paid in and withdrawn, encrypted channels, heartbeats and
terminations, ratings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.tree import Tree

from datagora.cli.app import DatagoraTyper, check_input_file, console, print_done, session
from datagora.cli.units import ether, parse_ether, when
from datagora.domain.errors import ValidationError

PANEL = "Collaborations"

app = DatagoraTyper()
dao_app = DatagoraTyper(
    help="Invest data with value providers in a DAO instead of selling it: offers, counter-offers, stakes, "
    "revenue split by stake, encrypted channels. Example: `datagora dao list`."
)
app.add_typer(dao_app, name="dao", rich_help_panel=PANEL)
channel_app = DatagoraTyper(
    help="Post to and read a DAO's encrypted channels. Example: `datagora dao channel read 1 1`."
)
dao_app.add_typer(channel_app, name="channel")

DaoId = Annotated[int, typer.Argument(help="The DAO's number (1, 2, ...).", min=1)]
OfferId = Annotated[int, typer.Argument(help="The offer's number (1, 2, ...).", min=1)]
Stake = Annotated[
    float, typer.Option(help="The value provider's (or newcomer's) share of the revenue, in percent (e.g. 30).")
]
TermsFile = Annotated[
    Path | None, typer.Option("--terms", help="A JSON-LD file of terms (DCAT and ODRL) instead of the texts below.")
]
Title = Annotated[str, typer.Option(help="A short title of the collaboration.")]
Data = Annotated[str, typer.Option(help="What the data is.")]
Service = Annotated[str, typer.Option(help="What the value provider adds.")]
Counterparty = Annotated[str | None, typer.Option(help="The other party's address (only when you posted the offer).")]


def _bps(percent: float) -> int:
    bps = round(percent * 100)
    if not 0 < bps < 10_000:
        raise ValidationError("the stake is a percentage between 0.01 and 99.99")
    return bps


def _terms(path: Path | None, role: Any, title: str, data: str, service: str, bps: int) -> dict[str, Any]:
    from datagora.services import collaboration

    if path is not None:
        try:
            doc = json.loads(check_input_file(path, "terms file").read_text())
        except ValueError as exc:
            raise ValidationError(f"{path} is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ValidationError(f"{path} must hold a JSON object")
        return doc
    return collaboration.build_terms(role=role, title=title, data=data, service=service, stake_bps=bps)


@dao_app.command()
def offer(
    stake: Stake,
    title: Title = "",
    data: Data = "",
    service: Service = "",
    terms: TermsFile = None,
    role: Annotated[str, typer.Option(help="Your role: dsp (you hold the data) or vp (you add a service).")] = "dsp",
    dao: Annotated[int, typer.Option(help="Join this existing DAO instead of forming a new one.", min=0)] = 0,
    timeout: Annotated[
        int, typer.Option(help="Seconds without a heartbeat before a member may be terminated (new DAO).", min=60)
    ] = 3_600,
    days: Annotated[int, typer.Option(help="Days the offer stays open.", min=1)] = 7,
) -> None:
    """Post an offer in the services explorer.

    Example: datagora dao offer --stake 30 --title "Diabetes analytics" --data "442 patients" --service "Forecasts"
    -a hospital"""
    from datagora.domain.collaboration import Role
    from datagora.services import collaboration

    if role.lower() not in ("dsp", "vp"):
        raise ValidationError("--role is dsp (data provider) or vp (value provider)")
    chosen = Role.DSP if role.lower() == "dsp" else Role.VP
    bps = _bps(stake)
    s = session()
    offer_id, tx = collaboration.post_offer(
        s.contracts(),
        s.participant().account,
        terms=_terms(terms, chosen, title, data, service, bps),
        role=chosen,
        stake_bps=bps,
        dao_id=dao,
        heartbeat_timeout=timeout,
        lifetime=days * 86_400,
    )
    print_done(f"posted offer #{offer_id} ({stake:g} % to the value provider)", tx)


@dao_app.command()
def counter(
    offer_id: OfferId,
    stake: Stake,
    title: Title = "",
    data: Data = "",
    service: Service = "",
    terms: TermsFile = None,
    counterparty: Counterparty = None,
) -> None:
    """Answer an offer (or the other side's last counter-offer) with your terms and stake.

    Example: datagora dao counter 1 --stake 40 --title "Analytics" --data "442 patients" --service "Forecasts"
    -a analytics"""
    from datagora.services import collaboration

    s = session()
    contracts = s.contracts()
    current = contracts.collaboration.offer(offer_id)
    bps = _bps(stake)
    doc = _terms(terms, current.poster_role, title or f"Counter-offer on offer #{offer_id}", data or "as offered",
                 service or "as offered", bps)  # fmt: skip
    tx = collaboration.counter(
        contracts, s.participant().account, offer_id, terms=doc, stake_bps=bps, counterparty=counterparty
    )
    print_done(f"countered offer #{offer_id} at {stake:g} %", tx)


@dao_app.command()
def accept(offer_id: OfferId, counterparty: Counterparty = None) -> None:
    """Accept the other side's last proposal: a DAO is formed (or the newcomer joins one).

    Example: datagora dao accept 1 -a analytics"""
    from datagora.services import collaboration

    s = session()
    dao_id, tx = collaboration.accept(s.contracts(), s.participant().account, offer_id, counterparty=counterparty)
    print_done(f"agreed on offer #{offer_id}: DAO #{dao_id}", tx)


@dao_app.command()
def join(offer_id: OfferId) -> None:
    """Join an existing DAO by accepting its offer for a newcomer.

    Example: datagora dao join 3 -a visualisation"""
    from datagora.services import collaboration

    s = session()
    contracts = s.contracts()
    if contracts.collaboration.offer(offer_id).dao_id == 0:
        raise ValidationError(f"offer #{offer_id} forms a new DAO: use `datagora dao accept {offer_id}`")
    dao_id, tx = collaboration.accept(contracts, s.participant().account, offer_id)
    print_done(f"joined DAO #{dao_id}", tx)


@dao_app.command("list")
def list_(open_only: Annotated[bool, typer.Option("--open", help="Only offers still open.")] = False) -> None:
    """Show the services explorer's offers and the DAOs.

    Example: datagora dao list --open"""
    from datagora.services import collaboration

    s = session()
    contracts = s.contracts()
    offers = Table("offer", "title", "poster", "for", "stake", "state", "rounds", title="Offers")
    for entry in collaboration.explorer(contracts, open_only=open_only):
        o = entry.offer
        offers.add_row(
            f"#{o.offer_id}", entry.title, o.poster, "new DAO" if o.dao_id == 0 else f"DAO #{o.dao_id}",
            f"{o.stake_bps / 100:g} %", o.state.name.lower(), str(sum(p.round for p in entry.rounds.values())),
        )  # fmt: skip
    console.print(offers)
    for view in collaboration.daos(contracts):
        _print_dao(view)


def _print_dao(view: Any) -> None:
    d = view.dao
    console.print(
        f"[bold]DAO #{d.dao_id}[/] ({d.state.name.lower()}): revenue {ether(d.total_revenue)}, "
        f"{d.active_members} members, channels {', '.join(map(str, d.channels)) or 'none'}",
        highlight=False,
    )
    table = Table("seat", "member", "stake", "channels", "may withdraw", "last heartbeat")
    for m in view.members:
        table.add_row(
            str(m.seat), m.account, f"{m.stake_bps / 100:.2f} %" if m.active else "terminated",
            ", ".join(map(str, m.channels(d.seats))) or "-", ether(view.claimable[m.account]), when(m.last_heartbeat),
        )  # fmt: skip
    console.print(table)
    tree = Tree("profit tree: revenue 100 %")
    _branch(tree, view.tree)
    console.print(tree)


def _branch(parent: Tree, node: Any) -> None:
    branch = parent.add(f"{node.label}: {node.share_bps / 100:.2f} %")
    for child in node.children:
        _branch(branch, child)


@dao_app.command()
def show(dao_id: DaoId) -> None:
    """Show a DAO: members, stakes, channels, what each may withdraw, the profit tree.

    Example: datagora dao show 1"""
    from datagora.services import collaboration

    _print_dao(collaboration.overview(session().contracts(), dao_id))


@dao_app.command()
def pay(dao_id: DaoId, amount: Annotated[str, typer.Argument(help="Ether to pay in, e.g. 0.5.")]) -> None:
    """Pay revenue into a DAO; it is split by stake.

    Example: datagora dao pay 1 0.5 -a customer"""
    from datagora.services import collaboration

    try:
        wei = parse_ether(amount)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    s = session()
    tx = collaboration.pay(s.contracts(), s.participant().account, dao_id, wei)
    print_done(f"paid {ether(wei)} to DAO #{dao_id}", tx)


@dao_app.command()
def withdraw(dao_id: DaoId) -> None:
    """Withdraw your share of a DAO's revenue.

    Example: datagora dao withdraw 1 -a hospital"""
    from datagora.services import collaboration

    s = session()
    wei, tx = collaboration.withdraw(s.contracts(), s.participant().account, dao_id)
    print_done(f"withdrew {ether(wei)}", tx)


@dao_app.command()
def heartbeat(dao_id: DaoId) -> None:
    """Report that your machine is alive (members who stop may be terminated).

    Example: datagora dao heartbeat 1 -a analytics"""
    s = session()
    tx = s.contracts().collaboration.heartbeat(s.participant().account, dao_id)
    print_done(f"reported alive in DAO #{dao_id}", tx)


@dao_app.command()
def terminate(dao_id: DaoId, member: Annotated[str, typer.Argument(help="The member's address.")]) -> None:
    """Terminate a member whose machine stopped reporting for longer than the DAO's timeout; its stake is
    shared among the others in proportion to their stakes.

    Example: datagora dao terminate 1 0xAbc... -a visualisation"""
    from datagora.services import collaboration

    s = session()
    tx = s.contracts().collaboration.terminate(s.participant().account, dao_id, collaboration.checksum(member))
    print_done(f"terminated {member} in DAO #{dao_id}", tx)


@dao_app.command()
def rate(
    dao_id: DaoId,
    member: Annotated[str, typer.Argument(help="The member's address.")],
    score: Annotated[int, typer.Argument(help="1 (worst) to 5 (best).", min=1, max=5)],
) -> None:
    """Rate another member once the DAO is closed (or the member was terminated).

    Example: datagora dao rate 1 0xAbc... 5 -a hospital"""
    from datagora.services import collaboration

    s = session()
    tx = s.contracts().collaboration.rate(s.participant().account, dao_id, collaboration.checksum(member), score)
    print_done(f"rated {member} {score}/5", tx)


def _store() -> Any:
    from datagora.services import collaboration

    return collaboration.ChannelStore(session().home.root / "channels")


@channel_app.command("post")
def channel_post(
    dao_id: DaoId,
    channel: Annotated[int, typer.Argument(help="The channel's number (1 = the first value provider's).", min=1)],
    message: Annotated[str | None, typer.Option(help="The text to post.")] = None,
    file: Annotated[Path | None, typer.Option(help="A file to post instead of a text.")] = None,
) -> None:
    """Post text or a file to a channel, encrypted to its current members.

    Example: datagora dao channel post 1 1 --message "weekly summary" -a hospital"""
    from datagora.services import collaboration

    if (message is None) == (file is None):
        raise ValidationError("give either --message or --file")
    content = message.encode() if message is not None else check_input_file(Path(str(file)), "file").read_bytes()
    s = session()
    me = s.participant().account
    post_id, txs = collaboration.post_to_channel(s.contracts(), _store(), me, dao_id, channel, content)
    print_done(f"posted #{post_id} to channel {channel} of DAO #{dao_id} (encrypted)", txs[-1])


@channel_app.command("read")
def channel_read(
    dao_id: DaoId,
    channel: Annotated[int, typer.Argument(help="The channel's number.", min=1)],
) -> None:
    """Read a channel: what you may decrypt, and for the rest only who posted when.

    Example: datagora dao channel read 1 1 -a analytics"""
    from datagora.services import collaboration

    s = session()
    posts = collaboration.read_channel(s.contracts(), _store(), s.participant().private_key, dao_id, channel)
    if not posts:
        console.print(f"channel {channel} of DAO #{dao_id} has no posts yet")
    for p in posts:
        if p.content is None:
            console.print(f"#{p.post_id} by {p.author} (key epoch {p.epoch}): [dim]sealed: {p.sealed_reason}[/]")
        else:
            console.print(f"#{p.post_id} by {p.author}: {p.content.decode(errors='replace')}", highlight=False)
