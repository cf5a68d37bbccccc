"""The rules of a listing's terms, checked once in the services for the CLI and the API alike
(datagora.services.market.OwnershipTerms)."""

from __future__ import annotations

from typing import Any

import pytest

from datagora.domain.errors import ValidationError
from datagora.domain.models import ETHER, Pricing
from datagora.services.market import DAY, OwnershipTerms


def test_defaults_and_accepted_terms() -> None:
    fixed = OwnershipTerms(Pricing.FIXED, 5)
    assert (fixed.delivery_window, fixed.confirm_window, fixed.collateral, fixed.payment_token) == (
        DAY,
        DAY,
        None,
        ETHER,
    )
    assert OwnershipTerms(Pricing.NEGOTIATED, 5, collateral=0).collateral == 0
    auction = OwnershipTerms(Pricing.AUCTION, 5, min_increment=1, duration=60)
    assert (auction.min_increment, auction.duration) == (1, 60)


@pytest.mark.parametrize(
    ("pricing", "price", "extra", "words"),
    [
        (Pricing.FIXED, 0, {}, "price must be positive"),
        (Pricing.NEGOTIATED, -1, {}, "price must be positive"),
        (Pricing.FIXED, 5, {"collateral": -1}, "collateral must not be negative"),
        (Pricing.FIXED, 5, {"delivery_window": 0}, "windows must be positive"),
        (Pricing.FIXED, 5, {"confirm_window": -5}, "windows must be positive"),
        (Pricing.AUCTION, 5, {"duration": 60}, "minimum increment"),
        (Pricing.AUCTION, 5, {"min_increment": 0, "duration": 60}, "minimum increment"),
        (Pricing.AUCTION, 5, {"min_increment": 1}, "duration"),
        (Pricing.AUCTION, 5, {"min_increment": 1, "duration": 0}, "duration"),
        (Pricing.FIXED, 5, {"min_increment": 1}, "for auctions only"),
        (Pricing.NEGOTIATED, 5, {"duration": 60}, "for auctions only"),
    ],
)
def test_refused_terms(pricing: Pricing, price: int, extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        OwnershipTerms(pricing, price, **extra)
