"""Consent per purpose, partner access with a reward, the transparency timeline, and erasure (Shrestha, Joshi,
Vassileva, "Customer Data Sharing Platform: A Blockchain-Based Shopping Cart"; ``contracts/Consent.vy``).

A customer (the data subject) consents per data category, per consumer organisation and per purpose (a W3C Data
Privacy Vocabulary term, https://w3id.org/dpv, from the list shipped in ``services/vocab/dpv-purposes.csv``), until
an expiry, for a reward per access in RewardToken. A partner (a member of the consumer organisation) asks for a
stream item for a purpose with :func:`request`: its own transaction calls ``Consent.request_access``, which with a
valid consent records the access and pays the reward, and otherwise records the refusal with its reason. The shop
node delivers only against a recorded access (:func:`deliver`), encrypted to the partner's Registry key (ECIES);
the partner checks the envelope's hash against the chain before decrypting (:func:`receive`). :func:`erase`
destroys a category's data key (crypto-shredding) and marks its items erased on chain.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

from datagora.chain.bindings.consent import term_hash
from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.crypto.envelope import data_key_of, decrypt_stream_with_data_key
from datagora.crypto.hashing import keccak256
from datagora.domain.errors import AccessDenied, IntegrityError, NotFoundError, ValidationError
from datagora.domain.models import AccessRefusal, TxResult
from datagora.domain.refusals import access_refusal_sentence
from datagora.index.schema import consent_accesses, consents
from datagora.services import streams
from datagora.services.participant import Participant

if TYPE_CHECKING:  # the engine is the index adapter's; services only pass it along
    from sqlalchemy import Engine

DPV: Final = "https://w3id.org/dpv#"
MAX_EXPIRY: Final = 2**40 - 1


def dgr(units: int) -> str:
    """RewardToken units (18 decimals) as a person reads them: ``"5 DGR"``, ``"0.25 DGR"``."""
    value = (Decimal(units) / 10**18).normalize()
    return f"{value:f} DGR"


def parse_dgr(text: str) -> int:
    """``"5"`` or ``"0.5"`` (DGR) → RewardToken units. ``ValidationError`` for anything else than a non-negative
    amount with at most 18 decimals."""
    try:
        units = Decimal(text.strip().removesuffix("DGR").strip()) * 10**18
    except InvalidOperation:
        raise ValidationError(f"{text!r} is not an amount of DGR (e.g. 5 or 0.5)") from None
    if not units.is_finite() or units < 0 or units != units.to_integral_value():
        raise ValidationError(f"{text!r} is not an amount of DGR (e.g. 5 or 0.5)")
    return int(units)


@dataclass(frozen=True)
class Purpose:
    """A W3C DPV purpose: its IRI (what goes on chain), a plain label and a one-line description."""

    iri: str
    label: str
    description: str


@cache
def purposes() -> tuple[Purpose, ...]:
    """The DPV purposes a customer may consent to (the shipped vocabulary list), in the list's order."""
    text = resources.files("datagora.services").joinpath("vocab/dpv-purposes.csv").read_text(encoding="utf-8")
    return tuple(Purpose(r["iri"], r["label"], r["description"]) for r in csv.DictReader(io.StringIO(text)))


def purpose_label(iri: str) -> str:
    """The plain label of a DPV purpose IRI (the IRI's term when it is not in the list)."""
    for p in purposes():
        if p.iri == iri:
            return p.label
    return iri.rsplit("#", 1)[-1]


def check_purpose(purpose: str) -> str:
    """A DPV purpose IRI from an IRI, a ``dpv:Term`` / bare term, or a plain label (any case); ``ValidationError``
    when it is not in the vocabulary list."""
    wanted = purpose.strip()
    if wanted.startswith("dpv:"):
        wanted = DPV + wanted[4:]
    for p in purposes():
        if wanted in (p.iri, p.iri.removeprefix(DPV)) or wanted.lower() == p.label.lower():
            return p.iri
    raise ValidationError(f"unknown purpose {purpose!r}: use one of {', '.join(p.label for p in purposes())}")


def grant(
    contracts: Contracts,
    subject: LocalAccount,
    category: str,
    organisation_id: int,
    purpose: str,
    expiry: int,
    reward: int,
) -> tuple[int, TxResult]:
    """The data subject lets organisation ``organisation_id`` use its ``category`` data for ``purpose`` (a DPV
    purpose, see :func:`check_purpose`) until ``expiry`` (Unix seconds), for ``reward`` RewardToken units per access.
    Returns the consent id and the transaction.

    Raises:
        ValidationError: unknown category or purpose, expiry not in the future, negative reward.
        NotFoundError: no such organisation.
        TransactionReverted: "consent: already granted" (a live consent for the same terms exists).
    """
    streams.check_category(category)
    iri = check_purpose(purpose)
    if expiry <= contracts.chain.now():
        raise ValidationError("the expiry must be in the future")
    if expiry > MAX_EXPIRY:
        raise ValidationError("the expiry is too far in the future")
    if reward < 0:
        raise ValidationError("the reward cannot be negative")
    contracts.registry.organisation(organisation_id)
    return contracts.consent.grant(subject, category, organisation_id, iri, expiry, reward)


