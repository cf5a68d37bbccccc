"""The node's nonce store under a flood of anonymous ``GET /auth/nonce`` (no chain needed)."""

from __future__ import annotations

import pytest

from datagora.api.auth import MAX_PENDING_NONCES, NONCE_RATE, NONCES_PER_CLIENT, AuthStore, TooManyRequests
from tests.kits.node_fixtures import FakeClock


@pytest.mark.slow  # 10,000 nonce requests (about 12 s); CI runs it
def test_flood_of_nonces_does_not_evict_another_clients_nonce() -> None:
    clock = FakeClock(1_000_000.0)
    store = AuthStore(nonce_ttl=300, session_ttl=3600, clock=clock)
    mine, _ = store.issue_nonce("198.51.100.1")
    refused = 0
    for i in range(10_000):  # ~55 s of requests from one address
        clock.advance(0.0055)
        try:
            store.issue_nonce("203.0.113.9")
        except TooManyRequests as exc:
            refused += 1
            assert exc.retry_after >= 1
        assert i >= NONCE_RATE or refused == 0
    assert refused > 9_000
    assert store.pending_nonces() <= 1 + NONCES_PER_CLIENT
    for i in range(MAX_PENDING_NONCES + 50):  # as many addresses as it takes to fill the node
        try:
            store.issue_nonce(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        except TooManyRequests:
            refused += 1
    assert store.pending_nonces() == MAX_PENDING_NONCES
    assert store.consume_nonce(mine)
