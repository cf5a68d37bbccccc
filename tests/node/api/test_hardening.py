"""Hostile callers against one node: a sign-in relayed from another node, oversized and malformed bodies from
anonymous callers, uploads before authentication, plaintext left by a crash, nonce flooding.

Some requests are sent straight to the ASGI app (:func:`call`) with a body produced lazily, so a test can tell how
many bytes the node read before it answered (Starlette's ``TestClient`` reads a whole body before the app runs).
"""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_defunct
from fastapi import FastAPI

from datagora.api import auth as auth_module
from datagora.api import create_app
from datagora.api.client import NodeClient, RemoteError
from datagora.api.signin_message import siwe_message
from datagora.services import publishing
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import write_table

pytestmark = EMBEDDED

MiB = 1 << 20


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    consumed: int
    """Request body bytes the app read."""

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: FastAPI,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | Iterator[bytes] = b"",
    host: str = "seller.test",
) -> Answer:
    """Send one request to ``app`` over ASGI; ``body`` as bytes or as chunks pulled only when the app reads."""
    chunks: Iterator[bytes] = iter([body]) if isinstance(body, bytes) else body
    consumed = 0
    done = False
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal consumed, done
        if done:
            await asyncio.sleep(3600)  # a client that keeps the connection open
        piece = next(chunks, None)
        if piece is None:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        consumed += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw_headers = [(b"host", host.encode())] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw_headers,
        "client": ("203.0.113.7", 5555),
        "server": (host, 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=120))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_bytes = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body_bytes, consumed)


def zeros(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(piece, total - sent)
        sent += n
        yield b"0" * n


def _signed(net: Net, node: str, *, uri: str) -> dict[str, str]:
    challenge = net.http[node].get("/auth/nonce").json()
    buyer = net.world.buyer.account
    message = siwe_message(
        domain=challenge["domain"],
        address=buyer.address,
        uri=uri,
        chain_id=challenge["chain_id"],
        nonce=challenge["nonce"],
        issued_at=datetime.now(UTC),
    )
    signature = buyer.sign_message(encode_defunct(text=message)).signature
    return {"message": message, "signature": "0x" + bytes(signature).hex()}


# -- 1. a sign-in is bound to one node ----------------------------------------------------------------------


def test_message_signed_for_another_node_is_refused(net: Net) -> None:
    """Node M fetched node A's nonce and had A's client sign a message naming M: A refuses it."""
    relayed = net.http["buyer"].post("/auth/login", json=_signed(net, "buyer", uri="http://evil.test"))
    assert relayed.status_code == 401, relayed.text
    assert "another node" in relayed.json()["detail"]
    own = net.http["buyer"].post("/auth/login", json=_signed(net, "buyer", uri="http://buyer.test/"))
    assert own.status_code == 200, own.text


def test_client_refuses_to_sign_for_a_uri_it_is_not_talking_to(net: Net) -> None:
    """A's client talks to M (same domain), which relays A's nonce: the client refuses to sign at all."""
    http = net.http["buyer"]
    nonces_before = net.apps["buyer"].state.auth.pending_nonces()
    relaying = NodeClient("http://evil.test", net.world.buyer.account, http=http, domain="buyer.test")
    with pytest.raises(RemoteError) as refused:
        relaying.login()
    assert "refusing to sign in" in str(refused.value)
    # nothing was posted to /auth/login: the relayed nonce is still pending, unused
    assert net.apps["buyer"].state.auth.pending_nonces() == nonces_before + 1
    assert NodeClient("http://buyer.test", net.world.buyer.account, http=http).login()


# -- 2 and 4. bodies are bounded, errors never echo them, no number makes a 500 -------------------------------


def test_declared_oversized_json_body_is_refused_before_reading(net: Net) -> None:
    app = net.apps["seller"]
    answer = call(
        app,
        "POST",
        "/auth/login",
        headers={"content-type": "application/json", "content-length": str(200 * MiB)},
        body=zeros(200 * MiB),
    )
    assert answer.status == 413
    assert answer.consumed == 0
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 413


def test_undeclared_oversized_json_body_is_cut_off_at_the_limit(net: Net) -> None:
    app = net.apps["seller"]
    limit = app.state.settings.max_json_bytes
    answer = call(app, "POST", "/auth/login", headers={"content-type": "application/json"}, body=zeros(50 * MiB))
    assert answer.status == 413, answer.body[:300]
    assert answer.consumed <= limit + 64 * 1024


def test_invalid_input_is_never_echoed(net: Net) -> None:
    marker = "Z" * 200_000
    response = net.http["seller"].post("/auth/login", json={"message": marker, "signature": "0x00"})
    assert response.status_code == 422
    assert len(response.content) < 4_000 and "ZZZZ" not in response.text
    errors = response.json()["errors"]
    assert {tuple(e["loc"]) for e in errors} == {("body", "message"), ("body", "signature")}
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)


