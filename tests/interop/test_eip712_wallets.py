"""Datagora's EIP-712 signatures as wallets and dapps see them: ethers v6 and @metamask/eth-sig-util (npm).

For every typed structure Datagora signs (the platform's novelty attestation, a buyer's query request, the relay's
delivery notices), the two libraries must compute the digest Datagora computes, recover the Datagora signer from
Datagora's signature, and produce the very same signature from the same key (RFC 6979 nonces), which Datagora
recovers in turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account

from datagora.crypto.eip712 import novelty_attestation, recover_typed_data, sign_typed_data, typed_data_digest
from datagora.services.relay import DeliveryNotice
from datagora.services.use_rights import query_request_typed_data
from tests.interop.node_kit import jsonable, needs_node, run_probe

pytestmark = needs_node

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
SIGNER = Account.from_key(KEY).address
CATALOG = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MARKET = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
BUYER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"

STRUCTURES: dict[str, Callable[[], dict[str, Any]]] = {
    "novelty attestation": lambda: novelty_attestation(
        31337, CATALOG, SIGNER, b"\x11" * 32, b"\x44" * 32, b"\x22" * 32, b"\x33" * 32, 1_900_000_000
    ),
    "novelty attestation, uint256 max expiry, mainnet": lambda: novelty_attestation(
        1, CATALOG, SIGNER, b"\xff" * 32, b"\x00" * 32, b"\x01" * 32, b"\x80" * 32, 2**256 - 1
    ),
    "query request": lambda: query_request_typed_data(11155111, MARKET, 7, 3, b"\xab" * 32),
    "delivery notice, sent": lambda: DeliveryNotice.of(
        5, SIGNER, BUYER, b"\x5a" * 32, 1_750_000_000, False, b"\x77" * 32
    ).typed_data(31337, MARKET),
    "delivery notice, received": lambda: DeliveryNotice.of(
        5, BUYER, SIGNER, b"\x5a" * 32, 1_750_000_100, True
    ).typed_data(31337, MARKET),
}


def typed_data_command(typed: dict[str, Any], signature: bytes) -> dict[str, Any]:
    return {
        "op": "typedData",
        "data": jsonable(typed),
        "signature": "0x" + signature.hex(),
        "privateKey": "0x" + KEY.hex(),
    }


@pytest.fixture(scope="module")
def probed() -> dict[str, tuple[dict[str, Any], bytes, dict[str, Any]]]:
    """Each structure, Datagora's signature of it, and what ethers / eth-sig-util make of them (one node run)."""
    signed = {name: (make(), sign_typed_data(KEY, make())) for name, make in STRUCTURES.items()}
    results = run_probe([typed_data_command(typed, sig) for typed, sig in signed.values()])
    return {name: (typed, sig, out) for (name, (typed, sig)), out in zip(signed.items(), results, strict=True)}


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_wallet_libraries_compute_datagoras_digest(probed: dict[str, Any], name: str) -> None:
    typed, _, out = probed[name]
    digest = "0x" + typed_data_digest(typed).hex()
    assert out["ethersDigest"] == digest
    assert out["sigUtilDigest"] == digest


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_wallet_libraries_recover_datagoras_signer(probed: dict[str, Any], name: str) -> None:
    _, _, out = probed[name]
    assert out["walletAddress"] == SIGNER
    assert out["ethersRecovered"] == SIGNER
    assert out["sigUtilRecovered"] == SIGNER


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_wallet_signatures_equal_datagoras_and_recover_in_datagora(probed: dict[str, Any], name: str) -> None:
    typed, signature, out = probed[name]
    for produced in (out["ethersSignature"], out["sigUtilSignature"]):
        assert produced == "0x" + signature.hex()
        assert recover_typed_data(typed, bytes.fromhex(produced[2:])) == SIGNER


@pytest.mark.parametrize("tamper", ["message", "signature"])
def test_tampering_breaks_recovery(probed: dict[str, Any], tamper: str) -> None:
    """The probe really checks: another expiry, or one flipped bit of s, and neither library recovers Datagora's
    signer (or recovers nothing at all)."""
    typed, signature, _ = probed["novelty attestation"]
    if tamper == "message":
        typed = {**typed, "message": {**typed["message"], "expiry": typed["message"]["expiry"] + 1}}
    else:
        signature = signature[:63] + bytes([signature[63] ^ 0x01]) + signature[64:]
    (out,) = run_probe([typed_data_command(typed, signature)])
    assert out["ethersRecovered"] != SIGNER
    assert out["sigUtilRecovered"] != SIGNER


def test_delivery_notice_domain_has_no_verifying_contract() -> None:
    """A wallet checking the domain's verifying contract against the contract it names finds none to mismatch;
    the Market is a field of the notice, so a notice still binds one deployment."""
    notice = DeliveryNotice.of(5, SIGNER, BUYER, b"\x5a" * 32, 1_750_000_000, False)
    typed = notice.typed_data(31337, MARKET)
    assert set(typed["domain"]) == {"name", "version", "chainId"}
    assert typed["message"]["market"] == MARKET
    signature = notice.sign(KEY, 31337, MARKET)
    assert notice.signer(signature, 31337, MARKET) == SIGNER
    assert notice.signer(signature, 31337, CATALOG) != SIGNER
    assert notice.signer(signature, 1, MARKET) != SIGNER
