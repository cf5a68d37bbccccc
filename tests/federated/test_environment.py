"""Flower's own environment: where it lives and what its processes inherit."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.federated.environment import FLOWER_VERSION, FlowerEnvironment, default_location, ensure


def test_the_location_comes_from_the_environment_or_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATAGORA_FLOWER_ENV", str(tmp_path / "fl"))
    assert default_location() == tmp_path / "fl"
    monkeypatch.delenv("DATAGORA_FLOWER_ENV")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_location() == tmp_path / "cache" / "datagora" / f"flower-{FLOWER_VERSION}"


def test_flower_processes_do_not_see_datagoras_interpreter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/datagora/src")
    env = FlowerEnvironment(tmp_path / "fl").env(tmp_path / "home")
    assert "PYTHONPATH" not in env
    assert env["PATH"].split(":")[0] == str(tmp_path / "fl" / "bin")
    assert env["FLWR_HOME"] == str(tmp_path / "home")


def test_an_incomplete_environment_is_not_ready(tmp_path: Path) -> None:
    (tmp_path / "fl" / "bin").mkdir(parents=True)
    (tmp_path / "fl" / "bin" / "flwr").write_text("")
    assert not FlowerEnvironment(tmp_path / "fl").ready  # no marker: the install did not finish


def test_the_managed_environment_runs_flower() -> None:
    """scripts/test creates it before the tests; ensure() finds it ready and its Flower is the pinned one."""
    import subprocess

    env = ensure()
    assert env.ready
    out = subprocess.run([str(env.program("flwr")), "--version"], capture_output=True, text=True, check=True)
    assert FLOWER_VERSION in out.stdout
