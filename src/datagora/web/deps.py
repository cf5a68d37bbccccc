"""What every page handler gets: the node (:class:`WebContext`), the browser's session, the signed-in user with
the roles read through ``services.identity``, the CSRF check, and the role checks as typed aliases.

- ``UserDep``: the signed-in user (:class:`WebUser`) or None for a visitor.
- ``SignedInDep``: a signed-in user; a visitor is sent to the sign-in page.
- ``OperatorDep``: the node's operator, the only person the node acts for (it signs with the operator's key).
- ``SupervisorDep`` / ``PlatformDep``: the Registry supervisor / the account holding the Catalog's attester role.

The CSRF check (:func:`check_csrf`) runs on every request of the web app (installed once in ``web.app``): an
unsafe method (POST, PUT, PATCH, DELETE) needs this node's session cookie and the session's CSRF token in the form
field ``csrf_token`` or the ``X-CSRF-Token`` header, and a request another site started (``Sec-Fetch-Site:
cross-site`` / ``same-site``, or an ``Origin`` that is not this node's) is refused before it is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from datagora.api.auth import AuthStore
from datagora.api.settings import Settings
from datagora.domain.errors import AccessDenied, DatagoraError
from datagora.services.identity import Roles, roles_of
from datagora.services.node import Node
from datagora.web.sessions import WebSession, WebSessionStore, cookie_name

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLES_TTL = 10.0
"""Seconds a session's roles are reused before they are read from the chain again."""


class SignInRequired(DatagoraError):
    """A page needs a signed-in person: a visitor is sent to the sign-in page (then back)."""


class CsrfRefused(AccessDenied):
    """An unsafe request without this node's session and its CSRF token, or started by another site (403)."""


@dataclass
class WebContext:
    """What the pages of one node share: the node, its settings (SIWE domain and base URI), the API's nonce store
    (one nonce space for the API and the pages), the browser sessions, the keystore a password sign-in unlocks
    (None on a demo network), ``demo_signin`` (a demo network's throw-away operator may sign in with one click)
    and ``peer`` (makes a signed-in client of another node's API, for deliveries and
    queries)."""

    node: Node
    settings: Settings
    auth: AuthStore
    sessions: WebSessionStore
    keystore: Path | None = None
    peer: Callable[[str], Any] | None = None
    demo_signin: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebUser:
    """A signed-in person: ``roles`` on this node (address, operator, supervisor, platform, organisation)."""

    roles: Roles
    via: str

    @property
    def address(self) -> str:
        return self.roles.address


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def _secure(request: Request, ctx: WebContext) -> bool:
    return request.url.scheme == "https" or ctx.settings.base_uri.startswith("https://")


def web_session(request: Request) -> WebSession:
    """This browser's session: the one its cookie names, or a new anonymous one (the cookie is then set on the
    response by ``render`` / ``redirect``)."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    ctx = web_context(request)
    session = ctx.sessions.get(request.cookies.get(cookie_name(ctx.node.address)))
    if session is None:
        session = ctx.sessions.new()
        # A request another site started carries no SameSite=Strict cookie: setting a fresh one would replace
        # the browser's real session (signing it out). Such a page gets a session for itself only.
        request.state.new_cookie = request.headers.get("sec-fetch-site") != "cross-site"
    request.state.web_session = session
    return session


def replace_session(request: Request, session: WebSession) -> None:
    """Make ``session`` this browser's (after signing in or out): the cookie is rewritten on the response."""
    old: WebSession | None = getattr(request.state, "web_session", None)
    if old is not None and old.token != session.token:
        web_context(request).sessions.drop(old.token)
        session.flashes.extend(old.flashes)
    request.state.web_session = session
    request.state.new_cookie = True


def write_session_cookie(request: Request, response: Response) -> None:
    if not getattr(request.state, "new_cookie", False):
        return
    session: WebSession = request.state.web_session
    ctx = web_context(request)
    response.set_cookie(
        cookie_name(ctx.node.address),
        session.token,
        max_age=max(1, int(session.expires_at - ctx.sessions.clock())),
        path=(request.scope.get("root_path", "").rstrip("/") or "") + "/",
        secure=_secure(request, ctx),
        httponly=True,
        samesite="strict",
    )


