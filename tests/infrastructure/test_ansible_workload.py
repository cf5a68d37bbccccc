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
from eth_account import Account

from datagora.chain.client import EmbeddedChain
from datagora.infra.errors import InfrastructureError
from datagora.services.infrastructure import HeartbeatRelay, TerminationWatcher, Workloads
from tests.infrastructure.kit import ChainClockCollaboration, Owner, expected_groups, make_owner, make_spec

pytestmark = pytest.mark.slow

TIMEOUT = 30


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
def owner(tmp_path_factory: pytest.TempPathFactory) -> Owner:
    return make_owner(tmp_path_factory.mktemp("infra"))


@pytest.fixture(scope="module")
def chain() -> EmbeddedChain:
    return EmbeddedChain()


@pytest.fixture
def workloads(owner: Owner) -> Iterator[Workloads]:
    workloads = Workloads.of(owner.participant)
    yield workloads
    for status in workloads.status():  # never leave a process behind, whatever the test did
        if status.pid is not None:
            os.kill(status.pid, signal.SIGKILL)


def test_the_playbook_starts_a_real_process_and_the_stop_playbook_ends_it(
    owner: Owner, workloads: Workloads, chain: EmbeddedChain
) -> None:
    spec = make_spec(owner)
    collaboration = ChainClockCollaboration(chain, TIMEOUT)
    vp = Account.create()
    collaboration.form(1, [owner.participant.address, vp.address])
    started = workloads.up(owner.participant, 1, spec)
    assert started.state == "running" and started.pid is not None
    pid = started.pid
    assert alive(pid)
    assert "datagora.infra.workload" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    # Only the aggregate comes back: groups of at least min_group_size rows, the one-row group withheld.
    result = started.result
    assert result is not None and result["columns"] == ["diagnosis", "patients", "avg(radius)"]
    expected = expected_groups(owner.data, spec.min_group_size)
    assert {row[0]: (row[1], pytest.approx(row[2])) for row in result["rows"]} == expected
    assert "rare" not in {row[0] for row in result["rows"]}
    assert not (started.run_dir / "data.key").exists()
    # It heart-beats; the relay posts each new heartbeat to the chain with the member's key.
    relay = HeartbeatRelay(collaboration, owner.participant.account, workloads)
    chain.advance_time(10)
    assert len(relay.tick()) == 1
    assert collaboration.last_heartbeat(1, owner.participant.address) == chain.now()
    assert wait_until(lambda: workloads.status()[0].beats > started.beats, 5)
    # A second start of the same workload is refused while it runs.
    with pytest.raises(InfrastructureError, match=f"already running \\(PID {pid}\\)"):
        workloads.up(owner.participant, 1, spec)
    stopped = workloads.down(1, spec.name)
    assert stopped.state == "stopped" and stopped.pid is None
    assert wait_until(lambda: not alive(pid))
    assert workloads.status()[0].state == "stopped"
    assert relay.tick() == []


def test_a_crashed_workload_stops_heart_beating_and_its_member_is_terminated(
    owner: Owner, workloads: Workloads, chain: EmbeddedChain
) -> None:
    spec = make_spec(owner, name="crashing-averages")
    collaboration = ChainClockCollaboration(chain, TIMEOUT)
    vp = Account.create()
    collaboration.form(2, [owner.participant.address, vp.address])
    relay = HeartbeatRelay(collaboration, owner.participant.account, workloads)
    watcher = TerminationWatcher(collaboration, chain)
    started = workloads.up(owner.participant, 2, spec)
    assert started.pid is not None
    chain.advance_time(TIMEOUT - 5)
    collaboration.heartbeat(vp, 2)
    assert relay.tick()  # the host's heartbeat reaches the chain while its workload runs
    os.kill(started.pid, signal.SIGKILL)  # the machine's workload dies
    assert wait_until(lambda: not alive(started.pid))  # type: ignore[arg-type]
    assert workloads.status_of(started.run_dir).state == "crashed"
    beats = workloads.status_of(started.run_dir).beats
    time.sleep(spec.heartbeat_interval * 2)
    assert workloads.status_of(started.run_dir).beats == beats
    assert relay.tick() == []
    chain.advance_time(TIMEOUT - 10)
    collaboration.heartbeat(vp, 2)  # the value provider's machine is still alive
    assert watcher.overdue(2) == []
    chain.advance_time(20)
    assert [o.member for o in watcher.overdue(2)] == [owner.participant.address]
    done = watcher.sweep(vp, [2])
    assert [o.member for o, _ in done] == [owner.participant.address]
    assert collaboration.members(2) == [vp.address]


def test_a_workload_that_fails_while_starting_is_reported_with_its_reason(owner: Owner, workloads: Workloads) -> None:
    spec = make_spec(
        owner,
        name="wrong-column",
        task={"select": [{"aggregate": "avg", "column": "radius_mean"}]},
    )
    with pytest.raises(InfrastructureError, match="exited while starting") as err:
        workloads.up(owner.participant, 3, spec)
    assert "radius_mean" in str(err.value)
    status = workloads.status_of(workloads.run_dir(3, spec.name))
    assert status.state == "failed" and "radius_mean" in status.error
