"""Customer data in streams and consent per purpose (Shrestha, Joshi, Vassileva). See
``datagora.services.consent`` and ``datagora.services.streams``.

- ``GET /consent/purposes``: the W3C DPV purposes a customer can consent to, with plain labels.
- ``POST /consent/grants``, ``POST /consent/grants/{id}/revoke``: this node's account (a customer) consents and
  withdraws. Operator only.
- ``GET /consent/history/{address}``: every access and refusal of a data subject's data and the rewards earned,
  from this node's index; the subject itself or this node's operator.
- ``GET /streams/{stream}/items``: stream items by key from this node's index (partners subscribe); audited
  members.
- ``POST /consent/requests``: this node's account (a partner) asks for an item for a purpose; recorded on chain
  either way. Operator only.
- ``GET /consent/deliveries/{tx_hash}``: the shop node's delivery of the item of a recorded access, encrypted to
  the access's consumer (so anyone may fetch it, only that consumer can read it); 403 when the transaction
  recorded a refusal or the data was erased.
- ``POST /consent/erasures``: the shop node erases a customer's category (crypto-shredding); asked by the
  customer (signed in with its account) or the operator.
- ``POST /consent/erasures/signed``: the shop node erases on a request the customer's key signed (EIP-712; no
  sign-in, replay-safe), sent by the customer's own node.
- ``GET /consent/rewards/{address}``: reward tokens held, owed (to withdraw) and deposited; the account itself or
  the operator. ``POST /consent/rewards/withdraw``, ``POST /consent/rewards/transfers``,
  ``POST /consent/deposit/withdrawals``: this node's account withdraws, sends, takes back deposit. Operator only.
- ``POST /consent/erasures/forward``: the customer's own node signs such a request with its key and sends it to
  the shop node at ``shop_url``; the shop's answer or its refusal. Operator only.
"""

from __future__ import annotations

import base64
import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import Field

from datagora.api.consent_forward import forward_erasure
from datagora.api.deps import NodeDep, OperatorDep, ReaderDep, SessionDep
from datagora.api.schemas import ADDRESS_PATTERN, Out, Strict, TxOut
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied
from datagora.services import consent, consent_erasure, consent_rewards, streams

router = APIRouter(tags=["consent"])

TX_HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
CATEGORY_PATTERN = r"^(purchase-history|demographics|contact)$"
MAX_REWARD = 2**128 - 1
MAX_ID = 2**63 - 1


class PurposeOut(Out):
    iri: str = Field(description="The W3C DPV term (what goes on chain).")
    label: str
    description: str


class GrantIn(Strict):
    category: str = Field(pattern=CATEGORY_PATTERN)
    organisation_id: int = Field(ge=1, le=2**48 - 1)
    purpose: str = Field(min_length=1, max_length=128, description="A DPV purpose: IRI, dpv:Term or its label.")
    expiry: int = Field(ge=1, le=2**40 - 1, description="Unix time (seconds) the consent ends.")
    reward: int = Field(ge=0, le=MAX_REWARD, description="RewardToken units (18 decimals) per access.")


class GrantOut(Out):
    consent_id: int
    tx: TxOut


class TimelineOut(Out):
    at: int = Field(description="Unix seconds.")
    kind: str = Field(description="access or refusal.")
    consumer: str
    organisation_id: int
    item_id: int
    category: str
    purpose: str
    purpose_label: str
    consent_id: int
    reward: str = Field(description="RewardToken units paid (decimal text); 0 for a refusal.")
    refusal: str | None = Field(description="Why it was refused, in plain words; null when shared.")
    tx_hash: str


class ConsentOut(Out):
    consent_id: int
    organisation_id: int
    category: str
    purpose: str
    purpose_label: str
    expiry: int
    reward: str
    status: str = Field(description="active, expired or revoked.")


class HistoryOut(Out):
    subject: str
    rewards_earned: str = Field(description="RewardToken units (decimal text).")
    consents: list[ConsentOut]
    timeline: list[TimelineOut]


class ItemOut(Out):
    item_id: int
    stream_id: int
    key: str
    publisher: str
    item_hash: str
    location: str
    erased: bool
    published_at: int


class RequestIn(Strict):
    item_id: int = Field(ge=1, le=MAX_ID)
    purpose: str = Field(min_length=1, max_length=128)


class RequestOut(Out):
    item_id: int
    consent_id: int
    granted: bool
    outcome: str = Field(description="What happened, in plain words.")
    reward: str
    tx: TxOut


