"""Fixtures (a pytest plugin loaded by tests/conftest.py): a deployed Datagora world per backend:
supervisor, platform, two audited organisations (seller, buyer), an
organisation still to audit (outsider), with snapshot/revert around every test."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from datagora.chain.bindings.tokens import TokensBinding
from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.models import OrgStatus
from datagora.services import registry
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from tests.conftest import BACKENDS, make_chain

ETHER = 10**18


@dataclass
class World:
    chain: Chain
    contracts: Contracts
    supervisor: Participant
    platform: Participant
    seller: Participant
    buyer: Participant
    outsider: Participant
    orgs: dict[str, int]
    attestor: NoveltyAttestor | None = None


@pytest.fixture(scope="module", params=BACKENDS)
def world_base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    chain = make_chain(request.param, request)
    home = tmp_path_factory.mktemp(f"world-{request.param}")
    people = {
        n: Participant(n, Account.create(), home / n) for n in ("supervisor", "platform", "seller", "buyer", "outsider")
    }
    for p in people.values():
        chain.fund(p.address, 100 * ETHER)
    contracts = Contracts.deploy(chain, people["supervisor"].account, people["platform"].account)
    orgs = {}
    for label, name in (
        ("platform", "Platform"),
        ("seller", "Seller Org"),
        ("buyer", "Buyer Org"),
        ("outsider", "Outsider Org"),
    ):
        org, _ = registry.register_organisation(contracts, people[label], name)
        orgs[label] = org.id
    for label in ("platform", "seller", "buyer"):
        registry.set_status(contracts, people["supervisor"].account, orgs[label], OrgStatus.AUDITED)
    return World(chain, contracts, **people, orgs=orgs)


@pytest.fixture
def world(world_base: World, tmp_path: Path) -> Iterator[World]:
    snap = world_base.chain.snapshot()
    world_base.attestor = NoveltyAttestor(world_base.contracts, world_base.platform.account, tmp_path / "dc.sqlite")
    try:
        yield world_base
    finally:
        world_base.chain.revert(snap)


def write_table(path: Path, rows: int = 50, seed: int | None = None) -> Path:
    """A small CSV with random content (unique per call unless ``seed`` is given)."""
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "age", "income", "region"])
        for i in range(rows):
            w.writerow([i, rng.randint(18, 90), round(rng.uniform(1e4, 2e5), 2), rng.choice("NESW")])
    return path


@pytest.fixture
def bidders(world: World, tmp_path: Path) -> list[Participant]:
    """Two more buyers (an English auction needs three bidders; a negotiation a competing buyer), each funded
    with 100 ether and in its own Audited organisation. Created inside the test's snapshot, so reverted with it."""
    extra = []
    for i in (2, 3):
        person = Participant(f"buyer{i}", Account.create(), tmp_path / f"buyer{i}")
        world.chain.fund(person.address, 100 * ETHER)
        org, _ = registry.register_organisation(world.contracts, person, f"Buyer Org {i}")
        registry.set_status(world.contracts, world.supervisor.account, org.id, OrgStatus.AUDITED)
        extra.append(person)
    return extra


DEMO_TOKEN_BALANCE = 1_000 * ETHER
"""Smallest units of the DemoToken minted to the seller, the buyer and the platform by ``demo_token``."""


@pytest.fixture
def demo_token(world: World) -> str:
    """A DemoToken ERC-20 (18 decimals) deployed by the platform, with :data:`DEMO_TOKEN_BALANCE` minted to the
    seller, the buyer and the platform. Returns its address."""
    token = TokensBinding.deploy_demo(world.chain, world.platform.account)
    for p in (world.seller, world.buyer, world.platform):
        world.contracts.tokens.mint(world.platform.account, token, p.address, DEMO_TOKEN_BALANCE)
    return token
