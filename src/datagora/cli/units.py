"""Readable units for people: ether (with the wei in brackets where the exact figure matters), ERC-20 amounts by
symbol, dates in UTC with how far away they are, durations, sizes in KB / MB; and the parsing of amounts typed
on the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from datagora.domain.errors import DatagoraError

ETHER = 10**18
ZERO_ADDRESS = "0x" + "0" * 40


def ether(wei: int, *, exact: bool = False, places: int | None = None) -> str:
    """``wei`` in ether without trailing zeros, e.g. ``"0.9875 ETH"``; ``places`` rounds down to that many
    decimals (``"9.4995 ETH"``); ``exact`` adds ``" (987,500,000,000,000,000 wei)"`` when the ether figure is
    not a round number of ether."""
    shown = wei if places is None else wei - wei % 10 ** (18 - places)
    text = f"{'~' if shown != wei else ''}{_decimal(shown, 18)} ETH"
    if exact and wei % ETHER:
        text += f" ({wei:,} wei)"
    return text


def _decimal(units: int, decimals: int) -> str:
    value = Decimal(units) / (Decimal(10) ** decimals)
    text = format(value.normalize(), "f") if value else "0"
    return text


def money(contracts: Any, amount: int, payment_token: str = ZERO_ADDRESS, *, exact: bool = False) -> str:
    """``amount`` of ``payment_token``: ether, or the ERC-20's units by its symbol and decimals (its address,
    shortened, when the token does not answer); ``exact`` adds the amount in the smallest unit when the
    figure is not round."""
    if int(payment_token, 16) == 0:
        return ether(amount, exact=exact)
    try:
        symbol = str(contracts.tokens.symbol(payment_token))
        decimals = int(contracts.tokens.decimals(payment_token))
    except DatagoraError:
        return f"{amount:,} units of {short(payment_token)}"
    text = f"{_decimal(amount, decimals)} {symbol}"
    return text + (f" ({amount:,} units)" if exact and amount % 10**decimals else "")


def parse_ether(text: str) -> int:
    """``"0.5"`` → 5 × 10^17 wei. ``ValueError`` for anything else than a non-negative amount with at most 18
    decimals."""
    try:
        wei = Decimal(text) * ETHER
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of ether: {text!r}") from exc
    if not wei.is_finite() or wei != wei.to_integral_value() or wei < 0:
        raise ValueError(f"not a valid amount of ether: {text!r}")
    return int(wei)


def parse_amount(text: str) -> int:
    """An amount in the smallest unit (wei): ``"0.5"`` or ``"0.5eth"`` is half an ether (10^18 units; for an
    18-decimal ERC-20 the same in its units), ``"5000wei"`` is 5,000 units. ``ValueError`` otherwise."""
    raw = text.strip().lower()
    if raw.endswith("wei"):
        digits = raw.removesuffix("wei").strip()
        if not digits.isascii() or not digits.isdigit():
            raise ValueError(f"not an amount of wei: {text!r}")
        return int(digits)
    return parse_ether(raw.removesuffix("ether").removesuffix("eth").strip() or text)


def short(h: str) -> str:
    """A long hex string as ``0x12345678…abcdef``."""
    return h[:10] + "…" + h[-6:] if len(h) > 20 else h


def duration(seconds: int) -> str:
    """``86400`` → ``"1 day"``, ``5400`` → ``"1 h 30 min"``, ``42`` → ``"42 s"``."""
    seconds = int(seconds)
    if seconds < 0:
        return "-" + duration(-seconds)
    if seconds < 120:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        parts = [f"{days} day{'s' if days != 1 else ''}"] + ([f"{hours} h"] if hours else [])
    elif hours:
        parts = [f"{hours} h"] + ([f"{minutes} min"] if minutes else [])
    else:
        parts = [f"{minutes} min"]
    return " ".join(parts)


def when(timestamp: int, now: int | None = None) -> str:
    """A Unix time as ``"2026-12-03 14:05 UTC"``, with ``"in 2 h"`` / ``"3 days ago"`` relative to ``now``
    (the chain's clock) when given."""
    text = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M UTC")
    if now is None:
        return text
    delta = int(timestamp) - int(now)
    rel = "now" if abs(delta) < 60 else f"in {duration(delta)}" if delta > 0 else f"{duration(-delta)} ago"
    return f"{text} ({rel})"


def size(n: int) -> str:
    """Bytes as ``"812 bytes"``, ``"12.3 KB"``, ``"4.5 MB"``, ``"1.2 GB"`` (1 KB = 1,000 bytes)."""
    if n < 1_000:
        return f"{n:,} byte{'s' if n != 1 else ''}"
    for unit, scale in (("KB", 10**3), ("MB", 10**6), ("GB", 10**9)):
        if n < scale * 1_000 or unit == "GB":
            return f"{n / scale:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover
