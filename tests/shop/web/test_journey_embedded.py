"""The whole journey of the shopping-cart paper in Debian's Chromium, from checkout to erasure, on the embedded
chain: the shop's, the partner's and the customer's nodes served over HTTP in this process (see
tests/shop/web/journey_kit.py). Screenshots: build/screenshots/journey-embedded-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.shop.web.journey_kit import Nodes, checkout_to_erasure, serve_three
from tests.world import World

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")]


@pytest.fixture(scope="module")
def nodes(world_base: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    yield from serve_three(world_base, tmp_path_factory.mktemp("journey-embedded"))


def test_checkout_consent_access_reward_revoke_refusal_erasure(nodes: Nodes, new_page: Any) -> None:
    checkout_to_erasure(nodes, new_page, "journey-embedded")
