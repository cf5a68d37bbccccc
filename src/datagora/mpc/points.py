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


COMPARISON_BITS = 26
"""Bit length the secure comparisons work with: every compared difference lies in -2^25..2^25 - 1 (A + B minus a
threshold is at most 2 * 10^7; two clipped weighted values differ by at most 100,000)."""


def clip(value: int) -> int:
    """``value`` clipped to [50000, 150000] (the floor and cap of F)."""
    return max(min(value, CAP), FLOOR)


def party_inputs(role: int, value: int) -> list[int]:
    """What input party ``role`` (0 brand, 1 platform) shares for its points ``value``: the points themselves
    (for the tier of A + B) and its own clipped weighted value, clip(37 A) or clip(150 B).

    Clipping is monotone, so F(A, B) = clip(max(37 A, 150 B)) = max(clip(37 A), clip(150 B)): each side clips
    its own number before sharing it, and the circuit needs one comparison for F instead of five. A side learns
    nothing new from this (its own clipped value is a function of its own points)."""
    weight = BRAND_WEIGHT if role == 0 else PLATFORM_WEIGHT
    return [value, clip(weight * value)]


def circuit(mpc: Any, brand: Any, platform: Any) -> Any:
    """The secure circuit: ``brand`` and ``platform`` are MPyC secure arrays (``SecInt(32)``) of shape (2, n),
    row 0 the points (A or B), row 1 the side's clipped weighted value (:func:`party_inputs`), one column per
    member. Returns an awaitable of the opened results, 2 n Python ints: F(A, B) of each member, then each
    member's tier. Nothing else is opened.

    Four comparisons per member, all in one vectorised MPyC comparison (one message per peer per round, every
    comparison in the same rounds): clip(37 A) >= clip(150 B), and A + B against the three tier thresholds, each
    on :data:`COMPARISON_BITS` bits (MPyC's protocol on Shamir shares, statistical security 2^-30). F is then
    y + w (x - y) with w the secret bit x >= y; its product is opened in the same round as the tiers
    (:func:`_open_selected`), not reshared first."""
    a, x = brand[0], brand[1]
    b, y = platform[0], platform[1]
    total = a + b
    differences = mpc.np_vstack(
        (x - y, total - TIER_THRESHOLDS[0], total - TIER_THRESHOLDS[1], total - TIER_THRESHOLDS[2])
    )
    below = mpc.np_sgn(differences, l=COMPARISON_BITS, LT=True)  # 1 where the difference is negative
    x_wins = 1 - below[0]
    tiers = 3 - (below[1] + below[2] + below[3])
    return _open_selected(mpc, x_wins, x - y, y, tiers)


def _open_selected(mpc: Any, w: Any, d: Any, y: Any, tiers: Any) -> Any:
    """Open F = y + w d and the tiers in one round: each party multiplies its shares of ``w`` and ``d`` locally
    (a sharing of degree 2t), adds a pseudorandom sharing of zero of degree 2t (MPyC's PRSS, as MPyC itself does
    when it opens squares for random bits) so the opened polynomial is uniformly random but for its constant
    term, and every party opens the lot at threshold 2t (3 parties, t = 1: all three shares). This is the
    multiplication protocol of Ben-Or, Goldwasser and Wigderson with the reshare and the output merged; the
    parties learn F and the tiers and nothing else. Without PRSS (MPyC's ``--no-prss``) it multiplies and opens
    the usual way."""
    import asyncio

    import numpy as np  # here, not at the top: a node that imports this module never pays for NumPy
    from mpyc import thresha
    from mpyc.asyncoro import mpc_coro

    if mpc.options.no_prss:
        return mpc.output(mpc.np_concatenate((y + w * d, tiers)))

    @mpc_coro
    async def run():  # type: ignore[no-untyped-def]  # no annotation: MPyC reads the return type from it
        await mpc.returnType(asyncio.Future)
        field = type(y).sectype.field
        w_s, d_s, y_s, t_s = await mpc.gather(w, d, y, tiers)
        n = len(y_s)
        zero = thresha.np_pseudorandom_share_0(
            field, len(mpc.parties), mpc.pid, mpc.prfs(field.order), mpc._prss_uci(), n
        )
        f_s = y_s.value + w_s.value * d_s.value + zero.value
        shares = field.array(np.concatenate((f_s, t_s.value)) % field.modulus)
        opened = await mpc.output(shares, threshold=2 * mpc.threshold)
        half = field.modulus // 2
        return [int(v) - field.modulus if int(v) > half else int(v) for v in opened.value]

    return run()


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
        import numpy as np  # here, not at the top: a node that imports this module never pays for NumPy

        await mpc.start()
        sa = mpc.input(secint.array(np.array([[v] for v in party_inputs(0, a)], dtype=object)), senders=0)
        sb = mpc.input(secint.array(np.array([[v] for v in party_inputs(1, b)], dtype=object)), senders=0)
        out = await circuit(mpc, sa, sb)
        await mpc.shutdown()
        return [int(v) for v in out]

    f, t = mpc.run(main())
    return PointsResult(f, t)
