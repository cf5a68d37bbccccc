"""Fixtures of the shopping-cart contracts' tests (Consent, RewardToken, Streams, Shop), on top of the
``deployment`` of :mod:`tests.kits.contract_fixtures` (its Registry, actors and organisations).

Roles: Alice (Acme, audited) runs the shop and owns the customer stream, Carol (Acme) is a writer of it; Bob
(Beta, audited) is the partner enterprise that consumes data; Dave (Gamma, not audited) is a consumer that may
not; Erin is the customer (data subject); Mallory is a stranger. The platform deploys the RewardToken and mints
``TOKEN_START_BALANCE`` to Bob, Carol and Dave (consumers buy their tokens). Everything is deployed once per
module and each test runs in the module's snapshot (``_isolate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from datagora.domain.models import AccessRefusal, ConsentState
from tests.kits import compiled_contracts
from tests.kits.contract_kit import TOKEN_START_BALANCE, Deployment

CATEGORY = "purchase-history"
CATEGORY_HASH = keccak(text=CATEGORY)
MARKETING = "https://w3id.org/dpv#Marketing"
MARKETING_HASH = keccak(text=MARKETING)
RESEARCH = "https://w3id.org/dpv#ResearchAndDevelopment"
RESEARCH_HASH = keccak(text=RESEARCH)
REWARD = 5 * 10**18  # RewardToken units per access
DAY = 86_400

# Consent states and refusal reasons (contracts/Consent.vy).
CONSENT_ACTIVE, CONSENT_REVOKED = int(ConsentState.ACTIVE), int(ConsentState.REVOKED)
(
    REFUSED_NO_CONSENT,
    REFUSED_NOT_CONSUMER,
    REFUSED_WRONG_CATEGORY,
    REFUSED_WRONG_PURPOSE,
    REFUSED_REVOKED,
    REFUSED_EXPIRED,
    REFUSED_NO_ITEM,
    REFUSED_ITEM_ERASED,
    REFUSED_DEPOSIT_TOO_LOW,
) = (int(r) for r in AccessRefusal)

CART_QUOTE_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "CartQuote": [
        {"name": "orderHash", "type": "bytes32"},
        {"name": "buyer", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
    ],
}


@dataclass
class ShopChain:
    """The four shopping-cart contracts beside the market ``deployment`` ``d``."""

    d: Deployment
    token: Any
    streams: Any
    consent: Any
    shop: Any

    def quote(
        self, order_hash: bytes, buyer: str, amount: int, expiry: int, signer: LocalAccount | None = None
    ) -> bytes:
        """A 65-byte EIP-712 CartQuote signature (by ``signer``, default Alice the seller)."""
        message = {
            "types": CART_QUOTE_TYPES,
            "primaryType": "CartQuote",
            "domain": {
                "name": "Datagora Shop",
                "version": "1",
                "chainId": self.d.chain_id,
                "verifyingContract": self.shop.address,
            },
            "message": {"orderHash": order_hash, "buyer": buyer, "amount": amount, "expiry": expiry},
        }
        key = (signer or self.d.alice).key
        return bytes(Account.sign_message(encode_typed_data(full_message=message), key).signature)

    def now(self) -> int:
        return int(self.d.env.evm.patch.timestamp)


@pytest.fixture(scope="session")
def reward_token_deployer() -> Any:
    return compiled_contracts.deployer("RewardToken.vy")


@pytest.fixture(scope="session")
def streams_deployer() -> Any:
    return compiled_contracts.deployer("Streams.vy")


@pytest.fixture(scope="session")
def consent_deployer() -> Any:
    return compiled_contracts.deployer("Consent.vy")


@pytest.fixture(scope="session")
def shop_deployer() -> Any:
    return compiled_contracts.deployer("Shop.vy")


@pytest.fixture(scope="module")
def sc(
    deployment: Deployment, reward_token_deployer: Any, streams_deployer: Any, consent_deployer: Any, shop_deployer: Any
) -> ShopChain:
    """RewardToken, Streams, Consent and Shop deployed by the platform once per module; consumers funded."""
    d = deployment
    with d.env.prank(d.platform.address):
        token = reward_token_deployer.deploy("Datagora Reward", "DGR")
        streams = streams_deployer.deploy(d.registry.address)
        consent = consent_deployer.deploy(d.registry.address, streams.address, token.address)
        shop = shop_deployer.deploy(d.registry.address)
        for consumer in (d.bob, d.carol, d.dave):
            token.mint(consumer.address, TOKEN_START_BALANCE)
    return ShopChain(d=d, token=token, streams=streams, consent=consent, shop=shop)
