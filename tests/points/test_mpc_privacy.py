"""What each party of the points computation sees (Hu, Xin, Deng, Qian: neither side reveals its points).

Each party's process records every payload it receives (MPyC messages, decoded as field elements), over ten
evaluations per session. For two input pairs with the same output (F = 150000, tier 2):
- the brand (A fixed) sees B = 3200 or B = 3300: its views have the same shape and the same distribution;
- the platform (B fixed) sees A = 2600 or A = 2700: likewise;
- the MPC platform sees (2600, 3200) or (2700, 3300): likewise;
and no party ever receives the other side's number (or its weighted value) as a field element.
"""

from __future__ import annotations

from functools import cache

import pytest
from scipy.stats import ks_2samp

from datagora.mpc.session import PartyOutput, run_session

pytestmark = pytest.mark.slow

REPEAT = 10
BRAND, PLATFORM, HELPER = 0, 1, 2


@cache
def views(a: int, b: int) -> tuple[PartyOutput, ...]:
    session = run_session(a, b, repeat=REPEAT, record=True, timeout=120)
    assert session.result.score == 150_000 and session.result.tier == 2
    return tuple(session.parties)


def elements(view: PartyOutput) -> list[int]:
    assert view.received is not None
    width = view.byte_length
    out = []
    for _, _, payload in sorted(view.received):
        raw = bytes.fromhex(payload)
        out += [int.from_bytes(raw[i : i + width], "little") for i in range(0, len(raw), width)]
    return out


def shape(view: PartyOutput) -> list[tuple[int, int, int]]:
    """Each message's sender, place in the program (MPyC's program counter) and size, in program order."""
    assert view.received is not None
    return sorted((peer, pc, len(payload)) for peer, pc, payload in view.received)


@pytest.mark.parametrize(
    ("party", "first", "second", "hidden"),
    [
        (BRAND, (2600, 3200), (2600, 3300), [3200, 3300, 150 * 3200, 150 * 3300]),
        (PLATFORM, (2600, 3200), (2700, 3200), [2600, 2700, 37 * 2600, 37 * 2700]),
        (HELPER, (2600, 3200), (2700, 3300), [2600, 2700, 3200, 3300, 5800, 6000]),
    ],
    ids=["brand never learns B", "platform never learns A", "MPC platform learns only the output"],
)
def test_views_are_identically_distributed_for_inputs_with_the_same_output(
    party: int, first: tuple[int, int], second: tuple[int, int], hidden: list[int]
) -> None:
    one, two = views(*first)[party], views(*second)[party]
    assert shape(one) == shape(two), "the message pattern depends on the other side's input"
    assert len(shape(one)) > 50  # the comparisons exchanged many messages
    xs, ys = elements(one), elements(two)
    assert not set(hidden) & (set(xs) | set(ys)), "a party received the other side's points in the clear"
    modulus = one.modulus
    test = ks_2samp([x / modulus for x in xs], [y / modulus for y in ys])
    assert test.pvalue > 1e-3, f"views differ in distribution (KS p = {test.pvalue:.2g})"
