"""Sign-In with Ethereum (EIP-4361): a good sign-in opens a session; a wrong signature, domain, chain, a
reused or unknown nonce, an expired message or session, and a missing or bogus token all give 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from datagora.api.signin_message import siwe_message
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = EMBEDDED


def _challenge(http: TestClient) -> dict[str, Any]:
    response = http.get("/auth/nonce")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _signed(
    signer: LocalAccount, challenge: dict[str, Any], *, address: str | None = None, **overrides: Any
) -> dict[str, str]:
    fields: dict[str, Any] = {
        "domain": challenge["domain"],
        "address": address or signer.address,
        "uri": f"http://{challenge['domain']}",
        "chain_id": challenge["chain_id"],
        "nonce": challenge["nonce"],
        "issued_at": datetime.now(UTC),
    }
    fields.update(overrides)
    message = siwe_message(**fields)
    signature = signer.sign_message(encode_defunct(text=message)).signature
    return {"message": message, "signature": "0x" + bytes(signature).hex()}


def _refused(http: TestClient, body: dict[str, str], reason: str) -> None:
    response = http.post("/auth/login", json=body)
    assert response.status_code == 401, response.text
    assert reason in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_sign_in_opens_a_session(net: Net) -> None:
    http, buyer = net.http["buyer"], net.world.buyer
    login = http.post("/auth/login", json=_signed(buyer.account, _challenge(http)))
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["address"] == buyer.address and session["token_type"] == "bearer"
    assert len(session["token"]) >= 40
    me = http.get("/auth/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert me.json() == {
        "address": buyer.address,
        "expires_at": session["expires_at"],
        "operator": True,
        "supervisor": False,
        "audited": True,
    }
    # the same key signs in at another node, where it is not the operator
    me_elsewhere = net.client("seller", as_="buyer").me()
    assert me_elsewhere["address"] == buyer.address and me_elsewhere["operator"] is False


def test_wrong_signature_is_refused(net: Net) -> None:
    http = net.http["buyer"]
    impostor: LocalAccount = Account.create()
    # signed by another key while naming the buyer's address
    _refused(http, _signed(impostor, _challenge(http), address=net.world.buyer.address), "signature")
    # a well-formed but tampered message: the signature no longer matches
    body = _signed(net.world.buyer.account, _challenge(http))
    body["message"] = body["message"].replace("Sign in to", "Sign into")
    _refused(http, body, "signature")


def test_wrong_domain_or_chain_is_refused(net: Net) -> None:
    http, buyer = net.http["buyer"], net.world.buyer.account
    _refused(http, _signed(buyer, _challenge(http), domain="seller.test"), "domain")
    _refused(http, _signed(buyer, _challenge(http), chain_id=1), "chain")


def test_nonce_is_single_use_and_must_be_issued(net: Net) -> None:
    http, buyer = net.http["buyer"], net.world.buyer.account
    body = _signed(buyer, _challenge(http))
    assert http.post("/auth/login", json=body).status_code == 200
    _refused(http, body, "nonce")  # replay
    _refused(http, _signed(buyer, _challenge(http), nonce="a1b2c3d4e5f6a7b8c9d0e1"), "nonce")  # never issued
    # a nonce issued by the seller's node does not open a session at the buyer's
    _refused(http, _signed(buyer, _challenge(net.http["seller"]), domain="buyer.test"), "nonce")


def test_expired_message_nonce_and_session_are_refused(net: Net) -> None:
    http, buyer = net.http["buyer"], net.world.buyer.account
    old = datetime.now(UTC) - timedelta(minutes=10)
    _refused(http, _signed(buyer, _challenge(http), issued_at=old, expires_in=timedelta(minutes=5)), "expired")

    stale = _challenge(http)
    net.clock.advance(301)  # nonce_ttl is 300 s
    _refused(http, _signed(buyer, stale), "nonce")

    later = datetime.fromtimestamp(net.clock(), UTC)  # the node's clock has moved on
    login = http.post("/auth/login", json=_signed(buyer, _challenge(http), issued_at=later)).json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    assert http.get("/auth/me", headers=headers).status_code == 200
    net.clock.advance(3_601)  # session_ttl is 3600 s
    expired = http.get("/auth/me", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_session_ends_no_later_than_the_message_expiry(net: Net) -> None:
    http, buyer = net.http["buyer"], net.world.buyer.account
    issued = datetime.now(UTC)
    body = _signed(buyer, _challenge(http), issued_at=issued, expires_in=timedelta(minutes=2))
    session = http.post("/auth/login", json=body).json()
    assert session["expires_at"] <= issued.timestamp() + 120  # the message's Expiration Time ...
    assert session["expires_at"] < net.clock() + 3_600 - 60  # ... not the session lifetime


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-session"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["missing", "unknown", "not-bearer"],
)
def test_routes_need_a_valid_session(net: Net, headers: dict[str, str]) -> None:
    http = net.http["seller"]
    for method, path in (("GET", "/auth/me"), ("GET", "/datasets"), ("POST", "/withdrawals"), ("GET", "/audit")):
        response = http.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_logout_ends_the_session_and_malformed_logins_are_401_or_422(net: Net) -> None:
    http = net.http["buyer"]
    client = net.client("buyer")
    token = client.token()
    client.logout()
    assert http.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert http.post("/auth/login", json={"message": "hello", "signature": "0x" + "00" * 65}).status_code == 401
    assert http.post("/auth/login", json={"message": "hello", "signature": "0x00"}).status_code == 422
    # public routes need no session
    info = http.get("/node").json()
    assert info["address"] == net.world.buyer.address and info["siwe_domain"] == "buyer.test"
