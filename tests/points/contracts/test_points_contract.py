"""Points.vy: loyalty points per brand, each brand its own ERC-20 (BrandPoints.vy, created from a blueprint when
the brand is registered, Points its only minter), and membership tiers set only with an EIP-712 attestation
signed by every computing party (Hu, Xin, Deng, Qian).

Cast: the platform owns the contract and registers brand #1 "Cufflinks & Co" administered by Alice; its computing
parties are Alice (brand), Bob (platform) and Carol (MPC platform), in that order; Dave issues points at a shop,
Erin runs a checkout, Mallory is the member.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagora.crypto.eip712 import sign_typed_data, typed_data_digest
from datagora.services.points import tier_attestation
from tests.kits import compiled_contracts
from tests.kits.contract_kit import Deployment, assert_event, assert_no_event, digest, events

ZERO = "0x0000000000000000000000000000000000000000"
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def brand_points() -> Any:
    """The BrandPoints contract factory (compiled once per source tree)."""
    return compiled_contracts.deployer("BrandPoints.vy")


@pytest.fixture(scope="module")
def points(deployment: Deployment, brand_points: Any) -> Any:
    """The BrandPoints blueprint and Points deployed by the platform, brand #1 registered, Dave an issuer (once
    per module)."""
    d = deployment
    with d.env.prank(d.platform.address):
        blueprint = brand_points.deploy_as_blueprint()
        contract = compiled_contracts.deployer("Points.vy").deploy(blueprint.address)
        contract.register_brand(
            "Cufflinks & Co", "CUFF", d.alice.address, [d.alice.address, d.bob.address, d.carol.address]
        )
    with d.env.prank(d.alice.address):
        contract.set_issuer(1, d.dave.address, True)
    return contract


@pytest.fixture(scope="module")
def token(points: Any, brand_points: Any) -> Any:
    """Brand #1's ERC-20."""
    return brand_points.at(points.token_of(1))


def token_events(points: Any, token: Any, name: str) -> list[dict[str, Any]]:
    """The token's ``name`` events in Points' last call, as dicts without the address."""
    found = [e._asdict() for e in points.get_logs() if type(e).__name__ == name and e.address == token.address]
    for e in found:
        e.pop("address")
    return found


def parties(d: Deployment) -> list[LocalAccount]:
    return [d.alice, d.bob, d.carol]


def sign(d: Deployment, points: Any, signer: LocalAccount, member: str, tier: int, score: int, nonce: int) -> bytes:
    typed = tier_attestation(d.chain_id, points.address, 1, member, tier, score, nonce)
    return sign_typed_data(bytes(signer.key), typed)


def signatures(d: Deployment, points: Any, tier: int, score: int, nonce: int = 0) -> list[bytes]:
    return [sign(d, points, p, d.mallory.address, tier, score, nonce) for p in parties(d)]


def issue(d: Deployment, points: Any, amount: int, member: LocalAccount | None = None) -> None:
    with d.env.prank(d.dave.address):
        points.issue(1, (member or d.mallory).address, amount, digest(f"purchase {amount}"))


# -- brands ---------------------------------------------------------------------------------------------------


def test_register_brand_creates_its_erc20_records_admin_and_parties_and_emits(
    d: Deployment, points: Any, brand_points: Any
) -> None:
    with d.env.prank(d.platform.address):
        brand = points.register_brand("Shoes", "SHOE", d.bob.address, [d.bob.address, d.carol.address])
    registered = events(points, "BrandRegistered")
    shoes = points.token_of(2)  # a view: read after the events of the last call
    assert [e._asdict() for e in registered] == [
        {
            "address": points.address,
            "brand": 2,
            "admin": d.bob.address,
            "token": shoes,
            "name": "Shoes",
            "symbol": "SHOE",
            "parties": [d.bob.address, d.carol.address],
        }
    ]
    assert brand == 2 and points.brand_count() == 2
    assert points.brand_admin(2) == d.bob.address
    assert points.parties_of(2) == [d.bob.address, d.carol.address]
    erc20 = brand_points.at(shoes)
    assert shoes not in (points.token_of(1), ZERO)
    assert (erc20.name(), erc20.symbol(), erc20.decimals(), erc20.totalSupply()) == ("Shoes", "SHOE", 0, 0)
    assert erc20.owner() == points.address and erc20.is_minter(points.address)
    assert not erc20.is_minter(d.platform.address) and not erc20.is_minter(d.bob.address)


def test_the_blueprint_must_be_code(d: Deployment) -> None:
    with boa.reverts("points: blueprint is not a contract"):
        compiled_contracts.deployer("Points.vy").deploy(d.alice.address)


