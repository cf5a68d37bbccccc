"""Streams.vy: MultiChain-style streams of customer data items (Shrestha, Joshi, Vassileva): a stream with an
owner and writers, items (stream, key, publisher, hash of the encrypted item, location) and erasure marks.

Alice (Acme, audited) owns the stream "acme-shop/customers"; Carol (Acme) is granted write permission; Dave
(Gamma, not audited) may not create streams. Each function: success with its event, every guard word for word.
"""

from __future__ import annotations

import boa
import pytest
from eth_utils import keccak

from tests.kits.contract_kit import ZERO_ADDRESS, ZERO_BYTES32, assert_event, digest
from tests.kits.shopchain_fixtures import ShopChain

NAME = "acme-shop/customers"
KEY = "customer-7/purchase-history"
LOCATION = "https://shop.example/blobs/abc"


@pytest.fixture
def stream(sc: ShopChain) -> int:
    with sc.d.env.prank(sc.d.alice.address):
        return int(sc.streams.create_stream(NAME))


def test_create_stream(sc: ShopChain) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        assert sc.streams.create_stream(NAME) == 1
    assert_event(sc.streams, "StreamCreated", stream_id=1, owner=d.alice.address, name=NAME)
    assert sc.streams.stream_owner(1) == d.alice.address
    assert sc.streams.stream_of_name(NAME) == 1
    assert sc.streams.stream_count() == 1
    assert sc.streams.may_write(1, d.alice.address)
    assert not sc.streams.may_write(1, d.bob.address)


@pytest.mark.parametrize(
    ("who", "name", "message"),
    [
        ("dave", NAME, "streams: creator not audited"),
        ("erin", NAME, "streams: creator not audited"),
        ("alice", "", "streams: empty name"),
    ],
    ids=["not-audited", "customer", "empty-name"],
)
def test_create_stream_guards(sc: ShopChain, who: str, name: str, message: str) -> None:
    with sc.d.env.prank(getattr(sc.d, who).address), boa.reverts(message):
        sc.streams.create_stream(name)


def test_a_stream_name_is_taken_once(sc: ShopChain, stream: int) -> None:
    with sc.d.env.prank(sc.d.bob.address), boa.reverts("streams: name taken"):
        sc.streams.create_stream(NAME)


def test_grant_and_revoke_write(sc: ShopChain, stream: int) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        sc.streams.grant_write(stream, d.carol.address)
        assert_event(sc.streams, "WriterGranted", stream_id=stream, writer=d.carol.address)
        assert sc.streams.is_writer(stream, d.carol.address)
        sc.streams.revoke_write(stream, d.carol.address)
        assert_event(sc.streams, "WriterRevoked", stream_id=stream, writer=d.carol.address)
    assert not sc.streams.may_write(stream, d.carol.address)


def test_grant_and_revoke_guards(sc: ShopChain, stream: int) -> None:
    d = sc.d
    with d.env.prank(d.bob.address):
        with boa.reverts("streams: not stream owner"):
            sc.streams.grant_write(stream, d.bob.address)
        with boa.reverts("streams: not stream owner"):
            sc.streams.revoke_write(stream, d.alice.address)
    with d.env.prank(d.alice.address):
        with boa.reverts("streams: no such stream"):
            sc.streams.grant_write(9, d.carol.address)
        with boa.reverts("streams: no such stream"):
            sc.streams.revoke_write(9, d.carol.address)
        with boa.reverts("streams: empty writer"):
            sc.streams.grant_write(stream, ZERO_ADDRESS)
        with boa.reverts("streams: already a writer"):
            sc.streams.grant_write(stream, d.alice.address)  # the owner writes already
        sc.streams.grant_write(stream, d.carol.address)
        with boa.reverts("streams: already a writer"):
            sc.streams.grant_write(stream, d.carol.address)
        with boa.reverts("streams: not a writer"):
            sc.streams.revoke_write(stream, d.bob.address)


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_publish(sc: ShopChain, stream: int, who: str) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        sc.streams.grant_write(stream, d.carol.address)
    publisher = getattr(d, who).address
    with d.env.prank(publisher):
        assert sc.streams.publish(stream, KEY, digest(KEY), LOCATION) == 1
    assert_event(
        sc.streams,
        "ItemPublished",
        item_id=1,
        stream_id=stream,
        key_hash=keccak(text=KEY),
        publisher=publisher,
        key=KEY,
        item_hash=digest(KEY),
        location=LOCATION,
    )
    assert tuple(sc.streams.item(1)) == (stream, publisher, digest(KEY), False)
    assert sc.streams.item_count() == 1


def test_publish_guards(sc: ShopChain, stream: int) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        with boa.reverts("streams: no such stream"):
            sc.streams.publish(9, KEY, digest(KEY), LOCATION)
        with boa.reverts("streams: empty key"):
            sc.streams.publish(stream, "", digest(KEY), LOCATION)
        with boa.reverts("streams: empty item hash"):
            sc.streams.publish(stream, KEY, ZERO_BYTES32, LOCATION)
        sc.streams.grant_write(stream, d.carol.address)
        sc.streams.revoke_write(stream, d.carol.address)
    for who in (d.bob, d.carol, d.mallory):
        with d.env.prank(who.address), boa.reverts("streams: not a writer"):
            sc.streams.publish(stream, KEY, digest(KEY), LOCATION)


@pytest.mark.parametrize("who", ["carol", "alice"], ids=["publisher", "stream-owner"])
def test_erase(sc: ShopChain, stream: int, who: str) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        sc.streams.grant_write(stream, d.carol.address)
    with d.env.prank(d.carol.address):
        item_id = sc.streams.publish(stream, KEY, digest(KEY), LOCATION)
    eraser = getattr(d, who).address
    with d.env.prank(eraser):
        sc.streams.erase(item_id)
    assert_event(sc.streams, "ItemErased", item_id=item_id, stream_id=stream, erased_by=eraser)
    assert tuple(sc.streams.item(item_id)) == (stream, d.carol.address, digest(KEY), True)


def test_erase_guards(sc: ShopChain, stream: int) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        item_id = sc.streams.publish(stream, KEY, digest(KEY), LOCATION)
        with boa.reverts("streams: no such item"):
            sc.streams.erase(item_id + 1)
    with d.env.prank(d.bob.address), boa.reverts("streams: not publisher or owner"):
        sc.streams.erase(item_id)
    with d.env.prank(d.alice.address):
        sc.streams.erase(item_id)
        with boa.reverts("streams: item already erased"):
            sc.streams.erase(item_id)


def test_an_unknown_item_reads_as_stream_zero(sc: ShopChain) -> None:
    assert tuple(sc.streams.item(5)) == (0, ZERO_ADDRESS, ZERO_BYTES32, False)
