"""``datagora points``: a member's loyalty points and tier at a brand, and for operators the tier computation by
secure multi-party computation (brand, platform and MPC platform), points issued on purchases and spent at
checkout."""

from __future__ import annotations

import hashlib
from typing import Annotated

import typer

from datagora.cli.app import DatagoraTyper, console, print_done, session
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
        f"{who} at brand #{brand}: {standing.points:,} points, tier {standing.tier} ({standing.tier_name})"
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