def test_register_brand_by_anyone_but_the_owner_is_refused(d: Deployment, points: Any) -> None:
    with d.env.prank(d.alice.address), boa.reverts("ownable: caller is not the owner"):
        points.register_brand("Shoes", "SHOE", d.alice.address, [d.alice.address, d.bob.address])


@pytest.mark.parametrize(
    ("name", "symbol", "admin", "members", "message"),
    [
        ("", "SHOE", "alice", ["alice", "bob"], "points: empty name"),
        ("Shoes", "", "alice", ["alice", "bob"], "points: empty symbol"),
        ("Shoes", "SHOE", ZERO, ["alice", "bob"], "points: zero admin"),
        ("Shoes", "SHOE", "alice", ["alice"], "points: too few parties"),
        ("Shoes", "SHOE", "alice", ["alice", ZERO], "points: zero party"),
        ("Shoes", "SHOE", "alice", ["alice", "bob", "alice"], "points: duplicate party"),
    ],
)
def test_register_brand_guards(
    d: Deployment, points: Any, name: str, symbol: str, admin: str, members: list[str], message: str
) -> None:
    def address(label: str) -> str:
        return label if label == ZERO else getattr(d, label).address

    with d.env.prank(d.platform.address), boa.reverts(message):
        points.register_brand(name, symbol, address(admin), [address(m) for m in members])


# -- issuers, issuing, spending ---------------------------------------------------------------------------------


def test_set_issuer_by_the_brand_admin(d: Deployment, points: Any) -> None:
    with d.env.prank(d.alice.address):
        points.set_issuer(1, d.erin.address, True)
    assert_event(points, "IssuerSet", brand=1, issuer=d.erin.address, allowed=True)
    assert points.is_issuer(1, d.erin.address)
    with d.env.prank(d.alice.address):
        points.set_issuer(1, d.erin.address, False)
    assert not points.is_issuer(1, d.erin.address)


def test_set_issuer_guards(d: Deployment, points: Any) -> None:
    with d.env.prank(d.bob.address), boa.reverts("points: not the brand admin"):
        points.set_issuer(1, d.erin.address, True)
    with d.env.prank(d.alice.address), boa.reverts("points: not the brand admin"):
        points.set_issuer(7, d.erin.address, True)  # unknown brand: no admin
    with d.env.prank(d.alice.address), boa.reverts("points: zero issuer"):
        points.set_issuer(1, ZERO, True)


def test_issue_mints_the_brands_erc20_and_emits(d: Deployment, points: Any, token: Any) -> None:
    with d.env.prank(d.dave.address):
        points.issue(1, d.mallory.address, 2600, digest("cufflinks"))
    assert_event(
        points,
        "PointsIssued",
        brand=1,
        member=d.mallory.address,
        issuer=d.dave.address,
        amount=2600,
        purchase_ref=digest("cufflinks"),
    )
    assert token_events(points, token, "Transfer") == [{"sender": ZERO, "receiver": d.mallory.address, "value": 2600}]
    assert token.balanceOf(d.mallory.address) == points.points_of(1, d.mallory.address) == 2600
    assert points.points_of(2, d.mallory.address) == 0  # an unknown brand: no token, no points
    assert token.totalSupply() == 2600


def test_issue_guards(d: Deployment, points: Any) -> None:
    with d.env.prank(d.erin.address), boa.reverts("points: not an issuer"):
        points.issue(1, d.mallory.address, 10, digest("x"))
    with d.env.prank(d.dave.address), boa.reverts("points: not an issuer"):
        points.issue(2, d.mallory.address, 10, digest("x"))  # an issuer of brand 1 only
    with d.env.prank(d.dave.address), boa.reverts("points: zero amount"):
        points.issue(1, d.mallory.address, 0, digest("x"))
    with d.env.prank(d.dave.address), boa.reverts("points: zero member"):
        points.issue(1, ZERO, 10, digest("x"))


def test_only_points_mints_and_burns_the_brands_token(d: Deployment, points: Any, token: Any) -> None:
    issue(d, points, 100)
    with d.env.prank(d.alice.address), boa.reverts("erc20: access is denied"):  # not even the brand's admin
        token.mint(d.alice.address, 1)
    with d.env.prank(d.platform.address), boa.reverts("erc20: access is denied"):  # nor Points' owner
        token.mint(d.platform.address, 1)
    with d.env.prank(d.mallory.address), boa.reverts("brand points: not the points contract"):
        token.burn_at_checkout(d.mallory.address, d.mallory.address, 10)
    for locked in ("set_minter", "transfer_ownership", "renounce_ownership", "burn", "burn_from"):
        assert not hasattr(token, locked), locked
    assert token.totalSupply() == 100


