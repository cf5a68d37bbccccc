"""The sandbox for Python jobs: a job that stays in bounds returns its result; a job opening a socket, reading
outside its input or starting a process is ended at once, even when it catches the refusal; a job over its CPU,
memory or wall-time limit is killed (those three are marked slow: each waits for a limit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.compute.sandbox import Limits, SandboxPool, SandboxResult, run_sandboxed

LIMITS = Limits(cpu_seconds=2, memory_bytes=1 << 30, wall_seconds=30)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sandbox") / "input.csv"
    path.write_text("age,bmi\n30,22.5\n40,27.0\n50,31.5\n")
    return path


def run(code: str, table: Path, tmp_path: Path, limits: Limits = LIMITS) -> SandboxResult:
    return run_sandboxed(code, table, tmp_path / "work", limits)


def test_a_job_within_bounds_returns_its_result(table: Path, tmp_path: Path) -> None:
    result = run("def run(t):\n    return {'mean_age': float(t['age'].mean()), 'rows': len(t['bmi'])}", table, tmp_path)
    assert result.ok, result.reason
    assert result.output == {"mean_age": 40.0, "rows": 3}
    assert result.network_isolated  # unshare(CLONE_NEWNET) is permitted here


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (
            "import socket\ndef run(t):\n    socket.create_connection(('127.0.0.1', 9))\n",
            "(network socket)",
        ),
        (
            "def run(t):\n    return open('/etc/passwd').read()\n",
            "refused: tried to read /etc/passwd outside its input",
        ),
        (
            "def run(t):\n    try:\n        open('/etc/hostname').read()\n    except Exception:\n        pass\n"
            "    return {'ok': 1}\n",
            "refused: tried to read /etc/hostname outside its input",
        ),
        ("import os\ndef run(t):\n    os.system('true')\n", "refused: tried os.system"),
        ("def run(t):\n    open('/tmp/escape.txt', 'w').write('x')\n", "outside its output directory"),
    ],
    ids=["socket", "read outside", "caught refusal", "process", "write outside"],
)
def test_a_job_reaching_outside_fails(code: str, reason: str, table: Path, tmp_path: Path) -> None:
    result = run(code, table, tmp_path)
    assert not result.ok
    assert reason in result.reason
    assert not Path("/tmp/escape.txt").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "limits", "reason"),
    [
        ("def run(t):\n    while True:\n        pass\n", Limits(1, 1 << 30, 60), "over its CPU time limit of 1 s"),
        ("def run(t):\n    x = bytearray(3 << 30)\n", Limits(10, 512 << 20, 60), "over its memory limit of 512 MiB"),
        ("import time\ndef run(t):\n    time.sleep(60)\n", Limits(10, 1 << 30, 2), "over its time limit of 2 s"),
    ],
    ids=["cpu", "memory", "wall time"],
)
def test_a_job_over_its_limit_is_killed(code: str, limits: Limits, reason: str, table: Path, tmp_path: Path) -> None:
    result = run(code, table, tmp_path, limits)
    assert not result.ok and result.killed
    assert result.reason == reason


def test_a_warm_pool_process_runs_one_job_and_is_never_reused(table: Path, tmp_path: Path) -> None:
    code = "import os\ndef run(t):\n    return {'pid': os.getpid(), 'rows': len(t['age'])}\n"
    with SandboxPool(size=1) as pool:
        first = run_sandboxed(code, table, tmp_path / "a", LIMITS, pool)
        second = run_sandboxed(code, table, tmp_path / "b", LIMITS, pool)
        assert first.ok and second.ok, (first.reason, second.reason)
        assert first.output["rows"] == second.output["rows"] == 3
        assert first.output["pid"] != second.output["pid"]  # a fresh process per job
        assert first.network_isolated and second.network_isolated
        waiting = pool._waiting[0]
        assert waiting.poll() is None  # the next one already waits
    assert waiting.poll() is not None  # closing the pool ends the waiting process


@pytest.mark.slow
def test_a_warm_process_still_kills_a_job_over_its_cpu_time(table: Path, tmp_path: Path) -> None:
    # The limits are set when the job arrives, counting on top of the CPU the warm-up used.
    with SandboxPool(size=1) as pool:
        spin = run_sandboxed("def run(t):\n    while True:\n        pass\n", table, tmp_path / "c", Limits(1), pool)
    assert spin.killed and "CPU time limit of 1 s" in spin.reason
