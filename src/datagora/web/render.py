"""Rendering pages: the Jinja2 environment (templates under ``web/templates``), the filters that give readable
units (ETH, KB / MB, dates, durations, short addresses) and :func:`render` / :func:`redirect`, which every page
uses so that the session cookie and the flash messages are handled in one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup

from datagora.domain.models import ETHER

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
WEI_PER_ETHER = 10**18
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Pages load only the node's own assets and post forms only to the node (no inline script or style)."""


def ether(wei: int | None, token: str = ETHER, *, symbol: str = "ETH") -> str:
    """``wei`` as ether for a person: ``"0.5 ETH"``, ``"0.000001 ETH"``, ``"1,250 ETH"``; an ERC-20 amount is
    shown in its smallest unit with the token's short address."""
    if wei is None:
        return "-"
    if token.lower() != ETHER.lower():
        return f"{int(wei):,} units of token {short_address(token)}"
    value = Decimal(int(wei)) / Decimal(WEI_PER_ETHER)
    text = f"{value:,.18f}".rstrip("0").rstrip(".")
    return f"{text} {symbol}"


def size(num_bytes: int | None) -> str:
    """Bytes for a person: ``"512 bytes"``, ``"12.3 KB"``, ``"4.5 MB"``, ``"1.2 GB"`` (powers of 1,000)."""
    if num_bytes is None:
        return "-"
    n = int(num_bytes)
    if n < 1_000:
        return f"{n} byte" + ("" if n == 1 else "s")
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        if n < scale * 1_000 or unit == "TB":
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"  # pragma: no cover


def date(seconds: int | float | None) -> str:
    """Unix seconds as ``"3 Dec 2026, 13:45 UTC"``; 0 or None as ``"-"``."""
    if not seconds:
        return "-"
    moment = datetime.fromtimestamp(float(seconds), UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def duration(seconds: int | float | None) -> str:
    """Seconds as ``"3 days"``, ``"5 hours"``, ``"12 minutes"``, ``"40 seconds"``."""
    if seconds is None:
        return "-"
    s = int(seconds)
    for unit, scale in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if abs(s) >= scale:
            n = round(s / scale)
            return f"{n} {unit}" + ("" if n == 1 else "s")
    return f"{s} second" + ("" if s == 1 else "s")


def short_address(address: str | None) -> str:
    """``0x1234…abcd``: the first 6 and last 4 characters of an address."""
    if not address:
        return "-"
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def hexbytes(value: bytes | str | None) -> str:
    if value is None:
        return "-"
    return "0x" + value.hex() if isinstance(value, bytes | bytearray) else str(value)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden field carrying the session's CSRF token: put ``{{ csrf_field() }}`` in every form."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(context.get("csrf_token", ""))


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals["csrf_field"] = csrf_field
templates.env.filters.update(
    ether=ether, size=size, date=date, duration=duration, short=short_address, hex=hexbytes, pretty=pretty_json
)


def _finish(request: Request, response: Response) -> Response:
    """Set the session cookie when this request opened a new session (see ``web.deps``)."""
    from datagora.web.deps import write_session_cookie

    write_session_cookie(request, response)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    return response


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200) -> Response:
    """The page ``template`` (``"<group>/<page>.html"``) with ``context`` plus what the layout needs: the
    signed-in user and roles, the CSRF token, the flash messages and the navigation."""
    from datagora.web.deps import layout_context

    page = templates.TemplateResponse(request, template, {**layout_context(request), **(context or {})})
    page.status_code = status
    return _finish(request, page)


def redirect(request: Request, to: str, message: str = "", kind: str = "success") -> Response:
    """303 See Other to ``to`` (a path under this node, e.g. ``"/my/orders"``), with ``message`` flashed on the page
    it leads to (Post/Redirect/Get)."""
    from datagora.web.deps import web_session

    if message:
        web_session(request).flash(message, kind)
    return _finish(request, RedirectResponse(url_in_node(request, to), status_code=303))


def url_in_node(request: Request, path: str) -> str:
    """``path`` under the node's base path (``/nodes/acme`` under ``--dev``, nothing otherwise)."""
    if path.startswith(("http://", "https://")):
        return path
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/") + "/" + path.lstrip("/")


def html(request: Request, body: str, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(body, status_code=status)
    _finish(request, response)
    return response
