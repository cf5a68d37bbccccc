"""A node's tier computations survive a restart (the node's SQLite store): past computations show again, one
interrupted by the restart is marked failed and the other nodes are told, nothing is posted for it, and no input
is ever written to disk. The node here is a stand-in (accounts and the chain's party set and nonce); the protocol
across real nodes is in tests/points/api/test_tier_computations.py."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from datagora.mpc.points import PointsResult
from datagora.services.tier_network import TierComputationStore, TierCoordinator

BRAND_NODE, PLATFORM_NODE, HELPER_NODE = "0x" + "b1" * 20, "0x" + "c2" * 20, "0x" + "d3" * 20
MEMBER = "0x" + "e4" * 20
URLS = ["http://brand.test:8000", "http://platform.test:8000", "http://helper.test:8000"]
INPUT = 7331  # a number no timestamp or id of the test is likely to contain as a whole number


class Link:
    """Records every message a coordinator sends to another node."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, url: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((url, kind, body))
        return {}


class Chain:
    def __init__(self) -> None:
        self.nonce = 0
        self.posted: list[Any] = []

    def parties(self, brand: int) -> list[str]:
        return [BRAND_NODE, PLATFORM_NODE, HELPER_NODE] if brand == 1 else []

    def member_tier(self, brand: int, member: str) -> SimpleNamespace:
        return SimpleNamespace(nonce=self.nonce)

    def set_tier(self, *args: Any) -> None:  # pragma: no cover - a restarted node must never get here
        self.posted.append(args)


def node(chain: Chain, address: str = BRAND_NODE) -> Any:
    return SimpleNamespace(address=address, contracts=SimpleNamespace(points=chain))


def coordinator(tmp_path: Path, chain: Chain, link: Link) -> TierCoordinator:
    store = TierComputationStore(tmp_path / "tier-computations.sqlite")
    return TierCoordinator(node(chain), link, workdir=tmp_path / "mpc", spawn=lambda task: task(), store=store)


def stored_text(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "tier-computations.sqlite") as db:
        return "\n".join(row[0] for row in db.execute("SELECT document FROM tier_computations"))


def test_a_computation_interrupted_by_a_restart_is_failed_kept_and_the_others_told(tmp_path: Path) -> None:
    chain, link = Chain(), Link()
    before = coordinator(tmp_path, chain, link)
    c = before.propose(1, MEMBER, URLS, INPUT)
    assert c.status == "accepted" and [kind for _, kind, _ in link.sent] == ["invite", "invite"]
    assert list((tmp_path / "mpc").glob(f"datagora-tier-{c.id[:8]}-*")), "the party's TLS material was made"

    after_link = Link()
    after = coordinator(tmp_path, chain, after_link)  # the node restarts with the same store
    again = after.get(c.id)
    assert again.status == "failed"
    assert again.error == "this node restarted before the computation finished; nothing was posted"
    assert [s for _, s in again.steps][:2] == [s for _, s in c.steps][:2]  # the history before the restart
    assert (again.brand, again.member, again.me, again.proposer) == (1, MEMBER, 0, 0)
    assert [p.url for p in again.parties] == URLS and again.parties[0].accepted
    # the other two nodes hear of the failure; nothing reaches the chain
    assert sorted((url, kind, body["status"]) for url, kind, body in after_link.sent) == sorted(
        [(URLS[1], "outcome", "failed"), (URLS[2], "outcome", "failed")]
    )
    assert chain.posted == []
    assert not list((tmp_path / "mpc").glob(f"datagora-tier-{c.id[:8]}-*")), "leftover TLS keys removed"
    # the failure itself is stored: a second restart tells nobody again
    third_link = Link()
    assert coordinator(tmp_path, chain, third_link).get(c.id).status == "failed"
    assert third_link.sent == []
    assert not re.search(rf"(?<![\d.]){INPUT}(?![\d.])", stored_text(tmp_path)), "the input was written"


def test_finished_computations_show_again_after_a_restart(tmp_path: Path) -> None:
    chain, link = Chain(), Link()
    before = coordinator(tmp_path, chain, link)
    first = before.propose(1, MEMBER, URLS, 100)
    second = before.propose(1, MEMBER, URLS, 200)
    # the first one finished before the restart: every party signed, the tier was posted
    for p in first.parties:
        p.signature, p.result, p.nonce = bytes([p.index]) * 65, PointsResult(150_000, 2), 0
    first.result, first.nonce, first.tx_hash, first.status = PointsResult(150_000, 2), 0, "0x" + "ab" * 32, "posted"
    first.step("the tier was posted on chain with every party's signature")

    after = coordinator(tmp_path, chain, Link())
    assert [c.id for c in after.computations()] == [second.id, first.id]  # newest first, as before
    kept = after.get(first.id)
    assert (kept.status, kept.result, kept.nonce, kept.tx_hash, kept.tier_name) == (
        "posted",
        PointsResult(150_000, 2),
        0,
        "0x" + "ab" * 32,
        "gold",
    )
    assert [p.signature for p in kept.parties] == [bytes([i]) * 65 for i in range(3)]
    assert kept.steps == first.steps
    assert after.get(second.id).status == "failed"


@pytest.mark.parametrize(("on_chain", "status"), [(True, "posted"), (False, "failed")])
def test_a_restart_while_posting_looks_at_the_chain(tmp_path: Path, on_chain: bool, status: str) -> None:
    chain, link = Chain(), Link()
    before = coordinator(tmp_path, chain, link)
    c = before.propose(1, MEMBER, URLS, 100)
    c.result, c.nonce, c.status = PointsResult(50_000, 0), 4, "posting"
    c.step("every party signed the same result; posting the tier on chain")
    chain.nonce = 5 if on_chain else 4
    assert coordinator(tmp_path, chain, Link()).get(c.id).status == status


def test_an_unreadable_row_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = TierComputationStore(tmp_path / "tier-computations.sqlite")
    store.save("broken", 1.0, "running", {"id": "broken"})
    store.save("odd", 2.0, "running", json.loads('{"id": "odd", "status": "teleported"}'))
    assert TierCoordinator(node(Chain()), Link(), spawn=lambda task: task(), store=store).computations() == []
