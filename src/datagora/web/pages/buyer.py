"""Pages of a buyer (the node's operator): buy, offer, bid, my orders, download, use-right queries, confirm."""

from __future__ import annotations

from fastapi import APIRouter

from datagora.web.deps import NavItem, operator

router = APIRouter(tags=["buyer pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("My orders", "/orders", operator)]