class DeliveryOut(Out):
    item_id: int
    access_tx: str
    consumer: str
    envelope: str = Field(description="The stored DGE1 envelope, base64; its SHA-256 is the item's hash on chain.")
    wrapped_key: str = Field(description="The envelope's content key, ECIES-encrypted to the consumer, hex.")


class ErasureIn(Strict):
    customer: str = Field(pattern=ADDRESS_PATTERN)
    category: str = Field(pattern=CATEGORY_PATTERN)


class SignedErasureIn(Strict):
    customer: str = Field(pattern=ADDRESS_PATTERN, description="The customer (data subject) who signed.")
    category: str = Field(max_length=32, description="purchase-history, demographics or contact.")
    shop: str = Field(pattern=ADDRESS_PATTERN, description="The shop's account the request is for.")
    chain_id: int = Field(ge=1, le=2**63 - 1)
    issued_at: int = Field(ge=0, le=2**40 - 1, description="Unix seconds the customer signed.")
    nonce: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 random bytes, hex.")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712 signature r || s || v, hex.")


class ForwardErasureIn(Strict):
    shop_url: str = Field(
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        max_length=300,
        description="The shop node's base URL, e.g. https://shop.example.",
    )
    category: str = Field(max_length=32, description="purchase-history, demographics or contact.")


class ErasureOut(Out):
    customer: str
    category: str
    item_ids: list[int]
    key_destroyed: bool
    txs: list[TxOut]


@router.get("/consent/purposes", response_model=list[PurposeOut])
def list_purposes() -> list[PurposeOut]:
    """The purposes a customer can consent to (W3C Data Privacy Vocabulary terms)."""
    return [PurposeOut(iri=p.iri, label=p.label, description=p.description) for p in consent.purposes()]


@router.post(
    "/consent/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantOut,
    responses={409: {"description": "The same consent is already given"}, 404: {"description": "No such organisation"}},
)
def grant(body: GrantIn, node: NodeDep, _: OperatorDep) -> GrantOut:
    """This node's account consents to share a category with an organisation for a purpose. Operator only."""
    with node.acting():
        consent_id, tx = consent.grant(
            node.contracts,
            node.participant.account,
            body.category,
            body.organisation_id,
            body.purpose,
            body.expiry,
            body.reward,
        )
    return GrantOut(consent_id=consent_id, tx=TxOut.of(tx))


@router.post(
    "/consent/grants/{consent_id}/revoke",
    response_model=TxOut,
    responses={409: {"description": "Not this account's consent, or already withdrawn"}},
)
def revoke(consent_id: Annotated[int, Path(ge=1, le=MAX_ID)], node: NodeDep, _: OperatorDep) -> TxOut:
    """Withdraw a consent of this node's account. Operator only."""
    with node.acting():
        return TxOut.of(consent.revoke(node.contracts, node.participant.account, consent_id))


def history_of(node: NodeDep, subject: str) -> HistoryOut:
    """The transparency record of ``subject`` from the node's index (synced first)."""
    node.sync_index()
    timeline = consent.history(node.engine, subject=subject)
    now = node.chain.now()
    return HistoryOut(
        subject=subject,
        rewards_earned=str(sum(e.reward for e in timeline)),
        consents=[
            ConsentOut(
                consent_id=r.consent_id,
                organisation_id=r.organisation_id,
                category=r.category,
                purpose=r.purpose,
                purpose_label=r.purpose_label,
                expiry=r.expiry,
                reward=str(r.reward),
                status=r.status(now),
            )
            for r in consent.consents_of(node.engine, subject)
        ],
        timeline=[
            TimelineOut(
                at=e.at,
                kind=e.kind,
                consumer=e.consumer,
                organisation_id=e.organisation_id,
                item_id=e.item_id,
                category=e.category,
                purpose=e.purpose,
                purpose_label=e.purpose_label,
                consent_id=e.consent_id,
                reward=str(e.reward),
                refusal=e.refusal,
                tx_hash=e.tx_hash,
            )
            for e in timeline
        ],
    )


@router.get(
    "/consent/history/{address}",
    response_model=HistoryOut,
    responses={403: {"description": "Neither the data subject nor this node's operator"}},
)
def history(address: Annotated[str, Path(pattern=ADDRESS_PATTERN)], node: NodeDep, session: SessionDep) -> HistoryOut:
    """Who used a data subject's data, what, when, why, under which consent, every refusal and the rewards. The
    data subject itself or this node's operator."""
    subject = checksum_address(address)
    if session.address.lower() != subject.lower() and not node.is_operator(session.address):
        raise AccessDenied("only the data subject or this node's operator may read this history")
    return history_of(node, subject)


