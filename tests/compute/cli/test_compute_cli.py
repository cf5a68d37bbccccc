"""``datagora compute submit | review | run | result`` on the session Anvil node: a Python job travels from the
requester's command to the owner's, runs in the sandbox (started by ``compute run`` before it reads the chain, so
it warms up meanwhile) and only its result comes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.compute import sandbox
from datagora.services import compute
from datagora.services.participant import Participant
from datagora.services.sample_data import write_diabetes_csv
from tests.kits.cli_fixtures import PASSWORD, CliWorld, audited_world, ok

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

NAMES = ("supervisor", "platform", "seller", "buyer")
ORGS = {"platform": "Platform", "seller": "Seller Org", "buyer": "Buyer Org"}
CODE = "def run(t):\n    return {'mean_bmi': round(float(t['bmi'].mean()), 2)}\n"


@pytest.fixture(scope="module")
def w(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    home = tmp_path_factory.mktemp("compute-cli")
    with audited_world(anvil_url, home, NAMES, ORGS) as world:
        table = write_diabetes_csv(home / "diabetes.csv")
        assert "as dataset #1" in ok(world.run("publish", table, "-a", "seller", "--platform", "platform"))
        yield world


def submit_python(w: CliWorld, code: Path, exchange: tuple[str, Path]) -> str:
    """The buyer submits the Python job in ``code`` on dataset 1 for 0.01 ETH; the command's output."""
    args = ("--estimator", "python", "--features", "bmi", "--code", code, "--price", "0.01", *exchange)
    return ok(w.run("compute", "submit", 1, *args, "-a", "buyer"))


def test_a_python_job_runs_from_the_command_line_in_a_warm_sandbox(
    w: CliWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datagora.crypto.keys import load_keystore

    seller = Participant(
        "seller", load_keystore(w.home / "keystores" / "seller.json", PASSWORD), w.home / "participants" / "seller"
    )
    policy = compute.default_policy(seller.address, 1, w.chain.chain_id, allowed_algorithms=frozenset({"python"}))
    compute.set_compute_policy(seller, 1, policy)
    code = tmp_path / "job.py"
    code.write_text(CODE)
    exchange = ("--exchange", tmp_path / "exchange")
    out = submit_python(w, code, exchange)
    assert "submitted job 1 on dataset 1" in out
    assert "inside your policy, accepted" in ok(w.run("compute", "review", 1, *exchange, "-a", "seller"))

    started: list[sandbox.SandboxPool] = []
    real_init = sandbox.SandboxPool.__init__

    def recording_init(self: sandbox.SandboxPool, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(sandbox.SandboxPool, "__init__", recording_init)
    assert "its result is waiting for the requester" in ok(w.run("compute", "run", 1, *exchange, "-a", "seller"))
    assert len(started) == 1 and not started[0].refill  # one warm process, no replacement
    assert not started[0]._waiting  # taken by the job, nothing left running

    saved = tmp_path / "result.json"
    ok(w.run("compute", "result", 1, "--out", saved, "--confirm", *exchange, "-a", "buyer"))
    assert json.loads(saved.read_text())["output"] == {"mean_bmi": 26.38}

    # review --run: accepted and run in one command
    submit_python(w, code, exchange)
    out = ok(w.run("compute", "review", 2, "--run", *exchange, "-a", "seller"))
    assert "accepted and run in" in out and "waiting for the requester" in out
    ok(w.run("compute", "result", 2, "--out", saved, *exchange, "-a", "buyer"))
    assert json.loads(saved.read_text())["output"] == {"mean_bmi": 26.38}
