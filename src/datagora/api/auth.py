"""Sign-In with Ethereum (EIP-4361) and server-side sessions.

1. ``GET /auth/nonce`` issues a random nonce, single use, valid ``nonce_ttl`` seconds. A client (by network
   address) holds at most :data:`NONCES_PER_CLIENT` pending nonces and may ask for :data:`NONCE_RATE` per
   minute, so nobody can push another client's nonce out.
2. The client signs an EIP-4361 message naming this node's domain, this node's base URI (``URI``), the chain id
   and that nonce with its account key (EIP-191 ``personal_sign``).
3. ``POST /auth/login`` parses and verifies it with the ``siwe`` package (domain, URI, nonce, expiry, not-before,
   signature), consumes the nonce whatever the outcome, and opens a session: an opaque token
   (``secrets.token_urlsafe(32)``) kept in memory with the signer's address and an expiry (``session_ttl``,
   never later than the message's Expiration Time).
4. Other routes take ``Authorization: Bearer <token>``.

Sessions live in the node's memory: a restart signs everyone out, which is the safe failure. Checking the URI
binds a signed message to one node: nodes that share a domain (``--dev``, or several nodes behind one proxy
host) each have their own base URI, so a message signed for one cannot open a session at another.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from urllib.parse import urlsplit

from datagora.domain.errors import DatagoraError

MAX_PENDING_NONCES = 10_000
"""Nonces kept at once over all clients; when full, new requests are refused (never someone else's dropped)."""
NONCES_PER_CLIENT = 8
"""Pending nonces one client address may hold; its own oldest is dropped for a new one."""
NONCE_RATE = 60
"""Nonces one client address may request per minute (a token bucket refilled at one per second)."""


class Unauthenticated(DatagoraError):
    """No session, an unknown or expired token, or a sign-in message that does not verify (HTTP 401)."""


class TooManyRequests(DatagoraError):
    """A client asked for sign-in nonces faster than :data:`NONCE_RATE` per minute, or too many sign-ins are
    pending on the node (HTTP 429). ``retry_after``: seconds to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    """A signed-in identity: ``address`` (EIP-55) and ``expires_at`` (Unix seconds)."""

    token: str
    address: str
    expires_at: float


class AuthStore:
    """Nonces and sessions of one node, in memory, thread-safe. ``clock`` returns Unix seconds (tests pass a
    fake one)."""

    def __init__(self, *, nonce_ttl: float, session_ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.nonce_ttl = nonce_ttl
        self.session_ttl = session_ttl
        self.clock = clock
        self._nonces: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._by_client: dict[str, OrderedDict[str, None]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue_nonce(self, client: str = "") -> tuple[str, float]:
        """A new nonce (22 hex digits: EIP-4361 asks for at least 8 alphanumerics) and its expiry (Unix seconds)
        for the client at network address ``client``. The client's oldest pending nonce is dropped when it holds
        :data:`NONCES_PER_CLIENT`; nobody else's ever is. Raises :class:`TooManyRequests` past
        :data:`NONCE_RATE` requests per minute from ``client`` or with :data:`MAX_PENDING_NONCES` pending."""
        nonce = secrets.token_hex(11)
        now = self.clock()
        with self._lock:
            self._purge(now)
            self._take_token(client, now)
            mine = self._by_client.setdefault(client, OrderedDict())
            while len(mine) >= NONCES_PER_CLIENT:
                oldest, _ = mine.popitem(last=False)
                self._nonces.pop(oldest, None)
            if len(self._nonces) >= MAX_PENDING_NONCES:
                if not mine:
                    del self._by_client[client]
                raise TooManyRequests("too many sign-ins are pending on this node: try again shortly", 10)
            self._nonces[nonce] = (now + self.nonce_ttl, client)
            mine[nonce] = None
        return nonce, now + self.nonce_ttl

    def _take_token(self, client: str, now: float) -> None:
        tokens, last = self._buckets.get(client, (float(NONCE_RATE), now))
        tokens = min(float(NONCE_RATE), tokens + (now - last) * NONCE_RATE / 60)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            raise TooManyRequests(
                f"more than {NONCE_RATE} sign-in nonces a minute: wait before asking again",
                max(1, int((1 - tokens) * 60 / NONCE_RATE) + 1),
            )
        self._buckets[client] = (tokens - 1, now)

    def consume_nonce(self, nonce: str) -> bool:
        """Remove ``nonce``; True when it was issued here and had not expired."""
        with self._lock:
            entry = self._nonces.pop(nonce, None)
            if entry is not None:
                self._forget_client_nonce(entry[1], nonce)
        return entry is not None and self.clock() < entry[0]

    def pending_nonces(self) -> int:
        """Nonces issued and neither used nor expired."""
        with self._lock:
            self._purge(self.clock())
            return len(self._nonces)

    def _forget_client_nonce(self, client: str, nonce: str) -> None:
        mine = self._by_client.get(client)
        if mine is not None:
            mine.pop(nonce, None)
            if not mine:
                del self._by_client[client]

    def open_session(self, address: str, not_after: float | None = None) -> Session:
        now = self.clock()
        expires = now + self.session_ttl
        if not_after is not None:
            expires = min(expires, not_after)
        session = Session(secrets.token_urlsafe(32), address, expires)
        with self._lock:
            self._purge(now)
            self._sessions[session.token] = session
        return session

    def session(self, token: str) -> Session:
        """The live session of ``token``; :class:`Unauthenticated` when unknown or expired."""
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and self.clock() >= session.expires_at:
                del self._sessions[token]
                session = None
        if session is None:
            raise Unauthenticated("session token unknown or expired: sign in again")
        return session

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def _purge(self, now: float) -> None:
        for key in [k for k, (exp, _) in self._nonces.items() if exp <= now]:
            _, client = self._nonces.pop(key)
            self._forget_client_nonce(client, key)
        for client in [c for c, (_, last) in self._buckets.items() if now - last >= 60]:
            del self._buckets[client]  # a full bucket again: nothing to remember
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]


MAX_MESSAGE_CHARS = 1024
"""Longest sign-in message taken (a real one is ~300 characters): the ``siwe`` package's grammar takes time that
grows faster than the length, seconds for a few KiB of garbage."""
_EIP4361_SHAPE = re.compile(
    r"(?:[a-z][a-z0-9+.-]{0,15}://)?[^\s/?#]{1,255} wants you to sign in with your Ethereum account:\n"
    r"0x[0-9a-fA-F]{40}\n\n"
    r"(?:[^\n]{1,256}\n)?\n"
    r"URI: \S{1,512}\n"
    r"Version: 1\n"
    r"Chain ID: [0-9]{1,20}\n"
    r"Nonce: [A-Za-z0-9]{8,64}\n"
    r"Issued At: [0-9T:.+Z-]{10,40}"
    r"(?:\nExpiration Time: [0-9T:.+Z-]{10,40})?"
    r"(?:\nNot Before: [0-9T:.+Z-]{10,40})?"
    r"(?:\nRequest ID: [^\n]{0,128})?"
    r"(?:\nResources:(?:\n- \S{1,512}){0,8})?"
)
"""The lines of an EIP-4361 message, each bounded: checked in linear time before the full parse."""

_siwe: ModuleType | None = None


def _siwe_module() -> ModuleType:
    """``siwe``, imported on first use (its ABNF grammar takes ~1 s to build and warns while doing so)."""
    global _siwe
    if _siwe is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import siwe

        _siwe = siwe
    return _siwe


def normalise_uri(uri: str) -> str:
    """``uri`` with its scheme and host in lower case and no trailing slash: the form base URIs are compared in."""
    parts = urlsplit(uri.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def verify_login(message: str, signature: str, *, store: AuthStore, domain: str, uri: str, chain_id: int) -> Session:
    """Verify an EIP-4361 sign-in and open a session for its signer. The nonce must have been issued by
    ``store`` and is consumed; the message must name ``domain``, this node's base ``uri`` (compared with
    :func:`normalise_uri`) and ``chain_id``; its Expiration Time and Not Before are honoured. Raises
    :class:`Unauthenticated` with the reason."""
    if len(message) > MAX_MESSAGE_CHARS or _EIP4361_SHAPE.fullmatch(message) is None:
        raise Unauthenticated("not an EIP-4361 sign-in message")
    siwe = _siwe_module()
    try:
        parsed = siwe.SiweMessage.from_message(message)
    except Exception as exc:  # the parser raises ValueError, pydantic errors and grammar errors
        raise Unauthenticated(f"not an EIP-4361 sign-in message: {type(exc).__name__}") from None
    if not store.consume_nonce(parsed.nonce):
        raise Unauthenticated("nonce unknown, already used or expired: request a new one from /auth/nonce")
    if parsed.chain_id != chain_id:
        raise Unauthenticated(f"message is for chain {parsed.chain_id}, this node is on chain {chain_id}")
    if normalise_uri(str(parsed.uri)) != normalise_uri(uri):
        raise Unauthenticated(f"message is for another node: sign in with URI {uri}")
    now = datetime.fromtimestamp(store.clock(), UTC)
    try:
        parsed.verify(signature, domain=domain, nonce=parsed.nonce, timestamp=now)
    except siwe.DomainMismatch:
        raise Unauthenticated(f"message is for another domain: this node is {domain!r}") from None
    except siwe.ExpiredMessage:
        raise Unauthenticated("sign-in message expired") from None
    except siwe.NotYetValidMessage:
        raise Unauthenticated("sign-in message is not valid yet") from None
    except Exception:  # InvalidSignature, and eth-keys errors siwe lets through for malformed signatures
        raise Unauthenticated("signature does not match the message's address") from None
    not_after = parsed.expiration_time._datetime.timestamp() if parsed.expiration_time else None
    return store.open_session(str(parsed.address), not_after)
