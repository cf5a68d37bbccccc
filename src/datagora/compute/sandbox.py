"""Run a requester's Python code on the owner's data in a child process with limits and no network.

How it is enforced on Linux, layer by layer:

1. **A separate process** started with ``python -I -S``-like isolation (``-I``: no user site, no ``PYTHON*``
   variables, no current directory on the path), an empty environment except for single-threaded BLAS settings,
   and its own session (process group) so the whole group can be killed.
2. **Resource limits** set between ``fork`` and ``exec`` with ``setrlimit``: ``RLIMIT_CPU`` (the kernel sends
   ``SIGXCPU`` at the soft limit and ``SIGKILL`` one second later), ``RLIMIT_AS`` (address space: allocations past
   it fail, Python raises ``MemoryError``, which the bootstrap turns into a distinctive exit code),
   ``RLIMIT_FSIZE`` (no file larger than the result cap) and ``RLIMIT_CORE`` 0.
3. **Wall-clock limit**: the parent waits at most ``wall_seconds`` and then kills the process group with
   ``SIGKILL`` (a job sleeping or blocked uses no CPU, so ``RLIMIT_CPU`` alone would not stop it).
4. **No network**: the child calls ``unshare(CLONE_NEWNET)`` before ``exec`` when the kernel permits it (root or
   ``CAP_SYS_ADMIN``, or unprivileged user namespaces): it then lives in a new network namespace with only a
   down loopback interface, so no connection can leave the machine. :attr:`SandboxResult.network_isolated`
   says whether that worked.
5. **Python audit hook** (PEP 578), a second line installed before the job's code is even compiled: it refuses
   ``socket.*`` events (creating, connecting, binding a socket), process creation (``subprocess.Popen``,
   ``os.system``, ``os.exec*``, ``os.fork``, ``os.posix_spawn``), ``ctypes`` loading and any ``open`` outside
   the job's input file (read), its output directory (read / write), the Python installation (read only, for
   imports) and a few kernel files numpy reads. The first refused event ends the process at once with exit code
   86 and the reason on stderr, so a job cannot catch the refusal and carry on.

What it does not stop: code that escapes the interpreter (a bug in CPython or a C extension, or an
already-imported native library doing I/O on its own) is only held by layers 1-4; without the network
namespace (a kernel that refuses ``unshare``) the audit hook is the only network barrier. There is no seccomp
filter, no separate user or mount namespace and no container: the child runs as the node's user and could read
what that user can read if it got past the audit hook. Timing and result-size side channels remain; the owner's
policy (minimum rows, result size, no raw rows, differential privacy) bounds what a result carries. Run nodes that
accept code under a dedicated unprivileged user.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

CLONE_NEWNET: Final = 0x40000000
EXIT_REFUSED: Final = 86
EXIT_MEMORY: Final = 87
EXIT_CRASHED: Final = 88
RESULT_FILE: Final = "result.json"

# The child's program: install the audit hook, load the table, run the job's `run(table)`, write the result.
# argv: input CSV, output directory, allowed read roots (os.pathsep-separated); the job's code comes on stdin.
_BOOTSTRAP: Final = r"""
import os, sys
_input, _output, _roots = sys.argv[1], sys.argv[2], sys.argv[3].split(os.pathsep)
_code = sys.stdin.read()
sys.stdin.close()
try:
    import numpy
except ImportError:
    numpy = None
import csv, json
_KERNEL = ("/proc/self/", "/proc/meminfo", "/proc/cpuinfo", "/sys/devices/system/cpu", "/sys/fs/cgroup",
           "/dev/null", "/dev/urandom")
_DENY = ("socket.", "subprocess.Popen", "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn",
         "os.spawn", "ctypes.dlopen", "ctypes.cdata", "pty.spawn")

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
    scope = {"__name__": "job"}
    exec(compile(_code, "<job>", "exec"), scope)
    if not callable(scope.get("run")):
        raise SystemExit("the job's code defines no run(table) function")
    result = scope["run"](table)
    text = json.dumps(result, default=float, allow_nan=False)
    with open(os.path.join(_output, "result.json"), "w") as f:
        f.write(text)
except MemoryError:
    os.write(2, b"sandbox: out of memory\n")
    os._exit(87)
"""


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


def _child_setup(limits: Limits, flag_path: str) -> None:  # pragma: no cover - runs in the child
    os.setsid()
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) == 0:
        with open(flag_path, "w") as flag:
            flag.write("1")


def run_sandboxed(code: str, input_csv: Path, work_dir: Path, limits: Limits) -> SandboxResult:
    """Run ``code`` (Python defining ``run(table) -> JSON value``; ``table`` maps each column of ``input_csv`` to
    a numpy array of floats, or a list of strings for a non-numeric column) in a sandboxed child process (see the
    module docstring) with ``work_dir`` (created, must be private to this run) as its only writable place. Never
    raises for what the job does: a crash, a refusal or a limit comes back as ``ok=False`` with the reason."""
    work_dir = Path(work_dir).resolve()
    out_dir = work_dir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    flag = work_dir / "netns"
    flag.unlink(missing_ok=True)
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LC_ALL": "C.UTF-8"}
    argv = [sys.executable, "-I", "-c", _BOOTSTRAP, str(Path(input_csv).resolve()), str(out_dir)]
    argv.append(os.pathsep.join(_read_roots()))
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=out_dir,
        env=env,
        preexec_fn=lambda: _child_setup(limits, str(flag)),
    )
    timed_out = False
    try:
        _, err = proc.communicate(code.encode(), timeout=limits.wall_seconds)
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
