"""Run the workload's playbooks (shipped in ``datagora/infra/playbooks/``) with ansible-runner on this machine
(local connection), capturing every event of the run and its status.

``start.yml`` starts ``python -m datagora.infra.workload <run config>`` as a process of its own session, records
its PID and waits for its first heartbeat (or reports the end of its log when it exits first); ``stop.yml`` sends
it SIGTERM, then SIGKILL after a timeout, and forgets the PID. Only paths travel as Ansible variables (they are
written to ``env/extravars`` by ansible-runner): never a key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import datagora
from datagora.infra.errors import InfrastructureError

PLAYBOOKS: Final = Path(__file__).with_name("playbooks")


@dataclass(frozen=True)
class TaskEvent:
    """One task's outcome on the host: ``event`` is ansible-runner's name (``runner_on_ok``,
    ``runner_on_failed``, ``runner_on_skipped``, ``runner_on_unreachable``), ``message`` its output or error."""

    task: str
    event: str
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.event in ("runner_on_failed", "runner_on_unreachable")


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-runner run: ``status`` (``successful``, ``failed``, ``timeout``, ``canceled``), the
    playbook's exit code ``rc``, each task's outcome in order, the number of events and where ansible-runner
    kept its artifacts."""

    playbook: str
    status: str
    rc: int
    tasks: list[TaskEvent] = field(default_factory=list)
    events: int = 0
    artifacts: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def failure(self) -> str:
        """A one-paragraph reason for a failed run: the failing task and its message."""
        failed = [t for t in self.tasks if t.failed]
        if not failed:
            return f"{self.playbook}: ansible-runner ended {self.status} (exit code {self.rc})"
        return "; ".join(f"{self.playbook}: task '{t.task}' failed: {t.message}" for t in failed)


def _message(result: dict[str, Any]) -> str:
    parts = [str(result.get("msg") or "").strip()]
    for key in ("stdout", "stderr"):
        text = str(result.get(key) or "").strip()
        if text and text not in parts:
            parts.append(text)
    return "\n".join(p for p in parts if p)


def run_playbook(
    playbook: str, private_data_dir: Path, extravars: dict[str, Any], *, timeout: float = 120.0
) -> PlaybookRun:
    """Run ``playbook`` (a file of :data:`PLAYBOOKS`) against this machine with the local connection and this
    Python as Ansible's interpreter; ``private_data_dir`` keeps ansible-runner's inputs and artifacts (the last
    3 runs). ``timeout`` in seconds. Never raises for a failed play: inspect :attr:`PlaybookRun.ok`. Raises
    :class:`InfrastructureError` when ansible-runner itself cannot run."""
    import ansible_runner  # loaded when a workload is started or stopped, not by an idle node

    private_data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    source_root = str(Path(datagora.__file__).resolve().parents[1])
    inventory = {
        "all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}
    }
    try:
        runner = ansible_runner.run(
            private_data_dir=str(private_data_dir),
            project_dir=str(PLAYBOOKS),
            playbook=playbook,
            inventory=inventory,
            extravars=extravars,
            envvars={"PYTHONPATH": source_root, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "false"},
            quiet=True,
            timeout=int(timeout),
            rotate_artifacts=3,
        )
    except Exception as exc:  # ansible-runner raises ConfigurationError, OSError …
        raise InfrastructureError(f"ansible-runner could not run {playbook}: {exc}") from exc
    tasks: list[TaskEvent] = []
    count = 0
    for event in runner.events:
        count += 1
        kind = str(event.get("event", ""))
        if kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
            data = event.get("event_data") or {}
            result = data.get("res") or {}
            tasks.append(TaskEvent(str(data.get("task", "")), kind, _message(result)))
    return PlaybookRun(
        playbook=playbook,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        tasks=tasks,
        events=count,
        artifacts=str(getattr(runner.config, "artifact_dir", "")),
    )


def start_workload(run_dir: Path, *, start_timeout: int = 60) -> PlaybookRun:
    """Start the workload whose run configuration is ``run_dir/workload.json`` (see
    :mod:`datagora.infra.workload`). Its PID goes to ``run_dir/workload.pid``, its output to
    ``run_dir/workload.log``. Returns the run; raises :class:`InfrastructureError` with the failing task's message
    when it fails (already running, no configuration, the workload exited while starting, no heartbeat within
    ``start_timeout`` seconds)."""
    run = run_playbook(
        "start.yml",
        run_dir / "ansible",
        {
            "run_dir": str(run_dir),
            "config_file": str(run_dir / "workload.json"),
            "python": sys.executable,
            "log_file": str(run_dir / "workload.log"),
            "pid_file": str(run_dir / "workload.pid"),
            "beacon_file": str(run_dir / "heartbeat.json"),
            "start_timeout": start_timeout,
        },
        timeout=start_timeout + 60,
    )
    if not run.ok:
        raise InfrastructureError(run.failure())
    return run


def stop_workload(run_dir: Path, *, stop_timeout: int = 10) -> PlaybookRun:
    """Stop the workload started from ``run_dir`` (SIGTERM, SIGKILL after ``stop_timeout`` seconds); a workload
    that is not running is left as is. Raises :class:`InfrastructureError` when the play fails."""
    run = run_playbook(
        "stop.yml",
        run_dir / "ansible",
        {"pid_file": str(run_dir / "workload.pid"), "stop_timeout": stop_timeout},
        timeout=stop_timeout + 60,
    )
    if not run.ok:
        raise InfrastructureError(run.failure())
    return run
