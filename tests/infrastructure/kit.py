"""What the infrastructure tests share: a data owner holding a real encrypted table, a workload spec over it, the
expected aggregate computed in plain Python, and a stand-in for the Collaboration contract's membership and
heartbeat rules timed by a real embedded chain's clock (until the contract's binding lands)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import Chain
from datagora.domain.errors import TransactionReverted
from datagora.domain.models import ChainEvent, TxResult
from datagora.infra.spec import WorkloadSpec, parse_spec
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


def make_owner(root: Path) -> Owner:
    from datagora.services.publishing import prepare

    table = root / "tumours.csv"
    data = write_table(table)
    participant = Participant("dsp", Account.create(), root / "dsp")
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


@dataclass
class ChainClockCollaboration:
    """The Collaboration contract's heartbeat and termination rules in memory, timed by ``chain.now()`` (the
    embedded chain's clock, moved by ``chain.advance_time``)."""

    chain: Chain
    timeout: int
    daos: dict[int, list[str]] = field(default_factory=dict)
    last: dict[tuple[int, str], int] = field(default_factory=dict)
    terminated: list[tuple[int, str]] = field(default_factory=list)
    requests: list[tuple[int, str, str]] = field(default_factory=list)

    def form(self, dao_id: int, members: list[str]) -> None:
        self.daos[dao_id] = list(members)
        for m in members:
            self.last[(dao_id, m.lower())] = self.chain.now()

    def _tx(self) -> TxResult:
        return TxResult("0x" + "00" * 32, 0, self.chain.block_number())

    def request_infrastructure(self, sender: LocalAccount, dao_id: int, spec: str) -> TxResult:
        self._member(dao_id, sender.address)
        self.requests.append((dao_id, sender.address, spec))
        return self._tx()

    def heartbeat(self, sender: LocalAccount, dao_id: int) -> TxResult:
        self._member(dao_id, sender.address)
        self.last[(dao_id, sender.address.lower())] = self.chain.now()
        return self._tx()

    def terminate(self, sender: LocalAccount, dao_id: int, member: str) -> TxResult:
        self._member(dao_id, member)
        if self.chain.now() - self.last[(dao_id, member.lower())] <= self.timeout:
            raise TransactionReverted("collaboration: member is alive", "terminate")
        self.daos[dao_id] = [m for m in self.daos[dao_id] if m.lower() != member.lower()]
        self.terminated.append((dao_id, member))
        return self._tx()

    def heartbeat_timeout(self, dao_id: int) -> int:
        return self.timeout

    def last_heartbeat(self, dao_id: int, member: str) -> int:
        return self.last[(dao_id, member.lower())]

    def is_member(self, dao_id: int, account: str) -> bool:
        return account.lower() in {m.lower() for m in self.daos.get(dao_id, [])}

    def members(self, dao_id: int) -> list[str]:
        return list(self.daos.get(dao_id, []))

    def _member(self, dao_id: int, account: str) -> None:
        if not self.is_member(dao_id, account):
            raise TransactionReverted("collaboration: not a member", "")
