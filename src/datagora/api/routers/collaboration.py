"""Collaborations (Mehdi et al.): the services explorer and DAOs. ``GET /dao/offers`` lists offers with their terms
and negotiation rounds; ``GET /dao/{dao_id}`` reads a DAO (members, stakes, channels, what each may withdraw, the
profit tree). This node's operator posts, counters and accepts offers, pays revenue in, withdraws, reports its
heartbeat, terminates an overdue member, and posts to / reads the DAO's encrypted channels (content sealed to the
channel's members, kept in this node's store). See ``datagora.services.collaboration``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, status
from pydantic import Field

from datagora.api.deps import NodeDep, OperatorDep, ReaderDep
from datagora.api.schemas import ADDRESS_PATTERN, Out, Strict, TxOut
from datagora.crypto.keys import checksum_address
from datagora.domain.collaboration import Role
from datagora.services import collaboration

router = APIRouter(prefix="/dao", tags=["collaborations"])

DaoPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The DAO's number.")]
OfferPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The offer's number.")]
ChannelPath = Annotated[int, Path(ge=1, le=15, description="The channel's number (1 = the first value provider's).")]
MAX_WEI = 10**30
WORDS = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
"""Text with at least one visible character and no control characters."""


class TermsIn(Strict):
    title: str = Field(min_length=1, max_length=200, pattern=WORDS, description="A short title.")
    data: str = Field(min_length=1, max_length=200, pattern=WORDS, description="What the data is.")
    service: str = Field(min_length=1, max_length=200, pattern=WORDS, description="What the value provider adds.")
    stake_bps: int = Field(
        strict=True, ge=1, le=9_999, description="The value provider's (newcomer's) stake, basis points."
    )


class OfferIn(TermsIn):
    role: Literal["dsp", "vp"] = Field(description="This node's role: data provider or value provider.")
    dao_id: int = Field(
        strict=True, default=0, ge=0, le=2**63 - 1, description="0 for a new DAO, else the DAO to join."
    )
    heartbeat_timeout: int = Field(
        strict=True, default=3_600, ge=60, le=365 * 86_400, description="Seconds (new DAO only)."
    )
    lifetime: int = Field(
        strict=True, default=7 * 86_400, ge=60, le=365 * 86_400, description="Seconds the offer stays open."
    )


class CounterIn(TermsIn):
    counterparty: str | None = Field(None, pattern=ADDRESS_PATTERN, description="Only when this node posted it.")


class AcceptIn(Strict):
    counterparty: str | None = Field(None, pattern=ADDRESS_PATTERN, description="Only when this node posted it.")


class PayIn(Strict):
    amount_wei: int = Field(strict=True, ge=1, le=MAX_WEI)


class TerminateIn(Strict):
    member: str = Field(pattern=ADDRESS_PATTERN)


class PostIn(Strict):
    text: str = Field(min_length=1, max_length=20_000)


class ProposalOut(Out):
    counterparty: str
    proposer: str
    round: int
    stake_bps: int


class OfferOut(Out):
    offer_id: int
    title: str
    poster: str
    poster_role: str
    dao_id: int
    state: str
    stake_bps: int
    heartbeat_timeout: int
    expiry: int
    terms_hash: str
    terms: dict[str, object]
    rounds: list[ProposalOut]


class MemberOut(Out):
    account: str
    seat: int
    active: bool
    stake_bps: int
    last_heartbeat: int
    channels: list[int]
    claimable_wei: int


class ProfitNodeOut(Out):
    label: str
    share_bps: int
    children: list[ProfitNodeOut]


class DaoOut(Out):
    dao_id: int
    founder: str
    lead: str
    state: str
    heartbeat_timeout: int
    key_epoch: int
    total_revenue_wei: int
    channels: list[int]
    members: list[MemberOut]
    profit_tree: ProfitNodeOut


class CreatedOut(Out):
    id: int
    tx: TxOut


class WithdrawOut(Out):
    amount_wei: int
    tx: TxOut


class PostOut(Out):
    post_id: int
    channel: int
    author: str
    key_epoch: int
    content_hash: str
    text: str | None = Field(description="The content when this node's account could decrypt it, else null.")
    sealed_reason: str


def _tree(node: collaboration.ProfitNode) -> ProfitNodeOut:
    return ProfitNodeOut(label=node.label, share_bps=node.share_bps, children=[_tree(c) for c in node.children])


def _terms(body: TermsIn, role: Role) -> dict[str, object]:
    return collaboration.build_terms(
        role=role, title=body.title, data=body.data, service=body.service, stake_bps=body.stake_bps
    )


@router.get("/offers", response_model=list[OfferOut])
def offers(node: NodeDep, _: ReaderDep, open_only: bool = False) -> list[OfferOut]:
    """The services explorer: every offer (newest first) with its terms and negotiation rounds."""
    out = []
    for e in collaboration.explorer(node.contracts, open_only=open_only):
        o = e.offer
        out.append(
            OfferOut(
                offer_id=o.offer_id,
                title=e.title,
                poster=o.poster,
                poster_role=o.poster_role.name.lower(),
                dao_id=o.dao_id,
                state=o.state.name.lower(),
                stake_bps=o.stake_bps,
                heartbeat_timeout=o.heartbeat_timeout,
                expiry=o.expiry,
                terms_hash="0x" + o.terms_hash.hex(),
                terms=e.terms,
                rounds=[
                    ProposalOut(counterparty=c, proposer=p.proposer, round=p.round, stake_bps=p.stake_bps)
                    for c, p in e.rounds.items()
                ],
            )
        )
    return out


@router.get("/{dao_id}", response_model=DaoOut, responses={404: {"description": "No such DAO"}})
def dao(dao_id: DaoPath, node: NodeDep, _: ReaderDep) -> DaoOut:
    """A DAO: members by seat, stakes (basis points), channels, what each may withdraw (wei), the profit tree."""
    view = collaboration.overview(node.contracts, dao_id)
    d = view.dao
    return DaoOut(
        dao_id=d.dao_id,
        founder=d.founder,
        lead=d.lead,
        state=d.state.name.lower(),
        heartbeat_timeout=d.heartbeat_timeout,
        key_epoch=d.key_epoch,
        total_revenue_wei=d.total_revenue,
        channels=d.channels,
        members=[
            MemberOut(
                account=m.account,
                seat=m.seat,
                active=m.active,
                stake_bps=m.stake_bps,
                last_heartbeat=m.last_heartbeat,
                channels=m.channels(d.seats),
                claimable_wei=view.claimable[m.account],
            )
            for m in view.members
        ],
        profit_tree=_tree(view.tree),
    )


CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "Refused by the contract (its reason in the detail)"}}


@router.post("/offers", status_code=status.HTTP_201_CREATED, response_model=CreatedOut, responses=CONFLICT)
def post_offer(body: OfferIn, node: NodeDep, _: OperatorDep) -> CreatedOut:
    """Post an offer as this node's account. Operator only."""
    role = Role.DSP if body.role == "dsp" else Role.VP
    with node.acting():
        offer_id, tx = collaboration.post_offer(
            node.contracts,
            node.participant.account,
            terms=_terms(body, role),
            role=role,
            stake_bps=body.stake_bps,
            dao_id=body.dao_id,
            heartbeat_timeout=body.heartbeat_timeout,
            lifetime=body.lifetime,
        )
    return CreatedOut(id=offer_id, tx=TxOut.of(tx))


