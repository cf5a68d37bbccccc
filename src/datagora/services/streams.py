"""Customer profile data in streams (Shrestha, Joshi, Vassileva, "Customer Data Sharing Platform: A Blockchain-Based
Shopping Cart": the shop node stores each customer's data encrypted off-chain, puts its hash on chain in a
MultiChain stream, and partner nodes subscribe to the stream and find items by key).

The shop node keeps, per customer and per data category (:data:`CATEGORIES`), one **data key**: a fresh secp256k1
key pair whose private half (32 bytes) is held only in the shop node's home (``<home>/data-keys/``). Each version of
the customer's data in that category is a JSON-LD document with schema.org terms (an open format any partner can
read), encrypted as a DGE1 envelope (:mod:`datagora.crypto.envelope`, AES-256-GCM under a fresh content key wrapped
with ECIES for the data key) and stored in the shop's blob store. Only three things reach the chain (``Streams``):
the SHA-256 of the envelope, a pseudonymous key (``<customer address>/<category>``) and the blob's location. No
name, e-mail or postal address ever leaves the envelope.

Subscribers read items from their own node's event index (``stream_items``), never from the shop.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from datagora.chain.contracts import Contracts
from datagora.crypto.envelope import encrypt_bytes
from datagora.crypto.keys import address_of_private_key, check_private_key, public_key_of
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import NotFoundError, ValidationError
from datagora.domain.models import TxResult
from datagora.index.schema import stream_items
from datagora.services.participant import Participant

if TYPE_CHECKING:  # the engine is the index adapter's; services only pass it along
    from sqlalchemy import Engine

PURCHASE_HISTORY: Final = "purchase-history"
DEMOGRAPHICS: Final = "demographics"
CONTACT: Final = "contact"
CATEGORIES: Final[tuple[str, ...]] = (PURCHASE_HISTORY, DEMOGRAPHICS, CONTACT)
"""The data categories of a customer profile (the seed's purchase history, demographics and contact details)."""

CATEGORY_LABELS: Final[Mapping[str, str]] = {
    PURCHASE_HISTORY: "Purchase history",
    DEMOGRAPHICS: "Demographics",
    CONTACT: "Contact details",
}

DEMOGRAPHIC_TERMS: Final = frozenset(
    {"birthDate", "gender", "nationality", "jobTitle", "homeLocation", "knowsLanguage"}
)
"""schema.org ``Person`` properties accepted as demographics."""
CONTACT_TERMS: Final = frozenset({"name", "givenName", "familyName", "email", "telephone", "address"})
"""schema.org ``Person`` properties accepted as contact details (``address``: a ``PostalAddress`` mapping)."""
POSTAL_TERMS: Final = frozenset({"streetAddress", "postalCode", "addressLocality", "addressRegion", "addressCountry"})
ORDER_TERMS: Final = frozenset({"orderNumber", "orderDate", "price", "priceCurrency", "product", "sku", "quantity"})

SCHEMA_ORG: Final = "https://schema.org"
KEYS_KIND: Final = "data-keys"
ITEMS_KIND: Final = "stream-items"
LOCATION_SCHEME: Final = "datagora-blob:"
"""Locations on chain are ``datagora-blob:<sha-256 of the envelope>`` in the publishing node's blob store."""


@dataclass(frozen=True)
class PublishedItem:
    """A profile document the shop published: its stream item, the stream key it is found by, its category and
    data subject, the SHA-256 of its envelope (32 bytes, also on chain) and the blob address holding it."""

    item_id: int
    stream_id: int
    key: str
    customer: str
    category: str
    item_hash: bytes
    blob: str
    tx: TxResult


@dataclass(frozen=True)
class IndexedItem:
    """A stream item as a subscriber's index holds it. ``item_hash`` is ``0x``-hex; times in Unix seconds."""

    item_id: int
    stream_id: int
    key: str
    publisher: str
    item_hash: str
    location: str
    erased: bool
    published_at: int
    published_tx: str

    @property
    def customer(self) -> str:
        """The data subject's address named by the key (``<address>/<category>``)."""
        return self.key.split("/", 1)[0]

    @property
    def category(self) -> str:
        return self.key.split("/", 1)[-1]


def item_key(customer: str, category: str) -> str:
    """The stream key of a customer's data in ``category``: ``"<lower-case address>/<category>"`` (pseudonymous:
    an account address, never a name). Raises ``ValidationError`` for an unknown category or a malformed address."""
    check_category(category)
    if not (customer.startswith("0x") and len(customer) == 42):
        raise ValidationError(f"not an account address: {customer!r}")
    return f"{customer.lower()}/{category}"


def check_category(category: str) -> str:
    """``category`` when it is one of :data:`CATEGORIES`; ``ValidationError`` otherwise."""
    if category not in CATEGORIES:
        raise ValidationError(f"unknown data category {category!r}: use one of {', '.join(CATEGORIES)}")
    return category


def open_stream(contracts: Contracts, owner: LocalAccount, name: str) -> tuple[int, TxResult | None]:
    """The id of the stream ``name``, created by ``owner`` (an audited organisation member) when it does not
    exist yet (then with its transaction). Raises ``TransactionReverted`` ("streams: not audited" …)."""
    existing = contracts.streams.stream_id(name)
    if existing:
        return existing, None
    return contracts.streams.create_stream(owner, name)


def _only(values: Mapping[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(f"{what}: unknown field(s) {', '.join(unknown)}; use schema.org terms {sorted(allowed)}")
    return {k: v for k, v in values.items() if v not in (None, "")}


def profile_documents(
    customer: str,
    purchases: Sequence[Mapping[str, Any]] = (),
    demographics: Mapping[str, Any] | None = None,
    contact: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """A customer's profile as one JSON-LD document (UTF-8 bytes, schema.org vocabulary) per category given.

    Args:
        customer: The customer's account address (the document's ``identifier``).
        purchases: Orders, each a mapping of :data:`ORDER_TERMS` (``orderNumber``, ``orderDate`` ISO 8601,
            ``price`` in ETH as text, ``priceCurrency``, ``product`` name, ``sku``, ``quantity``); an
            ``ItemList`` of ``Order``.
        demographics: ``Person`` properties among :data:`DEMOGRAPHIC_TERMS`.
        contact: ``Person`` properties among :data:`CONTACT_TERMS`; ``address`` a mapping of
            :data:`POSTAL_TERMS` (a ``PostalAddress``).

    Returns:
        ``{category: document}`` for every non-empty category, each in canonical JSON
        (:func:`datagora.domain.canonical.canonical_json`).

    Raises:
        ValidationError: a field that is not among the accepted schema.org terms;
            :class:`~datagora.domain.errors.NotCanonicalJSON` for a value JSON cannot carry (NaN, Infinity).
    """
    docs: dict[str, Any] = {}
    subject = {"@type": "Person", "identifier": customer}
    if purchases:
        orders = []
        for order in purchases:
            o = _only(order, ORDER_TERMS, "purchase")
            product = {"@type": "Product", "name": o.pop("product", None), "sku": o.pop("sku", None)}
            quantity = o.pop("quantity", None)
            entry: dict[str, Any] = {"@type": "Order", **{k: str(v) for k, v in o.items()}}
            entry["orderedItem"] = {
                "@type": "OrderItem",
                "orderQuantity": int(quantity or 1),
                "orderedItem": {k: v for k, v in product.items() if v is not None},
            }
            orders.append(entry)
        docs[PURCHASE_HISTORY] = {
            "@context": SCHEMA_ORG,
            "@type": "ItemList",
            "about": subject,
            "numberOfItems": len(orders),
            "itemListElement": orders,
        }
    if demographics:
        docs[DEMOGRAPHICS] = {
            "@context": SCHEMA_ORG,
            **subject,
            **_only(demographics, DEMOGRAPHIC_TERMS, "demographics"),
        }
    if contact:
        fields = _only(contact, CONTACT_TERMS, "contact")
        if isinstance(fields.get("address"), Mapping):
            fields["address"] = {"@type": "PostalAddress", **_only(fields["address"], POSTAL_TERMS, "address")}
        docs[CONTACT] = {"@context": SCHEMA_ORG, **subject, **fields}
    return {k: canonical_json(v) for k, v in docs.items()}


def _key_record_name(customer: str, category: str) -> str:
    return f"{customer.lower()}-{category}"


def _data_key(shop: Participant, customer: str, category: str) -> bytes:
    """The (customer, category) data key, made on first use."""
    name = _key_record_name(customer, category)
    try:
        return bytes.fromhex(shop.load_record(KEYS_KIND, name)["data_key"])
    except NotFoundError:
        while True:
            candidate = os.urandom(32)
            try:
                key = check_private_key(candidate)
                break
            except ValidationError:  # outside the curve's order: astronomically rare
                continue
        shop.save_record(KEYS_KIND, name, {"customer": customer, "category": category, "data_key": key.hex()})
        return key


def publish_profile(
    contracts: Contracts, shop: Participant, stream_id: int, customer: str, category: str, document: bytes
) -> PublishedItem:
    """Encrypt ``document`` under the customer's data key for ``category``, store the envelope in the shop's
    blob store and publish its SHA-256 as a stream item keyed :func:`item_key`.

    Raises:
        ValidationError: unknown category, malformed address.
        TransactionReverted: "streams: not a writer", "streams: no such stream".
    """
    key = item_key(customer, category)
    data_key = _data_key(shop, customer, category)
    envelope = encrypt_bytes(document, {address_of_private_key(data_key): public_key_of(data_key)})
    blob = shop.store.put(envelope)
    item_hash = hashlib.sha256(envelope).digest()
    item_id, tx = contracts.streams.publish(shop.account, stream_id, key, item_hash, LOCATION_SCHEME + blob)
    shop.save_record(ITEMS_KIND, str(item_id), {"customer": customer, "category": category, "blob": blob})
    return PublishedItem(item_id, stream_id, key, customer, category, item_hash, blob, tx)


def publish_customer(
    contracts: Contracts,
    shop: Participant,
    stream_id: int,
    customer: str,
    purchases: Sequence[Mapping[str, Any]] = (),
    demographics: Mapping[str, Any] | None = None,
    contact: Mapping[str, Any] | None = None,
) -> list[PublishedItem]:
    """:func:`profile_documents` then :func:`publish_profile` for each category: the function the shop's order
    flow calls with a customer's purchase history, demographics and contact details."""
    docs = profile_documents(customer, purchases, demographics, contact)
    return [publish_profile(contracts, shop, stream_id, customer, cat, doc) for cat, doc in docs.items()]


def stored_item(shop: Participant, item_id: int) -> tuple[str, str, str]:
    """(customer, category, blob address) of an item this shop published; ``NotFoundError`` when it holds none."""
    record = shop.load_record(ITEMS_KIND, str(item_id))
    return str(record["customer"]), str(record["category"]), str(record["blob"])


def data_key_of(shop: Participant, customer: str, category: str) -> bytes | None:
    """The (customer, category) data key, or None when it was destroyed (erased) or never made."""
    try:
        return bytes.fromhex(shop.load_record(KEYS_KIND, _key_record_name(customer, category))["data_key"])
    except NotFoundError:
        return None


def shred(shop: Participant, customer: str, category: str) -> list[int]:
    """Destroy the (customer, category) data key and delete every envelope published under it from the shop's blob
    store (crypto-shredding). Returns the ids of the items it covered (still to mark erased on chain)."""
    items: list[int] = []
    for path in sorted(shop.paths.records(ITEMS_KIND).glob("*.json")):
        record = json.loads(path.read_text())
        if record.get("customer", "").lower() == customer.lower() and record.get("category") == category:
            items.append(int(path.stem))
            if shop.store.has(record["blob"]):
                shop.store.delete(record["blob"])
            path.unlink()
    key_path = shop.paths.record(KEYS_KIND, _key_record_name(customer, category))
    if key_path.exists():
        key_path.write_bytes(os.urandom(max(key_path.stat().st_size, 1)))  # overwrite before unlinking
        key_path.unlink()
    return sorted(items)


def _row_item(r: Any) -> IndexedItem:
    return IndexedItem(
        int(r.item_id),
        int(r.stream_id),
        r.item_key,
        r.publisher,
        r.item_hash,
        r.location,
        bool(r.erased),
        int(r.published_at),
        r.published_tx,
    )


def items(
    engine: Engine, *, stream_id: int | None = None, key: str | None = None, include_erased: bool = True
) -> list[IndexedItem]:
    """Stream items from the node's event index (sync it first), oldest first; filtered by ``stream_id`` and
    ``key`` (MultiChain's ``liststreamkeyitems``)."""
    query = select(stream_items).order_by(stream_items.c.item_id)
    if stream_id is not None:
        query = query.where(stream_items.c.stream_id == stream_id)
    if key is not None:
        query = query.where(stream_items.c.item_key == key.lower())  # keys hold lower-case addresses
    if not include_erased:
        query = query.where(stream_items.c.erased == 0)
    with engine.connect() as conn:
        return [_row_item(r) for r in conn.execute(query).all()]


def indexed_item(engine: Engine, item_id: int) -> IndexedItem:
    """One item from the index; ``NotFoundError`` when the index holds none (unknown, or not synced yet)."""
    with engine.connect() as conn:
        r = conn.execute(select(stream_items).where(stream_items.c.item_id == item_id)).first()
    if r is None:
        raise NotFoundError(f"there is no data item {item_id} (yet) in this node's index")
    return _row_item(r)