def test_spend_by_the_holder_and_by_a_checkout_with_an_allowance(d: Deployment, points: Any, token: Any) -> None:
    issue(d, points, 2600)
    with d.env.prank(d.mallory.address):
        points.spend(1, d.mallory.address, 600, digest("order 1"))
    assert_event(
        points,
        "PointsSpent",
        brand=1,
        holder=d.mallory.address,
        spender=d.mallory.address,
        amount=600,
        order_ref=digest("order 1"),
    )
    assert token_events(points, token, "Transfer") == [{"sender": d.mallory.address, "receiver": ZERO, "value": 600}]
    with d.env.prank(d.mallory.address):
        token.approve(d.erin.address, 1500)  # an ERC-20 allowance for Erin's checkout
    with d.env.prank(d.erin.address):
        points.spend(1, d.mallory.address, 1000, digest("order 2"))
    assert_event(
        points,
        "PointsSpent",
        brand=1,
        holder=d.mallory.address,
        spender=d.erin.address,
        amount=1000,
        order_ref=digest("order 2"),
    )
    assert token.allowance(d.mallory.address, d.erin.address) == 500  # used up by the spend
    assert token.balanceOf(d.mallory.address) == 1000 == token.totalSupply()
    assert points.spent_on(1, digest("order 2")) == 1000


def test_spend_guards(d: Deployment, points: Any, token: Any) -> None:
    issue(d, points, 100)
    with d.env.prank(d.erin.address), boa.reverts("points: not the holder"):
        points.spend(1, d.mallory.address, 10, digest("x"))
    with d.env.prank(d.mallory.address):
        token.approve(d.erin.address, 5)
    with d.env.prank(d.erin.address), boa.reverts("points: not the holder"):  # an allowance too small
        points.spend(1, d.mallory.address, 10, digest("x"))
    with d.env.prank(d.mallory.address), boa.reverts("points: zero amount"):
        points.spend(1, d.mallory.address, 0, digest("x"))
    with d.env.prank(d.mallory.address), boa.reverts("points: insufficient points"):
        points.spend(1, d.mallory.address, 101, digest("x"))
    with d.env.prank(d.mallory.address), boa.reverts("points: unknown brand"):
        points.spend(2, d.mallory.address, 1, digest("x"))  # no such brand, no such points
    assert token.balanceOf(d.mallory.address) == 100


def test_points_move_between_wallets_like_any_erc20(d: Deployment, points: Any, token: Any) -> None:
    issue(d, points, 300)
    with d.env.prank(d.mallory.address):
        token.transfer(d.erin.address, 120)
    with d.env.prank(d.erin.address):
        points.spend(1, d.erin.address, 120, digest("erin's order"))
    assert (token.balanceOf(d.mallory.address), token.balanceOf(d.erin.address), token.totalSupply()) == (180, 0, 180)


# -- tiers ---------------------------------------------------------------------------------------------------


def test_digest_matches_the_python_typed_data(d: Deployment, points: Any) -> None:
    typed = tier_attestation(d.chain_id, points.address, 1, d.mallory.address, 2, 150_000, 0)
    assert points.attestation_digest(1, d.mallory.address, 2, 150_000, 0) == typed_data_digest(typed)


def test_set_tier_with_every_partys_signature_and_emits(d: Deployment, points: Any) -> None:
    with d.env.prank(d.erin.address):  # anyone may submit the attested result
        points.set_tier(1, d.mallory.address, 2, 150_000, 0, signatures(d, points, 2, 150_000))
    assert_event(
        points,
        "TierUpdated",
        brand=1,
        member=d.mallory.address,
        submitter=d.erin.address,
        tier=2,
        score=150_000,
        nonce=0,
    )
    assert points.tier_of(1, d.mallory.address) == 2
    assert points.score_of(1, d.mallory.address) == 150_000
    assert points.tier_nonce(1, d.mallory.address) == 1


def test_an_attestation_missing_one_partys_signature_is_refused(d: Deployment, points: Any) -> None:
    sigs = signatures(d, points, 2, 150_000)
    for missing in range(3):
        partial = sigs[:missing] + sigs[missing + 1 :]
        with boa.reverts("points: missing signature"):
            points.set_tier(1, d.mallory.address, 2, 150_000, 0, partial)
    assert points.tier_of(1, d.mallory.address) == 0
    assert_no_event(points, "TierUpdated")


