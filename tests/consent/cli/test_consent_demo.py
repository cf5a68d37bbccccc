"""``datagora demo consent`` in process on the embedded chain: the story a line per step, in order, and every check
of the outcome passed."""

from __future__ import annotations

import re

import pytest

from tests.kits.cli_fixtures import invoke, ok

pytestmark = pytest.mark.slow  # ~10 s: forty transactions on the embedded EVM

STEPS = [
    r"deployed Registry, Streams, RewardToken and Consent",
    r"stored 9 profile documents \(JSON-LD, schema.org\) encrypted",
    r"consented \(#1\) to share their purchase history with Blue Partners for\s+marketing",
    r"asked for item #1 for marketing: access to item #1 recorded under\s+consent #1",
    r"checked the hash on chain and read \d+ orders",
    r"asked for it for research: The customer consented to another\s+purpose",
    r"withdrew consent #1",
    r"asked again for marketing: The customer has withdrawn this consent",
    r"destroyed its\s+data key and marked 1 item\(s\) erased on chain",
    r"asked for it again: The customer has erased this data",
    r"✓ customer-1's timeline holds their 1 access and 2 refusals",
]


def test_demo_consent_tells_the_story_in_order() -> None:
    out = ok(invoke(["demo", "consent"]))
    position = 0
    for step in STEPS:
        found = re.compile(step).search(out, position)
        assert found, f"missing or out of order: {step!r}\n{out}"
        position = found.end()
