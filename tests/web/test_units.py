"""The web layer's small parts without a browser: readable units, the session store, the sign-in redirect."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datagora.domain.errors import ValidationError
from datagora.web.pages.everyone import wei_of
from datagora.web.pages.signin import safe_next
from datagora.web.render import date, duration, ether, size
from datagora.web.sessions import ANONYMOUS_TTL, WebSessionStore, cookie_name


@pytest.mark.parametrize(
    ("wei", "text"),
    [(5 * 10**17, "0.5 ETH"), (10**12, "0.000001 ETH"), (1_250 * 10**18, "1,250 ETH"), (1, "0.000000000000000001 ETH")],
)
def test_ether_amounts_read_as_ether(wei: int, text: str) -> None:
    assert ether(wei) == text


def test_sizes_dates_and_durations_read_as_people_write_them() -> None:
    assert [size(n) for n in (1, 512, 12_300, 4_500_000)] == ["1 byte", "512 bytes", "12.3 KB", "4.5 MB"]
    assert date(datetime(2026, 12, 3, 10, 53, tzinfo=UTC).timestamp()) == "3 Dec 2026, 10:53 UTC"
    assert date(0) == "-"
    assert [duration(s) for s in (40, 720, 7 * 86_400)] == ["40 seconds", "12 minutes", "7 days"]


def test_an_amount_typed_in_eth_becomes_wei_or_a_sentence() -> None:
    assert wei_of("0.5", "price") == 5 * 10**17
    assert wei_of(" 1,000 ", "price") == 1_000 * 10**18
    assert wei_of("", "price") is None
    for bad, words in (("half", "is not an amount of ETH"), ("-1", "cannot be negative"), ("1e-19", "18 decimals")):
        with pytest.raises(ValidationError, match=words):
            wei_of(bad, "price")


def test_sign_in_only_returns_to_a_path_on_this_node() -> None:
    assert safe_next("/my/orders?x=1") == "/my/orders?x=1"
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None, "my/orders"):
        assert safe_next(outside) == "/"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_and_unknown_tokens_are_never_accepted() -> None:
    clock = Clock()
    store = WebSessionStore(ttl=600, clock=clock)
    signed = store.new("0xAbC", "wallet")
    visitor = store.new()
    assert store.get(signed.token) is signed and store.get(visitor.token) is visitor
    assert store.get("forged-token") is None and store.get(None) is None
    assert signed.csrf_matches(signed.csrf) and not signed.csrf_matches(visitor.csrf)
    assert not signed.csrf_matches(None)
    clock.now += 601
    assert store.get(signed.token) is None  # a signed-in session ends after its ttl
    assert store.get(visitor.token) is visitor  # an anonymous one lives ANONYMOUS_TTL from its last use
    clock.now += ANONYMOUS_TTL
    assert store.get(visitor.token) is None


def test_a_signed_in_session_never_outlives_its_signed_message() -> None:
    clock = Clock()
    store = WebSessionStore(ttl=3_600, clock=clock)
    session = store.new("0xAbC", "wallet", not_after=clock.now + 300)
    assert session.expires_at == clock.now + 300


def test_each_node_has_its_own_cookie_name() -> None:
    a, b = "0x" + "ab" * 20, "0x" + "cd" * 20
    assert cookie_name(a) == "dg_" + "ab" * 5 and cookie_name(a) != cookie_name(b)
