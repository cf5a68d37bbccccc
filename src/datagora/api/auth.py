"""Sign-In with Ethereum (EIP-4361) and server-side sessions.

1. ``GET /auth/nonce`` issues a random nonce, single use, valid ``nonce_ttl`` seconds.
2. The client signs an EIP-4361 message naming this node's domain, the chain id and that nonce with its account
   key (EIP-191 ``personal_sign``).
3. ``POST /auth/login`` parses and verifies it with the ``siwe`` package (domain, nonce, expiry, not-before,
   signature), consumes the nonce whatever the outcome, and opens a session: an opaque token
   (``secrets.token_urlsafe(32)``) kept in memory with the signer's address and an expiry (``session_ttl``,
   never later than the message's Expiration Time).
4. Other routes take ``Authorization: Bearer <token>``.

Sessions live in the node's memory: a restart signs everyone out, which is the safe failure.
"""

from __future__ import annotations

import secrets
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType

from datagora.domain.errors import DatagoraError

MAX_PENDING_NONCES = 10_000
"""Nonces kept at once; the oldest are dropped first (``GET /auth/nonce`` needs no session)."""


class Unauthenticated(DatagoraError):
    """No session, an unknown or expired token, or a sign-in message that does not verify (HTTP 401)."""


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
        self._nonces: OrderedDict[str, float] = OrderedDict()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue_nonce(self) -> tuple[str, float]:
        """A new nonce (22 hex digits: EIP-4361 asks for at least 8 alphanumerics) and its expiry."""
        nonce = secrets.token_hex(11)
        now = self.clock()
        with self._lock:
            self._purge(now)
            while len(self._nonces) >= MAX_PENDING_NONCES:
                self._nonces.popitem(last=False)
            self._nonces[nonce] = now + self.nonce_ttl
        return nonce, now + self.nonce_ttl

    def consume_nonce(self, nonce: str) -> bool:
        """Remove ``nonce``; True when it was issued here and had not expired."""
        with self._lock:
            expires = self._nonces.pop(nonce, None)
        return expires is not None and self.clock() < expires

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
        for key in [k for k, exp in self._nonces.items() if exp <= now]:
            del self._nonces[key]
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]


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


def verify_login(message: str, signature: str, *, store: AuthStore, domain: str, chain_id: int) -> Session:
    """Verify an EIP-4361 sign-in and open a session for its signer. The nonce must have been issued by
    ``store`` and is consumed; the message must name ``domain`` and ``chain_id``; its Expiration Time and Not
    Before are honoured. Raises :class:`Unauthenticated` with the reason."""
    siwe = _siwe_module()
    try:
        parsed = siwe.SiweMessage.from_message(message)
    except Exception as exc:  # the parser raises ValueError, pydantic errors and grammar errors
        raise Unauthenticated(f"not an EIP-4361 sign-in message: {type(exc).__name__}") from None
    if not store.consume_nonce(parsed.nonce):
        raise Unauthenticated("nonce unknown, already used or expired: request a new one from /auth/nonce")
    if parsed.chain_id != chain_id:
        raise Unauthenticated(f"message is for chain {parsed.chain_id}, this node is on chain {chain_id}")
    now = datetime.fromtimestamp(store.clock(), UTC)
    try:
        parsed.verify(signature, domain=domain, nonce=parsed.nonce, timestamp=now)
    except siwe.DomainMismatch:
        raise Unauthenticated(f"message is for domain {parsed.domain!r}, this node is {domain!r}") from None
    except siwe.ExpiredMessage:
        raise Unauthenticated("sign-in message expired") from None
    except siwe.NotYetValidMessage:
        raise Unauthenticated("sign-in message is not valid yet") from None
    except Exception:  # InvalidSignature, and eth-keys errors siwe lets through for malformed signatures
        raise Unauthenticated("signature does not match the message's address") from None
    not_after = parsed.expiration_time._datetime.timestamp() if parsed.expiration_time else None
    return store.open_session(str(parsed.address), not_after)
