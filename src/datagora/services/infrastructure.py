"""The chain drives and monitors real infrastructure (Mehdi et al.: the infrastructure part of the
data-ownership-centric architecture, and steps 4-9 of its component interactions).

- A DAO member puts a workload spec on chain (``Collaboration.request_infrastructure``, event
  ``InfrastructureRequested``): :func:`request`.
- Each member's node runs an :class:`InfrastructureHandler` over the chain's events: a request of a DAO this node
  is a member of, whose data this node owns, becomes an Ansible run that starts the workload on this machine
  (:class:`Workloads`, :mod:`datagora.infra.ansible`). Requests are handled once (remembered by transaction
  and log index), in chain order.
- The running workload writes a heartbeat every ``heartbeat_interval`` seconds; the node's
  :class:`HeartbeatRelay` turns each new one into a ``Collaboration.heartbeat`` transaction signed with the
  member's key ("notifications … sent back into the blockchain", steps 7-8). The workload never holds the
  member's key: it gets only the data key of the one dataset it computes on. A workload that crashes writes no
  more heartbeats, so none reach the chain.
- Anyone's :class:`TerminationWatcher` calls ``Collaboration.terminate`` for each member whose last heartbeat
  is older than the DAO's ``heartbeat_timeout`` ("if no notification comes from his machine, the system assumes
  he abandoned the job and the contract will be terminated"); the contract decides what happens to the stake.

The contract side is reached through :class:`CollaborationPort`, the subset of the ``Collaboration`` binding
this service uses.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount

from datagora.domain.errors import AccessDenied, NotFoundError, TransactionReverted, ValidationError
from datagora.domain.models import ChainEvent, TxResult
from datagora.fsutil import atomic_write_json
from datagora.infra.ansible import PlaybookRun
from datagora.infra.errors import InfrastructureError
from datagora.infra.spec import WorkloadSpec, parse_spec
from datagora.services.participant import Participant

REQUEST_EVENT = "InfrastructureRequested"
CONTRACT = "Collaboration"


class MemberRecord(Protocol):
    """A DAO member as the binding reports it (:class:`datagora.domain.collaboration.Member`)."""

    @property
    def account(self) -> str: ...

    @property
    def active(self) -> bool: ...

    @property
    def last_heartbeat(self) -> int: ...


class CollaborationPort(Protocol):
    """What this service needs of the ``Collaboration`` contract's binding (``contracts.collaboration``,
    :class:`datagora.chain.bindings.collaboration.CollaborationBinding`). Times are Unix seconds of the chain;
    writes return the mined :class:`TxResult` and raise :class:`TransactionReverted` with the contract's message
    (``"collaboration: heartbeat not missed"`` …)."""

    def request_infrastructure(self, sender: LocalAccount, dao_id: int, spec: str) -> TxResult: ...

    def heartbeat(self, sender: LocalAccount, dao_id: int) -> TxResult: ...

    def terminate(self, sender: LocalAccount, dao_id: int, member: str) -> TxResult: ...

    def heartbeat_timeout(self, dao_id: int) -> int: ...

    def members(self, dao_id: int) -> Sequence[MemberRecord]: ...


def is_member(collaboration: CollaborationPort, dao_id: int, account: str) -> bool:
    """Whether ``account`` holds an active seat in DAO ``dao_id`` (False for an unknown DAO)."""
    try:
        found = collaboration.members(dao_id)
    except NotFoundError:
        return False
    return any(m.active and m.account.lower() == account.lower() for m in found)


EventSource = Callable[[int], Sequence[ChainEvent]]
"""The chain's events from a block on, in chain order: ``contracts.events(from_block=…)``, or a node's index
(``node.sync_index()`` then ``node.indexer.stored_events(from_block)``)."""


class Clock(Protocol):
    """The chain's clock: the latest block's timestamp (Unix seconds) and number."""

    def now(self) -> int: ...

    def block_number(self) -> int: ...


def request(collaboration: CollaborationPort, sender: LocalAccount, dao_id: int, spec: WorkloadSpec | str) -> TxResult:
    """Put a workload spec on chain for DAO ``dao_id`` (a member only; the contract checks). A string is validated
    first (:func:`~datagora.infra.spec.parse_spec`, ``ValidationError``)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    return collaboration.request_infrastructure(sender, dao_id, parsed.to_json())