def current_user(request: Request) -> WebUser | None:
    """The signed-in user with its roles (read from the chain at most every :data:`ROLES_TTL` seconds)."""
    session = web_session(request)
    if not session.signed_in:
        return None
    cached = getattr(request.state, "web_user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    ctx = web_context(request)
    store: dict[str, tuple[float, Roles]] = ctx.extra.setdefault("roles", {})
    now = time.monotonic()
    hit = store.get(session.address)
    if hit is None or now - hit[0] > ROLES_TTL:
        hit = (now, roles_of(ctx.node, session.address))
        store[session.address] = hit
    user = WebUser(hit[1], session.via)
    request.state.web_user = user
    return user


def forget_roles(request: Request, address: str) -> None:
    """Read ``address``'s roles from the chain again on its next page (after an action that changes them)."""
    web_context(request).extra.setdefault("roles", {}).pop(address, None)


def require_signed_in(request: Request) -> WebUser:
    user = current_user(request)
    if user is None:
        raise SignInRequired("sign in to see this page")
    return user


def require_operator(request: Request) -> WebUser:
    user = require_signed_in(request)
    if not user.roles.operator:
        node = web_context(request).node
        raise AccessDenied(
            f"only this node's operator ({node.address}) can do this here; you are signed in as {user.address}. "
            "Use your own organisation's node"
        )
    return user


def require_supervisor(request: Request) -> WebUser:
    user = require_signed_in(request)
    if not user.roles.supervisor:
        raise AccessDenied(f"{user.address} is not the Registry supervisor")
    return user


def require_platform(request: Request) -> WebUser:
    user = require_signed_in(request)
    if not user.roles.platform:
        raise AccessDenied(f"{user.address} is not the platform (it does not hold the attester role)")
    return user


ContextDep = Annotated[WebContext, Depends(web_context)]
SessionDep = Annotated[WebSession, Depends(web_session)]
UserDep = Annotated[WebUser | None, Depends(current_user)]
SignedInDep = Annotated[WebUser, Depends(require_signed_in)]
OperatorDep = Annotated[WebUser, Depends(require_operator)]
SupervisorDep = Annotated[WebUser, Depends(require_supervisor)]
PlatformDep = Annotated[WebUser, Depends(require_platform)]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request that another site started or that lacks this session's CSRF token
    (:class:`CsrfRefused`, 403). Safe methods pass."""
    if request.method not in UNSAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site", "")
    if fetch_site in ("cross-site", "same-site"):
        raise CsrfRefused("this form was sent from another site: refused. Open the page on this node and try again")
    origin = request.headers.get("origin")
    if origin is not None:
        ctx = web_context(request)
        own = {_origin(str(request.base_url)), _origin(ctx.settings.base_uri)}
        if origin.lower() not in own:
            raise CsrfRefused(f"this form was sent from {origin}, not from this node: refused")
    ctx = web_context(request)
    session = ctx.sessions.get(request.cookies.get(cookie_name(ctx.node.address)))
    if session is None:
        raise CsrfRefused("this form has expired or your browser sent no session: reload the page and try again")
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not session.csrf_matches(token):
        raise CsrfRefused("this form has expired (its security token does not match): reload the page and try again")
    request.state.web_session = session


@dataclass(frozen=True)
class NavItem:
    """A link of the navigation bar: ``path`` under the node, shown when ``visible(user)`` is true."""

    label: str
    path: str
    visible: Callable[[WebUser | None], bool] = lambda _user: True
    on_node: Callable[[Node], bool] = lambda _node: True
    """Whether this node has the page at all (e.g. only a shop's node has the shop)."""


def everyone(_user: WebUser | None) -> bool:
    return True


def operator(user: WebUser | None) -> bool:
    return user is not None and user.roles.operator


def supervisor(user: WebUser | None) -> bool:
    return user is not None and user.roles.supervisor


def platform(user: WebUser | None) -> bool:
    return user is not None and user.roles.platform


def layout_context(request: Request) -> dict[str, Any]:
    """What ``base.html`` needs: ``user``, ``csrf_token``, ``flashes``, ``nav`` (links for the user's roles),
    ``node`` (its address and chain id) and ``url`` (a path under the node)."""
    from datagora.web.pages import nav_items
    from datagora.web.render import url_in_node

    session = web_session(request)
    try:
        user = current_user(request)
    except DatagoraError:
        user = None  # the chain is unreachable: the page says so itself; the layout still renders
    ctx = web_context(request)
    return {
        "user": user,
        "csrf_token": session.csrf,
        "flashes": session.pop_flashes(),
        "nav": [item for item in nav_items() if item.visible(user) and item.on_node(ctx.node)],
        "node_address": ctx.node.address,
        "node_url": ctx.settings.base_uri,
        "url": lambda path: url_in_node(request, path),
        "current_path": request.url.path,
    }
