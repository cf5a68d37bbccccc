"""The points service end to end on the embedded chain with real party processes (Hu, Xin, Deng, Qian, case
study): the demo's tier equals the plain computation, a party vanishing mid-protocol fails cleanly within the
timeout and posts nothing, out-of-range inputs and wrong signers are refused before any process starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import ComputationFailed, NotFoundError, ValidationError
from datagora.mpc import session as mpc_session
from datagora.mpc.points import plain_result
from datagora.scenarios import points as scenario
from datagora.services import points

WEI = 10**18


@dataclass
class Stage:
    contracts: Contracts
    brand: LocalAccount
    platform: LocalAccount
    helper: LocalAccount
    member: LocalAccount
    brand_id: int

    @property
    def parties(self) -> list[LocalAccount]:
        return [self.brand, self.platform, self.helper]


@pytest.fixture(scope="module")
def stage() -> Stage:
    chain = EmbeddedChain()
    brand, platform, helper, member = (Account.create() for _ in range(4))
    for account in (brand, platform, helper, member):
        chain.fund(account.address, 10 * WEI)
    contracts = Contracts.deploy(chain, platform, platform, only=["BrandPoints", "Points"])
    brand_id, _ = points.register_brand(
        contracts, platform, "Cufflinks & Co", brand.address, [brand.address, platform.address, helper.address]
    )
    return Stage(contracts, brand, platform, helper, member, brand_id)


def tier_events(stage: Stage) -> list[Any]:
    return [e for e in stage.contracts.events() if e.name == "TierUpdated"]


def test_the_demo_posts_the_tier_of_the_plain_computation() -> None:
    demo = scenario.run(EmbeddedChain())
    assert demo.ok, [c for c in demo.scenario.checks if not c.passed]
    expected = plain_result(scenario.BRAND_POINTS, scenario.PLATFORM_POINTS)
    on_chain = points.standing(demo.contracts, 1, demo.member)
    assert (on_chain.tier, on_chain.score) == (expected.tier, expected.score) == (2, 150_000)
    assert on_chain.points == scenario.BRAND_POINTS - scenario.SPENT_AT_CHECKOUT
    assert demo.computation.session.tls
    assert [p.pid for p in demo.computation.session.parties] == [0, 1, 2]
    posted = [e for e in demo.computation.tx.events if e.name == "TierUpdated"]
    assert len(posted) == 1 and posted[0].args["tier"] == 2


def test_a_party_vanishing_mid_protocol_fails_cleanly_and_posts_nothing(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    real: Callable[..., Any] = mpc_session.run_session

    def vanishing(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **kwargs, fail_party=1)

    monkeypatch.setattr(points, "run_session", vanishing)
    started = time.perf_counter()
    with pytest.raises(ComputationFailed, match="platform party stopped"):
        points.compute_tier(
            stage.contracts,
            stage.brand_id,
            stage.member.address,
            2600,
            3200,
            stage.parties,
            stage.helper,
            timeout=20,
        )
    assert time.perf_counter() - started < 25
    assert points.standing(stage.contracts, stage.brand_id, stage.member.address).updates == 0
    assert tier_events(stage) == []


def test_a_silent_party_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A party that never answers (its process stopped, not exited) fails the session at the timeout."""
    import subprocess

    real_popen = subprocess.Popen
    started: list[Any] = []

    def popen(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        proc = real_popen(cmd, *args, **kwargs)
        if cmd[-1] == "2" or cmd[-2:] == ["2", "--ssl"]:
            proc.send_signal(19)  # SIGSTOP: the MPC platform freezes
        started.append(proc)
        return proc

    monkeypatch.setattr(mpc_session.subprocess, "Popen", popen)
    begin = time.perf_counter()
    with pytest.raises(ComputationFailed, match="timed out"):
        mpc_session.run_session(2600, 3200, timeout=8)
    assert 8 <= time.perf_counter() - begin < 15
    assert all(p.poll() is not None for p in started)  # every process was stopped


@pytest.mark.parametrize(("a", "b"), [(-1, 10), (10, 10_000_001), (2**64, 0)])
def test_out_of_range_inputs_are_rejected_before_any_process(stage: Stage, a: int, b: int) -> None:
    with pytest.raises(ValidationError, match="points must be between"):
        points.compute_tier(stage.contracts, stage.brand_id, stage.member.address, a, b, stage.parties, stage.helper)
    with pytest.raises(ValidationError, match="points must be between"):
        mpc_session.run_session(a, b)


def test_signers_must_be_the_brands_parties_in_order(stage: Stage) -> None:
    wrong = [stage.platform, stage.brand, stage.helper]
    with pytest.raises(ValidationError, match="not the brand's computing parties"):
        points.compute_tier(stage.contracts, stage.brand_id, stage.member.address, 1, 1, wrong, stage.helper)
    with pytest.raises(NotFoundError, match="no brand #9"):
        points.compute_tier(stage.contracts, 9, stage.member.address, 1, 1, stage.parties, stage.helper)


def test_a_batch_of_members_equals_the_plain_computation() -> None:
    brand = [0, 1351, 1352, 2600, 4054, 4055, 9_999, 12_000, 10_000_000, 5]
    platform = [0, 333, 334, 3200, 1, 1000, 1, 0, 10_000_000, 1995]
    results, seconds = mpc_session.run_batch(brand, platform, timeout=120)
    assert results == [plain_result(a, b) for a, b in zip(brand, platform, strict=True)]
    assert seconds > 0
    with pytest.raises(ValidationError, match="as many brand as platform inputs"):
        mpc_session.run_batch([1, 2], [1])
    with pytest.raises(ValidationError, match="points must be between"):
        mpc_session.run_batch([1, -2], [1, 1])


def test_the_brands_points_are_an_erc20_any_wallet_reads(stage: Stage) -> None:
    c = stage.contracts
    token, name, symbol = c.points.token_info(stage.brand_id)
    assert (name, symbol) == ("Cufflinks & Co", points.brand_symbol("Cufflinks & Co")) == ("Cufflinks & Co", "CUFFL")
    c.points.set_issuer(stage.brand, stage.brand_id, stage.brand.address)
    points.issue(c, stage.brand, stage.brand_id, stage.member.address, 42, b"\x01" * 32)
    # read with plain ERC-20 calls, as a wallet does, and through the service
    assert (c.tokens.symbol(token), c.tokens.decimals(token)) == ("CUFFL", 0)
    assert (
        c.tokens.balance(token, stage.member.address)
        == 42
        == points.standing(c, stage.brand_id, stage.member.address).points
    )


@pytest.mark.parametrize(
    ("name", "symbol", "message"),
    [("", None, "brand name"), ("x" * 26, None, "brand name"), ("Shoes", "TOOLONG", "symbol"), ("Shoes", "", "symbol")],
)
def test_register_brand_refuses_names_a_token_cannot_carry(
    stage: Stage, name: str, symbol: str | None, message: str
) -> None:
    parties = [p.address for p in stage.parties]
    with pytest.raises(ValidationError, match=message):
        points.register_brand(stage.contracts, stage.platform, name, stage.brand.address, parties, symbol=symbol)
