"""Pages for everyone: the landing page (what this node is, what to do next), the catalogue with its filters
and pagination, search by sample and a dataset's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from datagora.services.identity import roles_of
from datagora.web.deps import ContextDep, NavItem, UserDep, everyone
from datagora.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("Home", "/", everyone)]


@router.get("/")
def landing(request: Request, ctx: ContextDep, user: UserDep) -> Response:
    """What this node is and what to do here."""
    node_roles = roles_of(ctx.node, ctx.node.address)
    return render(request, "everyone/landing.html", {"node_roles": node_roles})