# -- the workloads this node hosts ------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadStatus:
    """A workload hosted by this node. ``state``: ``running`` (process alive and heart-beating), ``stale``
    (alive but its last heartbeat is older than twice the interval), ``crashed`` (the process is gone without
    being stopped), ``failed`` (the computation failed; ``error`` says why), ``stopped``. ``beats``: heartbeats
    written; ``last_beat``: Unix time of the last one; ``result``: the aggregate result (None before it exists)."""

    dao_id: int
    name: str
    state: str
    pid: int | None
    beats: int
    last_beat: float | None
    run_dir: Path
    result: dict[str, Any] | None = None
    error: str = ""
    playbook: PlaybookRun | None = None
    """The playbook run that just started or stopped it (each task's outcome, ansible-runner's status)."""


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) workload process of this machine."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return "Z" not in state.split(":", 1)[-1][:3] and b"datagora.infra.workload" in cmdline


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class Workloads:
    """The workloads a node runs, each in ``root/<dao id>-<name>/`` (``root``: the participant's
    ``paths.infrastructure``). Reading their status needs no key; starting one needs the host participant."""

    def __init__(self, root: Path, *, start_timeout: int = 60) -> None:
        self.root = root
        self.start_timeout = start_timeout

    @classmethod
    def of(cls, participant: Participant, *, start_timeout: int = 60) -> Workloads:
        return cls(participant.paths.infrastructure, start_timeout=start_timeout)

    def run_dir(self, dao_id: int, name: str) -> Path:
        return self.root / f"{dao_id}-{name}"

    def up(self, host: Participant, dao_id: int, spec: WorkloadSpec, *, requested_by: str = "") -> WorkloadStatus:
        """Start ``spec``'s workload for DAO ``dao_id`` on ``host`` (the data's owner; its key unwraps the data
        key) with the ``start.yml`` playbook. Raises
        :class:`AccessDenied` when the data is another account's, :class:`NotFoundError` when this node holds no
        such dataset, :class:`InfrastructureError` when the playbook fails (already running, the workload exited
        while starting: its log's end is in the message)."""
        from datagora.crypto.envelope import data_key_of
        from datagora.infra.ansible import start_workload

        if spec.data.owner.lower() != host.address.lower():
            raise AccessDenied(f"the data of workload {spec.name!r} is {spec.data.owner}'s, not this node's")
        record = host.load_record("datasets", spec.data.content_hash.removeprefix("0x"))
        blob = str(record["blob"])
        with host.store.open(blob) as src:
            data_key = data_key_of(src, host.private_key)
        run_dir = self.run_dir(dao_id, spec.name)
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_file = run_dir / "data.key"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(data_key.hex())
        atomic_write_json(
            run_dir / "workload.json",
            {
                "dao_id": dao_id,
                "requested_by": requested_by,
                "spec": json.loads(spec.to_json()),
                "blob_dir": str(host.paths.blobs),
                "blob": blob,
                "suffix": Path(str(record.get("file", "data.csv"))).suffix or ".csv",
                "data_key_file": str(key_file),
                "result_file": str(run_dir / "result.json"),
                "beacon_file": str(run_dir / "heartbeat.json"),
            },
        )
        try:
            run = start_workload(run_dir, start_timeout=self.start_timeout)
        finally:
            key_file.unlink(missing_ok=True)  # read by the workload at start; never left behind
        return replace(self.status_of(run_dir), playbook=run)

    def down(self, dao_id: int, name: str) -> WorkloadStatus:
        """Stop the workload with the ``stop.yml`` playbook. :class:`NotFoundError` when this node never ran it."""
        from datagora.infra.ansible import stop_workload

        run_dir = self.run_dir(dao_id, name)
        if not (run_dir / "workload.json").is_file():
            raise NotFoundError(f"this node runs no workload {name!r} for DAO {dao_id}")
        run = stop_workload(run_dir)
        return replace(self.status_of(run_dir), playbook=run)

    def status_of(self, run_dir: Path) -> WorkloadStatus:
        config = _read_json(run_dir / "workload.json") or {}
        spec = config.get("spec") or {}
        beacon = _read_json(run_dir / "heartbeat.json") or {}
        pid_text = (run_dir / "workload.pid").read_text().strip() if (run_dir / "workload.pid").is_file() else ""
        pid = int(pid_text) if pid_text.isdigit() else None
        alive = pid is not None and _alive(pid)
        interval = float(spec.get("heartbeat_interval", 10))
        last = beacon.get("at")
        if beacon.get("state") == "failed":
            state = "failed"
        elif alive:
            state = "running" if last is not None and time.time() - float(last) <= 2 * interval else "stale"
        elif pid is not None:
            state = "crashed"
        else:
            state = "stopped"
        return WorkloadStatus(
            dao_id=int(config.get("dao_id", 0)),
            name=str(spec.get("name", run_dir.name)),
            state=state,
            pid=pid if alive else None,
            beats=int(beacon.get("beats", 0)),
            last_beat=None if last is None else float(last),
            run_dir=run_dir,
            result=_read_json(run_dir / "result.json"),
            error=str(beacon.get("error", "")),
        )

    def status(self, dao_id: int | None = None) -> list[WorkloadStatus]:
        """Every workload this node has run (of DAO ``dao_id`` only, when given), by directory name."""
        if not self.root.is_dir():
            return []
        found = [self.status_of(d) for d in sorted(self.root.iterdir()) if (d / "workload.json").is_file()]
        return [s for s in found if dao_id is None or s.dao_id == dao_id]


