"""``datagora points``: a member's loyalty points and tier at a brand, and for operators the tier computation by
secure multi-party computation (brand, platform and MPC platform), points issued on purchases and spent at
checkout."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, console, print_done, session
from datagora.cli.audit import IndexUrl, _event_index
from datagora.domain.errors import ValidationError

PANEL = "Loyalty points"

app = DatagoraTyper()
points_app = DatagoraTyper(
    help="Loyalty points per brand and membership tiers computed without either side revealing its points. "
    "Example: `datagora points balance 1`."
)
app.add_typer(points_app, name="points", rich_help_panel=PANEL)

Brand = Annotated[int, typer.Argument(help="The brand's number (1, 2, ...).", min=1)]


def _reference(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@points_app.command()
def balance(
    brand: Brand,
    member: Annotated[str | None, typer.Option(help="The member's address (default: the acting account's).")] = None,
) -> None:
    """Show a member's points and membership tier at a brand.

    Example: datagora points balance 1 --member 0xAbc..."""
    from datagora.services import points

    s = session()
    who = member or s.address()
    standing = points.standing(s.contracts(), brand, who)
    console.print(
        f"{who} at brand #{brand}: {standing.points:,} points ({standing.symbol}), tier {standing.tier} "
        f"({standing.tier_name})"
        + (f", last score {standing.score:,}" if standing.updates else ", no tier computed yet"),
        highlight=False,
    )


@points_app.command()
def issue(
    brand: Brand,
    member: Annotated[str, typer.Argument(help="The member's address.")],
    amount: Annotated[int, typer.Argument(help="Points to issue.", min=1)],
    purchase: Annotated[str, typer.Option(help="The purchase's reference (only its hash goes on chain).")],
) -> None:
    """Issue points of a brand to a member for a purchase (an issuer of the brand).

    Example: datagora points issue 1 0xAbc... 2600 --purchase "order 1041" -a brand"""
    from datagora.services import points

    s = session()
    tx = points.issue(s.contracts(), s.participant().account, brand, member, amount, _reference(purchase))
    print_done(f"issued {amount:,} points of brand #{brand} to {member}", tx)


@points_app.command()
def spend(
    brand: Brand,
    amount: Annotated[int, typer.Argument(help="Points to spend.", min=1)],
    order: Annotated[str, typer.Option(help="The order's reference (only its hash goes on chain).")],
) -> None:
    """Spend your points of a brand on an order.

    Example: datagora points spend 1 600 --order "cart 17" -a mallory"""
    from datagora.services import points

    s = session()
    me = s.participant().account
    tx = points.spend(s.contracts(), me, brand, me.address, amount, _reference(order))
    print_done(f"spent {amount:,} points of brand #{brand}", tx)


@points_app.command()
def send(
    brand: Brand,
    to: Annotated[str, typer.Argument(help="The account receiving the points (an address).")],
    amount: Annotated[int, typer.Argument(help="Points to give.", min=1)],
) -> None:
    """Give some of your points of a brand to another account (a friend, another wallet of yours).

    Example: datagora points send 1 0xAbc... 250 -a mallory"""
    from datagora.services import points

    s = session()
    tx = points.transfer(s.contracts(), s.participant().account, brand, to, amount)
    print_done(f"gave {amount:,} points of brand #{brand} to {to}", tx)


_MOVES = {"given": "gave"}


@points_app.command()
def history(
    brand: Annotated[int | None, typer.Option(help="Only this brand's points (its number).", min=1)] = None,
    member: Annotated[
        str | None, typer.Option(help="Whose points (an address; default: the acting account's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (times in Unix seconds).")] = False,
    index_url: IndexUrl = None,
) -> None:
    """Every time a member's points were earned, spent, given or received, oldest first, from this node's event
    index (brought up to date first).

    Example: datagora points history --brand 1 -a mallory"""
    from datagora.services import points

    s = session()
    c = s.contracts()
    who = (member or s.address()).lower()
    indexer, where = _event_index(c, None, index_url)
    try:
        indexer.sync()
        moves = points.transfers(indexer.engine, brand=brand, account=who)
    finally:
        indexer.engine.dispose()
    if as_json:
        console.print_json(json.dumps({"member": who, "movements": [vars(m) for m in moves]}))
        return
    if not moves:
        console.print(f"no points movements of {who}" + (f" at brand #{brand}" if brand else ""), highlight=False)
        return
    table = Table(title=f"Points of {who}", caption=f"event index: {where}")
    for col in ("When", "Brand", "What", "Points", "With", "Transaction"):
        table.add_column(col, justify="right" if col == "Points" else "left")
    for m in moves:
        what, other, change = m.seen_by(who)
        table.add_row(
            datetime.fromtimestamp(m.at, UTC).strftime("%Y-%m-%d %H:%M"),
            f"#{m.brand}",
            _MOVES.get(what, what),
            f"{change:+,}",
            other,
            units.short(m.tx_hash),
        )
    console.print(table)


@points_app.command()
def compute(
    brand: Brand,
    member: Annotated[str, typer.Argument(help="The member's address.")],
    brand_points: Annotated[int, typer.Option(help="The brand's points for the member (kept private).")],
    platform_points: Annotated[int, typer.Option(help="The platform's points for the member (kept private).")],
    parties: Annotated[
        str,
        typer.Option(
            help="The computing parties' account names here, in the brand's order: brand,platform,mpc-platform."
        ),
    ],
    timeout: Annotated[float, typer.Option(help="Seconds the computation may take.", min=1)] = 30.0,
) -> None:
    """Compute a member's tier from the brand's and the platform's points without either side revealing its
    number (three processes on this machine), have every party sign it, and post it on chain.

    Example: datagora points compute 1 0xAbc... --brand-points 2600 --platform-points 3200
    --parties brand,platform,helper"""
    from datagora.services import points

    names = [n.strip() for n in parties.split(",") if n.strip()]
    if len(names) < 2:
        raise ValidationError("--parties names the computing parties' accounts, e.g. brand,platform,helper")
    s = session()
    signers = [s.participant(n).account for n in names]
    done = points.compute_tier(
        s.contracts(), brand, member, brand_points, platform_points, signers, signers[-1], timeout=timeout
    )
    print_done(
        f"tier of {member} at brand #{brand}: {done.result.tier} ({points.TIER_NAMES[done.result.tier]}), "
        f"score {done.result.score:,}; signed by {len(signers)} parties",
        done.tx,
    )


NodeUrl = Annotated[str, typer.Option("--node", help="Your node's address, e.g. http://127.0.0.1:8700.")]


def _show(c: dict[str, object]) -> None:
    tier = f", tier {c['tier']} ({c['tier_name']}), score {c['score']:,}" if c.get("tier") is not None else ""
    console.print(f"computation {c['id']}: {c['status']}{tier}", highlight=False)
    if c.get("error"):
        console.print(f"  why it failed: {c['error']}; nothing was recorded on chain", highlight=False)
    if c.get("tx_hash"):
        console.print(f"  recorded in transaction {c['tx_hash']}", highlight=False)


@points_app.command()
def propose(
    brand: Brand,
    member: Annotated[str, typer.Argument(help="The member's address.")],
    node: NodeUrl,
    nodes: Annotated[
        str,
        typer.Option(help="The three parties' nodes, in the brand's order: brand,e-commerce platform,MPC platform."),
    ],
    points_held: Annotated[
        int | None, typer.Option("--points", help="Your node's record of the member's points (kept private).", min=0)
    ] = None,
) -> None:
    """Start a member's tier computation from your node with the other two parties' nodes; each node keeps its
    own points and key. Follow it with `datagora points progress`.

    Example: datagora points propose 1 0xAbc... --node http://127.0.0.1:8701 --points 2600
    --nodes http://127.0.0.1:8701,http://127.0.0.1:8702,http://127.0.0.1:8703 -a brand"""
    from datagora.api.client import NodeClient

    urls = [u.strip() for u in nodes.split(",") if u.strip()]
    body = {"member": member, "parties": urls, "points": points_held}
    with NodeClient(node, session().participant().account) as client:
        _show(client.json("POST", f"/points/{brand}/computations", json=body))


@points_app.command()
def accept(
    computation: Annotated[str, typer.Argument(help="The computation's id (from your node's list).")],
    node: NodeUrl,
    points_held: Annotated[
        int | None, typer.Option("--points", help="Your node's record of the member's points (kept private).", min=0)
    ] = None,
) -> None:
    """Accept another node's invitation to a tier computation with your node's record of the member's points.

    Example: datagora points accept 3f2a... --node http://127.0.0.1:8702 --points 3200 -a platform"""
    from datagora.api.client import NodeClient

    with NodeClient(node, session().participant().account) as client:
        _show(client.json("POST", f"/points/computations/{computation}/accept", json={"points": points_held}))


@points_app.command()
def progress(
    node: NodeUrl,
    computation: Annotated[str | None, typer.Argument(help="One computation's id (default: all of them).")] = None,
) -> None:
    """Show your node's tier computations and how far each has got.

    Example: datagora points progress --node http://127.0.0.1:8701 -a brand"""
    from datagora.api.client import NodeClient

    with NodeClient(node, session().participant().account) as client:
        if computation:
            _show(client.json("GET", f"/points/computations/{computation}"))
        else:
            for c in client.json("GET", "/points/computations"):
                _show(c)
