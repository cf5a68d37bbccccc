"""The platform's desk: what the platform's operator reviews and acts on (Wu et al. section III.A steps 4-8 and
22, section IV.A.3-5), read from the node's event index, the chain and the platform's own stores.

* :func:`attestation_log` — novelty attestations given (data-contract table) and refused (its refusal log), with
  their dates and, for those minted, the dataset and when it was published (from the index).
* :func:`disputes_inbox` / :func:`dispute_case` — open disputes with their evidence: the send-receive board's
  fingerprint comparison (f_S and f_B), the seller's re-upload, the buyer's disclosure, the deadline; a case also
  carries :func:`datagora.services.arbitration.assess_stored`'s comparison and the ruling it supports.
* :func:`rule` — the ruling actions (for the seller, redelivered, for the buyer): the operator chooses one and the
  platform resolves with it only when the evidence supports it.
* :func:`overdue_orders` / :func:`settle_overdue` — orders past their delivery, confirmation, dispute or usage
  deadline, which anyone may settle, and settling one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.domain.models import ChainEvent, Order, OrderState, Ruling, TxResult
from datagora.services import disputes
from datagora.services.arbitration import ArbitrationInbox, Disclosure, Reupload, arbitrate_stored, assess_stored
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant

# -- attestation log --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttestationEntry:
    """One line of the attestation log. ``outcome``: ``given`` or ``refused``; ``at``: when (Unix seconds);
    ``content_hash``: SHA-256 of the data asked about (hex); ``token_id``: the dataset minted with the attestation
    (given) or the dataset the data matched (refused), None when there is none; ``expiry``: until when an
    attestation could be used (Unix seconds; None for a refusal); ``published_at``: block time of the minted
    dataset's ``DatasetPublished`` (None until indexed); ``reason``: the refusal's words (empty when given)."""

    outcome: Literal["given", "refused"]
    at: int
    publisher: str
    content_hash: str
    token_id: int | None
    expiry: int | None
    published_at: int | None
    reason: str = ""


def _published_times(events: Iterable[ChainEvent]) -> dict[int, int]:
    return {int(ev.args["token_id"]): ev.timestamp for ev in events if ev.name == "DatasetPublished"}


def attestation_log(attestor: NoveltyAttestor, events: Iterable[ChainEvent] = ()) -> list[AttestationEntry]:
    """The platform's attestations given and refused, newest first. ``events``: the node's indexed events (for the
    publication times of minted datasets; empty leaves ``published_at`` None)."""
    published = _published_times(events)
    entries = [
        AttestationEntry(
            "given",
            row.attested_at,
            row.publisher,
            row.content_hash.hex(),
            row.token_id,
            row.expiry,
            None if row.token_id is None else published.get(row.token_id),
        )
        for row in attestor.data_contract.rows()
    ]
    entries += [
        AttestationEntry(
            "refused", r.refused_at, r.publisher, r.content_hash.hex(), r.matching_token_id, None, None, r.reason
        )
        for r in attestor.data_contract.refusals()
    ]
    return sorted(entries, key=lambda e: e.at, reverse=True)


# -- disputes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeCase:
    """One open dispute as the platform sees it. ``order``: the order on chain (``deadline`` is the time left to
    rule, Unix seconds); ``seller``, ``token_id``; ``disputed_by`` and ``disputed_at`` (Unix seconds, from the
    ``Disputed`` event; empty / 0 until indexed); ``fingerprints_match`` and ``similarity`` of f_S and f_B on the
    send-receive board (None when a notice or fingerprint is missing); ``relayed``: the platform relayed the
    delivery; the seller's ``reupload`` and the buyer's ``disclosure`` when held; ``assessment``: what the
    evidence shows and the ruling it supports (None until the seller re-uploaded, or in a list);
    ``problem``: why the evidence could not be assessed (empty when it could)."""

    order: Order
    seller: str
    token_id: int
    disputed_by: str
    disputed_at: int
    fingerprints_match: bool | None
    similarity: float | None
    relayed: bool
    reupload: Reupload | None
    disclosure: Disclosure | None
    assessment: disputes.Assessment | None = None
    problem: str = ""

    @property
    def order_id(self) -> int:
        return self.order.id

    @property
    def ready(self) -> bool:
        """Whether the platform can rule now (the seller re-uploaded)."""
        return self.reupload is not None


def _disputed_events(events: Iterable[ChainEvent]) -> dict[int, ChainEvent]:
    """The latest ``Disputed`` event of each order of the Market."""
    return {int(ev.args["order_id"]): ev for ev in events if ev.contract == "Market" and ev.name == "Disputed"}


def _case(inbox: ArbitrationInbox, order_id: int, disputed: ChainEvent | None) -> DisputeCase:
    contracts = inbox.board.contracts
    view = inbox.board.check(order_id)
    listing = contracts.market.listing(view.order.listing_id)
    held = inbox.reupload(order_id)
    return DisputeCase(
        order=view.order,
        seller=view.seller,
        token_id=listing.token_id,
        disputed_by="" if disputed is None else str(disputed.args["by"]),
        disputed_at=0 if disputed is None else disputed.timestamp,
        fingerprints_match=view.fingerprints_match,
        similarity=view.similarity,
        relayed=view.relayed is not None,
        reupload=None if held is None else held[1],
        disclosure=inbox.disclosure(order_id),
    )


def disputes_inbox(inbox: ArbitrationInbox, events: Iterable[ChainEvent]) -> list[DisputeCase]:
    """The Market's orders disputed now, from the indexed ``events`` (their ``Disputed`` events) checked against
    the chain, soonest deadline first. Nothing is decrypted: see :func:`dispute_case` for the assessment."""
    market = inbox.board.contracts.market
    cases = []
    for order_id, ev in _disputed_events(events).items():
        if market.order(order_id).state == OrderState.DISPUTED:
            cases.append(_case(inbox, order_id, ev))
    return sorted(cases, key=lambda c: c.order.deadline)


def dispute_case(
    platform: Participant,
    attestor: NoveltyAttestor,
    inbox: ArbitrationInbox,
    order_id: int,
    events: Iterable[ChainEvent] = (),
) -> DisputeCase:
    """The dispute of ``order_id`` with its evidence and, when the seller re-uploaded, the assessment (the
    re-upload decrypted and compared once, then remembered). Raises ``NotFoundError`` (unknown order),
    ``ValidationError`` (the order is not disputed)."""
    order = inbox.board.contracts.market.order(order_id)
    if order.state != OrderState.DISPUTED:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not disputed")
    case = _case(inbox, order_id, _disputed_events(events).get(order_id))
    if case.reupload is None:
        return case
    try:
        found = assess_stored(platform, attestor, inbox, order_id)
    except ValidationError as exc:  # an unreadable re-upload or key: shown, the ruling for the buyer stays open
        return replace(case, problem=str(exc))
    return replace(case, assessment=found)


def parse_ruling(text: str) -> Ruling:
    """``for-seller``, ``redelivered`` or ``for-buyer`` (any case, ``-`` or ``_``) to a :class:`Ruling`; raises
    ``ValidationError`` otherwise."""
    key = text.strip().upper().replace("-", "_")
    if key not in Ruling.__members__:
        raise ValidationError(f"unknown ruling {text!r}: choose for-seller, redelivered or for-buyer")
    return Ruling[key]


def rule(
    platform: Participant,
    attestor: NoveltyAttestor,
    inbox: ArbitrationInbox,
    order_id: int,
    ruling: Ruling,
) -> disputes.Resolution:
    """Resolve the dispute of ``order_id`` with the operator's ``ruling`` (``Market.resolve``), only when the
    held evidence supports it: ``Conflict`` saying which ruling it supports otherwise (nothing sent), or when the
    seller has not re-uploaded. Raises as :func:`datagora.services.arbitration.arbitrate_stored`."""
    return arbitrate_stored(platform, attestor, inbox, order_id, expect=ruling)


# -- deadlines ------------------------------------------------------------------------------------------------

OverdueAction = Literal["refund", "release", "unwind", "expire"]

ACTION_WORDS: dict[str, str] = {
    "refund": "refund the buyer: never delivered",
    "release": "pay the seller: delivery never confirmed",
    "unwind": "refund the buyer: dispute not ruled in time",
    "expire": "close the use-right: unused credit back to the buyer",
}
"""What settling an overdue order does, in plain words."""


@dataclass(frozen=True)
class OverdueOrder:
    """An order past its deadline (``order.deadline``, Unix seconds) that anyone may settle with ``action``;
    ``overdue_for``: seconds since the deadline."""

    order: Order
    action: OverdueAction
    overdue_for: int

    @property
    def order_id(self) -> int:
        return self.order.id


def _action(order: Order) -> OverdueAction | None:
    if order.is_use_right:
        return "expire"
    return {OrderState.PAID: "refund", OrderState.DELIVERED: "release", OrderState.DISPUTED: "unwind"}.get(
        order.state  # type: ignore[return-value]
    )


_DEADLINE_ARG = {"OrderPaid": "deadline", "Delivered": "confirm_deadline", "Disputed": "resolve_deadline"}
"""The event that sets an order's current deadline, and the argument carrying it (Unix seconds)."""


