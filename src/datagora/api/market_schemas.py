"""Request and response bodies of the market's other ways to trade: negotiation (``/negotiations``), English auctions
(``/auctions``), a buyer's dispute, the parties' evidence and a use-right's expiry (``/orders/{id}/dispute``,
``/reupload``, ``/disclose``, ``/expire``) and ratings (``/ratings``). The conventions of
:mod:`datagora.api.schemas` hold: amounts in wei (or the listing's ERC-20 smallest unit), times Unix seconds, hashes
0x-hex, unknown request fields refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, HttpUrl

from datagora.api.schemas import MAX_WEI, TEXT_PATTERN, Id, ListingOut, OrderOut, Out, Strict, TxOut, Window, term
from datagora.domain.models import Offer


class NegotiationIn(Strict):
    """A buyer's offer on a negotiable listing: ``amount_wei`` and the buyer's collateral are escrowed until the
    offer is accepted, rejected or withdrawn."""

    listing_id: Id
    amount_wei: Annotated[int, Field(ge=1, le=MAX_WEI, description="In the payment token's smallest unit.")]
    valid_for: Window = Field(default=86_400, description="Seconds the offer stays open.")


class CounterIn(Strict):
    amount_wei: Annotated[int, Field(ge=1, le=MAX_WEI, description="The seller's counter price.")]


class NegotiationOut(Out):
    """A negotiation offer (``Market.offers``): the escrowed ``amount_wei``, the seller's ``counter_wei`` (null:
    none), ``expiry`` (Unix seconds) and ``state``."""

    offer_id: int
    listing_id: int
    buyer: str
    amount_wei: int
    counter_wei: int | None
    expiry: int
    state: Literal["open", "countered", "accepted", "rejected", "withdrawn"]

    @classmethod
    def of(cls, offer: Offer) -> NegotiationOut:
        return cls(
            offer_id=offer.id,
            listing_id=offer.listing_id,
            buyer=offer.buyer,
            amount_wei=offer.amount,
            counter_wei=offer.counter or None,
            expiry=offer.expiry,
            state=term(offer.state),  # type: ignore[arg-type]
        )


class NegotiationTxOut(Out):
    negotiation: NegotiationOut
    tx: TxOut


class NegotiatedOrderOut(Out):
    """An accepted offer (or counter): the offer and the order it became."""

    negotiation: NegotiationOut
    order: OrderOut
    tx: TxOut


class BidIn(Strict):
    amount_wei: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_WEI,
            description="The bid; at least the reserve, then the highest bid plus the minimum increment.",
        ),
    ]


class AuctionTxOut(Out):
    offer: ListingOut = Field(description="The auctioned listing, with the auction's state.")
    tx: TxOut


class SettledOut(Out):
    offer: ListingOut
    order: OrderOut | None = Field(description="The highest bidder's order (null: no bid, the dataset returned).")
    tx: TxOut


class DisputeIn(Strict):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=TEXT_PATTERN, description="Kept off chain; its keccak256 goes on chain."
    )


class DisputedOut(Out):
    order: OrderOut
    reason_hash: str = Field(description="keccak256 of the reason, committed on chain.")
    tx: TxOut


class ExpiredOut(Out):
    order: OrderOut
    buyer_credit_wei: int = Field(description="Unused credit owed back to the buyer (withdraw it).")
    tx: TxOut


class RatingIn(Strict):
    order_id: Id
    score: Annotated[int, Field(ge=1, le=5, description="1 (worst) to 5 (best).")]


class RatingOut(Out):
    order_id: int
    rated: str = Field(description="The other party of the order: the seller when the buyer rates, and back.")
    score: int
    tx: TxOut


class ReputationOut(Out):
    address: str
    average: float | None = Field(description="Mean score received, 1..5 (null: never rated).")
    count: int


class EvidenceIn(Strict):
    """Where the platform's node is: a party of a disputed order hands it its evidence."""

    platform_url: Annotated[HttpUrl, Field(description="Base URL of the platform's node.")]