@router.get("/streams/{stream_id}/items", response_model=list[ItemOut])
def stream_items(
    stream_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    node: NodeDep,
    _: ReaderDep,
    key: Annotated[str | None, Query(max_length=128, description="<address>/<category>")] = None,
) -> list[ItemOut]:
    """A stream's items (by key) from this node's index: what partners subscribe to. Audited members."""
    node.sync_index()
    return [
        ItemOut(
            item_id=i.item_id,
            stream_id=i.stream_id,
            key=i.key,
            publisher=i.publisher,
            item_hash=i.item_hash,
            location=i.location,
            erased=i.erased,
            published_at=i.published_at,
        )
        for i in streams.items(node.engine, stream_id=stream_id, key=key)
    ]


@router.post(
    "/consent/requests",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestOut,
    responses={404: {"description": "No such item in this node's index"}},
)
def request_item(body: RequestIn, node: NodeDep, _: OperatorDep) -> RequestOut:
    """This node's account (a partner) asks for an item for a purpose: recorded and paid with a valid consent,
    otherwise the refusal is recorded (``granted`` false). Operator only."""
    node.sync_index()
    with node.acting():
        done = consent.request(node.contracts, node.engine, node.participant.account, body.item_id, body.purpose)
    return RequestOut(
        item_id=done.item_id,
        consent_id=done.consent_id,
        granted=done.granted,
        outcome=done.sentence,
        reward=str(done.reward),
        tx=TxOut.of(done.tx),
    )


@router.get(
    "/consent/deliveries/{tx_hash}",
    response_model=DeliveryOut,
    responses={
        403: {"description": "The transaction recorded a refusal or no access, or the data was erased"},
        404: {"description": "Unknown transaction, or an item this node did not publish"},
    },
)
def delivery(tx_hash: Annotated[str, Path(pattern=TX_HASH_PATTERN)], node: NodeDep) -> DeliveryOut:
    """The item of a recorded access, encrypted to its consumer (anyone may fetch it; only the consumer can read
    it). The consumer checks the envelope's hash against the chain."""
    d = consent.deliver(node.contracts, node.participant, tx_hash.lower())
    return DeliveryOut(
        item_id=d.item_id,
        access_tx=d.access_tx,
        consumer=d.consumer,
        envelope=base64.b64encode(d.envelope).decode(),
        wrapped_key=d.wrapped_key.hex(),
    )


@router.post(
    "/consent/erasures",
    response_model=ErasureOut,
    responses={403: {"description": "Neither the customer nor this node's operator"}},
)
def erase(body: ErasureIn, node: NodeDep, session: SessionDep) -> ErasureOut:
    """Erase a customer's category on this shop node: destroy its data key and mark its items erased on chain.
    The customer (signed in with its own account) or this node's operator."""
    if session.address.lower() != body.customer.lower() and not node.is_operator(session.address):
        raise AccessDenied("only the customer or this shop node's operator may erase the customer's data")
    with node.acting():
        done = consent.erase(node.contracts, node.participant, checksum_address(body.customer), body.category)
    return ErasureOut(
        customer=done.customer,
        category=done.category,
        item_ids=done.item_ids,
        key_destroyed=done.key_destroyed,
        txs=[TxOut.of(t) for t in done.txs],
    )


def _erasure_out(done: consent.Erasure) -> ErasureOut:
    return ErasureOut(
        customer=done.customer,
        category=done.category,
        item_ids=done.item_ids,
        key_destroyed=done.key_destroyed,
        txs=[TxOut.of(t) for t in done.txs],
    )


@router.post(
    "/consent/erasures/signed",
    response_model=ErasureOut,
    responses={
        403: {"description": "Not signed by the customer it names, for another shop or chain, too old"},
        404: {"description": "This shop holds none of that data of the customer"},
        409: {"description": "Already erased, or the request was used before (a replay)"},
    },
)
def erase_signed(body: SignedErasureIn, node: NodeDep) -> ErasureOut:
    """Erase a customer's category on this shop node on a request signed with the customer's key (EIP-712
    ``ErasureRequest``), as the customer's own node sends it. No sign-in: the signature is the authority; each
    request is accepted once and for 10 minutes."""
    request = consent_erasure.ErasureRequest.from_json(body.model_dump())
    with node.acting():
        done = consent_erasure.erase_on_request(node.contracts, node.participant, request, now=int(time.time()))
    return _erasure_out(done)


