"""The collaborations page (Mehdi et al.): the services explorer's offers with their negotiation rounds, and each
DAO with its members, stakes as a chart (the same numbers as a table), revenue paid in and what each member may
withdraw, and the profit tree. Read from the ``Collaboration`` contract; anyone may look. Acting (offers, pay,
withdraw, channels) is done with ``datagora dao`` or the API's ``/dao`` routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from datagora.services import collaboration
from datagora.web.charts import Bar, bar_chart
from datagora.web.deps import ContextDep, NavItem, everyone
from datagora.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("Collaborations", "/collaborations", everyone)]


@router.get("/collaborations")
def collaborations(
    request: Request, ctx: ContextDep, open_only: Annotated[bool, Query(alias="open")] = False
) -> Response:
    """Offers and DAOs, newest first."""
    contracts = ctx.node.contracts
    offers = collaboration.explorer(contracts, open_only=open_only)
    daos = []
    for view in collaboration.daos(contracts):
        chart = bar_chart(
            [Bar(f"seat {m.seat}", m.stake_bps / 100, f"{m.account}: {m.stake_bps / 100:.2f} %") for m in view.active],
            title=f"Stakes in DAO #{view.dao.dao_id}",
            description="Each active member's share of the revenue, in percent, by seat.",
            value_label=lambda v: f"{v:.0f} %",
        )
        daos.append({"view": view, "chart": chart, "tree": view.tree})
    return render(request, "collaboration/collaborations.html", {"offers": offers, "daos": daos, "open": open_only})
