"""The collaboration story (scenarios/collaboration.py) with its infrastructure step played by the real Ansible
workload (scenarios/infrastructure.ansible_workload_hook): the story still ends as expected, and the step's
line reports the aggregate the workload computed on the hospital's encrypted table. Slow: Ansible runs."""

from __future__ import annotations

import csv
import re
import statistics
from pathlib import Path

import pytest

from datagora.chain.client import EmbeddedChain
from datagora.scenarios import collaboration as scenario
from datagora.scenarios.infrastructure import ansible_workload_hook
from datagora.services.infrastructure import Workloads

pytestmark = pytest.mark.slow


def test_the_story_runs_with_the_ansible_workload(tmp_path: Path) -> None:
    lines: list[str] = []
    demo = scenario.run(
        EmbeddedChain(), tmp_path, on_step=lambda s: lines.append(s.action), on_infrastructure=ansible_workload_hook
    )
    assert demo.ok, demo.scenario.failed_checks()
    line = next(text for text in lines if text.startswith("Ansible started progression-by-sex-"))
    by_sex: dict[str, list[float]] = {}
    with (tmp_path / "hospital" / "diabetes.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_sex.setdefault(row["sex"], []).append(float(row["progression"]))
    for sex, values in by_sex.items():
        assert f"sex {sex}: {statistics.fmean(values):.1f} over {len(values)} patients" in line
    assert "sent 1 heartbeat to the chain, and was stopped" in line
    pid = int(re.search(r"PID (\d+)", line).group(1))  # type: ignore[union-attr]
    assert not Path(f"/proc/{pid}/cmdline").exists() or b"datagora" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    hosted = Workloads(tmp_path / "hospital" / "infrastructure").status()
    assert [s.state for s in hosted] == ["stopped"]