def revoke(contracts: Contracts, subject: LocalAccount, consent_id: int) -> TxResult:
    """The data subject withdraws consent ``consent_id``; later requests under it are refused. Raises
    ``TransactionReverted`` ("consent: not the data subject", "consent: already revoked")."""
    return contracts.consent.revoke(subject, consent_id)


def fund_rewards(contracts: Contracts, consumer: LocalAccount, amount: int) -> list[TxResult]:
    """A consumer pre-funds rewards: approve the Consent contract and deposit ``amount`` RewardToken units."""
    return [
        contracts.reward_token.approve(consumer, contracts.consent.address, amount),
        contracts.consent.deposit(consumer, amount),
    ]


@dataclass(frozen=True)
class AccessRequest:
    """The outcome of :func:`request`: the item, the consent it was asked under (0 when there was none), the
    purpose, the refusal (None when the access was recorded and paid), the reward paid (RewardToken units) and the
    request's transaction (the shop node delivers against it)."""

    item_id: int
    consent_id: int
    purpose: str
    refusal: AccessRefusal | None
    reward: int
    tx: TxResult

    @property
    def granted(self) -> bool:
        return self.refusal is None

    @property
    def sentence(self) -> str:
        """What happened, in plain words."""
        if self.refusal is None:
            return f"access to item #{self.item_id} recorded under consent #{self.consent_id}"
        return access_refusal_sentence(self.refusal)


def request(contracts: Contracts, engine: Engine, partner: LocalAccount, item_id: int, purpose: str) -> AccessRequest:
    """A partner asks for stream item ``item_id`` (found in its node's index) for ``purpose``. The consent is the
    last one the item's data subject gave the partner's organisation for the item's category and this purpose.
    The request always goes on chain: recorded and paid with a valid consent, otherwise the refusal is recorded
    (with its reason: no consent, other purpose, revoked, expired, erased …); nothing is delivered then.

    Raises:
        NotFoundError: the index holds no such item.
        ValidationError: unknown purpose.
    """
    iri = check_purpose(purpose)
    item = streams.indexed_item(engine, item_id)
    organisation_id = contracts.registry.organisation_of(partner.address)
    consent_id = (
        contracts.consent.latest_consent(item.customer, item.category, organisation_id, iri) if organisation_id else 0
    )
    if consent_id == 0 and organisation_id:  # asked under the subject's consent for another purpose: refused as such
        consent_id = _latest_for_category(engine, item.customer, item.category, organisation_id)
    refusal, tx = contracts.consent.request_access(partner, consent_id, item.category, iri, item_id)
    reward = 0 if refusal is not None else int(tx.event("AccessRecorded").args["reward"])
    return AccessRequest(item_id, consent_id, iri, refusal, reward, tx)


def _latest_for_category(engine: Engine, subject: str, category: str, organisation_id: int) -> int:
    q = (
        select(consents.c.consent_id)
        .where(
            func.lower(consents.c.subject) == subject.lower(),
            consents.c.category == category,
            consents.c.organisation_id == organisation_id,
        )
        .order_by(consents.c.consent_id.desc())
    )
    with engine.connect() as conn:
        found = conn.execute(q).first()
    return 0 if found is None else int(found[0])


@dataclass(frozen=True)
class Delivery:
    """What the shop node hands a partner for a recorded access: the stored envelope (its SHA-256 is the item's
    hash on chain), its content key wrapped for the partner's Registry key (ECIES), the item and the access's
    transaction."""

    item_id: int
    access_tx: str
    consumer: str
    envelope: bytes
    wrapped_key: bytes


