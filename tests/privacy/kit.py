"""Shared pieces of the privacy tests: the diabetes table published and listed for use-rights on the owner's node,
a buyer asking signed queries that the owner answers and records on chain, and the run counts a statistical
claim needs."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import binom

from datagora.query import QueryResult, QuerySpec, UsagePolicy
from datagora.services import publishing, use_rights
from datagora.services.participant import Participant
from datagora.services.sample_data import write_diabetes_csv
from tests.world import ETHER, World

PRICE = ETHER // 1000
FAILURE = 1e-6
"""The most likely a statistical assertion of these tests fails when the claim it checks holds."""


def runs_needed(p_low: float, failure: float = FAILURE) -> int:
    """Smallest number of runs N for which "more than half of N runs succeed" fails with probability below
    ``failure`` when each run succeeds independently with probability at least ``p_low`` (binomial tail)."""
    n = 1
    while binom.cdf(n // 2, n, p_low) >= failure:
        n += 1
    return n


def diabetes_rows(path: Path) -> list[dict[str, float]]:
    with path.open() as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def spec(doc: dict[str, Any]) -> QuerySpec:
    return QuerySpec.from_dict(doc)


@dataclass
class Listed:
    """The diabetes table published by the world's seller and listed for use-rights under ``policy``."""

    world: World
    path: Path
    token_id: int
    listing_id: int
    policy: UsagePolicy
    orders: list[int] = field(default_factory=list)

    def buy(self, queries: int, buyer: Participant | None = None) -> int:
        order_id, _ = use_rights.buy_queries(self.world.contracts, buyer or self.world.buyer, self.listing_id, queries)
        self.orders.append(order_id)
        return order_id

    def ask(self, order_id: int, doc: dict[str, Any], buyer: Participant | None = None) -> QueryResult:
        """The real query path: the buyer signs the next query of ``order_id`` (EIP-712), the owner's node checks
        it, answers it and records query and result hashes on chain; the buyer's verification must pass."""
        w = self.world
        request = use_rights.sign_query(w.contracts, buyer or w.buyer, order_id, spec(doc))
        answer = use_rights.answer_query(w.contracts, w.seller, request)
        assert use_rights.verify_answer(w.contracts, order_id, answer.index, answer.result)
        return answer.result


def publish_diabetes(world: World, tmp_path: Path) -> tuple[int, Path]:
    """scikit-learn's diabetes table (442 rows) published by the world's seller: its token id and file."""
    assert world.attestor is not None
    world.seller.paths.privacy_ledger.unlink(missing_ok=True)  # token ids repeat after the chain's revert
    path = write_diabetes_csv(tmp_path / "diabetes.csv")
    prepared = publishing.prepare(world.seller, path, name="Diabetes progression")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    return token_id, path


def list_diabetes(world: World, published: tuple[int, Path], *, exact: bool, **terms: Any) -> Listed:
    """List the ``published`` diabetes table for use-rights under the node's default policy (aggregates only,
    k = 5), exact or differentially private, with ``terms`` overriding the policy."""
    token_id, path = published
    policy = UsagePolicy.aggregates_only(
        uid=f"urn:datagora:policy:dataset-{token_id}",
        assigner=f"did:pkh:eip155:{world.chain.chain_id}:{world.seller.address}",
        target=f"urn:datagora:dataset:{token_id}",
        exact_answers=exact,
        **terms,
    )
    listing_id, _ = use_rights.list_use_right(
        world.contracts, world.seller, token_id, PRICE, policy, max_queries=40, usage_window=86_400
    )
    return Listed(world, path, token_id, listing_id, use_rights.policy_of(world.seller, listing_id))
