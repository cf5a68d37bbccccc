"""The customer's pages (Shrestha, Joshi, Vassileva's transparency for customers): the consent page (give and
withdraw consent per data category, per organisation, per purpose, until an expiry, for a reward per use) and the
dashboard (every use of the customer's data and every refusal: who, what, when, why, under which consent, with a
link to the transaction; the rewards earned and a chart of them over time), with erasure of a category.

Consent is given with this node's key, so the consent page acts for the node's operator (the customer on their
own node). The dashboard shows the signed-in person's own history (or, for the operator, any address's), read
from this node's index. Erasure happens where the data is: on the shop's node, for the signed-in customer.
Pages call ``services.consent`` like the API's ``/consent`` routes do."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from datagora.api.consent_forward import forward_erasure
from datagora.domain.errors import AccessDenied, DatagoraError, ValidationError
from datagora.services import consent, consent_rewards, streams
from datagora.web.charts import Bar, bar_chart
from datagora.web.deps import ContextDep, NavItem, OperatorDep, SignedInDep, WebContext, operator
from datagora.web.errors import plain_message
from datagora.web.render import redirect, render

router = APIRouter(tags=["consent pages"], include_in_schema=False)

BASE = "/my/consent"
DASHBOARD = "/my/data"
REWARDS = "/my/rewards"
DAY = 86_400
SHOP_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
NAV: list[NavItem] = [
    NavItem("My consents", BASE, operator),
    NavItem("My data", DASHBOARD, lambda user: user is not None),
    NavItem("My rewards", REWARDS, operator),
]


def _organisations(ctx: WebContext) -> dict[int, str]:
    registry = ctx.node.contracts.registry
    return {i: registry.organisation(i).name for i in range(1, registry.organisation_count() + 1)}


@router.get(BASE)
def consent_page(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """The consents this node's account gave, with the form to give one and the buttons to withdraw."""
    ctx.node.sync_index()
    now = ctx.node.chain.now()
    rows = consent.consents_of(ctx.node.engine, user.address)
    return render(
        request,
        "consent/consents.html",
        {
            "rows": rows,
            "now": now,
            "organisations": _organisations(ctx),
            "categories": streams.CATEGORY_LABELS,
            "purposes": consent.purposes(),
            "dgr": consent.dgr,
        },
    )


@router.post(BASE)
def give(
    request: Request,
    ctx: ContextDep,
    _user: OperatorDep,
    category: Annotated[str, Form(max_length=32)],
    organisation: Annotated[int, Form(ge=1, le=2**48 - 1)],
    purpose: Annotated[str, Form(max_length=128)],
    days: Annotated[int, Form(ge=1, le=36_500)] = 30,
    reward: Annotated[str, Form(max_length=40)] = "1",
) -> Response:
    """Give a consent, signed with this node's key."""
    try:
        units = consent.parse_dgr(reward)
        with ctx.node.acting():
            expiry = ctx.node.chain.now() + days * DAY
            consent_id, _tx = consent.grant(
                ctx.node.contracts, ctx.node.participant.account, category, organisation, purpose, expiry, units
            )
    except DatagoraError as exc:
        return redirect(request, BASE, f"Nothing changed: {plain_message(exc)}", "error")
    label = consent.purpose_label(consent.check_purpose(purpose))
    return redirect(request, BASE, f"Consent #{consent_id} given: {streams.CATEGORY_LABELS[category]} for {label}.")


@router.post(BASE + "/{consent_id}/revoke")
def withdraw(request: Request, consent_id: int, ctx: ContextDep, _user: OperatorDep) -> Response:
    """Withdraw a consent, signed with this node's key."""
    try:
        with ctx.node.acting():
            consent.revoke(ctx.node.contracts, ctx.node.participant.account, consent_id)
    except DatagoraError as exc:
        return redirect(request, BASE, f"Nothing changed: {plain_message(exc)}", "error")
    return redirect(request, BASE, f"Consent #{consent_id} withdrawn: later requests under it are refused.")


def _reward_bars(timeline: list[consent.TimelineEntry]) -> list[Bar]:
    """Rewards earned per day (UTC), one bar per day with a paid access."""
    per_day: dict[str, int] = {}
    for e in timeline:
        if e.refusal is None and e.reward:
            day = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d")
            per_day[day] = per_day.get(day, 0) + e.reward
    return [Bar(day, units / 10**18, consent.dgr(units)) for day, units in sorted(per_day.items())]


