"""Real Ansible runs (ansible-runner, local connection): the playbook starts the workload as a process that
computes an aggregate on the owner's encrypted table and heart-beats; the relay turns its heartbeats into
chain heartbeats; the stop playbook ends it; a crashed workload stops heart-beating and its member is terminated
once the timeout passes on the chain's clock; a workload that fails while starting is reported with its reason.

Slow: each playbook run costs ~4 s of Ansible start-up on a quiet machine."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.domain.models import ChainEvent
from datagora.infra.errors import InfrastructureError
from datagora.services.infrastructure import HeartbeatRelay, InfrastructureNode, Pass, Workloads
from tests.infrastructure.kit import Collab, Owner, deploy_collab, expected_groups, make_owner, make_spec

pytestmark = pytest.mark.slow

TIMEOUT = 600
MARGIN = 100
"""Seconds of chain time kept between a heartbeat and the timeout, so real time passing never decides a test."""


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def wait_until(check: object, seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Collab:
    return deploy_collab(tmp_path_factory.mktemp("collab"))


@pytest.fixture
def collab(world: Collab) -> Iterator[Collab]:
    snap = world.chain.snapshot()
    yield world
    world.chain.revert(snap)


@pytest.fixture(scope="module")
def owner(world: Collab, tmp_path_factory: pytest.TempPathFactory) -> Owner:
    return make_owner(tmp_path_factory.mktemp("data"), world.dsp)


@pytest.fixture
def workloads(owner: Owner) -> Iterator[Workloads]:
    workloads = Workloads.of(owner.participant)
    yield workloads
    for status in workloads.status():  # never leave a process behind, whatever the test did
        if status.pid is not None:
            os.kill(status.pid, signal.SIGKILL)


def test_the_playbook_starts_a_real_process_and_the_stop_playbook_ends_it(
    owner: Owner, workloads: Workloads, collab: Collab
) -> None:
    spec = make_spec(owner)
    dao_id = collab.form(TIMEOUT)
    started = workloads.up(owner.participant, dao_id, spec)
    assert started.state == "running" and started.pid is not None
    pid = started.pid
    assert alive(pid)
    # The run's events and status are captured, task by task.
    run = started.playbook
    assert run is not None and run.ok and run.status == "successful" and run.events > len(run.tasks)
    outcomes = {t.task: t for t in run.tasks}
    assert outcomes["Start the workload as a process of its own session"].event == "runner_on_ok"
    assert outcomes["Wait for the workload's first heartbeat"].message == f"running as PID {pid}"
    assert outcomes["Refuse to start a second copy"].event == "runner_on_skipped"
    assert "datagora.infra.workload" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    # Only the aggregate comes back: groups of at least min_group_size rows, the one-row group withheld.
    result = started.result
    assert result is not None and result["columns"] == ["diagnosis", "patients", "avg(radius)"]
    expected = expected_groups(owner.data, spec.min_group_size)
    assert {row[0]: (row[1], pytest.approx(row[2])) for row in result["rows"]} == expected
    assert "rare" not in {row[0] for row in result["rows"]}
    assert not (started.run_dir / "data.key").exists()
    # It heart-beats; the relay posts each new heartbeat to the chain with the member's key.
    relay = HeartbeatRelay(collab.collaboration, owner.participant.account, workloads)
    collab.chain.advance_time(10)
    sent = relay.tick()
    assert len(sent) == 1
    beat = sent[0][1].event("Heartbeat")
    assert beat.args["member"] == owner.participant.address and beat.args["dao_id"] == dao_id
    assert collab.collaboration.last_heartbeat(dao_id, owner.participant.address) == beat.args["timestamp"]
    assert wait_until(lambda: workloads.status()[0].beats > started.beats, 5)
    # A second start of the same workload is refused while it runs.
    with pytest.raises(InfrastructureError, match=f"already running \\(PID {pid}\\)"):
        workloads.up(owner.participant, dao_id, spec)
    stopped = workloads.down(dao_id, spec.name)
    assert stopped.state == "stopped" and stopped.pid is None
    assert stopped.playbook is not None and stopped.playbook.ok
    assert any(t.message == f"stopped PID {pid}" for t in stopped.playbook.tasks)
    assert wait_until(lambda: not alive(pid))
    assert workloads.status()[0].state == "stopped"
    assert relay.tick() == []


def test_the_chain_drives_the_workload_and_a_crash_leads_to_termination(
    owner: Owner, workloads: Workloads, collab: Collab
) -> None:
    """A value provider requests the workload on chain; the data owner's node starts it and relays its
    heartbeats; the workload crashes, its heartbeats stop, and a value provider's node terminates the owner once
    the DAO's timeout has passed on the chain's clock."""
    c = collab.collaboration
    host = owner.participant
    dao_id = collab.form(TIMEOUT)
    spec = make_spec(owner, name="crashing-averages")
    c.request_infrastructure(collab.vp1.account, dao_id, spec.to_json())

    def events(start: int) -> list[ChainEvent]:
        return collab.contracts.events(from_block=start)

    dsp_node = InfrastructureNode.open(c, host, collab.chain, events, [dao_id])
    vp_node = InfrastructureNode.open(c, collab.vp1, collab.chain, events, [dao_id])
    first = dsp_node.step()
    assert [(r.action, r.dao_id) for r in first.requests] == [("started", dao_id)]
    started = first.requests[0].workload
    assert started is not None and started.pid is not None and alive(started.pid)
    assert [h.name for h, _ in first.heartbeats] == [spec.name]
    assert first.heartbeats[0][1].event("Heartbeat").args["member"] == host.address
    assert [r.action for r in vp_node.step().requests] == ["skipped"]  # runs on the data owner's node only
    collab.chain.advance_time(TIMEOUT - MARGIN)
    c.heartbeat(collab.vp2.account, dao_id)
    assert wait_until(lambda: workloads.status_of(started.run_dir).beats > started.beats, 5)
    assert dsp_node.step().heartbeats  # the host's next heartbeat reaches the chain while its workload runs
    os.kill(started.pid, signal.SIGKILL)  # the machine's workload dies
    assert wait_until(lambda: not alive(started.pid))  # type: ignore[arg-type]
    assert workloads.status_of(started.run_dir).state == "crashed"
    beats = workloads.status_of(started.run_dir).beats
    time.sleep(spec.heartbeat_interval * 2)
    assert workloads.status_of(started.run_dir).beats == beats
    assert dsp_node.step() == Pass([], [], [])
    collab.chain.advance_time(TIMEOUT - MARGIN)
    c.heartbeat(collab.vp1.account, dao_id)  # the value providers' machines are still alive
    c.heartbeat(collab.vp2.account, dao_id)
    assert vp_node.step().terminations == []
    collab.chain.advance_time(2 * MARGIN)
    assert dsp_node.step().heartbeats == []
    done = vp_node.step().terminations
    assert [o.member for o, _ in done] == [host.address]
    terminated = done[0][1].event("MemberTerminated")
    assert terminated.args["member"] == host.address and terminated.args["terminated_by"] == collab.vp1.address
    assert {m.account for m in c.members(dao_id) if m.active} == {collab.vp1.address, collab.vp2.address}


def test_a_workload_that_fails_while_starting_is_reported_with_its_reason(owner: Owner, workloads: Workloads) -> None:
    spec = make_spec(
        owner,
        name="wrong-column",
        task={"select": [{"aggregate": "avg", "column": "radius_mean"}]},
    )
    with pytest.raises(InfrastructureError, match="exited while starting") as err:
        workloads.up(owner.participant, 3, spec)
    assert str(err.value).startswith("start.yml: task 'Wait for the workload's first heartbeat' failed: ")
    assert "radius_mean" in str(err.value)
    status = workloads.status_of(workloads.run_dir(3, spec.name))
    assert status.state == "failed" and "radius_mean" in status.error


def test_the_workload_story_runs_as_the_demo_tells_it(owner: Owner, workloads: Workloads, collab: Collab) -> None:
    from datagora.scenarios.infrastructure import workload_story

    dao_id = collab.form(TIMEOUT)
    spec = make_spec(owner, name="story-averages")
    story = workload_story(collab.contracts, dao_id, owner.participant, collab.vp1, spec, silent=collab.vp2, others=[])
    assert story.started.action == "started"
    expected = expected_groups(owner.data, spec.min_group_size)
    assert {row[0]: (row[1], pytest.approx(row[2])) for row in story.result["rows"]} == expected
    members = [tx.event("Heartbeat").args["member"] for tx in story.heartbeats]
    assert members.count(owner.participant.address) >= 2 and collab.vp2.address not in members
    assert story.terminated.member == collab.vp2.address
    assert story.termination.event("MemberTerminated").args["terminated_by"] == collab.vp1.address
    assert story.stopped.state == "stopped"
    assert {m.account for m in collab.collaboration.members(dao_id) if m.active} == {
        owner.participant.address,
        collab.vp1.address,
    }
