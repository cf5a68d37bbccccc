"""The points computation F(A, B) and the tier as an MPyC circuit against the plain formula, input checks, and the
two-party comparisons (Lin-Tzeng with Paillier, DGK) against Python's ``>`` (Hu, Xin, Deng, Qian)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagora.domain.errors import ValidationError
from datagora.mpc.comparison import DGK, LinTzeng, compare
from datagora.mpc.points import MAX_POINTS, compute_in_process, plain_result, score, tier

POINTS = st.one_of(
    st.integers(min_value=0, max_value=MAX_POINTS),
    st.integers(min_value=0, max_value=12_000),  # around the tier thresholds and the clipping bounds
    st.sampled_from([0, 1351, 1352, 1999, 2000, 333, 334, 4999, 5000, 1000, 1001, 4054, 4055, 9999, 10_000]),
)


def test_the_papers_case_study_by_the_formula() -> None:
    # Mallory: 2600 brand points, 3200 platform points -> 5800 in total: tier 2 (from 5000); F clipped at 150000
    assert plain_result(2600, 3200).tier == 2
    assert score(2600, 3200) == max(min(max(37 * 2600, 150 * 3200), 150_000), 50_000) == 150_000
    assert score(1000, 100) == 50_000  # both weighted inputs below the floor
    assert score(2000, 100) == 74_000  # 37 A between floor and cap
    assert [tier(t) for t in (1999, 2000, 4999, 5000, 9999, 10_000)] == [0, 1, 1, 2, 2, 3]


@settings(max_examples=150, deadline=None, database=None)
@given(a=POINTS, b=POINTS)
def test_the_secure_circuit_equals_the_plain_formula(a: int, b: int) -> None:
    assert compute_in_process(a, b) == plain_result(a, b)


@pytest.mark.parametrize("bad", [-1, MAX_POINTS + 1, 2**40, 1.5, "100", True, None])
def test_out_of_range_inputs_are_rejected(bad: object) -> None:
    with pytest.raises(ValidationError, match="points must be"):
        compute_in_process(bad, 10)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="points must be"):
        plain_result(10, bad)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def protocols() -> dict[str, DGK | LinTzeng]:
    # a smaller Paillier key keeps the reference protocol's test short; the protocol is the same
    return {"dgk": DGK(), "lin_tzeng": LinTzeng(key_bits=1024)}


EDGES = [(5, 3), (3, 5), (7, 7), (0, 0), (2**32 - 1, 0), (0, 2**32 - 1), (2**31, 2**31 - 1), (96_200, 480_000)]


@pytest.mark.parametrize("which", ["dgk", "lin_tzeng"])
def test_comparisons_agree_with_python_on_edges_and_a_batch(which: str, protocols: dict[str, DGK | LinTzeng]) -> None:
    protocol = protocols[which]
    xs, ys = [x for x, _ in EDGES], [y for _, y in EDGES]
    run = compare(protocol, xs, ys)
    assert run.greater == [x > y for x, y in EDGES]
    assert run.bytes > 2 * len(EDGES) * protocol.bits * 100  # ciphertexts went over the socket both ways


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=st.integers(min_value=0, max_value=2**32 - 1), y=st.integers(min_value=0, max_value=2**32 - 1))
def test_dgk_fuzz(protocols: dict[str, DGK | LinTzeng], x: int, y: int) -> None:
    assert compare(protocols["dgk"], [x], [y]).greater == [x > y]


def test_comparison_inputs_are_checked(protocols: dict[str, DGK | LinTzeng]) -> None:
    dgk = protocols["dgk"]
    with pytest.raises(ValidationError, match=r"0\.\.2\^32 - 1"):
        compare(dgk, [2**32], [1])
    with pytest.raises(ValidationError, match="same length"):
        compare(dgk, [1, 2], [1])