def test_a_wrong_signature_is_refused(d: Deployment, points: Any) -> None:
    sigs = signatures(d, points, 2, 150_000)
    outsider = sign(d, points, d.dave, d.mallory.address, 2, 150_000, 0)
    with boa.reverts("points: invalid signature"):
        points.set_tier(1, d.mallory.address, 2, 150_000, 0, [sigs[0], outsider, sigs[2]])
    with boa.reverts("points: invalid signature"):  # right parties, wrong order
        points.set_tier(1, d.mallory.address, 2, 150_000, 0, [sigs[1], sigs[0], sigs[2]])
    with boa.reverts("points: invalid signature"):  # signed for tier 2, posted as tier 3
        points.set_tier(1, d.mallory.address, 3, 150_000, 0, sigs)
    helper_lied = sign(d, points, d.carol, d.mallory.address, 3, 150_000, 0)
    with boa.reverts("points: invalid signature"):
        points.set_tier(1, d.mallory.address, 2, 150_000, 0, [sigs[0], sigs[1], helper_lied])


def test_set_tier_guards(d: Deployment, points: Any) -> None:
    sigs = signatures(d, points, 2, 150_000)
    with boa.reverts("points: unknown brand"):
        points.set_tier(9, d.mallory.address, 2, 150_000, 0, sigs)
    with boa.reverts("points: bad tier"):
        points.set_tier(1, d.mallory.address, 4, 150_000, 0, signatures(d, points, 4, 150_000))
    with boa.reverts("points: stale attestation"):
        points.set_tier(1, d.mallory.address, 2, 150_000, 1, signatures(d, points, 2, 150_000, 1))
    points.set_tier(1, d.mallory.address, 2, 150_000, 0, sigs)
    with boa.reverts("points: stale attestation"):  # the same attestation again
        points.set_tier(1, d.mallory.address, 2, 150_000, 0, sigs)


# -- fuzz ----------------------------------------------------------------------------------------------------


@FUZZ
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["issue", "spend", "transfer", "checkout"]),
            st.sampled_from(["mallory", "erin"]),
            st.integers(min_value=0, max_value=10**9),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_fuzz_points_are_conserved(d: Deployment, points: Any, token: Any, steps: list[tuple[str, str, int]]) -> None:
    """Whatever is issued, moved, spent or refused: every holder's balance is what the model says, and the
    total supply is what was issued minus what was spent, which is also the sum of the balances."""
    with d.env.anchor():
        model = {"mallory": 0, "erin": 0}
        issued = spent = 0
        for kind, who, amount in steps:
            holder = getattr(d, who)
            other = "erin" if who == "mallory" else "mallory"
            if kind == "issue":
                if amount == 0:
                    continue
                issue(d, points, amount, holder)
                model[who] += amount
                issued += amount
            elif kind == "transfer":
                with d.env.prank(holder.address):
                    if amount > model[who]:
                        with boa.reverts("erc20: transfer amount exceeds balance"):
                            token.transfer(getattr(d, other).address, amount)
                    else:
                        token.transfer(getattr(d, other).address, amount)
                        model[who] -= amount
                        model[other] += amount
            else:  # the holder spends, or Dave's checkout spends with an allowance of exactly the amount
                spender = holder if kind == "spend" else d.dave
                if spender is d.dave:
                    with d.env.prank(holder.address):
                        token.approve(d.dave.address, amount)
                with d.env.prank(spender.address):
                    if amount == 0:
                        with boa.reverts("points: zero amount"):
                            points.spend(1, holder.address, amount, digest("order"))
                    elif amount > model[who]:
                        with boa.reverts("points: insufficient points"):
                            points.spend(1, holder.address, amount, digest("order"))
                    else:
                        points.spend(1, holder.address, amount, digest("order"))
                        model[who] -= amount
                        spent += amount
                if spender is d.dave:
                    assert token.allowance(holder.address, d.dave.address) in (0, amount)
        balances = {who: token.balanceOf(getattr(d, who).address) for who in model}
        assert balances == model
        assert token.totalSupply() == issued - spent == sum(balances.values())


@FUZZ
@given(
    tier=st.integers(min_value=0, max_value=3),
    score=st.integers(min_value=50_000, max_value=150_000),
    forged=st.sampled_from([None, 0, 1, 2]),
)
def test_fuzz_tier_needs_all_three_signatures(
    d: Deployment, points: Any, tier: int, score: int, forged: int | None
) -> None:
    with d.env.anchor():
        sigs = signatures(d, points, tier, score)
        if forged is None:
            points.set_tier(1, d.mallory.address, tier, score, 0, sigs)
            assert (points.tier_of(1, d.mallory.address), points.score_of(1, d.mallory.address)) == (tier, score)
        else:
            sigs[forged] = sign(d, points, parties(d)[forged], d.mallory.address, tier, score + 1, 0)
            with boa.reverts("points: invalid signature"):
                points.set_tier(1, d.mallory.address, tier, score, 0, sigs)
            assert points.tier_nonce(1, d.mallory.address) == 0
