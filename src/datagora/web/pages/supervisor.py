"""Pages of the supervisor's desk, for the Registry supervisor: organisations to audit or suspend (the actions on
the supervisor's own node, which signs with its key), the audit trail with filters and each row's check against
the chain, its CSV export, and charts of trades and volume over time. Pages call ``services.supervisor_desk``,
like the API's ``/supervisor`` routes; a refused action comes back to the page as a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from datagora.domain.errors import AccessDenied, DatagoraError, ValidationError
from datagora.domain.models import ChainEvent, OrgStatus
from datagora.services import supervisor_desk
from datagora.services.audit import audit_trail
from datagora.web.charts import Bar, bar_chart
from datagora.web.deps import ContextDep, NavItem, SupervisorDep, WebContext, supervisor
from datagora.web.errors import plain_message
from datagora.web.render import ether, redirect, render

router = APIRouter(tags=["supervisor pages"], include_in_schema=False)

BASE = "/desk/supervisor"
PAGE_SIZE = 50
"""Trail rows per page (each page checks its rows against the chain)."""


NAV: list[NavItem] = [
    NavItem("Organisations", BASE, supervisor),
    NavItem("Audit trail", BASE + "/trail", supervisor),
    NavItem("Activity", BASE + "/activity", supervisor),
]

ACTIONS = {"audit": OrgStatus.AUDITED, "suspend": OrgStatus.SUSPENDED, "reopen": OrgStatus.TO_AUDIT}
"""The buttons of the organisations page and the status each sets."""


def _events(ctx: WebContext) -> list[ChainEvent]:
    ctx.node.sync_index()
    return list(ctx.node.indexer.stored_events())


@router.get(BASE)
def organisations(request: Request, ctx: ContextDep, _user: SupervisorDep) -> Response:
    """Every organisation with its status, those to audit first, with the buttons to audit or suspend."""
    rows = supervisor_desk.organisations(ctx.node.contracts, _events(ctx))
    return render(
        request,
        "supervisor/organisations.html",
        {
            "rows": rows,
            "words": supervisor_desk.STATUS_WORDS,
            "can_act": ctx.node.is_supervisor(),
            "statuses": OrgStatus,
        },
    )


@router.post(BASE + "/organisations/{organisation_id}")
def set_status(
    request: Request,
    organisation_id: int,
    action: Annotated[str, Form(max_length=16)],
    ctx: ContextDep,
    user: SupervisorDep,
) -> Response:
    """Audit, suspend or return an organisation to audit, signed by this node's key (the supervisor's)."""
    try:
        if not (user.roles.operator and ctx.node.is_supervisor()):
            raise AccessDenied("the supervisor acts from its own node: this node does not hold the supervisor's key")
        if action not in ACTIONS:
            raise ValidationError(f"unknown action {action!r}: audit, suspend or reopen")
        with ctx.node.acting():
            org, _tx = supervisor_desk.set_status(
                ctx.node.contracts, ctx.node.participant.account, organisation_id, ACTIONS[action]
            )
    except DatagoraError as exc:
        return redirect(request, BASE, f"Nothing changed: {plain_message(exc)}", "error")
    return redirect(request, BASE, f"{org.name} is now {supervisor_desk.STATUS_WORDS[org.status]}.")


@dataclass(frozen=True)
class TrailFilters:
    """The trail page's filters as typed in the form (kept for the form and the CSV link) and as parsed."""

    organisation: str = ""
    dataset: str = ""
    account: str = ""
    start: str = ""
    end: str = ""

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.__dict__.items() if v})

    def parsed(self) -> dict[str, int | str | None]:
        """The filters for :func:`audit_trail`; ``ValidationError`` with a plain sentence for bad input."""

        def number(text: str, what: str) -> int | None:
            if not text:
                return None
            if not text.isdigit() or int(text) < 1:
                raise ValidationError(f"{what} must be a number such as 1 or 42, not {text!r}")
            return int(text)

        def day(text: str, what: str) -> date | None:
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValidationError(f"{what} must be a date such as 2026-12-31, not {text!r}") from None

        account = self.account.strip()
        if account and not (len(account) == 42 and account.startswith("0x")):
            raise ValidationError(f"the account must be an address of 42 characters starting with 0x, not {account!r}")
        first, last = day(self.start, "the start"), day(self.end, "the end")
        if first and last and last < first:
            raise ValidationError("the end date comes before the start date")
        return {
            "organisation_id": number(self.organisation.strip(), "the organisation"),
            "token_id": number(self.dataset.strip(), "the dataset"),
            "account": account or None,
            "since": None
            if first is None
            else int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()),
            "until": None
            if last is None
            else int((datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)).timestamp()),
        }


