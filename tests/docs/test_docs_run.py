"""Docs that run: the README's Anvil walkthrough and docs/api.md's Python sample are executed as written, so
they cannot rot. Only what a reader would adapt is substituted: free ports for the fixed ones, the path of the
Anvil binary for ``npx anvil`` (npm installed it into this checkout), and a temporary folder for the home."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from datagora.chain.devnode import find_anvil, free_port
from tests import REPO_ROOT

ROOT = REPO_ROOT
START, END = "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"


def code_blocks(markdown: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in ``markdown``, in order."""
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", markdown, re.S)]


def walkthrough(readme: str) -> str:
    """The bash blocks between the walkthrough markers, as one script."""
    assert START in readme and END in readme, "the README's walkthrough markers are missing"
    section = readme[readme.index(START) : readme.index(END)]
    blocks = code_blocks(section, "bash")
    assert blocks, "the walkthrough has no bash block"
    return "\n".join(blocks)


def _datagora_bin() -> str:
    found = shutil.which("datagora")
    assert found, "the datagora command is not installed (pip install -e .)"
    return str(Path(found).parent)


@pytest.mark.anvil
@pytest.mark.slow  # about 90 s of real processes; CI runs it with -m slow
def test_the_readme_walkthrough_runs_top_to_bottom(tmp_path: Path) -> None:
    script = walkthrough((ROOT / "README.md").read_text())
    anvil = find_anvil()
    assert anvil, "Anvil is not installed: npm install"
    ports = {p: str(free_port()) for p in ("8545", "8700", "8701")}
    for fixed, free in ports.items():
        script = re.sub(rf"\b{fixed}\b", free, script)
    script = script.replace("npx anvil", anvil)
    script = re.sub(r"^npm install.*$", ":", script, flags=re.M)  # already installed by the test command
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")} | {
        "PATH": _datagora_bin() + os.pathsep + os.environ["PATH"],
        "HOME": str(tmp_path),
    }
    runner = tmp_path / "walkthrough.sh"
    runner.write_text("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script)
    done = subprocess.run(
        ["bash", str(runner)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    for expected in ("matches Catalog", "answered and paid", "the index matches the chain"):
        assert expected in out, expected
    assert "Traceback" not in out


def test_the_api_sample_runs_against_a_dev_node(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    samples = [b for b in code_blocks(doc, "python") if "NodeClient(" in b]
    assert samples, "docs/api.md has no NodeClient sample"
    port = free_port()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "datagora", "serve", "--dev", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                assert server.poll() is None, "serve --dev exited"
                assert time.monotonic() < deadline, "serve --dev did not come up"
                time.sleep(0.5)
        for sample in samples:
            code = sample.replace("8000", str(port))
            namespace: dict[str, object] = {}
            os.environ["DATAGORA_HOME"] = str(home)
            try:
                exec(compile(code, "docs/api.md", "exec"), namespace)  # the documented sample itself
            finally:
                os.environ.pop("DATAGORA_HOME", None)
            assert namespace.get("order"), "the sample's last step (an order) did not happen"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