# -- the event handler -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandledRequest:
    """What the handler did with one ``InfrastructureRequested`` event: ``action`` is ``started``, ``skipped``
    or ``failed``; ``reason`` says why in plain words."""

    dao_id: int
    tx_hash: str
    log_index: int
    action: str
    reason: str = ""
    workload: WorkloadStatus | None = None


@dataclass
class InfrastructureHandler:
    """Turns ``InfrastructureRequested`` events into Ansible runs on this node (see the module docstring).

    Acts only on DAOs ``me`` is a member of and on workloads whose data ``me`` owns; everything else is skipped
    with a reason. Each event is handled once: the handled ones are kept in
    ``<home>/infrastructure/handled.json``."""

    collaboration: CollaborationPort
    host: Participant
    workloads: Workloads
    handled_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.handled_file = self.workloads.root / "handled.json"

    @property
    def me(self) -> str:
        return self.host.address

    def _handled(self) -> dict[str, Any]:
        return _read_json(self.handled_file) or {"events": [], "cursor": 0}

    def cursor(self) -> int:
        """The block after the last one whose events were handled (where :meth:`poll` resumes)."""
        return int(self._handled().get("cursor", 0))

    def handle(self, events: Iterable[ChainEvent], *, cursor: int | None = None) -> list[HandledRequest]:
        """Act on the ``InfrastructureRequested`` events among ``events`` (others are ignored), in order.
        ``cursor``: the next block to read, stored with the handled events."""
        done = self._handled()
        seen = set(done["events"])
        out: list[HandledRequest] = []
        for ev in events:
            if ev.contract != CONTRACT or ev.name != REQUEST_EVENT:
                continue
            key = f"{ev.tx_hash}:{ev.log_index}"
            if key in seen:
                continue
            out.append(self._one(ev))
            seen.add(key)
            done["events"].append(key)
            atomic_write_json(self.handled_file, done)
        if cursor is not None:
            done["cursor"] = cursor
            atomic_write_json(self.handled_file, done)
        return out

    def _one(self, ev: ChainEvent) -> HandledRequest:
        dao_id = int(ev.args["dao_id"])
        requester = str(ev.args.get("requester", ""))

        def outcome(action: str, reason: str = "", workload: WorkloadStatus | None = None) -> HandledRequest:
            return HandledRequest(dao_id, ev.tx_hash, ev.log_index, action, reason, workload)

        if not is_member(self.collaboration, dao_id, self.me):
            return outcome("skipped", f"this node's account is not a member of DAO {dao_id}")
        try:
            spec = parse_spec(str(ev.args["spec"]))
        except ValidationError as exc:
            return outcome("skipped", str(exc))
        if spec.data.owner.lower() != self.me.lower():
            return outcome("skipped", f"workload {spec.name!r} runs on the node of {spec.data.owner}, the data's owner")
        try:
            status = self.workloads.up(self.host, dao_id, spec, requested_by=requester)
        except (InfrastructureError, NotFoundError, AccessDenied) as exc:
            return outcome("failed", str(exc))
        return outcome("started", f"workload {spec.name!r} running as PID {status.pid}", status)

    def poll(self, events_since: EventSource, head: int | None = None) -> list[HandledRequest]:
        """Handle the events ``events_since(from_block)`` returns (e.g. ``contracts.events``, or a node's index
        after a sync), from the stored cursor on. ``head``: the chain's latest block; when the cursor is beyond
        it (a development chain was reset or reverted), the events are read again from block 0, the requests
        already handled being skipped by their transaction and log index."""
        start = self.cursor()
        if head is not None and start > head + 1:
            start = 0
        evs = events_since(start)
        nxt = max((ev.block_number for ev in evs), default=start - 1) + 1
        return self.handle(evs, cursor=max(start, nxt))


