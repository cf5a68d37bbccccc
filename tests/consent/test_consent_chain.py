"""The shopping-cart contracts through the Contracts facade on each backend (the embedded EVM, and Anvil): a
customer grants consent, the partner's access is recorded and pays her reward, she revokes, the next access is
refused (and the refusal recorded), the item is erased, and a cart is paid once, delivered and confirmed. The
audit trail describes every step."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from datagora.chain.client import connect
from datagora.chain.contracts import Contracts
from datagora.domain.errors import DeploymentError, TransactionReverted
from datagora.domain.models import AccessRefusal, ConsentState, OrderState
from datagora.services import audit
from tests.world import ETHER, World

CATEGORY = "purchase-history"
MARKETING = "https://w3id.org/dpv#Marketing"
RESEARCH = "https://w3id.org/dpv#ResearchAndDevelopment"
REWARD = 5 * 10**18
DAY = 86_400


def test_grant_access_pays_revoke_refuses_erase(world: World) -> None:
    c, chain = world.contracts, world.chain
    shop, partner = world.seller, world.buyer
    customer = Account.create()
    chain.fund(customer.address, ETHER)

    stream_id, _ = c.streams.create_stream(shop.account, "seller-shop/customers")
    item_id, _ = c.streams.publish(shop.account, stream_id, "customer-1/purchase-history", b"\x11" * 32, "blob://1")
    consent_id, granted = c.consent.grant(customer, CATEGORY, world.orgs["buyer"], MARKETING, chain.now() + DAY, REWARD)
    assert [e.name for e in granted.events] == ["ConsentGranted"]
    assert c.consent.consent(consent_id).state is ConsentState.ACTIVE

    c.reward_token.mint(world.platform.account, partner.address, 100 * 10**18)
    c.reward_token.approve(partner.account, c.consent.address, 100 * 10**18)
    c.consent.deposit(partner.account, 100 * 10**18)

    assert c.consent.check(consent_id, partner.address, CATEGORY, RESEARCH, item_id) is AccessRefusal.WRONG_PURPOSE
    with pytest.raises(TransactionReverted, match="consent: wrong purpose"):
        c.consent.record_access(partner.account, consent_id, CATEGORY, RESEARCH, item_id)
    recorded = c.consent.record_access(partner.account, consent_id, CATEGORY, MARKETING, item_id)
    assert [e.name for e in recorded.events] == ["AccessRecorded"]
    assert c.consent.pending(customer.address) == REWARD
    c.consent.withdraw(customer)
    assert c.reward_token.balance(customer.address) == REWARD

    c.consent.revoke(customer, consent_id)
    refusal, res = c.consent.request_access(partner.account, consent_id, CATEGORY, MARKETING, item_id)
    assert refusal is AccessRefusal.REVOKED
    assert [e.name for e in res.events] == ["AccessRefused"]
    assert c.consent.deposit_of(partner.address) == 100 * 10**18 - REWARD

    c.streams.erase(shop.account, item_id)
    assert c.streams.item(item_id).erased

    trail = audit.audit_trail(c, account=customer.address)
    details = [r.detail for r in trail]
    assert any("consented #1" in d and MARKETING in d for d in details)
    assert any("accessed item #1" in d and "5.000000 DGR" in d for d in details)
    assert any("the consent was revoked" in d for d in details)


def test_a_cart_is_paid_once_delivered_and_confirmed(world: World) -> None:
    c, chain = world.contracts, world.chain
    seller, buyer = world.seller, world.buyer
    c.shop.set_terms(seller.account, 10_000, 3_600, 7_200)
    c.shop.deposit_bond(seller.account, 2 * ETHER)
    cart = b"\x42" * 32
    expiry = chain.now() + 600
    signature = c.shop.quote(seller.account, cart, buyer.address, ETHER, expiry)
    c.shop.pay(buyer.account, cart, seller.address, ETHER, expiry, signature)
    with pytest.raises(TransactionReverted, match="shop: order already paid"):
        c.shop.pay(buyer.account, cart, seller.address, ETHER, expiry, signature)
    assert c.shop.order(cart).state is OrderState.PAID
    c.shop.deliver(seller.account, cart, b"\x01" * 32)
    c.shop.confirm(buyer.account, cart)
    order = c.shop.order(cart)
    assert (order.state, order.amount, order.collateral) == (OrderState.COMPLETED, ETHER, ETHER)
    assert c.shop.pending(seller.address) == ETHER and c.shop.pending(buyer.address) == ETHER
    assert c.shop.bond(seller.address) == 2 * ETHER
    trail = [r.detail for r in audit.audit_trail(c, account=buyer.address) if r.contract == "Shop"]
    assert len(trail) == 3 and "confirmed by the buyer" in trail[-1]


def test_a_deployment_made_before_the_shop_contracts_takes_them_with_add(tmp_path: Path) -> None:
    """``datagora deploy --add NAME`` for each: the market's contracts keep their addresses; Consent needs its
    token and streams first."""
    chain = connect(None)
    supervisor, platform = Account.create(), Account.create()
    for who in (supervisor, platform):
        chain.fund(who.address, 10 * ETHER)
    market_set = Contracts.deploy(
        chain, supervisor, platform, only=["Registry", "Catalog", "Market", "UseRights", "Reputation"]
    )
    with pytest.raises(DeploymentError, match="datagora deploy --add Consent"):
        market_set.consent.deposit_of(platform.address)
    with pytest.raises(DeploymentError, match="Consent needs Streams, RewardToken deployed first"):
        Contracts.add(chain, market_set.deployment, "Consent", {"platform": platform}, fee_bps=250)
    deployment = market_set.deployment
    for name in ("RewardToken", "Streams", "Consent", "Shop"):
        deployment = Contracts.add(chain, deployment, name, {"platform": platform}, fee_bps=250).deployment
    deployment.save(tmp_path)
    grown = Contracts.attach(chain, tmp_path)
    assert {k: grown.addresses[k] for k in market_set.addresses} == market_set.addresses
    assert grown.consent.reward_token() == grown.reward_token.address
    assert grown.reward_token.total_supply() == 0 and grown.shop.terms(platform.address)[3] is False