@pytest.mark.parametrize("path", ["/auth/login", "/orders", "/offers", "/withdrawals", "/organisations"])
@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_non_finite_numbers_are_422_not_500(net: Net, path: str, number: str) -> None:
    auth = {"Authorization": f"Bearer {net.client('seller').token()}"}
    body = f'{{"message": {number}, "signature": "0x00", "listing_id": {number}, "name": {number}}}'
    response = net.http["seller"].post(
        path, content=body.encode(), headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["title"] == "Unprocessable Content"


# -- 3. an upload is authenticated before its body is read, and streamed under the limit -------------------


def _multipart(size: int, boundary: str = "bnd") -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    yield from zeros(size)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_anonymous_upload_is_refused_before_its_body_is_read(net: Net) -> None:
    answer = call(
        net.apps["seller"],
        "POST",
        "/datasets",
        headers={"content-type": "multipart/form-data; boundary=bnd"},
        body=_multipart(200 * MiB),
    )
    assert answer.status == 401
    assert answer.consumed == 0
    staging = net.participant("seller").paths.staging
    assert not staging.exists() or not any(staging.iterdir())


def test_operator_upload_over_the_limit_gets_an_early_413(net: Net) -> None:
    app = net.apps["seller"]
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 1 * MiB})
    auth = {"authorization": f"Bearer {net.client('seller').token()}"}
    declared = call(
        app,
        "POST",
        "/datasets",
        headers={**auth, "content-type": "multipart/form-data; boundary=bnd", "content-length": str(1100 * MiB)},
        body=_multipart(1100 * MiB),
    )
    assert declared.status == 413 and declared.consumed == 0
    streamed = call(
        app,
        "POST",
        "/datasets",
        headers={**auth, "content-type": "multipart/form-data; boundary=bnd"},
        body=_multipart(50 * MiB),
    )
    assert streamed.status == 413, streamed.body[:300]
    assert streamed.consumed < 2 * MiB
    staging = net.participant("seller").paths.staging
    assert not any(staging.iterdir())


# -- 5. no plaintext outlives a publish or a crash ------------------------------------------------------------


