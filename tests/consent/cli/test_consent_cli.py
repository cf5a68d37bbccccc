"""``datagora consent`` on Anvil, a command per step as a person types them: the shop publishes a customer's
profile, the partner deposits reward tokens, the customer consents, the partner lists the stream's items and asks
for one (recorded, paid), the customer reads the history (table and JSON), withdraws, the partner's next request
fails with the plain sentence and is recorded, the shop erases the category; bad input fails with one line and
sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.keys import load_keystore
from datagora.services.participant import Participant
from tests.kits.cli_fixtures import PASSWORD, CliWorld, failed, make_keystores, ok
from tests.web.conftest import serve_node

pytestmark = pytest.mark.anvil

NAMES = ("supervisor", "platform", "shop", "partner", "alice")
PROFILE = {
    "purchases": [{"orderNumber": "A-7", "orderDate": "2026-10-01", "product": "Desk lamp", "price": "0.05"}],
    "contact": {"name": "Alice Fern", "email": "alice@example.org", "address": {"streetAddress": "9 Elm Row"}},
}


@pytest.fixture(scope="module")
def cw(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("consent-cli")
    w = CliWorld(home, anvil_url, chain, make_keystores(home, *NAMES))
    try:
        for name in NAMES:
            ok(w.run("account", "fund", name, "--ether", "10"))
        ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        for label, org in (("shop", "Acme Shop"), ("partner", "Blue Partners")):
            ok(w.run("org", "register", org, "-a", label))
            ok(w.run("org", "status", org, "audited", "-a", "supervisor"))
        yield w
    finally:
        chain.revert(snap)


@pytest.mark.slow  # ~15 s on Anvil with a shop node served over HTTP; CI runs it
def test_consent_commands_end_to_end(cw: CliWorld, tmp_path: Path) -> None:
    alice = cw.addresses["alice"]
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    published = ok(cw.run("consent", "publish", alice, profile, "-a", "shop"))
    assert "purchase-history: item #1 in stream 'customers'" in published and "contact: item #2" in published

    contracts = Contracts.attach(cw.chain, cw.home / "deployments")
    platform_key = load_keystore(cw.home / "keystores" / "platform.json", PASSWORD)
    contracts.reward_token.mint(platform_key, cw.addresses["partner"], 20 * 10**18)
    assert "deposited 20 DGR for rewards" in ok(cw.run("consent", "fund", "20", "-a", "partner"))

    granted = ok(
        cw.run(
            "consent",
            "grant",
            "contact",
            "Blue Partners",
            "-p",
            "Marketing",
            "--days",
            "7",
            "--reward",
            "2.5",
            "-a",
            "alice",
        )
    )
    assert "consent #1: Blue Partners may use your contact for Marketing until" in granted and "2.5 DGR" in granted
    listed = ok(cw.run("consent", "items", "-a", "partner"))
    assert f"{alice.lower()}/contact" in listed
    asked = ok(cw.run("consent", "request", "2", "-p", "marketing", "-a", "partner"))
    assert "access to item #2 recorded under consent #1, reward paid" in asked
    # again, fetching the item from the shop's node over HTTP (its stores are those `consent publish` filled)
    shop = Participant(
        "shop", load_keystore(cw.home / "keystores" / "shop.json", PASSWORD), cw.home / "participants" / "shop"
    )
    served = serve_node("shop", shop, contracts, tmp_path / "shop-node")
    try:
        out = tmp_path / "item-2.json"
        fetched = ok(
            cw.run("consent", "request", "2", "-p", "Marketing", "--from", served.url, "--out", out, "-a", "partner")
        )
        assert "hash checked on chain" in fetched
        assert json.loads(out.read_text())["address"]["streetAddress"] == "9 Elm Row"
        # alice, with no wallet, asks the shop's node to erase her purchase history: signed by her keystore
        forwarded = ok(cw.run("consent", "erase", "purchase-history", "--shop-url", served.url, "-a", "alice"))
        assert "the shop erased your purchase-history: key destroyed, 1 item(s) marked erased" in forwarded
        assert contracts.streams.item(1).erased
        failed(
            cw.run("consent", "erase", "purchase-history", "--shop-url", served.url, "-a", "alice"), "already erased"
        )
    finally:
        served.stop()
    failed(cw.run("consent", "erase", "contact", "--shop-url", served.url, "-a", "alice"), "could not be reached")

    table = ok(cw.run("consent", "history", "-a", "alice"))
    assert "Blue Partners" in table and "shared" in table and "rewards earned: 5 DGR" in table
    history = json.loads(ok(cw.run("consent", "history", "--json", "-a", "alice")))
    assert history["rewards_earned"] == str(5 * 10**18)
    assert [(e["kind"], e["consent_id"], e["purpose_label"]) for e in history["timeline"]] == [
        ("access", 1, "Marketing"),
        ("access", 1, "Marketing"),
    ]
    assert history["consents"][0]["state"] == "active"

    # the rewards: shown, withdrawn to alice's account, sent on; the partner takes back unused deposit
    shown = ok(cw.run("consent", "rewards", "-a", "alice"))
    assert "ready to withdraw: 5 DGR" in shown and "in the account: 0 DGR" in shown
    assert "withdrew 5 DGR to your account" in ok(cw.run("consent", "withdraw", "-a", "alice"))
    assert "sent 1.5 DGR to" in ok(cw.run("consent", "send", cw.addresses["shop"], "1.5", "-a", "alice"))
    assert contracts.reward_token.balance(alice) == 35 * 10**17
    failed(cw.run("consent", "withdraw", "-a", "alice"), "no reward tokens to withdraw")
    assert "took back 10 DGR of deposit" in ok(cw.run("consent", "unfund", "10", "-a", "partner"))
    failed(cw.run("consent", "unfund", "10", "-a", "partner"), "your unused deposit is 5 DGR")

    assert "consent #1 withdrawn" in ok(cw.run("consent", "revoke", "1", "-a", "alice"))
    refusal = failed(cw.run("consent", "request", "2", "-p", "Marketing", "-a", "partner"), "withdrawn this consent")
    assert "the refusal is recorded on chain" in refusal
    erased = ok(cw.run("consent", "erase", "contact", "--customer", alice, "-a", "shop"))
    assert "key destroyed, 1 item(s) marked erased" in erased
    assert contracts.streams.item(2).erased
    timeline = json.loads(ok(cw.run("consent", "history", "--json", "-a", "alice")))["timeline"]
    assert [e["kind"] for e in timeline] == ["access", "access", "refusal"]


def test_consent_commands_refuse_bad_input_and_send_nothing(cw: CliWorld, tmp_path: Path) -> None:
    before = cw.state()
    nan_profile = tmp_path / "nan.json"  # Python's JSON reader takes NaN; the documents it would hash refuse it
    nan_profile.write_text('{"demographics": {"homeLocation": {"@type": "Place", "geo": {"latitude": NaN}}}}')
    failed(
        cw.run("consent", "publish", cw.addresses["alice"], nan_profile, "-a", "shop"),
        "NaN at $.homeLocation.geo.latitude",
        "not JSON numbers",
    )
    failed(
        cw.run("consent", "grant", "dreams", "Blue Partners", "-p", "Marketing", "-a", "alice"), "unknown data category"
    )
    failed(
        cw.run("consent", "grant", "contact", "Blue Partners", "-p", "spam", "-a", "alice"), "unknown purpose 'spam'"
    )
    failed(cw.run("consent", "grant", "contact", "Nobody Inc", "-p", "Marketing", "-a", "alice"), "Nobody Inc")
    failed(
        cw.run("consent", "grant", "contact", "Blue Partners", "-p", "Marketing", "--reward", "lots", "-a", "alice"),
        "not an amount of DGR",
    )
    failed(
        cw.run("consent", "erase", "dreams", "--customer", cw.addresses["alice"], "-a", "shop"), "unknown data category"
    )
    failed(cw.run("consent", "erase", "contact", "-a", "alice"), "give either --shop-url")
    failed(cw.run("consent", "send", "0x12", "1", "-a", "alice"), "not an account address")
    failed(cw.run("consent", "send", cw.addresses["shop"], "1000", "-a", "alice"), "less than the 1000 DGR to send")
    assert cw.state() == before
    assert "Research and development" in ok(cw.run("consent", "purposes"))
