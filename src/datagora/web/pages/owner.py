"""Pages of a data owner (the node's operator): publish, list, my listings, balance and withdraw."""

from __future__ import annotations

from fastapi import APIRouter

from datagora.web.deps import NavItem, operator

router = APIRouter(tags=["owner pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("Publish", "/publish", operator)]
