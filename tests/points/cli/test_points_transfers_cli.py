"""``datagora points send`` and ``datagora points history`` on Anvil, as a member types them: a brand issues points,
the member gives some to a friend, both read their history (table and JSON) from their own node's event index; a
gift above the balance, to a bad address, of an unknown brand or of no points fails with one plain line and sends
nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from datagora.chain.contracts import Contracts
from datagora.crypto.keys import load_keystore
from datagora.services import points
from tests.kits.cli_fixtures import PASSWORD, CliWorld, audited_world, failed, ok

pytestmark = pytest.mark.anvil

NAMES = ("supervisor", "platform", "brand", "member", "friend")


@pytest.fixture(scope="module")
def cw(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    home = tmp_path_factory.mktemp("points-cli")
    with audited_world(anvil_url, home, NAMES, {}) as w:
        contracts = Contracts.attach(w.chain, home / "deployments")
        platform = load_keystore(home / "keystores" / "platform.json", PASSWORD)
        brand = load_keystore(home / "keystores" / "brand.json", PASSWORD)
        supervisor = load_keystore(home / "keystores" / "supervisor.json", PASSWORD)
        brand_id, _ = points.register_brand(
            contracts, platform, "Cufflinks & Co", brand.address, [brand.address, platform.address, supervisor.address]
        )
        assert brand_id == 1
        contracts.points.set_issuer(brand, brand_id, brand.address)
        yield w


def _balance(cw: CliWorld, name: str) -> int:
    return Contracts.attach(cw.chain, cw.home / "deployments").points.balance(1, cw.addresses[name])


def test_points_given_to_a_friend_show_in_both_histories(cw: CliWorld) -> None:
    member, friend = cw.addresses["member"], cw.addresses["friend"]
    assert "issued 1,000 points of brand #1" in ok(
        cw.run("points", "issue", "1", member, "1000", "--purchase", "order 1041", "-a", "brand")
    )
    given = ok(cw.run("points", "send", "1", friend, "250", "-a", "member"))
    assert f"gave 250 points of brand #1 to {friend}" in given
    assert (_balance(cw, "member"), _balance(cw, "friend")) == (750, 250)

    table = ok(cw.run("points", "history", "-a", "member"))
    lines = [line for line in table.splitlines() if "#1" in line]
    assert len(lines) == 2, table
    assert "earned" in lines[0] and "+1,000" in lines[0]
    assert "gave" in lines[1] and "-250" in lines[1] and friend.lower() in lines[1]

    theirs = json.loads(ok(cw.run("points", "history", "--json", "--brand", "1", "-a", "friend")))
    assert theirs["member"] == friend.lower()
    assert [(m["kind"], m["sender"], m["receiver"], m["amount"]) for m in theirs["movements"]] == [
        ("transfer", member.lower(), friend.lower(), 250)
    ]
    assert "received" in ok(cw.run("points", "history", "-a", "friend"))
    assert "no points movements" in ok(cw.run("points", "history", "--member", cw.addresses["supervisor"]))


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("1", "friend", "100000"), ("holds", "fewer than 100000")),
        (("1", "0x1234", "5"), ("not an account address",)),
        (("1", "0x" + "0" * 40, "5"), ("not an account address",)),
        (("9", "friend", "5"), ("no brand #9",)),
    ],
    ids=["above-the-balance", "short-address", "zero-address", "unknown-brand"],
)
def test_a_bad_gift_fails_with_one_line_and_sends_nothing(
    cw: CliWorld, args: tuple[str, str, str], fragments: tuple[str, ...]
) -> None:
    brand, to, amount = args
    to = cw.addresses.get(to, to)
    before = cw.state(), _balance(cw, "member"), _balance(cw, "friend")
    failed(cw.run("points", "send", brand, to, amount, "-a", "member"), *fragments)
    assert (cw.state(), _balance(cw, "member"), _balance(cw, "friend")) == before


def test_no_points_and_a_bad_member_address_are_refused(cw: CliWorld) -> None:
    before = cw.state()
    refused = cw.run("points", "send", "1", cw.addresses["friend"], "0", "-a", "member")
    assert refused.exit_code == 2 and "greater than or equal to 1" in refused.stderr  # a usage error
    assert cw.state() == before
    failed(cw.run("points", "history", "--member", "0xnot-an-address", "-a", "member"), "not an account address")
