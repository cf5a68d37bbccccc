"""Sign-In with Ethereum as a dapp does it: the npm ``siwe`` package builds the EIP-4361 message, an ethers v6
wallet signs it, and the node opens a session; and the message Datagora's own client builds is one ``siwe`` parses
and verifies field for field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from datagora.api.signin_message import STATEMENT, siwe_message
from tests.interop.node_kit import needs_node, run_probe
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = [EMBEDDED, *needs_node]

WALLET_KEY = "0x" + "5e" * 32


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _challenge(net: Net, node: str) -> dict[str, Any]:
    response = net.http[node].get("/auth/nonce")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _wallet_fields(challenge: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    fields = {
        "domain": challenge["domain"],
        "statement": "Sign in to this Datagora node.",
        "uri": f"http://{challenge['domain']}",
        "version": "1",
        "chainId": challenge["chain_id"],
        "nonce": challenge["nonce"],
        "issuedAt": _iso(now),
        "expirationTime": _iso(now + timedelta(minutes=5)),
    }
    fields.update(overrides)
    return fields


def test_ethers_wallet_signs_in_with_a_siwe_package_message(net: Net) -> None:
    challenge = _challenge(net, "buyer")
    (signed,) = run_probe([{"op": "siweSign", "privateKey": WALLET_KEY, "fields": _wallet_fields(challenge)}])
    assert signed["address"] == Account.from_key(WALLET_KEY).address
    login = net.http["buyer"].post("/auth/login", json={"message": signed["message"], "signature": signed["signature"]})
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["address"] == signed["address"]
    me = net.http["buyer"].get("/auth/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert me.status_code == 200 and me.json()["address"] == signed["address"]


def test_siwe_package_message_for_another_domain_or_chain_is_refused(net: Net) -> None:
    first, second = _challenge(net, "buyer"), _challenge(net, "buyer")
    wrong_domain, wrong_chain = run_probe(
        [
            {"op": "siweSign", "privateKey": WALLET_KEY, "fields": _wallet_fields(first, domain="seller.test")},
            {"op": "siweSign", "privateKey": WALLET_KEY, "fields": _wallet_fields(second, chainId=1)},
        ]
    )
    for signed, reason in ((wrong_domain, "domain"), (wrong_chain, "chain")):
        refused = net.http["buyer"].post("/auth/login", json={k: signed[k] for k in ("message", "signature")})
        assert refused.status_code == 401 and reason in refused.json()["detail"]


def test_siwe_package_verifies_datagoras_message(net: Net) -> None:
    challenge = _challenge(net, "seller")
    account = Account.from_key(WALLET_KEY)
    message = siwe_message(
        domain=challenge["domain"],
        address=account.address,
        uri=f"http://{challenge['domain']}",
        chain_id=challenge["chain_id"],
        nonce=challenge["nonce"],
        issued_at=datetime.now(UTC),
    )
    signature = "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()
    other = "0x" + bytes(Account.from_key("0x" + "6f" * 32).sign_message(encode_defunct(text=message)).signature).hex()
    good, forged = run_probe(
        [
            {"op": "siweVerify", "message": message, "signature": signature},
            {"op": "siweVerify", "message": message, "signature": other},
        ]
    )
    assert good["success"] is True, good["error"]
    assert (good["address"], good["domain"], good["chainId"], good["nonce"], good["uri"], good["statement"]) == (
        account.address,
        challenge["domain"],
        challenge["chain_id"],
        challenge["nonce"],
        f"http://{challenge['domain']}",
        STATEMENT,
    )
    assert forged["success"] is False
