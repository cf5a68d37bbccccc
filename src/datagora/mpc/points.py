"""The points paper's membership computation (Hu, Xin, Deng, Qian, case study and scheme).

F(A, B) = max(min(max(37 A, 150 B), 150000), 50000) over the brand's points A and the platform's points B, and the
membership tier of A + B against the thresholds 2000 / 5000 / 10000 (tier 0 below 2000, 1 from 2000, 2 from
5000, 3 from 10000). :func:`plain_result` computes both in the clear (the reference the tests compare with);
:func:`circuit` computes them over MPyC secret shares; :func:`compute_in_process` runs the circuit in MPyC's
single-process mode (no network, for property tests).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from datagora.domain.errors import ValidationError

MAX_POINTS = 10_000_000
"""Largest accepted input (points). Keeps 150 B and A + B inside the 32-bit secure integers (150 * 10^7 < 2^31)."""
TIER_THRESHOLDS: tuple[int, int, int] = (2_000, 5_000, 10_000)
"""Points (A + B) from which tiers 1, 2 and 3 start."""
FLOOR = 50_000
CAP = 150_000
BRAND_WEIGHT = 37
PLATFORM_WEIGHT = 150
BIT_LENGTH = 32
"""Bit length of the secure integers (MPyC ``SecInt(32)``)."""


@dataclass(frozen=True)
class PointsResult:
    """The computation's only output: ``score`` = F(A, B) (50,000..150,000) and ``tier`` (0..3)."""

    score: int
    tier: int


def check_points(value: object, who: str) -> int:
    """``value`` as an int in 0..:data:`MAX_POINTS`; :class:`ValidationError` otherwise (bools, floats, text)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{who} points must be a whole number, got {value!r}")
    if not 0 <= value <= MAX_POINTS:
        raise ValidationError(f"{who} points must be between 0 and {MAX_POINTS:,}, got {value:,}")
    return value


def score(a: int, b: int) -> int:
    """F(A, B) = max(min(max(37 A, 150 B), 150000), 50000) in the clear."""
    return max(min(max(BRAND_WEIGHT * a, PLATFORM_WEIGHT * b), CAP), FLOOR)


def tier(total: int) -> int:
    """The membership tier of ``total`` points: how many of 2000 / 5000 / 10000 it reaches (0..3)."""
    return sum(total >= t for t in TIER_THRESHOLDS)


def plain_result(a: int, b: int) -> PointsResult:
    """The reference result of brand points ``a`` and platform points ``b`` (both checked)."""
    a = check_points(a, "brand")
    b = check_points(b, "platform")
    return PointsResult(score(a, b), tier(a + b))


def circuit(mpc: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """The secure circuit: ``a``, ``b`` are MPyC secure integers (``SecInt(32)``) or secure arrays of them;
    returns secure F(A, B) and tier.

    Written for one layer of comparisons (their rounds dominate the time): clipping to [50000, 150000] is
    monotone, so F = clip(max(x, y)) = clip(x) if x >= y else clip(y) with x = 37 A, y = 150 B; the comparison
    x >= y, the four clipping comparisons of x and y and the three tier comparisons of A + B all run in parallel,
    then two rounds of multiplications select the result. Every comparison is MPyC's protocol on Shamir shares
    (statistical security 2^-30)."""
    x, y = BRAND_WEIGHT * a, PLATFORM_WEIGHT * b
    x_wins = x >= y
    x_over, x_under, y_over, y_under = x > CAP, x < FLOOR, y > CAP, y < FLOOR
    total = a + b
    t = (total >= TIER_THRESHOLDS[0]) + (total >= TIER_THRESHOLDS[1]) + (total >= TIER_THRESHOLDS[2])
    clip_x = x + x_over * (CAP - x) + x_under * (FLOOR - x)
    clip_y = y + y_over * (CAP - y) + y_under * (FLOOR - y)
    f = clip_y + x_wins * (clip_x - clip_y)
    return f, t


_RUNTIME: Any = None


def runtime(options: list[str] | None = None) -> Any:
    """MPyC's runtime for this process, created on first use. MPyC reads its options from ``sys.argv`` when
    ``mpyc.runtime`` is first imported: ``options`` are those options (``-P host:port`` per party, ``-I index``,
    ``--ssl``); the default is one party, no network and no log lines. Later calls return the same runtime."""
    global _RUNTIME
    if _RUNTIME is None:
        saved = sys.argv
        sys.argv = [saved[0], *(["--no-log"] if options is None else options)]
        try:
            from mpyc.runtime import mpc
        finally:
            sys.argv = saved
        _RUNTIME = mpc
    return _RUNTIME


def compute_in_process(a: int, b: int) -> PointsResult:
    """Run :func:`circuit` in MPyC's single-process mode (one party, no network): the same arithmetic and
    comparison protocols on shares, for property tests. Raises :class:`ValidationError` for out-of-range input."""
    a = check_points(a, "brand")
    b = check_points(b, "platform")
    mpc = runtime()
    secint = mpc.SecInt(BIT_LENGTH)

    async def main() -> list[int]:
        await mpc.start()
        sa = mpc.input(secint(a), senders=0)
        sb = mpc.input(secint(b), senders=0)
        f, t = circuit(mpc, sa, sb)
        out = await mpc.output([f, t])
        await mpc.shutdown()
        return [int(v) for v in out]

    f, t = mpc.run(main())
    return PointsResult(f, t)
