"""The EIP-4361 (Sign-In with Ethereum) message a node asks an account to sign, built without the siwe package so
that importing a client needs neither it nor FastAPI (https://eips.ethereum.org/EIPS/eip-4361)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

STATEMENT = "Sign in to this Datagora node."


def normalise_uri(uri: str) -> str:
    parts = urlsplit(uri.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def siwe_message(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: datetime,
    expires_in: timedelta | None = timedelta(minutes=5),
    statement: str = STATEMENT,
) -> str:
    """The EIP-4361 message text (https://eips.ethereum.org/EIPS/eip-4361) ``address`` signs to sign in at
    ``domain``. ``address`` must be EIP-55 checksummed."""
    lines = [
        f"{domain} wants you to sign in with your Ethereum account:",
        address,
        "",
        statement,
        "",
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {_iso(issued_at)}",
    ]
    if expires_in is not None:
        lines.append(f"Expiration Time: {_iso(issued_at + expires_in)}")
    return "\n".join(lines)
