"""What the infrastructure tests share: a data owner holding a real encrypted table, a workload spec over it, the
expected aggregate computed in plain Python, and the Collaboration contract deployed on an embedded chain with a
DAO of a data service provider and two value providers."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.bindings.collaboration import CollaborationBinding
from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256
from datagora.domain.collaboration import Role
from datagora.domain.models import ChainEvent, OrgStatus
from datagora.infra.spec import WorkloadSpec, parse_spec
from datagora.services import registry
from datagora.services.participant import Participant


def write_table(path: Path, rows: int = 60, seed: int = 3) -> list[tuple[str, float]]:
    rng = random.Random(seed)
    data = [(rng.choice(["benign", "malignant", "benign"]), round(rng.uniform(5, 30), 2)) for _ in range(rows)]
    data.append(("rare", 99.0))  # a group of one: the workload must withhold it
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["diagnosis", "radius"])
        out.writerows(data)
    return data


def expected_groups(data: list[tuple[str, float]], k: int) -> dict[str, tuple[int, float]]:
    groups: dict[str, list[float]] = {}
    for label, radius in data:
        groups.setdefault(label, []).append(radius)
    return {g: (len(v), sum(v) / len(v)) for g, v in groups.items() if len(v) >= k}


@dataclass
class Owner:
    participant: Participant
    data: list[tuple[str, float]]
    content_hash: str


def make_owner(root: Path, participant: Participant | None = None) -> Owner:
    from datagora.services.publishing import prepare

    table = root / "tumours.csv"
    data = write_table(table)
    participant = participant or Participant("dsp", Account.create(), root / "dsp")
    prepared = prepare(participant, table)
    return Owner(participant, data, "0x" + prepared.description.content_hash.hex())


def spec_doc(owner: str, content_hash: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "tumour-averages",
        "data": {"owner": owner, "content_hash": content_hash},
        "task": {
            "select": ["diagnosis", {"aggregate": "count", "as": "patients"}, {"aggregate": "avg", "column": "radius"}],
            "group_by": ["diagnosis"],
        },
        "heartbeat_interval": 1,
        **extra,
    }


def make_spec(owner: Owner, **extra: Any) -> WorkloadSpec:
    return parse_spec(spec_doc(owner.participant.address, owner.content_hash, **extra))


def request_event(dao_id: int, requester: str, spec: str, *, block: int = 1, log_index: int = 0) -> ChainEvent:
    return ChainEvent(
        "Collaboration",
        "InfrastructureRequested",
        {"dao_id": dao_id, "requester": requester, "spec": spec},
        block,
        f"0x{block:064x}",
        log_index,
    )


ETHER = 10**18


@dataclass
class Collab:
    """Registry and Collaboration deployed on an embedded chain; ``dsp`` (who also hosts workloads), ``vp1`` and
    ``vp2`` in audited organisations; :meth:`form` makes a DAO of all three with ``timeout`` seconds."""

    chain: EmbeddedChain
    contracts: Contracts
    dsp: Participant
    vp1: Participant
    vp2: Participant
    anyone: LocalAccount

    @property
    def collaboration(self) -> CollaborationBinding:
        return self.contracts.collaboration

    def form(self, timeout: int) -> int:
        c = self.collaboration
        terms = '{"terms": "aggregates of the tumour table"}'
        expiry = self.chain.now() + 3600
        offer, _ = c.post_offer(
            self.dsp.account, dao_id=0, role=Role.DSP, terms_hash=keccak256(terms.encode()), stake_bps=3000,
            heartbeat_timeout=timeout, expiry=expiry, terms=terms,
        )  # fmt: skip
        dao_id, _ = c.accept(self.vp1.account, offer, self.vp1.address, 0)
        join, _ = c.post_offer(
            self.vp2.account, dao_id=dao_id, role=Role.VP, terms_hash=keccak256(b"join"), stake_bps=2000,
            heartbeat_timeout=0, expiry=expiry, terms="join",
        )  # fmt: skip
        c.accept(self.dsp.account, join, self.dsp.address, 0)
        return dao_id


def deploy_collab(root: Path, dsp: Participant | None = None) -> Collab:
    chain = EmbeddedChain()
    people = {n: Participant(n, Account.create(), root / n) for n in ("supervisor", "platform", "vp1", "vp2")}
    people["dsp"] = dsp or Participant("dsp", Account.create(), root / "dsp")
    anyone = Account.create()
    for p in [*people.values()]:
        chain.fund(p.address, 10 * ETHER)
    chain.fund(anyone.address, 10 * ETHER)
    contracts = Contracts.deploy(
        chain, people["supervisor"].account, people["platform"].account, only=["Registry", "Collaboration"]
    )
    for label in ("dsp", "vp1", "vp2"):
        org, _ = registry.register_organisation(contracts, people[label], f"{label} org")
        registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
    return Collab(chain, contracts, people["dsp"], people["vp1"], people["vp2"], anyone)