@router.post(
    "/offers/{offer_id}/counter", response_model=TxOut, responses={**CONFLICT, 404: {"description": "No such offer"}}
)
def counter(offer_id: OfferPath, body: CounterIn, node: NodeDep, _: OperatorDep) -> TxOut:
    """Answer the other side's last proposal with new terms and stake. Operator only."""
    role = node.contracts.collaboration.offer(offer_id).poster_role
    party = checksum_address(body.counterparty) if body.counterparty else None
    with node.acting():
        tx = collaboration.counter(
            node.contracts, node.participant.account, offer_id, terms=_terms(body, role), stake_bps=body.stake_bps,
            counterparty=party,
        )  # fmt: skip
    return TxOut.of(tx)


@router.post("/offers/{offer_id}/accept", response_model=CreatedOut, responses=CONFLICT)
def accept(offer_id: OfferPath, body: AcceptIn, node: NodeDep, _: OperatorDep) -> CreatedOut:
    """Accept the other side's last proposal; returns the DAO formed or joined. Operator only."""
    party = checksum_address(body.counterparty) if body.counterparty else None
    with node.acting():
        dao_id, tx = collaboration.accept(node.contracts, node.participant.account, offer_id, counterparty=party)
    return CreatedOut(id=dao_id, tx=TxOut.of(tx))


