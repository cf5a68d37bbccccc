"""Run a requester's Python code on the owner's data in a child process with limits and no network.

How it is enforced on Linux, layer by layer:

1. **A separate process** started with ``python -I`` (no user site, no ``PYTHON*`` variables, no current
   directory on the path), an empty environment except for single-threaded BLAS settings, and its own session
   (process group) so the whole group can be killed. It is started ahead of time (a :class:`SandboxPool` keeps
   warm ones: interpreter started, numpy and pandas imported, about 0.3 s saved per job) and then waits for its
   one job; it runs that job and exits, and is never reused, so nothing of one job reaches the next.
2. **Resource limits**, set by the process itself when its job arrives and before the job's code is compiled,
   with ``setrlimit``: ``RLIMIT_CPU`` (the job's CPU seconds on top of what the warm-up used: the kernel sends
   ``SIGXCPU`` at the soft limit and ``SIGKILL`` one second later), ``RLIMIT_AS`` (address space of the whole
   process, numpy included: allocations past it fail, Python raises ``MemoryError``, which the bootstrap turns
   into a distinctive exit code), ``RLIMIT_FSIZE`` (no file larger than the result cap) and ``RLIMIT_CORE`` 0.
3. **Wall-clock limit**: the parent waits at most ``wall_seconds`` after handing over the job and then kills the
   process group with ``SIGKILL`` (a job sleeping or blocked uses no CPU, so ``RLIMIT_CPU`` alone would not stop
   it).
4. **No network**: the process calls ``unshare(CLONE_NEWNET)`` when its job arrives, if the kernel permits it
   (root or ``CAP_SYS_ADMIN``, or unprivileged user namespaces): it then lives in a new network namespace with
   only a down loopback interface, so no connection can leave the machine. :attr:`SandboxResult.network_isolated`
   says whether that worked.
5. **Python audit hook** (PEP 578), installed right after, before the job's code is compiled: it refuses
   ``socket.*`` events (creating, connecting, binding a socket), process creation (``subprocess.Popen``,
   ``os.system``, ``os.exec*``, ``os.fork``, ``os.posix_spawn``), every ``ctypes`` event (loading a library,
   calling a foreign function) and any ``open`` outside the job's input file (read), its output directory
   (read / write), the Python installation (read only, for imports) and a few kernel files numpy reads. The first
   refused event ends the process at once with exit code 86 and the reason on stderr, so a job cannot catch the
   refusal and carry on.

What it does not stop: code that escapes the interpreter (a bug in CPython or a C extension, or an
already-imported native library doing I/O on its own) is only held by layers 1-4; without the network
namespace (a kernel that refuses ``unshare``) the audit hook is the only network barrier. There is no seccomp
filter, no separate user or mount namespace and no container: the child runs as the node's user and could read
what that user can read if it got past the audit hook. Timing and result-size side channels remain; the owner's
policy (minimum rows, result size, no raw rows, differential privacy) bounds what a result carries. Run nodes that
accept code under a dedicated unprivileged user.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

EXIT_REFUSED: Final = 86
EXIT_MEMORY: Final = 87
EXIT_CRASHED: Final = 88
RESULT_FILE: Final = "result.json"

# The child's program. Started ahead of time (a warm process: interpreter up, numpy and pandas imported), it waits
# for one job on stdin: a JSON line with the input CSV, the output directory, the read roots, the limits and the
# code. Then, before the job's code is even compiled, it drops into the sandbox for good: resource limits, a new
# network namespace, the audit hook. One job per process: it exits after the job and is never reused.
_BOOTSTRAP: Final = r"""
import os, sys, json, csv, resource
try:
    import numpy
except ImportError:
    numpy = None
try:
    import pandas
except ImportError:
    pandas = None
_line = sys.stdin.readline()
if not _line:
    os._exit(0)