def _open_orders(events: Iterable[ChainEvent]) -> dict[int, int]:
    """Orders paid and not settled yet, with their latest deadline, from the indexed events of both sale
    contracts."""
    deadlines: dict[int, int] = {}
    for ev in events:
        if ev.contract not in ("Market", "UseRights"):
            continue
        order_id = int(ev.args.get("order_id", 0))
        if ev.name == "Settled":
            deadlines.pop(order_id, None)
        elif ev.name in _DEADLINE_ARG and (ev.name == "OrderPaid" or order_id in deadlines):
            deadlines[order_id] = int(ev.args[_DEADLINE_ARG[ev.name]])
    return deadlines


def overdue_orders(contracts: Contracts, events: Iterable[ChainEvent]) -> list[OverdueOrder]:
    """The orders whose deadline has passed and that are still open, longest overdue first. ``events``: the
    node's indexed events; only the orders whose indexed deadline has passed are read from the chain (which has
    the last word)."""
    now = contracts.chain.now()
    found = []
    for order_id, deadline in sorted(_open_orders(events).items()):
        if now <= deadline:
            continue
        order = contracts.market.order(order_id)
        action = None if order.state.settled or now <= order.deadline else _action(order)
        if action is not None:
            found.append(OverdueOrder(order, action, now - order.deadline))
    return sorted(found, key=lambda o: o.overdue_for, reverse=True)


def settle_overdue(contracts: Contracts, caller: Participant, order_id: int) -> tuple[OverdueAction, TxResult]:
    """Settle one overdue order the way its state calls for (refund, release, unwind or expire). Raises
    ``ValidationError`` when the order is settled or its deadline has not passed (nothing sent),
    ``NotFoundError``, ``TransactionReverted``."""
    order = contracts.market.order(order_id)
    if order.state.settled:
        raise ValidationError(f"order {order_id} is already {order.state.name.lower()}")
    now = contracts.chain.now()
    if now <= order.deadline:
        raise ValidationError(f"order {order_id} is not overdue: its deadline is in {order.deadline - now} seconds")
    action = _action(order)
    if action is None:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: there is nothing to settle")
    if action == "expire":
        return action, contracts.use_rights.expire(caller.account, order_id)
    if action == "release":
        return action, contracts.market.release(caller.account, order_id)
    return action, contracts.market.refund(caller.account, order_id)
