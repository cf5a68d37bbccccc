"""``datagora dao`` on Anvil, in process: a hospital offers its data, an analytics firm counters and accepts, revenue
is paid and withdrawn, a channel post is sealed to the members, a heartbeat is reported, an early termination is
refused in the contract's words; and ``datagora demo dao`` as a real process on the built-in chain."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import REPO_ROOT
from tests.kits.cli_fixtures import CliWorld, audited_world, failed, ok

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

NAMES = ("supervisor", "platform", "hospital", "analytics", "customer")
ORGS = {"hospital": "Oujda Hospital", "analytics": "Atlas Analytics"}
TERMS = ("--title", "Diabetes analytics", "--data", "442 patients", "--service", "Forecasts")


@pytest.fixture(scope="module")
def w(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    with audited_world(anvil_url, tmp_path_factory.mktemp("dao-cli"), NAMES, ORGS) as world:
        yield world


def test_offer_negotiate_pay_withdraw_and_channels(w: CliWorld) -> None:
    posted = ok(w.run("dao", "offer", "--stake", "30", *TERMS, "-a", "hospital"))
    assert "posted offer #1 (30 % to the value provider)" in posted
    assert "countered offer #1 at 40 %" in ok(w.run("dao", "counter", "1", "--stake", "40", "-a", "analytics"))
    hospital_counter = ("dao", "counter", "1", "--stake", "35", "--counterparty", w.addresses["analytics"])
    ok(w.run(*hospital_counter, "-a", "hospital"))
    assert "agreed on offer #1: DAO #1" in ok(w.run("dao", "accept", "1", "-a", "analytics"))
    assert "paid 1 ETH to DAO #1" in ok(w.run("dao", "pay", "1", "1", "-a", "customer"))
    shown = ok(w.run("dao", "show", "1"))
    assert re.search(rf"{w.addresses['hospital']}[\s│]+65\.00 %", shown), shown
    assert re.search(rf"{w.addresses['analytics']}[\s│]+35\.00 %", shown), shown
    assert "withdrew 0.35 ETH" in ok(w.run("dao", "withdraw", "1", "-a", "analytics"))
    ok(w.run("dao", "channel", "post", "1", "1", "--message", "weekly summary", "-a", "hospital"))
    assert "weekly summary" in ok(w.run("dao", "channel", "read", "1", "1", "-a", "analytics"))
    assert "sealed" in ok(w.run("dao", "channel", "read", "1", "1", "-a", "customer"))
    assert "reported alive in DAO #1" in ok(w.run("dao", "heartbeat", "1", "-a", "analytics"))
    failed(w.run("dao", "terminate", "1", w.addresses["analytics"], "-a", "customer"), "heartbeat not missed")
    assert "Diabetes analytics" in ok(w.run("dao", "list"))


def test_bad_input_is_refused_in_words(w: CliWorld) -> None:
    failed(w.run("dao", "offer", "--stake", "100", *TERMS, "-a", "hospital"), "between 0.01 and 99.99")
    failed(w.run("dao", "offer", "--stake", "30", *TERMS, "--role", "owner", "-a", "hospital"), "--role")
    failed(w.run("dao", "show", "9"), "no DAO 9")
    failed(w.run("dao", "pay", "1", "lots", "-a", "customer"), "not an amount of ether")


def test_demo_dao_runs_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "COLUMNS": "200"}
    env.pop("DATAGORA_RPC_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "datagora", "demo", "dao"], capture_output=True, text=True, env=env, timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for line in (
        r"accepted 35 %: DAO #1 formed",
        r"cannot decrypt it \(not a member\)",
        r"terminated the analytics firm",
        r"EMPTY \(every member withdrew its share",
    ):
        assert re.search(line, done.stdout), f"missing {line!r}\n{done.stdout}"
