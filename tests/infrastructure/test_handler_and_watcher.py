"""The node's event handler acts only on requests it should host, once each, reading the real
``InfrastructureRequested`` events; missed heartbeats lead to termination on chain (Collaboration on the
embedded chain, time travel), and live members are never terminated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from datagora.domain.errors import TransactionReverted
from datagora.infra.spec import WorkloadSpec, parse_spec
from datagora.services.infrastructure import InfrastructureHandler, TerminationWatcher, Workloads, WorkloadStatus
from datagora.services.participant import Participant
from tests.infrastructure.kit import Collab, deploy_collab, spec_doc

TIMEOUT = 3600  # long enough that real time passing during the module never matters


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Collab, int]:
    collab = deploy_collab(tmp_path_factory.mktemp("collab"))
    return collab, collab.form(TIMEOUT)


@pytest.fixture
def collab(world: tuple[Collab, int]) -> Iterator[Collab]:
    snap = world[0].chain.snapshot()
    yield world[0]
    world[0].chain.revert(snap)


@pytest.fixture
def dao_id(world: tuple[Collab, int]) -> int:
    return world[1]


class RecordingWorkloads(Workloads):
    """Records what it is asked to start instead of running Ansible (the Ansible runs are in
    test_ansible_workload.py)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.started: list[tuple[int, str, str]] = []

    def up(self, host: Participant, dao_id: int, spec: WorkloadSpec, *, requested_by: str = "") -> WorkloadStatus:
        self.started.append((dao_id, spec.name, requested_by))
        return WorkloadStatus(dao_id, spec.name, "running", 4242, 1, 0.0, self.run_dir(dao_id, spec.name))


def spec_for(owner: str, name: str = "tumour-averages") -> str:
    return parse_spec(spec_doc(owner, "0x" + "cd" * 32, name=name)).to_json()


def test_the_handler_starts_only_what_this_node_hosts_once(collab: Collab, dao_id: int, tmp_path: Path) -> None:
    c = collab.collaboration
    outsider = Participant("outsider", Account.create(), tmp_path / "outsider")
    c.request_infrastructure(collab.vp1.account, dao_id, spec_for(collab.dsp.address))
    c.request_infrastructure(collab.vp1.account, dao_id, spec_for(collab.vp2.address))  # hosted by vp2's node
    c.request_infrastructure(collab.vp1.account, dao_id, '{"name": "x"}')  # does not validate
    with pytest.raises(TransactionReverted, match=r"^request_infrastructure: reverted: collaboration: not a member$"):
        c.request_infrastructure(collab.anyone, dao_id, spec_for(collab.dsp.address))
    events = collab.contracts.events()
    workloads = RecordingWorkloads(tmp_path / "dsp" / "infrastructure")
    handler = InfrastructureHandler(c, collab.dsp, workloads)
    outcomes = handler.poll(lambda start: collab.contracts.events(from_block=max(start, 0)))
    assert [o.action for o in outcomes] == ["started", "skipped", "skipped"]
    assert f"runs on the node of {collab.vp2.address}" in outcomes[1].reason
    assert outcomes[2].reason.startswith("workload spec: ")
    assert workloads.started == [(dao_id, "tumour-averages", collab.vp1.address)]
    # A node whose account is not a member skips every request.
    stranger = InfrastructureHandler(c, outsider, RecordingWorkloads(tmp_path / "outsider" / "infrastructure"))
    assert {o.reason for o in stranger.handle(events)} == {f"this node's account is not a member of DAO {dao_id}"}
    # A restarted handler (same home) remembers what it did and where to resume.
    again = InfrastructureHandler(c, collab.dsp, RecordingWorkloads(workloads.root))
    assert again.cursor() == collab.chain.block_number() + 1
    assert again.handle(events) == []
    c.request_infrastructure(collab.vp2.account, dao_id, spec_for(collab.dsp.address, "second-run"))
    later = again.poll(lambda start: collab.contracts.events(from_block=start))
    assert [(o.action, o.workload and o.workload.name) for o in later] == [("started", "second-run")]
    # A chain reset below the cursor (a development chain reverted): everything is read again, nothing redone.
    reads: list[int] = []
    assert again.poll(lambda start: reads.append(start) or collab.contracts.events(from_block=start), head=1) == []
    assert reads == [0]


def test_missed_heartbeats_lead_to_termination_on_chain(collab: Collab, dao_id: int) -> None:
    c = collab.collaboration
    watcher = TerminationWatcher(c, collab.chain)
    assert watcher.overdue(dao_id) == []
    assert watcher.sweep(collab.anyone, [dao_id]) == []
    collab.chain.advance_time(TIMEOUT // 2)
    c.heartbeat(collab.dsp.account, dao_id)
    c.heartbeat(collab.vp1.account, dao_id)
    collab.chain.advance_time(TIMEOUT // 2 + 5)  # vp2's last heartbeat (its joining) is now older than the timeout
    late = watcher.overdue(dao_id)
    assert [o.member for o in late] == [collab.vp2.address]
    assert late[0].timeout == TIMEOUT and collab.chain.now() > late[0].last_heartbeat + TIMEOUT
    with pytest.raises(TransactionReverted, match="collaboration: heartbeat not missed"):
        c.terminate(collab.anyone, dao_id, collab.vp1.address)
    assert watcher.sweep(collab.vp2.account, [dao_id]) == []  # a node never ends its own membership
    done = watcher.sweep(collab.anyone, [dao_id])
    assert [o.member for o, _ in done] == [collab.vp2.address]
    event = done[0][1].event("MemberTerminated")
    assert event.args["member"] == collab.vp2.address and event.args["terminated_by"] == collab.anyone.address
    assert {m.account: m.active for m in c.members(dao_id)} == {
        collab.dsp.address: True,
        collab.vp1.address: True,
        collab.vp2.address: False,
    }
    assert watcher.sweep(collab.anyone, [dao_id]) == []