def deliver(contracts: Contracts, shop: Participant, access_tx: str) -> Delivery:
    """The shop node delivers the item of the access recorded in transaction ``access_tx`` to the access's
    consumer: the stored envelope and its content key encrypted to the consumer's Registry public key. Whoever
    fetches it, only that consumer can read it.

    Raises:
        NotFoundError: unknown transaction, or an item this shop did not publish.
        AccessDenied: the transaction recorded a refusal or no access ("… nothing was shared"), or the data was
            erased since (its key destroyed: "The customer has erased this data …").
    """
    events = contracts.events_of_tx(access_tx)
    if events is None:
        raise NotFoundError(f"no transaction {access_tx} on this chain")
    mine = [e for e in events if e.contract == "Consent"]
    refused = [e for e in mine if e.name == "AccessRefused"]
    if refused:
        raise AccessDenied(access_refusal_sentence(AccessRefusal(int(refused[0].args["reason"]))))
    recorded = [e for e in mine if e.name == "AccessRecorded"]
    if not recorded:
        raise AccessDenied("this transaction recorded no consented access: nothing was shared")
    access = recorded[0]
    item_id = int(access.args["item_id"])
    consumer = str(access.args["consumer"])
    on_chain = contracts.streams.item(item_id)
    if on_chain.publisher.lower() != shop.address.lower():
        raise NotFoundError(f"item #{item_id} was published by another node ({on_chain.publisher}): ask it there")
    if on_chain.erased:
        raise AccessDenied(access_refusal_sentence(AccessRefusal.ITEM_ERASED))
    try:
        customer, category, blob = streams.stored_item(shop, item_id)
    except NotFoundError:
        raise AccessDenied(access_refusal_sentence(AccessRefusal.ITEM_ERASED)) from None
    item_key = streams.data_key_of(shop, customer, category)
    if item_key is None or not shop.store.has(blob):
        raise AccessDenied(access_refusal_sentence(AccessRefusal.ITEM_ERASED))
    envelope = shop.store.get(blob)
    content_key = data_key_of(io.BytesIO(envelope), item_key)
    wrapped = encrypt_to(contracts.registry.public_key(consumer), content_key)
    return Delivery(item_id, access_tx, consumer, envelope, wrapped)


def receive(contracts: Contracts, partner: Participant, delivery: Delivery) -> bytes:
    """The partner checks a delivery against the chain and decrypts it: the envelope's SHA-256 must be the item's
    hash in ``Streams``; returns the JSON-LD document (bytes).

    Raises:
        IntegrityError: the envelope is not the one whose hash is on chain.
        CryptoError: the key is not for this partner, or the envelope was tampered with.
    """
    item = contracts.streams.item(delivery.item_id)
    if hashlib.sha256(delivery.envelope).digest() != item.item_hash:
        raise IntegrityError(f"the data received is not item #{delivery.item_id}: its hash differs from the chain's")
    content_key = decrypt_with(partner.private_key, delivery.wrapped_key)
    out = io.BytesIO()
    decrypt_stream_with_data_key(io.BytesIO(delivery.envelope), out, content_key)
    return out.getvalue()


@dataclass(frozen=True)
class Erasure:
    """What :func:`erase` did: the items marked erased on chain (with their transactions) and whether a data key
    was destroyed."""

    customer: str
    category: str
    item_ids: list[int]
    txs: list[TxResult]
    key_destroyed: bool


def erase(contracts: Contracts, shop: Participant, customer: str, category: str) -> Erasure:
    """Erase a customer's data of ``category`` by crypto-shredding: the shop node destroys the (customer,
    category) data key and deletes the envelopes from its blob store, then marks each item erased in ``Streams``
    so every partner and ``Consent`` see it is gone.

    What remains, and why it is unreadable: on chain, each item's SHA-256 of an envelope, its pseudonymous key
    (``<address>/<category>``) and its location; a hash of AES-256-GCM ciphertext reveals nothing of the
    plaintext. Copies of an envelope elsewhere (backups, a partner's download) stay encrypted under a content key
    that only the destroyed data key (and the partners already served, who received that one envelope's key under
    a recorded, consented access) could unwrap. Partners that received data before erasure are data controllers of
    their copy; the timeline shows who they are.

    Raises:
        ValidationError: unknown category.
        TransactionReverted: "streams: not publisher or owner" (the shop account is not the publisher).
    """
    streams.check_category(category)
    had_key = streams.data_key_of(shop, customer, category) is not None
    item_ids = streams.shred(shop, customer, category)
    if category == streams.PURCHASE_HISTORY:  # later versions of the history leave the erased orders out
        from datagora.services import shop_history

        shop_history.forget(shop, customer)
    for item in published_items_except(contracts, customer, category, item_ids):
        item_ids.append(item)
    txs = [
        contracts.streams.erase(shop.account, i) for i in sorted(set(item_ids)) if not contracts.streams.item(i).erased
    ]
    return Erasure(customer, category, sorted(set(item_ids)), txs, had_key)


ITEM_PUBLISHED_TOPIC: Final = keccak256(b"ItemPublished(uint256,uint256,bytes32,address,string,bytes32,string)")
"""topic0 of ``Streams.ItemPublished``; its third indexed argument is keccak256 of the stream key."""