_job = json.loads(_line)
del _line
sys.stdin.close()
_input, _output, _roots = _job["input"], _job["output"], _job["roots"]
os.chdir(_output)
_used = resource.getrusage(resource.RUSAGE_SELF)
_cpu = int(_used.ru_utime + _used.ru_stime + 0.999) + _job["cpu_seconds"]
resource.setrlimit(resource.RLIMIT_CPU, (_cpu, _cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (_job["memory_bytes"], _job["memory_bytes"]))
resource.setrlimit(resource.RLIMIT_FSIZE, (_job["output_bytes"], _job["output_bytes"]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import ctypes
if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0:
    with open(_job["netns_flag"], "w") as _flag:
        _flag.write("1")
_code = _job["code"]
del ctypes, _job, _used, _cpu
_KERNEL = ("/proc/self/", "/proc/meminfo", "/proc/cpuinfo", "/sys/devices/system/cpu", "/sys/fs/cgroup",
           "/dev/null", "/dev/urandom")
_DENY = ("socket.", "subprocess.Popen", "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn",
         "os.spawn", "ctypes.", "pty.spawn")

def _refuse(why):
    os.write(2, ("sandbox refused: " + why + "\n").encode(errors="replace"))
    os._exit(86)

def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")

def _hook(event, args):
    if event.startswith(_DENY):
        _refuse("tried " + event + (" (network socket)" if event.startswith("socket.") else ""))
    if event == "open":
        path, mode, flags = args[0], args[1], args[2]
        if isinstance(path, int) or path is None:
            return
        path = os.path.abspath(os.fsdecode(path))
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags & 3) != 0
        if _inside(path, _output):
            return
        if writing:
            _refuse("tried to write " + path + " outside its output directory")
        if path == _input or path.startswith(_KERNEL) or any(_inside(path, r) for r in _roots):
            return
        _refuse("tried to read " + path + " outside its input")

sys.addaudithook(_hook)
try:
    with open(_input, newline="") as f:
        rows = list(csv.reader(f))
    table = {}
    for i, name in enumerate(rows[0] if rows else []):
        values = [r[i] for r in rows[1:]]
        try:
            table[name] = numpy.array([float(v) for v in values]) if numpy else [float(v) for v in values]
        except ValueError:
            table[name] = values
    del rows
    scope = {"__name__": "job"}
    exec(compile(_code, "<job>", "exec"), scope)
    if not callable(scope.get("run")):
        raise SystemExit("the job's code defines no run(table) function")
    result = scope["run"](table)
    text = json.dumps(result, default=float, allow_nan=False)
    with open(os.path.join(_output, "result.json"), "w") as f:
        f.write(text)
    sys.stderr.flush()
    os._exit(0)  # done: skip tearing down numpy and pandas (tens of milliseconds)
except MemoryError:
    os.write(2, b"sandbox: out of memory\n")
    os._exit(87)
"""

_ENV: Final = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LC_ALL": "C.UTF-8"}


def _spawn() -> subprocess.Popen[bytes]:
    """A fresh sandbox process (its own session, so the whole group can be killed), importing numpy and pandas
    and then waiting for its one job on stdin."""
    return subprocess.Popen(
        [sys.executable, "-I", "-c", _BOOTSTRAP],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
        env=_ENV,
        start_new_session=True,
    )


class SandboxPool:
    """A warm pool of ``size`` pre-started sandbox processes: each has already started Python and imported numpy
    and pandas (about 0.3 s of a cold start), and waits for one job. :meth:`take` hands out a waiting process and
    starts its replacement at once; a process runs one job and is never reused, so nothing of one job can reach
    the next. Safe to share between threads; :meth:`close` ends the waiting processes (a waiting process also
    exits by itself when this process goes away and its stdin closes). ``refill=False`` starts no replacement:
    for a one-shot command that warms its one process up while it does other work first."""

    def __init__(self, size: int = 1, *, refill: bool = True) -> None:
        if size < 1:
            raise ValueError("a sandbox pool holds at least one process")
        self.size = size
        self.refill = refill
        self._lock = threading.Lock()
        self._waiting: collections.deque[subprocess.Popen[bytes]] = collections.deque()
        self._closed = False
        self._fill()

    def _fill(self) -> None:
        with self._lock:
            while not self._closed and len(self._waiting) < self.size:
                self._waiting.append(_spawn())

    def take(self) -> subprocess.Popen[bytes]:
        """A waiting sandbox process (a fresh one when none is left alive); its replacement is started (unless
        the pool does not refill)."""
        proc: subprocess.Popen[bytes] | None = None
        with self._lock:
            while self._waiting and proc is None:
                candidate = self._waiting.popleft()
                if candidate.poll() is None:
                    proc = candidate
        if self.refill:
            self._fill()
        return proc if proc is not None else _spawn()

    def close(self) -> None:
        """End every waiting process."""
        with self._lock:
            self._closed = True
            waiting, self._waiting = list(self._waiting), collections.deque()
        for proc in waiting:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Limits:
    """The sandbox's limits: ``cpu_seconds`` of CPU time, ``memory_bytes`` of address space, ``wall_seconds`` of
    real time, and ``output_bytes`` for the result file."""

    cpu_seconds: int = 30
    memory_bytes: int = 1 << 30
    wall_seconds: float = 60.0
    output_bytes: int = 1 << 20


@dataclass(frozen=True)
class SandboxResult:
    """What a sandboxed run gave: ``ok`` with ``output`` (the JSON value ``run(table)`` returned), or ``reason``
    in plain words (``"over its CPU time limit of 2 s"``, ``"refused: tried to read /etc/passwd outside its
    input"`` ...). ``killed`` when a limit ended it; ``exit_code`` of the child (negative: the signal);
    ``wall_seconds`` it ran; ``network_isolated`` whether it ran in a new network namespace."""

    ok: bool
    output: Any = None
    reason: str = ""
    killed: bool = False
    exit_code: int = 0
    wall_seconds: float = 0.0
    network_isolated: bool = False
    stderr_tail: str = field(default="", repr=False)


def _read_roots() -> list[str]:
    """Where the child may read (for imports): the Python installation and its site-packages."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__)}
    roots |= {p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p}
    return sorted(r for r in roots if r and r != "/")


def run_sandboxed(
    code: str, input_csv: Path, work_dir: Path, limits: Limits, pool: SandboxPool | None = None
) -> SandboxResult:
    """Run ``code`` (Python defining ``run(table) -> JSON value``; ``table`` maps each column of ``input_csv`` to
    a numpy array of floats, or a list of strings for a non-numeric column) in a sandboxed child process (see the
    module docstring) with ``work_dir`` (created, must be private to this run) as its only writable place; the
    process comes from ``pool`` when given (warm), else is started now. Never raises for what the job does: a
    crash, a refusal or a limit comes back as ``ok=False`` with the reason."""
    work_dir = Path(work_dir).resolve()
    out_dir = work_dir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    flag = work_dir / "netns"
    flag.unlink(missing_ok=True)
    job = {
        "input": str(Path(input_csv).resolve()),
        "output": str(out_dir),
        "roots": _read_roots(),
        "cpu_seconds": max(1, int(limits.cpu_seconds)),
        "memory_bytes": int(limits.memory_bytes),
        "output_bytes": int(limits.output_bytes),
        "netns_flag": str(flag),
        "code": code,
    }
    message = (json.dumps(job) + "\n").encode()
    started = time.monotonic()
    proc = pool.take() if pool is not None else _spawn()
    timed_out = False
    try:
        _, err = proc.communicate(message, timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    elapsed = time.monotonic() - started
    isolated = flag.exists()
    tail = err.decode(errors="replace")[-2000:]
    code_ = proc.returncode
    common: dict[str, Any] = {
        "exit_code": code_,
        "wall_seconds": elapsed,
        "network_isolated": isolated,
        "stderr_tail": tail,
    }
    if timed_out:
        return SandboxResult(False, reason=f"over its time limit of {limits.wall_seconds:g} s", killed=True, **common)
    if code_ in (-signal.SIGXCPU, -signal.SIGKILL):
        return SandboxResult(False, reason=f"over its CPU time limit of {limits.cpu_seconds} s", killed=True, **common)
    if code_ == EXIT_MEMORY or (code_ != 0 and "MemoryError" in tail):
        return SandboxResult(
            False, reason=f"over its memory limit of {limits.memory_bytes // (1 << 20)} MiB", killed=True, **common
        )
    if code_ == -signal.SIGXFSZ:
        return SandboxResult(False, reason=f"its result is over {limits.output_bytes} bytes", killed=True, **common)
    if code_ == EXIT_REFUSED:
        line = next((x for x in tail.splitlines() if x.startswith("sandbox refused: ")), "sandbox refused: ")
        return SandboxResult(False, reason="refused: " + line.removeprefix("sandbox refused: "), **common)
    if code_ != 0:
        last = tail.strip().splitlines()[-1] if tail.strip() else f"exit code {code_}"
        return SandboxResult(False, reason=f"the job's code failed: {last[:200]}", **common)
    result_path = out_dir / RESULT_FILE
    try:
        output = json.loads(result_path.read_text())
    except (OSError, ValueError) as exc:
        return SandboxResult(False, reason=f"the job's code gave no readable result ({exc})", **common)
    return SandboxResult(True, output=output, **common)
