"""The contracts' refusal reasons (the ``assert`` messages of ``contracts/*.vy``) as sentences a person reads.

One table for every entry point: the CLI's ``error:`` line and the web pages show :func:`plain_refusal`'s sentence
followed by the contract's own reason, so a person reads what happened and what to do, and support still sees the
exact reason. Reasons not in the table are shown as the contract wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from datagora.domain.models import AccessRefusal

_NOT_AUDITED_BUYER = "Your organisation is not audited or is suspended, so it cannot buy. Ask the supervisor."
_NOT_AUDITED_SELLER = (
    "The seller's organisation is not audited or is suspended, so it cannot sell now. Ask the supervisor."
)

REFUSALS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # who may act
        "market: buyer not audited": _NOT_AUDITED_BUYER,
        "use-rights: buyer not audited": _NOT_AUDITED_BUYER,
        "market: seller not audited": _NOT_AUDITED_SELLER,
        "use-rights: seller not audited": _NOT_AUDITED_SELLER,
        "catalog: publisher not audited": (
            "Your organisation is not audited or is suspended, so it cannot publish. Ask the supervisor."
        ),
        "market: own listing": "This is your own listing: you cannot buy from yourself.",
        "use-rights: own listing": "This is your own listing: you cannot buy from yourself.",
        "market: not token owner": "Only the dataset's owner can put it on offer.",
        "use-rights: not token owner": "Only the dataset's owner can put it on offer.",
        "use-rights: seller not token owner": "The seller no longer owns this dataset, so its queries cannot be sold.",
        "catalog: not dataset owner": "Only the dataset's owner can do this.",
        "market: not seller": "Only the seller of this order can do this.",
        "use-rights: not seller": "Only the seller of this order can do this.",
        "market: not buyer": "Only the buyer of this order can do this.",
        "market: not offer buyer": "Only the buyer who made this offer can do this.",
        "market: not buyer or platform": "Only the buyer or the platform can do this.",
        # listings and prices
        "market: listing not active": "This listing is no longer on offer: it was sold, withdrawn or has ended.",
        "use-rights: listing not active": "This listing is no longer on offer: it was sold, withdrawn or has ended.",
        "market: wrong value": "The amount paid is not the listing's price: reload the page and try again.",
        "use-rights: wrong value": "The amount paid is not the price of the queries: reload the page and try again.",
        "market: zero price": "Enter a price above 0.",
        "use-rights: zero price": "Enter a price above 0.",
        "market: not a fixed-price sale": "This listing is not sold at a fixed price: make an offer or bid instead.",
        "market: not negotiable": "This listing does not take offers.",
        "market: not an auction": "This listing is not an auction.",
        "market: auction ended": "The auction has ended: no more bids.",
        "market: auction not ended": "The auction has not ended yet.",
        "market: auction has bids": "The auction already has bids, so it cannot be withdrawn.",
        "market: bid too low": "The bid is too low: it must beat the highest bid by at least the smallest raise.",
        "market: below reserve": "The bid is below the starting price.",
        "market: offer expired": "The offer has expired.",
        "market: offer not open": "The offer has already been answered or withdrawn.",
        "market: counter changed": "The seller changed the counter-offer meanwhile: reload the page.",
        "market: no counter": "There is no counter-offer to accept.",
        # orders and deadlines
        "market: order not paid": "The order is not waiting for this step any more.",
        "use-rights: order not paid": "The order is closed: no queries can be asked on it.",
        "market: order not delivered": (
            "The order is not at the delivered step: it is not delivered yet, or already confirmed or disputed."
        ),
        "market: order not disputed": "The order is not disputed.",
        "market: not refundable": "This order cannot be refunded now.",
        "market: delivery deadline passed": "The time to deliver has passed.",
        "market: delivery deadline not passed": "The seller still has time to deliver.",
        "market: confirm deadline passed": "The time to confirm or dispute has passed.",
        "market: confirm deadline not passed": "The buyer still has time to confirm or dispute.",
        "market: dispute deadline passed": "The time to rule on the dispute has passed.",
        "market: dispute deadline not passed": "The platform still has time to rule on the dispute.",
        "use-rights: no queries left": "All the prepaid queries are used: prepay more to ask again.",
        "use-rights: usage window over": "The time to use these queries is over.",
        "use-rights: usage window not over": "The queries can still be used: the order closes when their time ends.",
        "use-rights: bad buyer signature": "The query was not signed by the order's buyer.",
        # data
        "catalog: content already published": "This data is already published as another dataset.",
        "catalog: attestation expired": "The platform's attestation has expired: publish again to get a new one.",
        "catalog: invalid attestation": "The platform's attestation is not valid for this dataset.",
        "catalog: dataset retired": "This dataset has been retired by its owner.",
        "catalog: unknown dataset": "There is no such dataset.",
        # organisations
        "registry: already registered": "This account already belongs to an organisation or asked to join one.",
        "registry: unknown organisation": "There is no such organisation.",
        "registry: supervisor cannot register": "The supervisor's account cannot join an organisation.",
        "registry: status unchanged": "The organisation already has that status.",
        # reputation
        "reputation: already rated": "You have already rated this order.",
        "reputation: order not completed": "Only a completed order can be rated.",
        "reputation: not a party": "Only the buyer or the seller of the order can rate it.",
        "reputation: parties of one organisation": "Members of one organisation cannot rate each other.",
        # the shop (shopping-cart orders)
        "shop: order already paid": (
            "This cart has already been paid (perhaps in another tab): this second payment was refused and its "
            "ether stays in your account. See your orders."
        ),
        "shop: no such shop": "This shop is not open on chain yet: its operator opens it first (datagora shop open).",
        "shop: quote expired": "This checkout has expired: go back to the cart and check out again.",
        "shop: seller bond too low": "The shop cannot take this order now (its deposit is too low). Try later.",
        "shop: delivery window open": "The shop still has time to deliver: a refund is possible after the deadline.",
        "shop: order not delivered": "The shop has not marked this order delivered yet.",
        "shop: not buyer": "Only the customer who paid this order can do this.",
        "shop: seller not audited": (
            "The shop's organisation is not audited or is suspended, so it cannot sell now. Ask the supervisor."
        ),
        # consent and streams (customer data; issue 12)
        "consent: no such consent": "There is no such consent: the customer never gave it.",
        "consent: not the consumer": (
            "This consent was given to another organisation, or yours is not audited: it does not cover you."
        ),
        "consent: wrong category": "This consent covers another category of the customer's data.",
        "consent: wrong purpose": "The customer consented to another purpose, not this one: nothing was shared.",
        "consent: revoked": "The customer has withdrawn this consent: nothing was shared.",
        "consent: expired": "This consent has expired: nothing was shared. The customer may give a new one.",
        "consent: no such item": "There is no such data item.",
        "consent: item erased": "The customer has erased this data: it no longer exists and cannot be shared.",
        "consent: deposit too low": "Your deposit of reward tokens is too low to pay the customer: deposit more.",
        "consent: already granted": "This consent is already given and still valid: revoke it first to change it.",
        "consent: already revoked": "This consent is already withdrawn.",
        "consent: not the data subject": "Only the customer who gave this consent can withdraw it.",
        "consent: expiry in the past": "Choose an expiry date in the future.",
        "streams: not a writer": "This account may not publish to the stream: ask its owner for write permission.",
        "streams: item already erased": "This data item is already erased.",
        "streams: not publisher or owner": "Only the shop that published this data item can erase it.",
    }
)
"""Contract reason → sentence (what happened, and what to do where there is something to do)."""


def plain_refusal(reason: str) -> str | None:
    """The sentence for a contract's refusal ``reason`` (e.g. ``"market: buyer not audited"``), also when the
    reason starts a longer message (``"market: seller not audited (0x… is not in …)"``); None when it is not a
    known reason."""
    text = " ".join(reason.split())
    return REFUSALS.get(text) or REFUSALS.get(text.split(" (", 1)[0])


def explain(reason: str) -> str:
    """``reason`` preceded by its sentence when known (``"<sentence> (the contract said: <reason>)"``), else
    ``reason`` unchanged."""
    sentence = plain_refusal(reason)
    return f"{sentence} (the contract said: {reason})" if sentence else reason


_ACCESS_REASONS: Final[Mapping[AccessRefusal, str]] = MappingProxyType(
    {
        AccessRefusal.NO_CONSENT: "consent: no such consent",
        AccessRefusal.NOT_CONSUMER: "consent: not the consumer",
        AccessRefusal.WRONG_CATEGORY: "consent: wrong category",
        AccessRefusal.WRONG_PURPOSE: "consent: wrong purpose",
        AccessRefusal.REVOKED: "consent: revoked",
        AccessRefusal.EXPIRED: "consent: expired",
        AccessRefusal.NO_ITEM: "consent: no such item",
        AccessRefusal.ITEM_ERASED: "consent: item erased",
        AccessRefusal.DEPOSIT_TOO_LOW: "consent: deposit too low",
    }
)


def access_refusal_reason(refusal: AccessRefusal) -> str:
    """The contract's reason for a refusal code (``AccessRefused`` event, ``check`` view): the message
    ``record_access`` reverts with, e.g. ``"consent: revoked"``."""
    return _ACCESS_REASONS[refusal]


def access_refusal_sentence(refusal: AccessRefusal) -> str:
    """The refusal as a sentence a person reads (``"The customer has withdrawn this consent: nothing was
    shared."``)."""
    return REFUSALS[_ACCESS_REASONS[refusal]]
