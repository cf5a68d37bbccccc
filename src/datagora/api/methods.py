"""405 Method Not Allowed as the OpenAPI document describes the paths (RFC 9110 section 15.5.6).

Starlette routes a request to the first route whose path matches, so ``PUT /relay/notices`` reaches
``PUT /relay/{order_id}`` (and fails as an invalid id), and a 405 lists only the methods of the first route that
matched the path. :class:`MethodCheck`, installed once by ``create_app``, answers first: a path matches its literal
routes when it has any (``/relay/notices``), else its templated ones; a method none of them serves is a 405 whose
``Allow`` lists exactly the methods they serve (HEAD goes with GET, as Starlette serves it). New routes need
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from datagora.api.errors import PROBLEM_TYPE, problem

_PARAM = re.compile(r"{[^}]+}")


@dataclass(frozen=True)
class RouteEntry:
    """One operation of an app: its path template, the regex matching it, its methods and its endpoint."""

    path: str
    regex: re.Pattern[str]
    methods: frozenset[str]
    endpoint: Callable[..., Any] | None

    @property
    def literal(self) -> bool:
        return _PARAM.search(self.path) is None


def route_table(app: Any) -> list[RouteEntry]:
    """Every operation of ``app``, included routers flattened (built once per app, kept in ``app.state``)."""
    state = getattr(app, "state", None)
    table: list[RouteEntry] | None = getattr(state, "route_table", None)
    if table is None:
        table = []
        for context in iter_route_contexts(list(getattr(app, "routes", ()))):
            if context.path is None or not context.methods:
                continue
            regex, _, _ = compile_path(context.path)
            table.append(RouteEntry(context.path, regex, frozenset(context.methods), context.endpoint))
        if state is not None:
            state.route_table = table
    return table


def matching_routes(app: Any, path: str) -> list[RouteEntry]:
    """The operations of ``app`` at ``path``: its literal routes when it has any, else its templated ones."""
    found = [entry for entry in route_table(app) if entry.regex.match(path)]
    literal = [entry for entry in found if entry.literal]
    return literal or found


def allowed_methods(app: Any, path: str) -> set[str] | None:
    """The methods ``app``'s routes serve at ``path`` (literal routes first), or None when no route matches."""
    allowed = {method for entry in matching_routes(app, path) for method in entry.methods}
    return allowed or None


class MethodCheck:
    """ASGI middleware: 405 with the right ``Allow`` for a method no route serves at a known path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = allowed_methods(scope.get("app"), get_route_path(scope))
            if allowed is not None and scope["method"] not in allowed:
                listed = ", ".join(sorted(m for m in allowed if m != "HEAD"))
                body = json.dumps(problem(405, f"this path serves {listed}")).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 405,
                        "headers": [
                            (b"content-type", PROBLEM_TYPE.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"allow", listed.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