def published_items(contracts: Contracts, customer: str, category: str) -> list[int]:
    """Ids of every item published under the customer's key for ``category``, from the chain's logs (any
    publisher), oldest first."""
    return published_items_except(contracts, customer, category, ())


def published_items_except(contracts: Contracts, customer: str, category: str, known: Iterable[int]) -> list[int]:
    """Items published under the key, from the chain's logs filtered by the key's hash (in case a local item record
    was lost), that are not among ``known``."""
    key = streams.item_key(customer, category)
    topics = ["0x" + ITEM_PUBLISHED_TOPIC.hex(), None, None, "0x" + keccak256(key.encode()).hex()]
    logs = contracts.get_logs([contracts.streams.address], topics)
    seen = set(known)
    found = [int(e.args["item_id"]) for e in contracts.decode(logs) if e.name == "ItemPublished"]
    return [i for i in found if i not in seen]


@dataclass(frozen=True)
class TimelineEntry:
    """One access or refusal as the transparency dashboard shows it: when (Unix seconds), who (the consumer's
    account and organisation), what (item, category), why (purpose), under which consent, the reward paid
    (RewardToken units; 0 for a refusal), the refusal's sentence (None for an access) and the transaction."""

    at: int
    consumer: str
    organisation_id: int
    subject: str
    item_id: int
    category: str
    purpose: str
    purpose_label: str
    consent_id: int
    reward: int
    refusal: str | None
    tx_hash: str

    @property
    def kind(self) -> str:
        return "access" if self.refusal is None else "refusal"


def history(engine: Engine, *, subject: str | None = None, consumer: str | None = None) -> list[TimelineEntry]:
    """Every access and refusal in the node's index (sync it first), oldest first, for one data subject and/or
    one consumer account. A refusal under no consent names the purpose ``unknown`` (only its hash is on chain)."""
    q = (
        select(consent_accesses, consents.c.organisation_id, consents.c.category, consents.c.purpose)
        .select_from(consent_accesses.outerjoin(consents, consents.c.consent_id == consent_accesses.c.consent_id))
        .order_by(consent_accesses.c.block_number, consent_accesses.c.log_index)
    )
    if subject is not None:
        q = q.where(func.lower(consent_accesses.c.subject) == subject.lower())
    if consumer is not None:
        q = q.where(func.lower(consent_accesses.c.consumer) == consumer.lower())
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        purpose = r.purpose if r.purpose and term_hash(r.purpose).hex() == r.purpose_hash[2:] else None
        if purpose is None:
            purpose = next((p.iri for p in purposes() if "0x" + term_hash(p.iri).hex() == r.purpose_hash), "unknown")
        out.append(
            TimelineEntry(
                int(r.at),
                r.consumer,
                int(r.organisation_id or 0),
                r.subject,
                int(r.item_id),
                r.category or "",
                purpose,
                purpose_label(purpose) if purpose != "unknown" else "unknown",
                int(r.consent_id),
                int(r.reward),
                None if r.refusal is None else access_refusal_sentence(AccessRefusal(int(r.refusal))),
                r.tx_hash,
            )
        )
    return out


@dataclass(frozen=True)
class ConsentRow:
    """A consent as the consent page lists it. Times in Unix seconds; ``reward`` in RewardToken units."""

    consent_id: int
    subject: str
    organisation_id: int
    category: str
    purpose: str
    purpose_label: str
    expiry: int
    reward: int
    state: str
    granted_at: int
    granted_tx: str

    def status(self, now: int) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.state == "revoked":
            return "revoked"
        return "expired" if now > self.expiry else "active"


def consents_of(engine: Engine, subject: str) -> list[ConsentRow]:
    """The consents ``subject`` gave, newest first, from the node's index."""
    q = select(consents).where(func.lower(consents.c.subject) == subject.lower()).order_by(consents.c.consent_id.desc())
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        ConsentRow(
            int(r.consent_id),
            r.subject,
            int(r.organisation_id),
            r.category,
            r.purpose,
            purpose_label(r.purpose),
            int(r.expiry),
            int(r.reward),
            r.state,
            int(r.granted_at),
            r.granted_tx,
        )
        for r in rows
    ]


def rewards_over_time(entries: Iterable[TimelineEntry]) -> list[tuple[int, int]]:
    """Cumulative rewards (RewardToken units) after each paid access: ``[(unix seconds, total), ...]``."""
    total, series = 0, []
    for e in entries:
        if e.refusal is None:
            total += e.reward
            series.append((e.at, total))
    return series