def test_clear_upload_is_staged_privately_and_wiped_after_a_crash(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = net.participant("seller")
    seen: list[Path] = []
    real_prepare = publishing.prepare

    def spy(owner: Any, path: Path, **kw: Any) -> Any:
        seen.append(path)
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        return real_prepare(owner, path, **kw)

    monkeypatch.setattr(publishing, "prepare", spy)
    big = write_table(tmp_path / "survey.csv", rows=70_000)  # larger than the JSON body limit
    assert big.stat().st_size > net.apps["seller"].state.settings.max_json_bytes
    published = net.client("seller").publish(big, name="Survey")
    assert published["token_id"] >= 1
    (staged,) = seen
    assert not staged.exists() and not staged.parent.exists()  # removed after the publish

    # a node killed in the middle of a publish leaves the clear file where it was staged ...
    staged.parent.mkdir(parents=True)
    staged.write_text("id,secret\n1,plaintext\n")
    # ... and the next start of the node deletes it before serving
    create_app(net.nodes["seller"], settings=net.apps["seller"].state.settings)
    assert not staged.exists()
    assert seller.home in staged.parents


# -- 6. nonce flooding cannot push out another client's nonce -------------------------------------------------


def test_nonce_route_is_rate_limited(net: Net) -> None:
    http = net.http["seller"]
    statuses = [http.get("/auth/nonce").status_code for _ in range(auth_module.NONCE_RATE + 5)]
    assert statuses[: auth_module.NONCE_RATE] == [200] * auth_module.NONCE_RATE
    limited = http.get("/auth/nonce")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["status"] == 429
    net.clock.advance(60)
    assert http.get("/auth/nonce").status_code == 200


# -- 7. the OpenAPI document describes every answer ----------------------------------------------------------


def test_every_error_is_documented_as_a_problem(net: Net) -> None:
    doc = net.http["seller"].get("/openapi.json").json()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    withdraw = doc["paths"]["/withdrawals"]["post"]["responses"]
    for status in ("400", "401", "403", "404", "409", "413", "415", "422", "502", "503"):
        assert withdraw[status]["content"] == {"application/problem+json": {"schema": problem_ref}}, status
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if path != "/health":
                assert {"400", "404", "502", "503"} <= set(operation["responses"]), (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
    # a node error is answered with the documented schema
    auth = {"Authorization": f"Bearer {net.client('seller').token()}"}
    nothing = net.http["seller"].post("/withdrawals", json={}, headers=auth)
    assert nothing.status_code == 422 and nothing.headers["content-type"] == "application/problem+json"
    assert set(nothing.json()) == {"type", "title", "status", "detail"}


def test_an_undocumented_method_is_405_with_the_paths_methods(net: Net) -> None:
    http = net.http["seller"]
    for method, path, allowed in [
        ("PUT", "/relay/notices", "POST"),  # not PUT /relay/{order_id} with order_id "notices"
        ("OPTIONS", "/datasets", "GET, POST"),
        ("DELETE", "/offers/use-right", "POST"),
        ("PATCH", "/relay/7", "GET, PUT"),
    ]:
        response = http.request(method, path)
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["allow"] == allowed
        assert response.json()["status"] == 405


def test_garbage_sign_in_messages_are_refused_fast(net: Net) -> None:
    """The siwe grammar needs seconds for a few KiB of garbage; the node refuses anything not shaped like an
    EIP-4361 message first, in linear time."""
    import time

    http = net.http["seller"]
    for message in ("0" * 1024, "a.test wants you to sign in with your Ethereum account:\n" + "x" * 960):
        started = time.perf_counter()
        refused = http.post("/auth/login", json={"message": message, "signature": "0x" + "00" * 65})
        assert refused.status_code == 401 and "not an EIP-4361" in refused.json()["detail"]
        assert time.perf_counter() - started < 0.5
    assert http.post("/auth/login", json={"message": "0" * 1025, "signature": "0x00"}).status_code == 422


def test_malformed_upload_forms_are_4xx_and_leave_nothing(net: Net) -> None:
    http = net.http["seller"]
    auth = {"Authorization": f"Bearer {net.client('seller').token()}"}
    form = "multipart/form-data; boundary=b"

    def part(name: str, value: str, filename: str | None = None) -> str:
        extra = f'; filename="{filename}"' if filename else ""
        return f'--b\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}\r\n'

    cases = [
        (form, part("name", "x") + "--b--\r\n", 422, "no complete 'file' part"),
        (form, part("file", "a,b\n1,2\n", "a.csv") + part("file", "c\n", "b.csv") + "--b--\r\n", 422, "one 'file'"),
        (form, part("file", "a,b\n1,2\n", "a.csv") + part("owner", "me") + "--b--\r\n", 422, "unexpected form field"),
        (form, part("file", "a,b\n1,2\n", "a.csv") + part("domain", "x\x01y") + "--b--\r\n", 422, "invalid request"),
        (form, part("file", "a,b\n1,2\n", "a.csv"), 422, "no complete 'file' part"),  # cut off
        ("multipart/form-data", part("file", "x", "a.csv"), 422, "boundary"),
        ("application/json", '{"file": "a,b"}', 415, "multipart/form-data"),
    ]
    for content_type, body, status, fragment in cases:
        response = http.post("/datasets", content=body.encode(), headers={**auth, "Content-Type": content_type})
        assert response.status_code == status, (body, response.text)
        assert fragment in response.json()["detail"], (fragment, response.text)
    staging = net.participant("seller").paths.staging
    assert not any(staging.iterdir())
