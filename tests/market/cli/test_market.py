"""The market commands of issue 4 on the session Anvil node: listing with collateral, an ERC-20 or for
negotiation / auction; offers, counters, acceptance, rejection and withdrawal of offers; bids and settlement;
disputes; expiry of use-rights; withdrawals per token; the platform's parameters. Each command's happy path and
one refusal (one ``error:`` line, exit 1, nothing sent)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from eth_account.signers.local import LocalAccount

from datagora.chain.bindings.tokens import TokensBinding
from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256
from datagora.crypto.keys import load_keystore
from datagora.domain.models import OfferState, OrderState
from tests.kits.cli_fixtures import PASSWORD, CliWorld, failed, make_keystores, ok, write_csv

NAMES = ("supervisor", "platform", "seller", "buyer", "bidder")
ORGS = {"platform": "Platform", "seller": "Seller Org", "buyer": "Buyer Org", "bidder": "Bidder Org"}
ETHER = 10**18
TX = re.compile(r"tx 0x[0-9a-f]{64}")


@pytest.fixture(scope="module")
def world_base(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    """Deployed through the CLI with four audited organisations; the seller published datasets 1-6, none
    listed yet."""
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("cli-market")
    w = CliWorld(home, anvil_url, chain, make_keystores(home, *NAMES))
    try:
        for name in NAMES:
            ok(w.run("account", "fund", name, "--ether", "20"))
        ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        for label, org in ORGS.items():
            ok(w.run("org", "register", org, "-a", label))
            ok(w.run("org", "status", org, "audited", "-a", "supervisor"))
        for i in range(1, 7):
            path = write_csv(home / "data" / f"dataset-{i}.csv")
            assert f"as dataset #{i}" in ok(w.run("publish", path, "-a", "seller", "--platform", "platform"))
        yield w
    finally:
        chain.revert(snap)


@pytest.fixture
def w(world_base: CliWorld) -> Iterator[CliWorld]:
    snap = world_base.chain.snapshot()
    try:
        yield world_base
    finally:
        world_base.chain.revert(snap)


def contracts_of(w: CliWorld) -> Contracts:
    return Contracts.attach(w.chain, w.home / "deployments")


def account(w: CliWorld, name: str) -> LocalAccount:
    return load_keystore(w.home / "keystores" / f"{name}.json", PASSWORD)


def refused(w: CliWorld, args: tuple[object, ...], *fragments: str) -> str:
    """A command that must fail with one ``error:`` line and send nothing."""
    before = w.state()
    message = failed(w.run(*args), *fragments)
    assert w.state() == before, f"{args} changed the chain state"
    return message


def flat(text: str) -> str:
    return " ".join(text.split())


# -- listing ---------------------------------------------------------------------------------------------------


def test_list_with_collateral_and_default_collateral(w: CliWorld) -> None:
    out = flat(ok(w.run("list", 1, "-a", "seller", "--price", "0.5", "--collateral", "100000000000000000wei")))
    assert "listing #1: dataset #1 for 0.5 ETH, collateral 0.1 ETH" in out and TX.search(out)
    out = flat(ok(w.run("list", 2, "-a", "seller", "--price", "0.3eth")))
    assert "listing #2: dataset #2 for 0.3 ETH, collateral 0.3 ETH" in out  # default: 100 % of the price
    c = contracts_of(w)
    assert (c.market.listing(1).collateral, c.market.listing(2).collateral) == (ETHER // 10, 3 * ETHER // 10)
    assert c.market.escrowed() == 4 * ETHER // 10
    refused(w, ("list", 3, "-a", "seller"), "give the price")
    refused(w, ("list", 3, "-a", "seller", "--price", "1", "--negotiable", "--auction"), "one of --negotiable")
    refused(w, ("list", 3, "-a", "seller", "--price", "1", "--reserve", "1"), "are for --auction")
    refused(w, ("list", 3, "-a", "seller", "--auction", "--reserve", "1"), "needs --min-increment")
    refused(w, ("list", 3, "-a", "seller", "--price", "1", "--token", "0x1234"), "not an address")


def test_list_and_withdraw_in_an_erc20(w: CliWorld) -> None:
    chain = w.chain
    token = TokensBinding.deploy_demo(chain, account(w, "platform"))
    c = contracts_of(w)
    for who in ("seller", "buyer"):
        c.tokens.mint(account(w, "platform"), token, w.addresses[who], 10 * ETHER)
    out = flat(ok(w.run("list", 1, "-a", "seller", "--price", "2", "--collateral", "1", "--token", token)))
    assert "approved the market to take the collateral" in out
    assert "listing #1: dataset #1 for 2 DGD, collateral 1 DGD" in out  # 18 decimals, shown by symbol
    assert "order #1 paid into escrow: 2 DGD plus 1 DGD collateral" in flat(ok(w.run("buy", 1, "-a", "buyer")))
    assert c.market.escrowed(token) == 4 * ETHER
    ok(w.run("deliver", 1, "-a", "seller", "--out", w.home / "outbox"))
    ok(w.run("confirm", 1, "-a", "buyer"))
    refused(w, ("withdraw", "-a", "seller"), "nothing to withdraw")  # owed in the token, not in ether
    fee = 2 * ETHER * c.market.fee_bps() // 10_000
    out = flat(ok(w.run("withdraw", "-a", "seller", "--token", token)))
    assert f"withdrew {(Decimal(3 * ETHER - fee) / ETHER).normalize():f} DGD ({3 * ETHER - fee:,} units)" in out
    assert c.tokens.balance(token, w.addresses["seller"]) == 10 * ETHER + 2 * ETHER - fee
    refused(w, ("withdraw", "-a", "seller", "--token", token), "nothing to withdraw")
    refused(w, ("withdraw", "-a", "seller", "--token", "ether"), "not an address")


# -- negotiation -----------------------------------------------------------------------------------------------


def test_offer_counter_and_accept_counter(w: CliWorld) -> None:
    out = flat(ok(w.run("list", 1, "-a", "seller", "--negotiable", "--price", "1", "--collateral", "0.1")))
    assert "listing #1: dataset #1 for negotiation, asking 1 ETH, collateral 0.1 ETH" in out
    out = flat(ok(w.run("offer", 1, "0.8", "-a", "buyer", "--valid-for", "3600")))
    assert "offer #1 on listing #1: 0.8 ETH (plus 0.1 ETH collateral) held in escrow, open for 1 h" in out
    c = contracts_of(w)
    assert c.market.offer(1).expiry > 0 and c.market.escrowed() == ETHER // 10 + 9 * ETHER // 10
    refused(w, ("accept-counter", 1, "--counter", "0.9", "-a", "buyer"), "no counter")
    refused(w, ("counter", 1, "0.9", "-a", "buyer"), "not seller")
    assert "countered offer #1 with 0.9 ETH" in flat(ok(w.run("counter", 1, "0.9", "-a", "seller")))
    refused(w, ("accept-counter", 1, "--counter", "0.85", "-a", "buyer"), "counter changed")
    out = flat(ok(w.run("accept-counter", 1, "--counter", "0.9", "-a", "buyer")))
    assert "accepted the counter on offer #1: order #1 paid into escrow" in out
    assert c.market.order(1).amount == 9 * ETHER // 10 and c.market.order(1).state == OrderState.PAID
    assert c.market.offer(1).state == OfferState.ACCEPTED
    refused(w, ("offer", 2, "0.5", "-a", "buyer"), "unknown listing id 2")


def test_accept_reject_and_withdraw_offers(w: CliWorld) -> None:
    ok(w.run("list", 1, "-a", "seller", "--negotiable", "--price", "1"))
    ok(w.run("list", 2, "-a", "seller", "--price", "1"))
    refused(w, ("offer", 2, "0.5", "-a", "buyer"), "not negotiable")
    for who, amount in (("buyer", "0.5"), ("bidder", "0.6"), ("buyer", "0.7")):
        ok(w.run("offer", 1, amount, "-a", who))
    refused(w, ("reject", 1, "-a", "buyer"), "not seller")
    assert "rejected offer #1" in ok(w.run("reject", 1, "-a", "seller"))
    refused(w, ("withdraw-offer", 2, "-a", "seller"), "not offer buyer")
    assert "withdrew offer #2" in ok(w.run("withdraw-offer", 2, "-a", "bidder"))
    refused(w, ("accept", 3, "-a", "buyer"), "not seller")
    assert "accepted offer #3: order #1 paid into escrow" in flat(ok(w.run("accept", 3, "-a", "seller")))
    c = contracts_of(w)
    assert [c.market.offer(i).state for i in (1, 2, 3)] == [
        OfferState.REJECTED,
        OfferState.WITHDRAWN,
        OfferState.ACCEPTED,
    ]
    assert c.market.order(1).amount == 7 * ETHER // 10
    # the rejected and the withdrawn offers' escrow (amount plus collateral) is owed back
    assert "withdrew 1.5 ETH" in ok(w.run("withdraw", "-a", "buyer"))
    assert "withdrew 1.6 ETH" in ok(w.run("withdraw", "-a", "bidder"))


# -- auctions --------------------------------------------------------------------------------------------------


def test_auction_bids_and_settlement(w: CliWorld) -> None:
    args = ("--auction", "--reserve", "0.5", "--min-increment", "0.1", "--duration", "600", "--collateral", "0")
    out = flat(ok(w.run("list", 1, "-a", "seller", *args)))
    assert "listing #1: dataset #1 at auction, reserve 0.5 ETH, collateral 0 ETH" in out
    refused(w, ("bid", 1, "0.4", "-a", "buyer"), "below reserve")
    assert "bid 0.5 ETH on listing #1" in flat(ok(w.run("bid", 1, "0.5", "-a", "buyer")))
    refused(w, ("bid", 1, "0.55", "-a", "bidder"), "bid too low")
    ok(w.run("bid", 1, "0.6", "-a", "bidder"))
    refused(w, ("settle", 1, "-a", "seller"), "auction not ended")
    w.chain.advance_time(601)
    out = flat(ok(w.run("settle", 1, "-a", "seller")))
    assert "settled the auction of listing #1: order #1 for the highest bidder" in out
    c = contracts_of(w)
    assert (c.market.order(1).buyer, c.market.order(1).amount) == (w.addresses["bidder"], 6 * ETHER // 10)
    assert "withdrew 0.5 ETH" in ok(w.run("withdraw", "-a", "buyer"))  # outbid: its bid back

    ok(w.run("list", 2, "-a", "seller", "--auction", "--price", "1", "--min-increment", "1000wei", "--duration", "60"))
    w.chain.advance_time(61)
    out = flat(ok(w.run("settle", 2, "-a", "buyer")))
    assert "settled the auction of listing #2 without bids: the dataset returns to the seller" in out
    assert c.catalog.owner_of(2) == w.addresses["seller"]


# -- disputes and use-rights -----------------------------------------------------------------------------------


def test_dispute_a_delivered_order(w: CliWorld) -> None:
    ok(w.run("list", 1, "-a", "seller", "--price", "0.5"))
    ok(w.run("buy", 1, "-a", "buyer"))
    refused(w, ("dispute", 1, "-a", "buyer", "--reason", "never arrived"), "order not delivered")
    # an earlier test (on a chain state since reverted) delivered an order #1 into the same folder
    ok(w.run("deliver", 1, "-a", "seller", "--out", w.home / "outbox", "--force"))
    refused(w, ("dispute", 1, "-a", "buyer", "--reason", "  "), "give a reason")
    refused(w, ("dispute", 1, "-a", "seller", "--reason", "mine"), "not buyer or platform")
    out = flat(ok(w.run("dispute", 1, "-a", "buyer", "--reason", "rows differ from the description")))
    assert re.search(r"disputed order #1: the platform rules by \d{4}-\d\d-\d\d \d\d:\d\d UTC", out), out
    c = contracts_of(w)
    assert c.market.order(1).state == OrderState.DISPUTED
    trail = w.trail()
    disputed = next(r for r in trail if r["action"] == "Disputed")
    assert disputed["actor"] == w.addresses["buyer"]
    assert keccak256(b"rows differ from the description").hex()[:16] in str(disputed["detail"])


def test_expire_a_use_right_order(w: CliWorld) -> None:
    c = contracts_of(w)
    listing_id, _ = c.use_rights.list_use_right(account(w, "seller"), 1, ETHER // 100, 5, 600, keccak256(b"policy"))
    order_id, _ = c.use_rights.buy_queries(account(w, "buyer"), listing_id, 3, 3 * ETHER // 100)
    refused(w, ("expire", order_id, "-a", "buyer"), "usage window not over")
    w.chain.advance_time(601)
    out = flat(ok(w.run("expire", order_id, "-a", "buyer")))
    assert f"expired order #{order_id}: 0.03 ETH unused credit owed to the buyer" in out
    assert c.market.order(order_id).state == OrderState.REFUNDED
    settled = [r for r in w.trail() if r["action"] == "Settled"]
    assert "usage window is over" in str(settled[-1]["detail"])
    ok(w.run("list", 2, "-a", "seller", "--price", "0.5"))  # the Market's listing #1: ids of UseRights are apart
    ok(w.run("buy", 1, "-a", "buyer"))
    refused(w, ("expire", 1, "-a", "buyer"), "not a use-right order")


def test_rate_the_other_party_once_settled(w: CliWorld) -> None:
    ok(w.run("list", 1, "-a", "seller", "--price", "0.5"))
    ok(w.run("buy", 1, "-a", "buyer"))
    refused(w, ("rate", 1, "5", "-a", "buyer"), "reputation: order not")  # not settled yet
    ok(w.run("deliver", 1, "-a", "seller", "--out", w.home / "outbox", "--force"))
    ok(w.run("confirm", 1, "-a", "buyer"))
    refused(w, ("rate", 1, "6", "-a", "buyer"), "score must be an integer from 1 to 5")
    refused(w, ("rate", 1, "3", "-a", "bidder"), "reputation: not a party")
    out = flat(ok(w.run("rate", 1, "5", "-a", "buyer")))
    assert f"rated order #1 5/5 (the other party, {w.addresses['seller']})" in out
    assert f"(the other party, {w.addresses['buyer']})" in flat(ok(w.run("rate", 1, "4", "-a", "seller")))
    refused(w, ("rate", 1, "5", "-a", "buyer"), "reputation: already rated")
    assert contracts_of(w).reputation.totals(w.addresses["seller"]) == (5, 1)


# -- the platform's parameters ---------------------------------------------------------------------------------


def test_market_params(w: CliWorld) -> None:
    out = flat(ok(w.run("market", "params")))
    assert "brokerage fee 250 bps, management fee 0 ETH per listing, dispute window 7 days" in out
    refused(w, ("market", "params", "--fee-bps", "100", "-a", "seller"), "not the owner")
    refused(w, ("market", "params", "--fee-bps", "1001", "-a", "platform"), "above the Market's maximum")
    refused(w, ("market", "params", "--fee-bps", "100"), "--account")
    out = flat(ok(w.run("market", "params", "--management-fee", "0.01", "--dispute-window", "3600", "-a", "platform")))
    assert "changed the Market's parameters" in out
    assert "brokerage fee 250 bps, management fee 0.01 ETH per listing, dispute window 1 h" in out
    seller_before = w.chain.balance(w.addresses["seller"])
    ok(w.run("list", 1, "-a", "seller", "--price", "0.5", "--collateral", "0"))
    c = contracts_of(w)
    assert c.market.pending_withdrawal(w.addresses["platform"]) == ETHER // 100  # the management fee
    assert w.chain.balance(w.addresses["seller"]) < seller_before - ETHER // 100
    changed = [r for r in w.trail() if r["action"] == "ParametersChanged"]
    # the fees apply to use-rights too: UseRights gets the same brokerage and management fee
    assert [r["contract"] for r in changed] == ["Market", "UseRights"]
    assert all(r["actor"] == w.addresses["platform"] for r in changed)
    assert "use-rights to 250 bps and their management fee to 0.010000 ETH" in changed[1]["detail"]
    assert (c.use_rights.fee_bps(), c.use_rights.management_fee()) == (250, ETHER // 100)