Text = Annotated[str, Query(max_length=64)]


def _filters(organisation: str, dataset: str, account: str, start: str, end: str) -> TrailFilters:
    return TrailFilters(organisation, dataset, account, start, end)


@router.get(BASE + "/trail")
def trail(
    request: Request,
    ctx: ContextDep,
    _user: SupervisorDep,
    organisation: Text = "",
    dataset: Text = "",
    account: Text = "",
    start: Text = "",
    end: Text = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The audit trail with filters, newest last, one page of rows at a time, each checked against the chain."""
    filters = _filters(organisation, dataset, account, start, end)
    problem = ""
    rows: list[supervisor_desk.CheckedRecord] = []
    total = 0
    try:
        parsed = filters.parsed()
        ctx.node.sync_index()
        records = audit_trail(ctx.node.indexer, sync=False, **parsed)  # type: ignore[arg-type]
        total = len(records)
        rows = supervisor_desk.check_records(ctx.node.indexer, records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    except ValidationError as exc:
        problem = plain_message(exc)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "supervisor/trail.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "filters": filters,
            "problem": problem,
            "unverified": sum(not r.verified for r in rows),
        },
        status=422 if problem else 200,
    )


@router.get(BASE + "/trail.csv")
def trail_csv(
    request: Request,
    ctx: ContextDep,
    _user: SupervisorDep,
    organisation: Text = "",
    dataset: Text = "",
    account: Text = "",
    start: Text = "",
    end: Text = "",
) -> Response:
    """The filtered trail as a CSV download."""
    parsed = _filters(organisation, dataset, account, start, end).parsed()
    ctx.node.sync_index()
    records = audit_trail(ctx.node.indexer, sync=False, **parsed)  # type: ignore[arg-type]
    return Response(
        supervisor_desk.to_csv(records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="datagora-audit.csv"', "Cache-Control": "no-store"},
    )


def _label(start: int, period: str) -> str:
    moment = datetime.fromtimestamp(start, UTC)
    return f"{moment.day} {moment:%b}" if period == "day" else f"week of {moment.day} {moment:%b}"


@router.get(BASE + "/activity")
def activity(
    request: Request,
    ctx: ContextDep,
    _user: SupervisorDep,
    period: Annotated[str, Query(max_length=8)] = "day",
) -> Response:
    """Charts of trades and volume per day or week, with the numbers as a table."""
    problem = ""
    points: list[supervisor_desk.SeriesPoint] = []
    try:
        if period not in ("day", "week"):
            raise ValidationError(f"unknown period {period!r}: choose day or week")
        points = supervisor_desk.trade_series(_events(ctx), period)  # type: ignore[arg-type]
    except ValidationError as exc:
        problem, period = plain_message(exc), "day"
    each = "day" if period == "day" else "week"
    trades = bar_chart(
        [Bar(_label(p.start, period), p.trades, f"{p.trades} trade" + ("" if p.trades == 1 else "s")) for p in points],
        title=f"Trades per {each}",
        description=f"Number of orders paid each {each}, from {len(points)} {each}s of data; the table below lists "
        "the same numbers.",
        value_label=lambda v: f"{int(v)}",
    )
    volume = bar_chart(
        [Bar(_label(p.start, period), p.volume / 10**18, ether(p.volume)) for p in points],
        title=f"Volume per {each} (ETH)",
        description=f"Ether paid into escrow each {each}; the table below lists the same amounts.",
        value_label=lambda v: f"{v:g} ETH",
    )
    return render(
        request,
        "supervisor/activity.html",
        {
            "points": points,
            "period": period,
            "trades_chart": trades,
            "volume_chart": volume,
            "label": lambda start: _label(start, period),
            "problem": problem,
            "total_trades": sum(p.trades for p in points),
            "total_volume": sum(p.volume for p in points),
        },
        status=422 if problem else 200,
    )
