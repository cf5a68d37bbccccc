"""The shop from the command line: ``datagora demo shop`` plays the checkout story on the built-in chain;
``datagora serve --shop`` refuses a bad catalogue in words; and (slow, Anvil) a customer shops at a shop node
served over HTTP with their own keystore: catalogue, cart, checkout paid from their account, the same cart
refused a second time with nothing sent, orders, delivery by the shop, confirmation, withdrawal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.keys import load_keystore
from datagora.services import shop
from datagora.services.participant import Participant
from tests.kits.cli_fixtures import PASSWORD, CliWorld, failed, invoke, make_keystores, ok


@pytest.mark.slow  # ~6 s on a quiet machine: a fresh chain, contracts and the whole story
def test_demo_shop_plays_the_checkout_story() -> None:
    out = ok(invoke(["demo", "shop"]))
    assert "ESCROW EMPTY (the Shop contract holds nothing)" in out
    assert "paid the same cart again from another tab: refused, nothing sent" in out
    assert "Balances in ETH" in out and out.count("withdrew what the shop owed them") == 3


def test_serve_refuses_a_bad_catalogue(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,category,price_eth,stock\nA,Thing,misc,1.2.3,4\n")
    failed(invoke(["serve", "--shop", str(bad)]), "bad.csv line 2: price_eth: '1.2.3' is not an amount in ETH")
    failed(invoke(["serve", "--shop", str(tmp_path / "none.csv")]), "no catalogue file")


@pytest.fixture(scope="module")
def shop_world(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CliWorld, str]]:
    from tests.web.conftest import serve_node

    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("cli-shop")
    w = CliWorld(home, anvil_url, chain, make_keystores(home, "supervisor", "platform", "shop", "alice"))
    node = None
    try:
        for name in ("supervisor", "platform", "shop"):
            ok(w.run("account", "fund", name, "--ether", "10"))
        ok(w.run("account", "fund", "alice", "--ether", "1"))
        ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        ok(w.run("org", "register", "Northside Coffee", "-a", "shop"))
        ok(w.run("org", "status", "Northside Coffee", "audited", "-a", "supervisor"))
        contracts = Contracts.attach(chain, home / "deployments")
        seller = Participant("shop", load_keystore(home / "keystores" / "shop.json", PASSWORD), home / "shop")
        failed(w.run("shop", "open", "--bond", "lots", "-a", "shop"), "--bond: 'lots' is not an amount in ETH")
        assert "Shop open: 100 % deposit" in ok(
            w.run("shop", "open", "--bond", "1", "--delivery-days", "1", "--confirm-days", "1", "-a", "shop")
        )
        node = serve_node("shop", seller, contracts, home / "node")
        node.node.shop = shop.open_shop_service(node.node, shop.shipped_catalogue())
        yield w, node.url
    finally:
        if node is not None:
            node.stop()
        chain.revert(snap)


@pytest.mark.slow
def test_customer_shops_with_own_keystore(shop_world: tuple[CliWorld, str]) -> None:
    w, url = shop_world
    assert "Conical burr hand grinder" in ok(w.run("shop", "catalogue", "--shop-url", url))
    out = ok(w.run("shop", "cart", "add", "GRD-BUR-01", "-q", "2", "--shop-url", url, "-a", "alice"))
    assert "0.062 ETH" in out
    assert "GRD-BUR-01" in ok(w.run("shop", "cart", "show", "--shop-url", url, "-a", "alice"))
    paid = ok(w.run("shop", "checkout", "-y", "--shop-url", url, "-a", "alice"))
    assert "You send 0.124 ETH" in paid and "Paid order 0x" in paid
    order = paid.split("Paid order ")[1].split()[0]
    assert "Your cart is empty" in ok(w.run("shop", "cart", "show", "--shop-url", url, "-a", "alice"))
    assert "paid" in ok(w.run("shop", "orders", "--shop-url", url, "-a", "alice"))
    failed(w.run("shop", "confirm", order, "-a", "alice"), "not marked this order delivered")
    ok(w.run("shop", "deliver", order, "--note", "Royal Mail RM1", "--shop-url", url, "-a", "shop"))
    assert "Confirmed order" in ok(w.run("shop", "confirm", order, "-a", "alice"))
    assert "Withdrew 0.062 ETH" in ok(w.run("shop", "withdraw", "-a", "alice"))
    assert "completed (confirmed)" in ok(w.run("shop", "orders", "--shop-url", url, "-a", "alice"))
