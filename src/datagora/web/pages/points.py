"""The loyalty page: a member's points and membership tier at a brand (Hu, Xin, Deng, Qian), read from the
``Points`` contract, and every movement of the member's points (earned, spent, given, received) from the node's
event index. Anyone may look a member up; a signed-in person sees their own standing by default.

The node's operator, when the node is a computing party of a brand (the brand, the e-commerce platform or the MPC
platform), also starts tier computations here (``services.tier_network``): a form proposes one with this node's
record of the member's points and the three nodes' addresses; invitations from the other nodes wait for the
operator to accept with the node's input; each computation has a page that follows its progress (it reloads
itself every second until the tier is posted or the computation failed)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from datagora.domain.errors import DatagoraError, NotFoundError, ValidationError
from datagora.services import points
from datagora.services.tier_network import TierCoordinator
from datagora.web.deps import ContextDep, NavItem, OperatorDep, UserDep, WebContext, everyone
from datagora.web.errors import plain_message
from datagora.web.render import redirect, render

router = APIRouter(tags=["pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("Loyalty", "/loyalty", everyone)]
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
COMPUTATION_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_POINTS_TEXT = 12


def _tiers(ctx: WebContext) -> TierCoordinator | None:
    tiers: TierCoordinator | None = ctx.extra.get("tiers")
    return tiers


def _points_field(text: str) -> int | None:
    text = text.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError(f"{text!r} is not a whole number of points")
    return int(text)


_MOVES = {"received": "received from", "given": "given to"}


def _movement(m: points.PointTransfer, who: str) -> dict[str, Any]:
    """One row of the page's movements table, as the member sees it (newest first on the page)."""
    what, other, change = m.seen_by(who)
    return {"at": m.at, "what": _MOVES.get(what, what), "other": other, "points": change, "tx": m.tx_hash}


@router.get("/loyalty")
def loyalty(
    request: Request,
    ctx: ContextDep,
    user: UserDep,
    brand: Annotated[int, Query(ge=1, le=2**63 - 1)] = 1,
    member: Annotated[str, Query(max_length=42)] = "",
) -> Response:
    """A member's points and tier at a brand (the signed-in person's by default); for the operator, the tier
    computations of this node and the form that starts one."""
    who = member.strip() or (user.address if user is not None else "")
    standing = None
    moves: list[points.PointTransfer] = []
    if who:
        if not ADDRESS.match(who):
            raise ValidationError(f"{who!r} is not an account address (0x followed by 40 hexadecimal digits)")
        standing = points.standing(ctx.node.contracts, brand, who)
        ctx.node.sync_index()
        moves = points.transfers(ctx.node.engine, brand=brand, account=who)
    tiers = _tiers(ctx)
    operator = user is not None and user.roles.operator and tiers is not None
    own = user is not None and user.roles.operator and who.lower() == ctx.node.address.lower()
    context: dict[str, Any] = {
        "can_give": own and standing is not None and standing.points > 0,
        "brand": brand,
        "member": who,
        "standing": standing,
        "movements": [_movement(m, who) for m in reversed(moves)],
        "tier_names": points.TIER_NAMES,
        "operator": operator,
        "computations": tiers.computations() if operator and tiers is not None else [],
        "own_url": str(request.base_url).rstrip("/"),
    }
    return render(request, "points/loyalty.html", context)


@router.post("/loyalty/transfer")
def give(
    request: Request,
    ctx: ContextDep,
    _user: OperatorDep,
    brand: Annotated[int, Form(ge=1, le=2**63 - 1)],
    to: Annotated[str, Form(max_length=42)],
    points_given: Annotated[str, Form(max_length=MAX_POINTS_TEXT)],
) -> Response:
    """Give some of the node's account's points of a brand to another account; back to the loyalty page with
    what happened."""
    back = f"/loyalty?brand={brand}"
    try:
        if not ADDRESS.match(to.strip()):
            raise ValidationError(f"{to!r} is not an account address (0x followed by 40 hexadecimal digits)")
        amount = _points_field(points_given)
        if not amount:
            raise ValidationError("give at least 1 point")
        with ctx.node.acting():
            points.transfer(ctx.node.contracts, ctx.node.participant.account, brand, to.strip(), amount)
    except DatagoraError as exc:
        return redirect(request, back, f"Nothing was given: {plain_message(exc)}", "error")
    return redirect(request, back, f"Gave {amount:,} points of brand #{brand} to {to.strip()}.")


@router.post("/loyalty/computations")
def propose(
    request: Request,
    ctx: ContextDep,
    _user: OperatorDep,
    brand: Annotated[int, Form(ge=1, le=2**63 - 1)],
    member: Annotated[str, Form(max_length=42)],
    brand_node: Annotated[str, Form(max_length=300)],
    platform_node: Annotated[str, Form(max_length=300)],
    mpc_node: Annotated[str, Form(max_length=300)],
    points_held: Annotated[str, Form(max_length=MAX_POINTS_TEXT)] = "",
) -> Response:
    """Propose a tier computation for a member; on to its progress page."""
    tiers = _tiers(ctx)
    if tiers is None:
        raise NotFoundError("this node does not run tier computations")
    try:
        if not ADDRESS.match(member.strip()):
            raise ValidationError(f"{member!r} is not an account address (0x followed by 40 hexadecimal digits)")
        urls = [u.strip() for u in (brand_node, platform_node, mpc_node)]
        c = tiers.propose(brand, member.strip(), urls, _points_field(points_held))
    except DatagoraError as exc:
        return redirect(request, f"/loyalty?brand={brand}", f"Not started: {plain_message(exc)}", "error")
    return redirect(request, f"/loyalty/computations/{c.id}", "Computation proposed; the other nodes are invited.")


@router.post("/loyalty/computations/{computation}/accept")
def accept(
    request: Request,
    computation: str,
    ctx: ContextDep,
    _user: OperatorDep,
    points_held: Annotated[str, Form(max_length=MAX_POINTS_TEXT)] = "",
) -> Response:
    """Accept an invitation with this node's record of the member's points."""
    tiers = _tiers(ctx)
    if tiers is None or not COMPUTATION_ID.match(computation):
        raise NotFoundError("no such tier computation on this node")
    try:
        tiers.accept(computation, _points_field(points_held))
    except DatagoraError as exc:
        return redirect(request, f"/loyalty/computations/{computation}", f"Not accepted: {plain_message(exc)}", "error")
    done = "Accepted: the computation starts when all three nodes have."
    return redirect(request, f"/loyalty/computations/{computation}", done)


@router.get("/loyalty/computations/{computation}")
def progress(request: Request, computation: str, ctx: ContextDep, _user: OperatorDep) -> Response:
    """One computation's progress: the parties, the steps so far, the tier once posted."""
    tiers = _tiers(ctx)
    if tiers is None or not COMPUTATION_ID.match(computation):
        raise NotFoundError("no such tier computation on this node")
    c = tiers.get(computation)
    return render(request, "points/computation.html", {"c": c, "tier_names": points.TIER_NAMES})