@router.get(DASHBOARD)
def dashboard(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    subject: Annotated[str, Query(max_length=42)] = "",
    shop_url: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Every use of the signed-in person's data and every refusal, the rewards earned and their chart."""
    who = subject.strip() or user.address
    if len(who) != 42 or not who.startswith("0x") or not all(ch in "0123456789abcdefABCDEF" for ch in who[2:]):
        raise ValidationError(f"{who!r} is not an account address (0x followed by 40 hexadecimal digits)")
    if who.lower() != user.address.lower() and not user.roles.operator:
        raise AccessDenied("you can only see the history of your own data")
    ctx.node.sync_index()
    timeline = consent.history(ctx.node.engine, subject=who)
    earned = sum(e.reward for e in timeline)
    chart = bar_chart(
        _reward_bars(timeline),
        title="Rewards earned per day",
        description=f"Reward tokens paid for uses of the data, per day; {consent.dgr(earned)} in all.",
        value_label=lambda v: f"{v:g} DGR",
    )
    held = [
        (category, label)
        for category, label in streams.CATEGORY_LABELS.items()
        if streams.data_key_of(ctx.node.participant, who, category) is not None
    ]
    return render(
        request,
        "consent/dashboard.html",
        {
            "subject": who,
            "timeline": list(reversed(timeline)),
            "earned": consent.dgr(earned),
            "pending": consent.dgr(ctx.node.contracts.consent.pending(who)),
            "chart": chart,
            "organisations": _organisations(ctx),
            "held": held,
            "dgr": consent.dgr,
            "operator": user.roles.operator,
            "categories": streams.CATEGORY_LABELS,
            "shop_url": shop_url,
        },
    )


@router.post(DASHBOARD + "/erase")
def erase(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    category: Annotated[str, Form(max_length=32)],
) -> Response:
    """Erase one category of the signed-in customer's data held by this (shop) node."""
    try:
        with ctx.node.acting():
            done = consent.erase(ctx.node.contracts, ctx.node.participant, user.address, category)
    except DatagoraError as exc:
        return redirect(request, DASHBOARD, f"Nothing erased: {plain_message(exc)}", "error")
    if not done.key_destroyed and not done.txs:
        return redirect(request, DASHBOARD, "This node holds none of that data.", "error")
    return redirect(
        request,
        DASHBOARD,
        f"{streams.CATEGORY_LABELS[category]} erased: its key is destroyed and {len(done.item_ids)} item(s) are "
        "marked erased on chain.",
    )


@router.post(DASHBOARD + "/erase-at-shop")
def erase_at_shop(
    request: Request,
    ctx: ContextDep,
    _user: OperatorDep,
    shop_url: Annotated[str, Form(max_length=300)],
    category: Annotated[str, Form(max_length=32)],
) -> Response:
    """This node (the customer's own) signs an erasure request with its key and sends it to the shop's node."""
    url = shop_url.strip().rstrip("/")
    again = f"{DASHBOARD}?{urlencode({'shop_url': url})}"
    try:
        if not SHOP_URL.match(url):
            raise ValidationError(f"{url[:80]!r} is not a web address (write it like https://shop.example)")
        if ctx.peer is None:
            raise ValidationError("this node cannot reach other nodes")
        answer = forward_erasure(
            ctx.peer(url), ctx.node.participant.account, ctx.node.chain.chain_id, category, now=int(time.time())
        )
    except DatagoraError as exc:
        return redirect(request, again, f"Nothing erased: {plain_message(exc)}", "error")
    label = streams.CATEGORY_LABELS[category]
    items = len(answer["txs"])  # items newly marked erased
    return redirect(
        request,
        again,
        f"{label} erased at the shop: its key is destroyed and {items} item(s) are marked erased on chain.",
    )


@router.get(DASHBOARD + "/tx/{tx_hash}")
def transaction(request: Request, tx_hash: str, ctx: ContextDep, _user: SignedInDep) -> Response:
    """One transaction of the timeline as the chain itself reports it (its events, read from the receipt)."""
    if (
        len(tx_hash) != 66
        or not tx_hash.startswith("0x")
        or not all(c in "0123456789abcdefABCDEF" for c in tx_hash[2:])
    ):
        raise ValidationError("not a transaction hash (0x followed by 64 hexadecimal digits)")
    events = ctx.node.contracts.events_of_tx(tx_hash)
    if events is None:
        raise ValidationError(f"the chain knows no transaction {tx_hash}")
    return render(request, "consent/transaction.html", {"tx_hash": tx_hash, "events": events})


@router.get(REWARDS)
def rewards_page(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """This node's account's reward tokens: ready to withdraw, held, deposited; withdraw, send, take back."""
    rewards = consent_rewards.rewards_of(ctx.node.contracts, user.address)
    return render(request, "consent/rewards.html", {"rewards": rewards, "dgr": consent.dgr})


@router.post(REWARDS + "/withdraw")
def withdraw_rewards(request: Request, ctx: ContextDep, _user: OperatorDep) -> Response:
    """Withdraw every reward token owed to this node's account."""
    try:
        with ctx.node.acting():
            paid, _tx = consent_rewards.withdraw_rewards(ctx.node.contracts, ctx.node.participant.account)
    except DatagoraError as exc:
        return redirect(request, REWARDS, f"Nothing withdrawn: {plain_message(exc)}", "error")
    return redirect(request, REWARDS, f"Withdrawn: {consent.dgr(paid)} are now in your account.")


@router.post(REWARDS + "/send")
def send_rewards(
    request: Request,
    ctx: ContextDep,
    _user: OperatorDep,
    to: Annotated[str, Form(max_length=64)],
    amount: Annotated[str, Form(max_length=40)],
) -> Response:
    """Send reward tokens from this node's account to another account."""
    try:
        units = consent.parse_dgr(amount)
        with ctx.node.acting():
            consent_rewards.send_tokens(ctx.node.contracts, ctx.node.participant.account, to.strip(), units)
    except DatagoraError as exc:
        return redirect(request, REWARDS, f"Nothing sent: {plain_message(exc)}", "error")
    return redirect(request, REWARDS, f"Sent {consent.dgr(units)} to {to.strip()}.")


@router.post(REWARDS + "/deposit")
def take_back(
    request: Request, ctx: ContextDep, _user: OperatorDep, amount: Annotated[str, Form(max_length=40)]
) -> Response:
    """A consumer takes back unused deposit to its account."""
    try:
        units = consent.parse_dgr(amount)
        with ctx.node.acting():
            consent_rewards.take_back_deposit(ctx.node.contracts, ctx.node.participant.account, units)
    except DatagoraError as exc:
        return redirect(request, REWARDS, f"Nothing taken back: {plain_message(exc)}", "error")
    return redirect(request, REWARDS, f"Took back {consent.dgr(units)} of deposit to your account.")
