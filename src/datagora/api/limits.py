"""Request body limits, enforced for every route before anything parses a body.

:class:`BodyLimit` is an ASGI middleware installed once by ``create_app``: a route's limit is
``Settings.max_json_bytes`` (1 MiB by default: every JSON or small binary body) unless its endpoint is marked
with :func:`large_body`, which gives it ``Settings.max_upload_bytes`` (datasets, relayed ciphertexts). A request
that declares a longer ``Content-Length`` is answered 413 without reading a byte; a body sent without a length
(chunked) is counted as it arrives and cut off with a 413 at the first byte over the limit, so a node never holds
more than the limit of any one body in memory (uvicorn reads a connection only as fast as the app asks).

New routes get the JSON limit for free; a route that takes large bodies must stream them itself (``request.stream()``)
and be marked::

    @router.put("/{order_id}")
    @large_body
    async def upload(request: Request, ...) -> ...: ...
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette._utils import get_route_path
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datagora.api.errors import PROBLEM_TYPE, PayloadTooLarge, problem
from datagora.api.methods import matching_routes

F = TypeVar("F", bound=Callable[..., Any])

LARGE_BODY = "__datagora_large_body__"
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes a large-body route may receive beyond ``max_upload_bytes`` (multipart boundaries and form fields)."""


def large_body(endpoint: F) -> F:
    """Mark a route's endpoint as taking bodies up to ``Settings.max_upload_bytes`` (it must stream them)."""
    setattr(endpoint, LARGE_BODY, True)
    return endpoint


class BodyTooLarge(PayloadTooLarge):
    """A request body grew past its route's limit while it was being read (HTTP 413)."""


def route_limit(scope: Scope, *, json_limit: int, upload_limit: int) -> int:
    """The body limit, in bytes, of the route ``scope`` reaches (the JSON limit when none matches)."""
    method = scope.get("method", "")
    app, path = scope.get("app"), get_route_path(scope)
    entries = matching_routes(app, path)
    if not entries:  # an app mounted under this one (the web pages at "/"): its own routes
        for mount in getattr(app, "routes", ()):
            if isinstance(mount, Mount) and path.startswith(mount.path + "/"):
                entries = matching_routes(mount.app, path[len(mount.path) :])
                break
    for entry in entries:
        if method in entry.methods and getattr(entry.endpoint, LARGE_BODY, False):
            return upload_limit + MULTIPART_OVERHEAD
    return json_limit


def _too_large(limit: int) -> tuple[Message, Message]:
    body = json.dumps(problem(413, f"request body exceeds this route's limit of {limit} bytes")).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", PROBLEM_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class BodyLimit:
    """ASGI middleware enforcing each route's body limit (see the module's docstring). ``limits`` returns the
    current ``(json_limit, upload_limit)`` in bytes."""

    def __init__(self, app: ASGIApp, limits: Callable[[], tuple[int, int]]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        json_limit, upload_limit = self.limits()
        limit = route_limit(scope, json_limit=json_limit, upload_limit=upload_limit)
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            for message in _too_large(limit):
                await send(message)
            return
        received = 0
        exceeded = False
        started = replaced = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(f"request body exceeds this route's limit of {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(f"request body exceeds this route's limit of {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return
            if exceeded and not started:
                # whatever the app made of the cut-off body (FastAPI calls it unparseable: 400), it is a 413
                replaced = started = True
                for reply in _too_large(limit):
                    await send(reply)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)
