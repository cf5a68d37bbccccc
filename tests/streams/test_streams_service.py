"""The shop node's customer profiles in streams (Shrestha et al.): JSON-LD documents with schema.org terms, one
data key per customer and category kept only by the shop, the envelope's hash on chain under a pseudonymous key,
subscribers finding items by stream and key in their own index, and crypto-shredding leaving nothing readable."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.crypto.envelope import decrypt_bytes, recipients_of
from datagora.crypto.keys import address_of_private_key
from datagora.domain.errors import TransactionReverted, ValidationError, WrongKeyError
from datagora.domain.models import OrgStatus
from datagora.index import EventIndexer, open_engine
from datagora.services import registry, streams
from datagora.services.participant import Participant

ETHER = 10**18
CUSTOMER = "0x" + "ab" * 20
PURCHASES = [
    {
        "orderNumber": "A-1",
        "orderDate": "2026-11-02",
        "product": "Tea sampler",
        "sku": "T-9",
        "price": "0.02",
        "priceCurrency": "ETH",
        "quantity": 2,
    },
]


@dataclass
class Shop:
    contracts: Contracts
    shop: Participant
    stranger: Participant
    stream_id: int
    indexer: EventIndexer


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    home = tmp_path_factory.mktemp("streams")
    chain = EmbeddedChain()
    supervisor, platform = Account.create(), Account.create()
    people = [Participant(n, Account.create(), home / n) for n in ("shop", "stranger")]
    for account in (supervisor, platform, *(p.account for p in people)):
        chain.fund(account.address, 10 * ETHER)
    chain.fixed_gas = 8_000_000
    contracts = Contracts.deploy(chain, supervisor, platform, only=["Registry", "Streams"])
    org, _ = registry.register_organisation(contracts, people[0], "Acme Shop")
    registry.set_status(contracts, supervisor, org.id, OrgStatus.AUDITED)
    stream_id, created = streams.open_stream(contracts, people[0].account, "acme/customers")
    assert created is not None and streams.open_stream(contracts, people[0].account, "acme/customers") == (
        stream_id,
        None,
    )
    indexer = EventIndexer(contracts, open_engine(f"sqlite:///{home / 'index.sqlite'}"))
    return Shop(contracts, people[0], people[1], stream_id, indexer)


def test_profile_documents_are_json_ld_with_schema_org_terms() -> None:
    docs = streams.profile_documents(
        CUSTOMER,
        PURCHASES,
        {"birthDate": "1990-01-02", "jobTitle": "Baker"},
        {
            "name": "Ada Quill",
            "email": "ada@example.org",
            "address": {"streetAddress": "1 Mill Lane", "postalCode": "N1"},
        },
    )
    history, person, contact = (json.loads(docs[c]) for c in streams.CATEGORIES)
    assert history["@context"] == "https://schema.org" and history["@type"] == "ItemList"
    order = history["itemListElement"][0]
    assert (order["@type"], order["orderNumber"], order["price"], order["priceCurrency"]) == (
        "Order",
        "A-1",
        "0.02",
        "ETH",
    )
    assert order["orderedItem"] == {
        "@type": "OrderItem",
        "orderQuantity": 2,
        "orderedItem": {"@type": "Product", "name": "Tea sampler", "sku": "T-9"},
    }
    assert (person["@type"], person["identifier"], person["jobTitle"]) == ("Person", CUSTOMER, "Baker")
    assert contact["address"] == {"@type": "PostalAddress", "streetAddress": "1 Mill Lane", "postalCode": "N1"}
    assert "email" not in person and "birthDate" not in contact
    assert streams.profile_documents(CUSTOMER) == {}
    with pytest.raises(ValidationError, match="demographics: unknown field"):
        streams.profile_documents(CUSTOMER, demographics={"shoe size": 9})
    with pytest.raises(ValidationError, match="address: unknown field"):
        streams.profile_documents(CUSTOMER, contact={"address": {"planet": "Mars"}})


def test_item_keys_are_pseudonymous_and_checked() -> None:
    assert streams.item_key(CUSTOMER.upper().replace("0X", "0x"), "contact") == CUSTOMER + "/contact"
    with pytest.raises(ValidationError, match="unknown data category 'dreams'"):
        streams.item_key(CUSTOMER, "dreams")
    with pytest.raises(ValidationError, match="not an account address"):
        streams.item_key("Ada Quill", "contact")


def test_published_items_are_found_by_key_and_readable_only_with_the_data_key(shop: Shop) -> None:
    c = shop.contracts
    first = streams.publish_customer(c, shop.shop, shop.stream_id, CUSTOMER, PURCHASES)[0]
    newer = streams.publish_profile(c, shop.shop, shop.stream_id, CUSTOMER, "purchase-history", b'{"v": 2}')
    assert newer.item_id == first.item_id + 1
    envelope = shop.shop.store.get(first.blob)
    assert hashlib.sha256(envelope).digest() == first.item_hash == c.streams.item(first.item_id).item_hash
    data_key = streams.data_key_of(shop.shop, CUSTOMER, "purchase-history")
    assert data_key is not None and recipients_of(io.BytesIO(envelope)) == [address_of_private_key(data_key)]
    assert json.loads(decrypt_bytes(envelope, data_key))["itemListElement"][0]["orderNumber"] == "A-1"
    with pytest.raises(WrongKeyError):
        decrypt_bytes(envelope, shop.shop.private_key)  # not even the shop's own account key opens it

    shop.indexer.sync()
    key = streams.item_key(CUSTOMER, "purchase-history")
    found = streams.items(shop.indexer.engine, stream_id=shop.stream_id, key=key)
    assert [i.item_id for i in found] == [first.item_id, newer.item_id]
    assert found[0].item_hash == "0x" + first.item_hash.hex() and found[0].location == "datagora-blob:" + first.blob
    assert (found[0].customer, found[0].category, found[0].publisher) == (
        CUSTOMER,
        "purchase-history",
        shop.shop.address,
    )
    assert streams.items(shop.indexer.engine, key=CUSTOMER + "/contact") == []

    shredded = streams.shred(shop.shop, CUSTOMER, "purchase-history")
    assert shredded == [first.item_id, newer.item_id]
    assert streams.data_key_of(shop.shop, CUSTOMER, "purchase-history") is None
    assert not shop.shop.store.has(first.blob) and not shop.shop.store.has(newer.blob)
    assert list(Path(shop.shop.paths.records("data-keys")).glob("*purchase-history*")) == []


def test_only_writers_publish(shop: Shop) -> None:
    with pytest.raises(TransactionReverted, match="streams: not a writer"):
        streams.publish_profile(shop.contracts, shop.stranger, shop.stream_id, CUSTOMER, "contact", b"{}")
