"""The loyalty page: a member's points and membership tier at a brand (Hu, Xin, Deng, Qian), read from the
``Points`` contract. Anyone may look a member up; a signed-in person sees their own standing by default. The tier
computation itself runs with every computing party's key (``datagora points compute``), not from this page."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from datagora.domain.errors import ValidationError
from datagora.services import points
from datagora.web.deps import ContextDep, NavItem, UserDep, everyone
from datagora.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("Loyalty", "/loyalty", everyone)]
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@router.get("/loyalty")
def loyalty(
    request: Request,
    ctx: ContextDep,
    user: UserDep,
    brand: Annotated[int, Query(ge=1, le=2**63 - 1)] = 1,
    member: Annotated[str, Query(max_length=42)] = "",
) -> Response:
    """A member's points and tier at a brand (the signed-in person's by default)."""
    who = member.strip() or (user.address if user is not None else "")
    standing = None
    if who:
        if not ADDRESS.match(who):
            raise ValidationError(f"{who!r} is not an account address (0x followed by 40 hexadecimal digits)")
        standing = points.standing(ctx.node.contracts, brand, who)
    return render(
        request,
        "points/loyalty.html",
        {"brand": brand, "member": who, "standing": standing, "tier_names": points.TIER_NAMES},
    )