@router.post(
    "/consent/erasures/forward",
    response_model=ErasureOut,
    responses={
        403: {"description": "The shop refused the request"},
        404: {"description": "The shop holds none of that data"},
        409: {"description": "Already erased"},
        502: {"description": "The shop's node could not be reached: nothing was erased"},
    },
)
def erase_forward(body: ForwardErasureIn, request: Request, node: NodeDep, _: OperatorDep) -> ErasureOut:
    """This node's account (a customer) asks the shop node at ``shop_url`` to erase one category of its data:
    the request is signed here with this node's key and sent to the shop, which answers with what it erased.
    Operator only."""
    client = request.app.state.peers.client(body.shop_url.rstrip("/"))
    answer = forward_erasure(client, node.participant.account, node.chain.chain_id, body.category, now=int(time.time()))
    return ErasureOut.model_validate(answer)


class RewardsOut(Out):
    account: str
    balance: str = Field(description="RewardToken units in the account itself (decimal text).")
    pending: str = Field(description="RewardToken units the Consent contract owes the account, to withdraw.")
    deposit: str = Field(description="RewardToken units the account pre-funded to pay customers (consumers).")
    balance_text: str = Field(description="The balance as a person reads it, e.g. 5 DGR.")
    pending_text: str


class AmountIn(Strict):
    amount: int = Field(ge=1, le=MAX_REWARD, description="RewardToken units (18 decimals).")


class TransferIn(AmountIn):
    to: str = Field(pattern=ADDRESS_PATTERN)


class WithdrawnOut(Out):
    amount: str = Field(description="RewardToken units paid out (decimal text).")
    txs: list[TxOut]


def _rewards_out(r: consent_rewards.Rewards) -> RewardsOut:
    return RewardsOut(
        account=r.account,
        balance=str(r.balance),
        pending=str(r.pending),
        deposit=str(r.deposit),
        balance_text=consent.dgr(r.balance),
        pending_text=consent.dgr(r.pending),
    )


@router.get(
    "/consent/rewards/{address}",
    response_model=RewardsOut,
    responses={403: {"description": "Neither the account itself nor this node's operator"}},
)
def rewards(address: Annotated[str, Path(pattern=ADDRESS_PATTERN)], node: NodeDep, session: SessionDep) -> RewardsOut:
    """Reward tokens of an account: held, owed by the Consent contract, deposited. The account or the operator."""
    if session.address.lower() != address.lower() and not node.is_operator(session.address):
        raise AccessDenied("only the account itself or this node's operator may read its rewards")
    return _rewards_out(consent_rewards.rewards_of(node.contracts, address))


@router.post(
    "/consent/rewards/withdraw",
    response_model=WithdrawnOut,
    responses={422: {"description": "Nothing to withdraw"}},
)
def withdraw_rewards(node: NodeDep, _: OperatorDep) -> WithdrawnOut:
    """This node's account withdraws every reward token the Consent contract owes it. Operator only."""
    with node.acting():
        paid, tx = consent_rewards.withdraw_rewards(node.contracts, node.participant.account)
    return WithdrawnOut(amount=str(paid), txs=[TxOut.of(tx)])


@router.post(
    "/consent/rewards/transfers",
    response_model=TxOut,
    responses={422: {"description": "More than the balance, or to this account itself"}},
)
def send_rewards(body: TransferIn, node: NodeDep, _: OperatorDep) -> TxOut:
    """This node's account sends reward tokens from its balance (EIP-20 transfer). Operator only."""
    with node.acting():
        return TxOut.of(consent_rewards.send_tokens(node.contracts, node.participant.account, body.to, body.amount))


@router.post(
    "/consent/deposit/withdrawals",
    response_model=WithdrawnOut,
    responses={422: {"description": "More than the unused deposit"}},
)
def take_back_deposit(body: AmountIn, node: NodeDep, _: OperatorDep) -> WithdrawnOut:
    """This node's account (a consumer) takes back unused deposit to its balance. Operator only."""
    with node.acting():
        txs = consent_rewards.take_back_deposit(node.contracts, node.participant.account, body.amount)
    return WithdrawnOut(amount=str(body.amount), txs=[TxOut.of(t) for t in txs])
