"""The node's event handler acts only on requests it should host, once each; the watcher terminates exactly the
members whose heartbeats are overdue on the chain's clock (embedded chain, time travel)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from datagora.chain.client import EmbeddedChain
from datagora.domain.models import ChainEvent
from datagora.infra.spec import WorkloadSpec
from datagora.services.infrastructure import InfrastructureHandler, TerminationWatcher, Workloads, WorkloadStatus
from datagora.services.participant import Participant
from tests.infrastructure.kit import ChainClockCollaboration, request_event, spec_doc

TIMEOUT = 60


@pytest.fixture(scope="module")
def chain() -> EmbeddedChain:
    return EmbeddedChain()


@pytest.fixture
def clock_chain(chain: EmbeddedChain) -> Iterator[EmbeddedChain]:
    snap = chain.snapshot()
    yield chain
    chain.revert(snap)


class RecordingWorkloads(Workloads):
    """Records what it is asked to start instead of running Ansible (the Ansible runs are in
    test_ansible_workload.py)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.started: list[tuple[int, str, str]] = []

    def up(self, host: Participant, dao_id: int, spec: WorkloadSpec, *, requested_by: str = "") -> WorkloadStatus:
        self.started.append((dao_id, spec.name, requested_by))
        return WorkloadStatus(dao_id, spec.name, "running", 4242, 1, 0.0, self.run_dir(dao_id, spec.name))


def test_the_handler_starts_only_what_this_node_hosts_once(clock_chain: EmbeddedChain, tmp_path: Path) -> None:
    host = Participant("dsp", Account.create(), tmp_path / "dsp")
    vp, other = Account.create(), Account.create()
    collaboration = ChainClockCollaboration(clock_chain, TIMEOUT)
    collaboration.form(1, [host.address, vp.address])
    collaboration.form(2, [other.address, vp.address])
    mine = make_spec_for(host.address)
    theirs = make_spec_for(other.address)
    events: list[Any] = [
        request_event(1, vp.address, mine, block=5),
        request_event(2, vp.address, mine, block=6),  # a DAO this node is not in
        request_event(1, vp.address, theirs, block=7),  # hosted by the data's owner, another node
        request_event(1, vp.address, '{"name": "x"}', block=8),  # a spec that does not validate
        ChainEvent("Collaboration", "Heartbeat", {"dao_id": 1}, 9, "0x" + "09" * 32, 0),
    ]
    workloads = RecordingWorkloads(tmp_path / "dsp" / "infrastructure")
    handler = InfrastructureHandler(collaboration, host, workloads)
    outcomes = handler.handle(events, cursor=10)
    assert [o.action for o in outcomes] == ["started", "skipped", "skipped", "skipped"]
    assert "not a member of DAO 2" in outcomes[1].reason
    assert f"runs on the node of {other.address}" in outcomes[2].reason
    assert outcomes[3].reason.startswith("workload spec: ")
    assert workloads.started == [(1, "tumour-averages", vp.address)]
    # A restarted handler (same home) remembers what it did and where to resume.
    again = InfrastructureHandler(collaboration, host, RecordingWorkloads(workloads.root))
    assert again.cursor() == 10
    assert again.handle(events) == []
    late = request_event(1, vp.address, mine.replace("tumour-averages", "second-run"), block=12)
    assert [o.action for o in again.poll(lambda start: [e for e in [*events, late] if e.block_number >= start])] == [
        "started"
    ]
    assert again.cursor() == 13


def make_spec_for(owner: str) -> str:
    from datagora.infra.spec import parse_spec

    return parse_spec(spec_doc(owner, "0x" + "cd" * 32)).to_json()


def test_overdue_members_are_terminated_and_live_ones_are_not(clock_chain: EmbeddedChain) -> None:
    dsp, vp1, vp2, anyone = (Account.create() for _ in range(4))
    collaboration = ChainClockCollaboration(clock_chain, TIMEOUT)
    collaboration.form(1, [dsp.address, vp1.address, vp2.address])
    watcher = TerminationWatcher(collaboration, clock_chain)
    assert watcher.overdue(1) == []
    assert watcher.sweep(anyone, [1]) == []
    clock_chain.advance_time(TIMEOUT // 2)
    collaboration.heartbeat(dsp, 1)
    collaboration.heartbeat(vp1, 1)
    clock_chain.advance_time(TIMEOUT // 2 + 5)  # vp2's last heartbeat is now older than the timeout
    late = watcher.overdue(1)
    assert [o.member for o in late] == [vp2.address]
    assert late[0].timeout == TIMEOUT and clock_chain.now() - late[0].last_heartbeat > TIMEOUT
    done = watcher.sweep(anyone, [1])
    assert [o.member for o, _ in done] == [vp2.address]
    assert collaboration.terminated == [(1, vp2.address)]
    assert collaboration.members(1) == [dsp.address, vp1.address]
    assert watcher.sweep(anyone, [1]) == []