# -- heartbeats and termination ----------------------------------------------------------------------------


@dataclass
class HeartbeatRelay:
    """Posts ``Collaboration.heartbeat(dao_id)`` with the member's ``account`` for each new heartbeat a workload
    of ``workloads`` wrote while running. Call :meth:`tick` at least once per heartbeat interval."""

    collaboration: CollaborationPort
    account: LocalAccount
    workloads: Workloads
    relayed: dict[str, int] = field(default_factory=dict)

    def tick(self) -> list[tuple[WorkloadStatus, TxResult]]:
        """One pass: a heartbeat transaction per running workload whose heartbeat count rose since the last pass
        (one per DAO, even when several of its workloads beat). Crashed, failed, stale or stopped workloads get
        none."""
        sent: list[tuple[WorkloadStatus, TxResult]] = []
        beat_daos: set[int] = set()
        for status in self.workloads.status():
            key = str(status.run_dir)
            if status.state != "running" or status.beats <= self.relayed.get(key, 0):
                continue
            self.relayed[key] = status.beats
            if status.dao_id in beat_daos:
                continue
            beat_daos.add(status.dao_id)
            sent.append((status, self.collaboration.heartbeat(self.account, status.dao_id)))
        return sent


@dataclass(frozen=True)
class Overdue:
    """A member whose last heartbeat (Unix seconds, chain time) is older than its DAO's timeout."""

    dao_id: int
    member: str
    last_heartbeat: int
    timeout: int


@dataclass
class TerminationWatcher:
    """Finds members whose heartbeats are overdue and terminates them (anyone may: ``account`` pays the gas).
    ``clock.now()`` is the chain's latest block time."""

    collaboration: CollaborationPort
    clock: Clock

    def overdue(self, dao_id: int) -> list[Overdue]:
        """Active members of ``dao_id`` whose last heartbeat is more than ``heartbeat_timeout`` seconds old (the
        contract's rule: terminable once ``now > last_heartbeat + timeout``)."""
        now = self.clock.now()
        timeout = self.collaboration.heartbeat_timeout(dao_id)
        return [
            Overdue(dao_id, m.account, m.last_heartbeat, timeout)
            for m in self.collaboration.members(dao_id)
            if m.active and now > m.last_heartbeat + timeout
        ]

    def sweep(self, account: LocalAccount, dao_ids: Iterable[int]) -> list[tuple[Overdue, TxResult]]:
        """Terminate every overdue member of ``dao_ids`` but ``account`` itself (a node never ends its own
        membership); a termination the contract refuses (already terminated, a heartbeat mined meanwhile) is
        skipped."""
        done = []
        for dao_id in dao_ids:
            for late in self.overdue(dao_id):
                if late.member.lower() == account.address.lower():
                    continue
                try:
                    done.append((late, self.collaboration.terminate(account, dao_id, late.member)))
                except TransactionReverted:
                    continue
        return done


# -- one node's loop ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """What one :meth:`InfrastructureNode.step` did."""

    requests: list[HandledRequest]
    heartbeats: list[tuple[WorkloadStatus, TxResult]]
    terminations: list[tuple[Overdue, TxResult]]


@dataclass
class InfrastructureNode:
    """A member node's infrastructure duties, one :meth:`step` at a time (``datagora infra watch`` calls it every
    few seconds): handle new ``InfrastructureRequested`` events read by ``events_since(from_block)``, relay the
    hosted workloads' heartbeats, and terminate the overdue members of ``watched`` DAOs."""

    handler: InfrastructureHandler
    relay: HeartbeatRelay
    watcher: TerminationWatcher
    events_since: EventSource
    watched: list[int] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        collaboration: CollaborationPort,
        host: Participant,
        clock: Clock,
        events_since: Any,
        watched: Iterable[int],
    ) -> InfrastructureNode:
        workloads = Workloads.of(host)
        return cls(
            InfrastructureHandler(collaboration, host, workloads),
            HeartbeatRelay(collaboration, host.account, workloads),
            TerminationWatcher(collaboration, clock),
            events_since,
            list(watched),
        )

    def step(self) -> Pass:
        requests = self.handler.poll(self.events_since, self.watcher.clock.block_number())
        heartbeats = self.relay.tick()
        terminations = self.watcher.sweep(self.handler.host.account, self.watched)
        return Pass(requests, heartbeats, terminations)
