"""The node client and idle connections: a connection the server closed while idle is retried for idempotent
requests only, and both sides keep idle connections for lengths that cannot race (client shorter than server)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from eth_account import Account
from fastapi import FastAPI

from datagora.api.client import CLIENT_KEEPALIVE_S, NodeClient, RemoteError, http_client
from datagora.cli.serve import SERVER_KEEPALIVE_S

# How a connection the server closed while idle shows: a disconnect, or a reset when the close crosses the request.
DROPS = [
    pytest.param(lambda r: httpx.RemoteProtocolError("Server disconnected without sending a response.", request=r)),
    pytest.param(lambda r: httpx.ReadError("[Errno 104] Connection reset by peer", request=r), id="reset"),
    pytest.param(lambda r: httpx.WriteError("[Errno 32] Broken pipe", request=r), id="broken-pipe"),
]


def _flaky_transport(
    fail_times: int, drop: Callable[[httpx.Request], Exception] | None = None
) -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) <= fail_times:
            if drop is not None:
                raise drop(request)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler), seen


def _client(transport: httpx.MockTransport) -> NodeClient:
    return NodeClient("http://node.test", Account.create(), http=httpx.Client(transport=transport))


@pytest.mark.parametrize("drop", DROPS)
def test_a_dropped_idle_connection_is_retried_once_for_a_get(drop: Callable[[httpx.Request], Exception]) -> None:
    transport, seen = _flaky_transport(fail_times=1, drop=drop)
    response = _client(transport).request("GET", "/node", auth=False)
    assert response.json() == {"ok": True}
    assert seen == ["GET", "GET"]


@pytest.mark.parametrize("drop", DROPS)
def test_a_post_on_a_dropped_connection_is_reported_not_resent(drop: Callable[[httpx.Request], Exception]) -> None:
    transport, seen = _flaky_transport(fail_times=1, drop=drop)
    with pytest.raises(RemoteError, match="cannot reach the node"):
        _client(transport).request("POST", "/attestations", auth=False, json={})
    assert seen == ["POST"]


def test_a_get_dropped_twice_is_reported_not_retried_forever() -> None:
    transport, seen = _flaky_transport(fail_times=2)
    with pytest.raises(RemoteError, match="cannot reach the node"):
        _client(transport).request("GET", "/node", auth=False)
    assert seen == ["GET", "GET"]


def test_a_post_is_never_sent_twice() -> None:
    transport, seen = _flaky_transport(fail_times=1)
    with pytest.raises(RemoteError, match="cannot reach the node") as caught:
        _client(transport).request("POST", "/attestations", auth=False, json={})
    assert caught.value.status == 0
    assert seen == ["POST"]


def test_the_client_drops_idle_connections_before_the_server_does() -> None:
    assert CLIENT_KEEPALIVE_S < 5  # uvicorn's default idle timeout
    assert CLIENT_KEEPALIVE_S < SERVER_KEEPALIVE_S
    assert http_client(3.0)._transport._pool._keepalive_expiry == CLIENT_KEEPALIVE_S  # type: ignore[attr-defined]


@pytest.fixture
def short_lived_server() -> Iterator[str]:
    """A real HTTP server that closes idle connections after 1 s (shorter than the client keeps them)."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_gets_keep_working_across_a_server_closing_idle_connections(short_lived_server: str) -> None:
    """Requests spaced around the server's 1 s idle timeout: each either reuses a live connection, opens a new
    one, or is retried after the server's close; none fails."""
    client = NodeClient(short_lived_server, Account.create(), http=http_client(5.0))
    try:
        for pause in (0.0, 0.9, 1.0, 1.05, 1.1, 1.5):
            time.sleep(pause)
            assert client.request("GET", "/ping", auth=False).json() == {"ok": True}
    finally:
        client.close()
