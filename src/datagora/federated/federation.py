"""A federation on this machine, with Flower's deployment engine: one SuperLink (the requester's coordinator) and
one SuperNode per owner, each a real process on 127.0.0.1 with free ports, running the Flower app shipped in
``flower_app/`` with ``flwr run``. Every connection to the SuperLink uses TLS under a CA made for the run, and
the SuperLink authenticates SuperNodes: only the node keys of approved owners are registered
(:mod:`datagora.federated.credentials`). Each owner's SuperNode reads the owner's rows from the owner's own data file
(its ``--node-config``); only counts, sums, model parameters and metrics go to the SuperLink.

Datagora never imports Flower (it lives in its own environment, see :mod:`datagora.federated.environment`): it
starts the programs as subprocesses and reads what the ServerApp writes into the run's output directory, one
``round-<n>.params`` file per round (see :mod:`datagora.federated.parameters`) and ``result.json`` at the end.
Every process is stopped when the run ends, fails or times out (each runs in its own process group, so the
ServerApp and ClientApp processes Flower spawns go with it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from datagora.domain.errors import ComputationFailed, ValidationError
from datagora.federated.credentials import NodeKey, RunTls, write_node_key, write_run_tls
from datagora.federated.environment import FlowerEnvironment, ensure
from datagora.federated.parameters import Parameters, decode

APP_DIR: Final = Path(__file__).with_name("flower_app")
"""The Flower app (ServerApp + ClientApp) Datagora ships; ``flwr run`` builds it into a Flower App Bundle."""
WARM_SUPEREXEC: Final = Path(__file__).with_name("flower_exec") / "warm_superexec.py"
"""The SuperExec each SuperNode uses when ClientApp processes are kept warm (runs in Flower's environment)."""
REGISTER_NODES: Final = Path(__file__).with_name("flower_exec") / "register_nodes.py"
"""Registers SuperNode public keys on the SuperLink in one process (runs in Flower's environment)."""
TASK_POLL_INTERVAL: Final = 0.2
"""Seconds between a SuperExec's polls for a new task (Flower's ``FLWR_SUPEREXEC_TASK_POLL_INTERVAL``; its
default is 1 s)."""
HOST: Final = "127.0.0.1"
DEFAULT_TIMEOUT: Final = 600.0
"""Seconds a whole run may take (process start, every round) before it is stopped and fails."""
STOP_GRACE: Final = 5.0
"""Seconds a process gets to exit after SIGTERM before SIGKILL."""


@dataclass(frozen=True)
class Owner:
    """A data owner taking part: its address (what the ServerApp checks against the approved list), the CSV
    file of its rows (a header row, numeric columns, one of them the label) and its SuperNode's authentication
    key pair (:class:`~datagora.federated.credentials.NodeKey`; None: a new one is made for the run in the
    owner's node directory)."""

    address: str
    data_file: Path
    node_key: NodeKey | None = None


@dataclass(frozen=True)
class RoundAggregate:
    """One federated round's aggregate: ``number`` (1, 2, ...), its ``parameters``, their Keccak-256 ``hash``
    (32 bytes), the ``file`` it was read from, and ``seconds`` since the run was submitted."""

    number: int
    parameters: Parameters
    hash: bytes
    file: Path
    seconds: float


@dataclass
class FederationResult:
    """A finished run: owners whose nodes trained (lower-case addresses), owners whose nodes were refused (key not
    registered on the SuperLink, or a node claiming another owner than its key's), every
    round's aggregate, each round's training metrics averaged over the owners by rows (``accuracy`` on the owners'
    own rows), the global feature scaling (``mean``, ``scale``), the time to start the processes and the run's
    time (seconds)."""

    owners: list[str]
    refused: list[str]
    rounds: list[RoundAggregate]
    metrics: dict[int, dict[str, float]]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    startup_seconds: float
    run_seconds: float
    workdir: Path

    @property
    def final(self) -> Parameters:
        """The last round's aggregate: the federated model."""
        return self.rounds[-1].parameters


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes] = field(repr=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids of every process visible in ``/proc`` (Linux)."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def descendants(pids: Sequence[int]) -> set[int]:
    """``pids`` and every process started by them, transitively (Linux ``/proc``)."""
    tree = _children()
    found: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += tree.get(pid, [])
    return found


def running(pids: Sequence[int] | set[int], marker: str = "") -> list[int]:
    """Those of ``pids`` that are still running (exited processes not yet reaped by their parent do not count),
    and whose command line contains ``marker`` when given (a process id may have been reused by another program
    since it was seen)."""
    alive = []
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text[text.rindex(")") + 2 :].split()[0] not in ("Z", "X") and marker in command:
            alive.append(pid)
    return sorted(alive)


def _json_answer(text: str) -> dict[str, Any]:
    """The JSON object a ``flwr ... --format json`` command printed (empty when there is none)."""
    try:
        answer = json.loads(text[text.index("{") :])
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


class Federation:
    """The processes of one run under ``workdir`` (logs in ``workdir/logs``, the ServerApp's output in
    ``workdir/out``, Flower's state in ``workdir/flwr``, the run's TLS files in ``workdir/tls``, each owner's
    node key in ``workdir/nodes/<address>``). Use as a context manager: leaving it stops every process.
    :meth:`stop_owner` kills one owner's SuperNode (to show what a failing owner does).

    Every connection to the SuperLink is TLS under a CA made for this run (see
    :mod:`datagora.federated.credentials`), and the SuperLink runs with SuperNode authentication: only nodes
    whose public key was registered with :meth:`register_nodes` are let in."""

    def __init__(self, env: FlowerEnvironment, workdir: Path, *, warm: bool = True) -> None:
        self.env = env
        self.workdir = workdir
        self.warm = warm
        """Whether each SuperNode runs its ClientApp tasks as forks of a warm process (see
        ``flower_exec/warm_superexec.py``) instead of Flower's fresh ``flwr-clientapp`` process per task."""
        self.processes: list[_Process] = []
        self.nodes: dict[str, _Process] = {}
        self.executors: dict[str, _Process] = {}
        """Each owner's warm SuperExec, when :attr:`warm`."""
        self.keys: dict[str, NodeKey] = {}
        self.registered: dict[int, str] = {}
        """Flower node id → owner address, for every key registered on the SuperLink."""
        self.port = 0
        self.seen: set[int] = set()
        """Every process id of the run seen so far (the programs started and what they started)."""
        for sub in ("logs", "out", "flwr"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.tls: RunTls = write_run_tls(workdir / "tls")
        self._env = env.env(workdir / "flwr")
        self._env.update(
            {
                "FLWR_TELEMETRY_ENABLED": "0",
                "FLWR_DISABLE_UPDATE_CHECK": "1",
                "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": str(TASK_POLL_INTERVAL),
            }
        )

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def out(self) -> Path:
        return self.workdir / "out"

    def _start(self, name: str, args: list[str], *, env: dict[str, str] | None = None) -> _Process:
        """Start a program with its output in ``logs/<name>.log``, in a new session (its own process group:
        Flower's app processes are stopped with it)."""
        log = self.workdir / "logs" / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env or self._env,
            cwd=self.workdir,
            start_new_session=True,
        )
        process = _Process(name, popen, log, handle)
        self.processes.append(process)
        return process

    def start_superlink(self, timeout: float) -> None:
        """Start the SuperLink on a free port, with TLS (the run's certificate for 127.0.0.1) and SuperNode
        authentication, and wait until it listens. Raises :class:`ComputationFailed`."""
        self.port = free_port()
        link = self._start(
            "superlink",
            [
                str(self.env.program("flower-superlink")),
                "--ssl-ca-certfile",
                str(self.tls.ca_certificate),
                "--ssl-certfile",
                str(self.tls.server_certificate),
                "--ssl-keyfile",
                str(self.tls.server_key),
                "--enable-supernode-auth",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--disable-runtime-dependency-installation",
            ],
        )
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if link.popen.poll() is not None:
                raise ComputationFailed(f"Flower's SuperLink did not start: {self._tail(link)}")
            if time.monotonic() > deadline:
                raise ComputationFailed(f"Flower's SuperLink did not listen within {timeout:.0f} s")
            time.sleep(0.2)
        (self.workdir / "flwr" / "config.toml").write_text(
            f'[superlink]\ndefault = "datagora"\n\n[superlink.datagora]\naddress = "{HOST}:{self.port}"\n'
            f"root-certificates = {json.dumps(str(self.tls.ca_certificate))}\n"
        )

    def node_key(self, owner: Owner) -> NodeKey:
        """``owner``'s SuperNode key pair: its own when given, else one made for this run (once) in the owner's
        node directory."""
        address = owner.address.lower()
        if address not in self.keys:
            self.keys[address] = owner.node_key or write_node_key(self.workdir / "nodes" / address, "supernode")
        return self.keys[address]

    def register_nodes(self, owners: Sequence[Owner], timeout: float) -> dict[int, str]:
        """Register the SuperNode public keys of ``owners`` (and of no one else) on the SuperLink, as
        ``flwr supernode register`` does, all in one process (``flower_exec/register_nodes.py``); returns Flower's
        node id → owner address. A SuperNode whose key is not registered is refused by the SuperLink when it
        connects. Raises :class:`ComputationFailed` when Flower refuses a key or does not answer within
        ``timeout`` seconds."""
        if not owners:
            return {}
        keys = {str(self.node_key(owner).public_key): owner.address.lower() for owner in owners}
        answer = self._flower_command(
            [str(self.env.python), str(REGISTER_NODES), "datagora", *keys],
            timeout,
            late=f"Flower did not register the owners' node keys within {timeout:.0f} s",
            refused="Flower did not register the owners' node keys",
            tail=300,
        )
        for key, node_id in dict(answer["nodes"]).items():
            self.registered[int(node_id)] = keys[key]
        return dict(self.registered)

    def start_supernode(self, owner: Owner) -> None:
        """Start ``owner``'s SuperNode, connected to the SuperLink over TLS (trusting only the run's CA) and
        authenticated with the owner's node key, with the owner's address and data file in its own
        configuration."""
        if not owner.data_file.is_file():
            raise ValidationError(f"owner {owner.address}'s data file {owner.data_file} does not exist")
        config = f'owner="{owner.address.lower()}" data-file="{owner.data_file.resolve()}"'
        name = f"supernode-{owner.address.lower()}"
        runtime_port = free_port()
        node = self._start(
            name,
            [
                str(self.env.program("flower-supernode")),
                "--root-certificates",
                str(self.tls.ca_certificate),
                "--auth-supernode-private-key",
                str(self.node_key(owner).private_key),
                "--superlink",
                f"{HOST}:{self.port}",
                "--host",
                HOST,
                "--port",
                str(runtime_port),
                "--node-config",
                config,
                *(["--isolation", "process"] if self.warm else []),
            ],
        )
        self.nodes[owner.address.lower()] = node
        if self.warm:  # the SuperNode's SuperExec (it exits when the SuperNode does)
            self.executors[owner.address.lower()] = self._start(
                f"superexec-{owner.address.lower()}",
                [
                    str(self.env.python),
                    str(WARM_SUPEREXEC),
                    "--runtime-api-address",
                    f"{HOST}:{runtime_port}",
                    "--parent-pid",
                    str(node.popen.pid),
                ],
                env={**self._env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
            )

    def refused_nodes(self) -> list[str]:
        """Owners whose SuperNode the SuperLink refused (its key was not registered): the process exited after
        Flower's "Failed to activate SuperNode"."""
        refused = []
        for owner, process in self.nodes.items():
            if process.popen.poll() is not None:
                process.handle.flush()
                if "Failed to activate SuperNode" in process.log.read_text(errors="replace"):
                    refused.append(owner)
        return sorted(refused)

    def _flower_command(self, argv: list[str], timeout: float, *, late: str, refused: str, tail: int) -> dict[str, Any]:
        """Run a Flower command in Flower's environment and return the JSON object it printed (``--format json``).
        Raises ``ComputationFailed``: ``late`` when it runs past ``timeout`` seconds; ``refused`` with Flower's
        error (or the last ``tail`` characters of its output) when it fails."""
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=self._env,
                cwd=self.workdir,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ComputationFailed(late) from exc
        answer = _json_answer(done.stdout.decode(errors="replace"))
        if done.returncode != 0 or not answer.get("success"):
            detail = answer.get("error-message") or (done.stderr or done.stdout).decode(errors="replace")[-tail:]
            raise ComputationFailed(f"{refused}: {str(detail).strip()}")
        return answer

    def submit(self, run_config: dict[str, Any], timeout: float) -> str:
        """``flwr run`` the app on the SuperLink with ``run_config`` overrides; returns Flower's run id."""
        overrides = " ".join(f"{k}={json.dumps(v)}" for k, v in run_config.items())
        answer = self._flower_command(
            [
                str(self.env.program("flwr")),
                "run",
                str(APP_DIR),
                "datagora",
                "--run-config",
                overrides,
                "--format",
                "json",
            ],
            timeout,
            late=f"`flwr run` did not answer within {timeout:.0f} s",
            refused="Flower refused the run",
            tail=400,
        )
        return str(answer["run-id"])

    def stop_owner(self, address: str) -> None:
        """Kill ``address``'s SuperNode, its SuperExec and the processes they started (SIGKILL)."""
        for process in (self.nodes[address.lower()], self.executors.get(address.lower())):
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()

    def dead_nodes(self) -> list[str]:
        """Owners whose SuperNode process (or its warm SuperExec) has exited."""
        stopped = {owner for owner, p in self.executors.items() if p.popen.poll() is not None}
        return [owner for owner, p in self.nodes.items() if p.popen.poll() is not None or owner in stopped]

    def observe(self) -> None:
        """Note the processes the programs have started so far (Flower starts its ServerApp and ClientApps as
        children, some in sessions of their own), so :meth:`stop` reaches them."""
        self.seen |= descendants([p.popen.pid for p in self.processes])

    def stop(self) -> None:
        """Stop every process: SIGTERM to each process group, SIGKILL after :data:`STOP_GRACE` seconds, then
        SIGKILL to any process of the run still running."""
        self.observe()
        for p in self.processes:
            if p.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for p in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            if p.popen.poll() is None:  # not reaped yet, so its id is still ours
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(STOP_GRACE)
            p.handle.close()
        deadline = time.monotonic() + STOP_GRACE
        while True:  # a process may have started another in the meantime: look again until nothing runs
            self.seen |= descendants(sorted(self.seen))
            left = self.leftovers()
            if not left or time.monotonic() > deadline:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def leftovers(self) -> list[int]:
        """Processes of the run still running: none once :meth:`stop` returned."""
        return running(self.seen, str(self.env.root))

    def _tail(self, process: _Process, lines: int = 5) -> str:
        process.handle.flush()
        text = process.log.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "no output"


def _watch_rounds(out: Path, seen: int, started: float) -> Iterator[RoundAggregate]:
    while (path := out / f"round-{seen + 1}.params").is_file():
        data = path.read_bytes()
        params = decode(data)
        seen += 1
        yield RoundAggregate(seen, params, params.hash, path, time.monotonic() - started)


def run(
    owners: Sequence[Owner],
    approved: Sequence[str],
    workdir: Path,
    *,
    rounds: int = 5,
    local_epochs: int = 10,
    label: str = "diagnosis",
    positive_label: str = "",
    secure_aggregation: bool = False,
    min_owners: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    round_timeout: float = 120.0,
    warm: bool = True,
    env: FlowerEnvironment | None = None,
    on_round: Callable[[RoundAggregate], None] = lambda _: None,
    on_progress: Callable[[str], None] = lambda _: None,
    on_started: Callable[[Federation], None] = lambda _: None,
    on_stopped: Callable[[Federation], None] = lambda _: None,
) -> FederationResult:
    """Run FedAvg over ``owners``' partitions for ``rounds`` rounds (``local_epochs`` solver iterations per round
    on each owner; the ``label`` column is the class, 1 where it equals ``positive_label`` when given). A SuperNode
    is started for every owner, over TLS and with its own node key; only the keys of owners in ``approved``
    (addresses) are registered on the SuperLink, so the others' SuperNodes are refused when they connect, and the
    ServerApp also checks that each node's declared owner is the one its key was registered for. With
    ``secure_aggregation`` the rounds use Flower's SecAgg+ (the ServerApp learns only the sum of the owners'
    masked, quantised updates; no per-owner training metrics then). ``min_owners`` (default: all
    approved) must join within ``round_timeout`` seconds. With ``warm`` (the default) each SuperNode runs its
    ClientApp tasks as forks of a process that has already imported Flower, NumPy and scikit-learn, instead of a
    fresh process per task (see :attr:`Federation.warm`). ``on_round`` is called with each round's aggregate as
    soon as it exists; ``on_started`` with the running :class:`Federation` and ``on_stopped`` once its processes
    are stopped (also when the run failed).

    Raises :class:`ComputationFailed` when a SuperNode stops, the ServerApp reports an error, or ``timeout``
    seconds pass; every process is stopped in every case. Raises :class:`ValidationError` for bad arguments."""
    if not owners:
        raise ValidationError("a federated run needs at least one owner")
    if rounds < 1:
        raise ValidationError("a federated run needs at least one round")
    allowed = [a.lower() for a in approved]
    wanted = min_owners if min_owners is not None else len(allowed)
    if wanted < 1:
        raise ValidationError("no owner approved the federated job")
    env = env or ensure(on_progress=on_progress)
    began = time.monotonic()
    deadline = began + timeout
    federation = Federation(env, workdir, warm=warm)
    try:
        with federation:
            on_progress("starting the SuperLink (TLS, SuperNode authentication)")
            federation.start_superlink(timeout=min(60.0, timeout))
            on_progress("registering the node keys of the approved owners")
            registered = federation.register_nodes(
                [o for o in owners if o.address.lower() in allowed], timeout=max(1.0, deadline - time.monotonic())
            )
            for owner in owners:
                federation.start_supernode(owner)
            on_progress(f"started {len(owners)} SuperNodes, one per owner")
            on_started(federation)
            run_config = {
                "num-server-rounds": rounds,
                "local-epochs": local_epochs,
                "label": label,
                "positive-label": positive_label,
                "secure-aggregation": secure_aggregation,
                "approved-owners": ",".join(allowed),
                "approved-nodes": ",".join(f"{node}:{owner}" for node, owner in sorted(registered.items())),
                "min-owners": wanted,
                "invited": len(registered),
                "output-dir": str(federation.out),
                "round-timeout": round_timeout,
            }
            federation.submit(run_config, timeout=max(1.0, deadline - time.monotonic()))
            submitted = time.monotonic()
            startup = submitted - began
            on_progress("submitted the run with `flwr run`")
            aggregates: list[RoundAggregate] = []
            result_file = federation.out / "result.json"
            while True:
                for aggregate in _watch_rounds(federation.out, len(aggregates), submitted):
                    aggregates.append(aggregate)
                    on_round(aggregate)
                if result_file.is_file():
                    break
                federation.observe()
                dead = federation.dead_nodes()
                if any(owner in allowed for owner in dead):
                    raise ComputationFailed(
                        f"the SuperNode of owner {', '.join(dead)} stopped after {len(aggregates)} of {rounds} rounds; "
                        "the run was stopped"
                    )
                if time.monotonic() > deadline:
                    raise ComputationFailed(
                        f"the federated run did not finish within {timeout:.0f} s "
                        f"({len(aggregates)} of {rounds} rounds)"
                    )
                time.sleep(0.2)
            summary = json.loads(result_file.read_text())
            for aggregate in _watch_rounds(federation.out, len(aggregates), submitted):
                aggregates.append(aggregate)
                on_round(aggregate)
            if "error" in summary:
                raise ComputationFailed(f"the federated run failed: {summary['error']}")
            run_seconds = time.monotonic() - submitted
            outsiders = [federation.nodes[o.address.lower()] for o in owners if o.address.lower() not in allowed]
            settle = time.monotonic() + 10.0  # a node turned away exits within moments of trying to connect
            while any(p.popen.poll() is None for p in outsiders) and time.monotonic() < settle:
                time.sleep(0.2)
            refused = federation.refused_nodes()
    finally:
        on_stopped(federation)
    scaling = json.loads((workdir / "out" / "scaling.json").read_text())
    metrics = {int(r["round"]): {k: float(v) for k, v in r.get("train", {}).items()} for r in summary["rounds"]}
    return FederationResult(
        owners=list(summary["owners"]),
        refused=sorted(set(summary["refused"]) | set(refused)),
        rounds=aggregates,
        metrics=metrics,
        mean=tuple(scaling["mean"]),
        scale=tuple(scaling["scale"]),
        startup_seconds=startup,
        run_seconds=run_seconds,
        workdir=workdir,
    )
