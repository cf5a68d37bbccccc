"""Readable units: ether with the wei in brackets, durations, dates relative to the chain's clock, sizes."""

from __future__ import annotations

import pytest

from datagora.cli import units

ETHER = 10**18


@pytest.mark.parametrize(
    ("wei", "plain", "exact"),
    [
        (0, "0 ETH", "0 ETH"),
        (ETHER, "1 ETH", "1 ETH"),
        (12 * ETHER, "12 ETH", "12 ETH"),
        (ETHER // 2, "0.5 ETH", "0.5 ETH (500,000,000,000,000,000 wei)"),
        (987_500_000_000_000_000, "0.9875 ETH", "0.9875 ETH (987,500,000,000,000,000 wei)"),
        (1, "0.000000000000000001 ETH", "0.000000000000000001 ETH (1 wei)"),
        (
            10**24 + 1,
            "1000000.000000000000000001 ETH",
            "1000000.000000000000000001 ETH (1,000,000,000,000,000,000,000,001 wei)",
        ),
    ],
)
def test_ether(wei: int, plain: str, exact: str) -> None:
    assert units.ether(wei) == plain
    assert units.ether(wei, exact=True) == exact


def test_ether_rounded_down_says_so() -> None:
    assert units.ether(9_499_550_086_993_624_096, places=4) == "~9.4995 ETH"
    assert units.ether(9_499_550_086_993_624_096, places=4, exact=True) == "~9.4995 ETH (9,499,550,086,993,624,096 wei)"
    assert units.ether(2 * ETHER, places=4, exact=True) == "2 ETH"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (119, "119 s"),
        (3_600, "1 h"),
        (5_400, "1 h 30 min"),
        (86_400, "1 day"),
        (90_000, "1 day 1 h"),
        (7 * 86_400, "7 days"),
        (600, "10 min"),
        (-3_600, "-1 h"),
    ],
)
def test_duration(seconds: int, text: str) -> None:
    assert units.duration(seconds) == text


def test_when_is_utc_and_relative_to_the_chain_clock() -> None:
    assert units.when(0) == "1970-01-01 00:00 UTC"
    assert units.when(86_400, now=0) == "1970-01-02 00:00 UTC (in 1 day)"
    assert units.when(0, now=7_200) == "1970-01-01 00:00 UTC (2 h ago)"
    assert units.when(30, now=0).endswith("(now)")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1_000, "1.0 KB"),
        (2_700, "2.7 KB"),
        (4_500_000, "4.5 MB"),
        (1_200_000_000, "1.2 GB"),
        (3 * 10**12, "3000.0 GB"),
    ],
)
def test_size(n: int, text: str) -> None:
    assert units.size(n) == text


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("0.5", ETHER // 2),
        ("0.5eth", ETHER // 2),
        ("2 ether", 2 * ETHER),
        ("5000wei", 5000),
        ("0", 0),
        ("0.000000000000000001", 1),
    ],
)
def test_parse_amount(text: str, wei: int) -> None:
    assert units.parse_amount(text) == wei


@pytest.mark.parametrize("text", ["abc", "-1", "1e-30", "inf", "NaN", "1.5wei", "0x10wei", "wei"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        units.parse_amount(text)
