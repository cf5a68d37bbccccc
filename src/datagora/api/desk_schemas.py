"""Request and response bodies of the platform's desk (``/platform/...``) and the supervisor's desk
(``/supervisor/...``). The conventions of :mod:`datagora.api.schemas` hold: amounts in wei (or the listing's ERC-20
smallest unit), times Unix seconds, hashes 0x-hex, unknown request fields refused."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from datagora.api.schemas import AuditRecordOut, OrderOut, OrganisationOut, Out, Strict, TxOut
from datagora.services.disputes import Assessment
from datagora.services.platform_desk import AttestationEntry, DisputeCase, OverdueOrder
from datagora.services.supervisor_desk import CheckedRecord, OrganisationRow, SeriesPoint

RulingName = Literal["for-seller", "redelivered", "for-buyer"]


def ruling_name(value: object) -> RulingName:
    """A :class:`~datagora.domain.models.Ruling` as ``for-seller`` / ``redelivered`` / ``for-buyer``."""
    return str(getattr(value, "name", value)).lower().replace("_", "-")  # type: ignore[return-value]


# -- the platform's desk --------------------------------------------------------------------------------------


class AttestationEntryOut(Out):
    outcome: Literal["given", "refused"]
    at: int = Field(description="When the platform gave or refused it (Unix seconds).")
    publisher: str
    content_hash: str = Field(description="SHA-256 of the data asked about, 0x-hex.")
    token_id: int | None = Field(description="The dataset minted with it (given) or the dataset matched (refused).")
    expiry: int | None
    published_at: int | None = Field(description="Block time of the minted dataset's publication.")
    reason: str

    @classmethod
    def of(cls, e: AttestationEntry) -> AttestationEntryOut:
        return cls(
            outcome=e.outcome,
            at=e.at,
            publisher=e.publisher,
            content_hash="0x" + e.content_hash,
            token_id=e.token_id,
            expiry=e.expiry,
            published_at=e.published_at,
            reason=e.reason,
        )


class AttestationLogOut(Out):
    given: int
    refused: int
    entries: list[AttestationEntryOut]


class AssessmentOut(Out):
    content_match: bool = Field(description="The re-upload's SHA-256 is the dataset's content hash.")
    similarity: float = Field(description="Of the re-upload's fingerprint to the one attested, in [0, 1].")
    near_duplicate: bool
    transmitted_ok: bool | None = Field(description="What the seller delivered was the dataset (None: no key).")
    ruling: RulingName = Field(description="The ruling the evidence supports.")
    reason: str

    @classmethod
    def of(cls, a: Assessment) -> AssessmentOut:
        return cls(
            content_match=a.content_match,
            similarity=a.similarity,
            near_duplicate=a.near_duplicate,
            transmitted_ok=a.transmitted_ok,
            ruling=ruling_name(a.ruling),
            reason=a.why(),
        )


class DisputeCaseOut(Out):
    order_id: int
    seller: str
    buyer: str
    token_id: int
    amount_wei: int
    deadline: int = Field(description="The last moment to rule (Unix seconds); afterwards anyone may unwind.")
    disputed_by: str
    disputed_at: int
    fingerprints_match: bool | None = Field(description="f_S and f_B on the send-receive board (None: missing).")
    similarity: float | None
    relayed: bool = Field(description="The platform relayed the delivery (a disclosed key can be checked).")
    reupload_sha256: str | None
    reupload_size: int | None = Field(description="Bytes.")
    reuploaded_at: int | None
    disclosed_at: int | None
    ready: bool = Field(description="The seller re-uploaded: the platform can rule.")
    assessment: AssessmentOut | None
    problem: str

    @classmethod
    def of(cls, c: DisputeCase) -> DisputeCaseOut:
        up, disc = c.reupload, c.disclosure
        return cls(
            order_id=c.order_id,
            seller=c.seller,
            buyer=c.order.buyer,
            token_id=c.token_id,
            amount_wei=c.order.amount,
            deadline=c.order.deadline,
            disputed_by=c.disputed_by,
            disputed_at=c.disputed_at,
            fingerprints_match=c.fingerprints_match,
            similarity=c.similarity,
            relayed=c.relayed,
            reupload_sha256=None if up is None else "0x" + up.sha256,
            reupload_size=None if up is None else up.size,
            reuploaded_at=None if up is None else up.uploaded_at,
            disclosed_at=None if disc is None else disc.disclosed_at,
            ready=c.ready,
            assessment=None if c.assessment is None else AssessmentOut.of(c.assessment),
            problem=c.problem,
        )


class DisputeInboxOut(Out):
    count: int
    disputes: list[DisputeCaseOut]


class RulingIn(Strict):
    ruling: RulingName = Field(description="The ruling the operator chooses; refused when the evidence disagrees.")


class RulingOut(Out):
    order_id: int
    ruling: RulingName
    evidence_hash: str
    buyer_copy: bool = Field(description="The buyer can download a copy from the platform (GET /disputes/{id}/copy).")
    tx: TxOut
    order: OrderOut


class OverdueOut(Out):
    order_id: int
    state: str
    deadline: int
    overdue_for: int = Field(description="Seconds since the deadline.")
    action: Literal["refund", "release", "unwind", "expire"]
    meaning: str

    @classmethod
    def of(cls, o: OverdueOrder, meaning: str) -> OverdueOut:
        return cls(
            order_id=o.order_id,
            state=o.order.state.name.lower(),
            deadline=o.order.deadline,
            overdue_for=o.overdue_for,
            action=o.action,
            meaning=meaning,
        )


class OverdueListOut(Out):
    count: int
    orders: list[OverdueOut]


class SettledOut(Out):
    order_id: int
    action: Literal["refund", "release", "unwind", "expire"]
    tx: TxOut
    order: OrderOut


# -- the supervisor's desk ------------------------------------------------------------------------------------


class OrganisationRowOut(Out):
    organisation: OrganisationOut
    registered_at: int
    status_changed_at: int

    @classmethod
    def of(cls, row: OrganisationRow) -> OrganisationRowOut:
        return cls(
            organisation=OrganisationOut.of(row.organisation),
            registered_at=row.registered_at,
            status_changed_at=row.status_changed_at,
        )


class OrganisationListOut(Out):
    count: int
    organisations: list[OrganisationRowOut]


class OrgStatusIn(Strict):
    status: Literal["to-audit", "audited", "suspended"]


class CheckedRecordOut(Out):
    record: AuditRecordOut
    verified: bool = Field(description="Read back from its transaction receipt, identical.")
    problem: str

    @classmethod
    def of(cls, c: CheckedRecord) -> CheckedRecordOut:
        return cls(record=AuditRecordOut.of(c.record), verified=c.verified, problem=c.problem)


class CheckedTrailOut(Out):
    count: int = Field(description="Rows the filters match.")
    verified: int = Field(description="Rows of this page identical on chain.")
    records: list[CheckedRecordOut]


class SeriesPointOut(Out):
    start: int = Field(description="Start of the period, 00:00 UTC (a week starts on Monday), Unix seconds.")
    trades: int
    volume: int = Field(description="Wei, or the token's smallest unit.")


class SeriesOut(Out):
    period: Literal["day", "week"]
    payment_token: str
    points: list[SeriesPointOut]

    @staticmethod
    def point(p: SeriesPoint) -> SeriesPointOut:
        return SeriesPointOut(start=p.start, trades=p.trades, volume=p.volume)
