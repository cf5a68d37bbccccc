"""Signing a participant in to a node's pages without a browser (a web session made in the node's own session
store, its cookie set on the node's test client), for the desks' server-side page tests."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from starlette.routing import Mount

from datagora.web.sessions import WebSession, cookie_name
from tests.api.conftest import Net


@dataclass
class Browser:
    """A signed-in session on one node's pages: ``get`` and ``post`` (with the session's CSRF token) on its test
    client."""

    net: Net
    node: str
    session: WebSession

    def get(self, path: str, **kwargs: object) -> object:
        return self.net.http[self.node].get(path, headers={"Accept": "text/html"}, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | None = None) -> object:
        form = {"csrf_token": self.session.csrf, **(data or {})}
        return self.net.http[self.node].post(path, data=form, headers={"Accept": "text/html"}, follow_redirects=True)


def web_app(app: FastAPI) -> FastAPI:
    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, FastAPI):
            return route.app
    raise LookupError("no web app mounted")


def sign_in(net: Net, node: str, as_: str | None = None) -> Browser:
    """``as_`` (default: the node's operator) signed in to ``node``'s pages."""
    address = net.participant(as_ or node).address
    session = web_app(net.apps[node]).state.web.sessions.new(address, "password")
    net.http[node].cookies.set(cookie_name(net.nodes[node].address), session.token)
    return Browser(net, node, session)