@router.post("/{dao_id}/pay", response_model=TxOut, responses=CONFLICT)
def pay(dao_id: DaoPath, body: PayIn, node: NodeDep, _: OperatorDep) -> TxOut:
    """Pay revenue (wei) into the DAO from this node's account. Operator only."""
    with node.acting():
        return TxOut.of(collaboration.pay(node.contracts, node.participant.account, dao_id, body.amount_wei))


@router.post("/{dao_id}/withdraw", response_model=WithdrawOut, responses=CONFLICT)
def withdraw(dao_id: DaoPath, node: NodeDep, _: OperatorDep) -> WithdrawOut:
    """Withdraw this node's share of the DAO's revenue. Operator only."""
    with node.acting():
        wei, tx = collaboration.withdraw(node.contracts, node.participant.account, dao_id)
    return WithdrawOut(amount_wei=wei, tx=TxOut.of(tx))


@router.post("/{dao_id}/heartbeat", response_model=TxOut, responses=CONFLICT)
def heartbeat(dao_id: DaoPath, node: NodeDep, _: OperatorDep) -> TxOut:
    """Report that this node's machine is alive. Operator only."""
    with node.acting():
        return TxOut.of(node.contracts.collaboration.heartbeat(node.participant.account, dao_id))


@router.post("/{dao_id}/terminate", response_model=TxOut, responses=CONFLICT)
def terminate(dao_id: DaoPath, body: TerminateIn, node: NodeDep, _: OperatorDep) -> TxOut:
    """Terminate a member past the DAO's heartbeat timeout. Operator only."""
    with node.acting():
        tx = node.contracts.collaboration.terminate(node.participant.account, dao_id, checksum_address(body.member))
    return TxOut.of(tx)


def _store(node: NodeDep) -> collaboration.ChannelStore:
    return collaboration.ChannelStore(node.participant.home / "channels")


@router.post(
    "/{dao_id}/channels/{channel}/posts",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedOut,
    responses={**CONFLICT, 422: {"description": "Not a member of the channel"}},
)
def post(dao_id: DaoPath, channel: ChannelPath, body: PostIn, node: NodeDep, _: OperatorDep) -> CreatedOut:
    """Post text to a channel, encrypted to its current members. Operator only."""
    with node.acting():
        post_id, txs = collaboration.post_to_channel(
            node.contracts, _store(node), node.participant.account, dao_id, channel, body.text.encode()
        )
    return CreatedOut(id=post_id, tx=TxOut.of(txs[-1]))


@router.get("/{dao_id}/channels/{channel}/posts", response_model=list[PostOut])
def read(dao_id: DaoPath, channel: ChannelPath, node: NodeDep, _: OperatorDep) -> list[PostOut]:
    """A channel's posts as this node's account sees them: content where it holds the key, metadata elsewhere.
    Operator only."""
    posts = collaboration.read_channel(node.contracts, _store(node), node.participant.private_key, dao_id, channel)
    return [
        PostOut(
            post_id=p.post_id,
            channel=p.channel,
            author=p.author,
            key_epoch=p.epoch,
            content_hash="0x" + p.content_hash.hex(),
            text=p.content.decode(errors="replace") if p.content is not None else None,
            sealed_reason=p.sealed_reason,
        )
        for p in posts
    ]
