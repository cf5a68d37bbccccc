"""Pages of the platform's desk, on the platform's node for its operator: the attestation log, the disputes inbox
with each case's evidence and the ruling buttons, and the orders past their deadline with a button to settle each.
Pages call ``services.platform_desk``, like the API's ``/platform`` routes; a refused action comes back to the page
as a sentence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from datagora.domain.errors import DatagoraError, NotFoundError
from datagora.domain.models import ChainEvent
from datagora.services import platform_desk
from datagora.services.arbitration import ArbitrationInbox
from datagora.services.attestation import NoveltyAttestor
from datagora.services.disputes import RULING_WORDS
from datagora.services.relay import SendReceiveBoard
from datagora.web.deps import ContextDep, NavItem, OperatorDep, WebContext, WebUser
from datagora.web.errors import plain_message
from datagora.web.render import redirect, render

router = APIRouter(tags=["platform pages"], include_in_schema=False)

BASE = "/desk/platform"


def _is_platform_operator(user: WebUser | None) -> bool:
    return user is not None and user.roles.operator and user.roles.platform


NAV: list[NavItem] = [NavItem("Platform desk", BASE, _is_platform_operator)]


def _platform(ctx: WebContext) -> NoveltyAttestor:
    if ctx.node.platform is None:
        raise NotFoundError("this node is not the platform: the platform's desk is on the platform's node")
    return ctx.node.platform


def _inbox(ctx: WebContext) -> ArbitrationInbox:
    """The platform's arbitration inbox: the API's (shared through the web context) or one of the pages' own."""
    inbox = ctx.extra.get("inbox")
    if inbox is None:
        node = ctx.node
        board = SendReceiveBoard(
            node.contracts,
            node.participant.store,
            node.participant.paths.board,
            operator=node.address,
            platform_key=node.participant.private_key,
        )
        inbox = ctx.extra["inbox"] = ArbitrationInbox.of_platform(board, node.participant)
    assert isinstance(inbox, ArbitrationInbox)
    return inbox


def _events(ctx: WebContext) -> list[ChainEvent]:
    ctx.node.sync_index()
    return list(ctx.node.indexer.stored_events())


@router.get(BASE)
def desk(request: Request, ctx: ContextDep, _user: OperatorDep) -> Response:
    """The desk: open disputes, overdue orders and the latest attestations at a glance."""
    platform = _platform(ctx)
    events = _events(ctx)
    cases = platform_desk.disputes_inbox(_inbox(ctx), events)
    overdue = platform_desk.overdue_orders(ctx.node.contracts, events)
    log = platform_desk.attestation_log(platform, events)
    return render(
        request,
        "platform/desk.html",
        {
            "cases": cases,
            "overdue": overdue,
            "log": log[:5],
            "given": sum(e.outcome == "given" for e in log),
            "refused": sum(e.outcome == "refused" for e in log),
            "now": ctx.node.contracts.chain.now(),
            "words": platform_desk.ACTION_WORDS,
        },
    )


@router.get(BASE + "/attestations")
def attestations(request: Request, ctx: ContextDep, _user: OperatorDep) -> Response:
    """Every attestation given or refused, newest first."""
    log = platform_desk.attestation_log(_platform(ctx), _events(ctx))
    return render(request, "platform/attestations.html", {"log": log})


@router.get(BASE + "/disputes/{order_id}")
def dispute(request: Request, order_id: int, ctx: ContextDep, _user: OperatorDep) -> Response:
    """One dispute: the evidence, what it shows, and the three ruling buttons."""
    platform = _platform(ctx)
    case = platform_desk.dispute_case(
        ctx.node.participant,
        platform,
        _inbox(ctx),
        order_id,
        _events(ctx),
    )
    by = {case.order.buyer.lower(): "the buyer", ctx.node.address.lower(): "the platform (its delivery check)"}
    return render(
        request,
        "platform/dispute.html",
        {
            "case": case,
            "rulings": RULING_WORDS,
            "now": ctx.node.contracts.chain.now(),
            "disputed_by": by.get(case.disputed_by.lower(), case.disputed_by),
        },
    )


@router.post(BASE + "/disputes/{order_id}/ruling")
def rule(
    request: Request,
    order_id: int,
    ruling: Annotated[str, Form(max_length=32)],
    ctx: ContextDep,
    _user: OperatorDep,
) -> Response:
    """Rule with the chosen ruling; back to the dispute with the reason when the evidence supports another."""
    platform = _platform(ctx)
    try:
        chosen = platform_desk.parse_ruling(ruling)
        with ctx.node.acting():
            done = platform_desk.rule(ctx.node.participant, platform, _inbox(ctx), order_id, chosen)
    except DatagoraError as exc:
        return redirect(request, f"{BASE}/disputes/{order_id}", f"Not ruled: {plain_message(exc)}", "error")
    words = RULING_WORDS[done.ruling]
    return redirect(request, BASE, f"Order {order_id} ruled {words}; the order is settled on chain.")


@router.get(BASE + "/deadlines")
def deadlines(request: Request, ctx: ContextDep, _user: OperatorDep) -> Response:
    """Orders past their deadline, each with what settling it does."""
    _platform(ctx)
    overdue = platform_desk.overdue_orders(ctx.node.contracts, _events(ctx))
    return render(request, "platform/deadlines.html", {"overdue": overdue, "words": platform_desk.ACTION_WORDS})


@router.post(BASE + "/deadlines/{order_id}")
def settle(request: Request, order_id: int, ctx: ContextDep, _user: OperatorDep) -> Response:
    """Settle one overdue order."""
    _platform(ctx)
    try:
        with ctx.node.acting():
            action, _tx = platform_desk.settle_overdue(ctx.node.contracts, ctx.node.participant, order_id)
    except DatagoraError as exc:
        return redirect(request, BASE + "/deadlines", f"Not settled: {plain_message(exc)}", "error")
    return redirect(request, BASE + "/deadlines", f"Order {order_id} settled: {platform_desk.ACTION_WORDS[action]}.")
