"""Browser sessions of the web pages: a cookie naming a session kept in the node's memory, and its CSRF token.

- Every visitor gets a session on the first page it loads (anonymous until it signs in), so that the sign-in
  forms carry a CSRF token too. The cookie holds only an opaque random token (``secrets.token_urlsafe(32)``);
  the address, the expiry and the CSRF token stay on the server.
- The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the node is reached over https, its path is
  the node's base path (several nodes under one host, ``--dev``, keep apart) and its name carries the node's
  address (``dg_<first 10 hex digits>``): two nodes on one host name on different ports never read each
  other's cookie, and a token this node did not issue is never accepted (it starts a fresh anonymous session).
- Signing in replaces the session by a new one (no session fixation); signing out drops it.
- A restart signs everyone out, as for the API's bearer sessions.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SESSIONS = 20_000
"""Sessions kept at once; the least recently used anonymous ones go first when full."""
ANONYMOUS_TTL = 2 * 3600
"""Seconds an anonymous session (a visitor who has not signed in) lives without a request."""


@dataclass
class WebSession:
    """One browser's session. ``address`` is empty until the visitor signs in; ``via`` says how
    (``"wallet"``: an EIP-4361 message signed in the browser, ``"password"``: the node's keystore password).
    ``expires_at``: Unix seconds. ``flashes``: messages to show on the next page, as (kind, text)."""

    token: str
    csrf: str
    expires_at: float
    address: str = ""
    via: str = ""
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        return bool(self.address)

    def flash(self, text: str, kind: str = "info") -> None:
        """Show ``text`` on the next page; ``kind`` is ``info``, ``success`` or ``error``."""
        self.flashes.append((kind, text))

    def pop_flashes(self) -> list[tuple[str, str]]:
        out, self.flashes = self.flashes, []
        return out

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


class WebSessionStore:
    """The web sessions of one node, in memory, thread-safe. ``ttl``: seconds a signed-in session lives;
    ``clock``: Unix seconds (tests pass a fake one)."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.clock = clock
        self._sessions: OrderedDict[str, WebSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str | None) -> WebSession | None:
        """The live session of ``token``, or None when unknown or expired."""
        if not token:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now >= session.expires_at:
                del self._sessions[token]
                return None
            self._sessions.move_to_end(token)
            if not session.signed_in:
                session.expires_at = now + ANONYMOUS_TTL
            return session

    def new(self, address: str = "", via: str = "", *, not_after: float | None = None) -> WebSession:
        """A new session: anonymous, or signed in as ``address`` until ``ttl`` from now (or ``not_after``)."""
        now = self.clock()
        expires = now + (self.ttl if address else ANONYMOUS_TTL)
        if not_after is not None:
            expires = min(expires, not_after)
        session = WebSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), expires, address, via)
        with self._lock:
            while len(self._sessions) >= MAX_SESSIONS:
                self._evict(now)
            self._sessions[session.token] = session
        return session

    def drop(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _evict(self, now: float) -> None:
        expired = [k for k, s in self._sessions.items() if s.expires_at <= now]
        for key in expired:
            del self._sessions[key]
        if expired:
            return
        anonymous = next((k for k, s in self._sessions.items() if not s.signed_in), None)
        self._sessions.pop(anonymous if anonymous is not None else next(iter(self._sessions)))


def cookie_name(node_address: str) -> str:
    """The session cookie's name on the node of ``node_address``: ``dg_`` and its first 10 hex digits."""
    return "dg_" + node_address.lower().removeprefix("0x")[:10]
