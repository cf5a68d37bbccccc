# pragma version ~=0.4.3
"""
@title Datagora sale constants, states and view shapes
@notice The numbers the sale contracts (Market, UseRights) and Reputation
        share: sale kinds, pricings, listing / order / offer states,
        settlement outcomes, dispute rulings, bounds, and the unpacked
        `Listing` / `Order` shapes their views return. Every number here is
        part of the contracts' ABI and events (off-chain code reads them),
        so they keep their values across versions.
@dev Holds no storage and no functions: import it, never `initializes:`.
     States are consecutive small integers (a uint8 each, packed into the
     listing and order words), not Vyper flags, so the ABI keeps the
     values the events have always carried.
"""


# Sale kinds (Wu et al. section II).
KIND_OWNERSHIP: constant(uint8) = 1
KIND_USE_RIGHT: constant(uint8) = 2

# Pricings (Wu et al. section III.A, pricing module).
PRICING_FIXED: constant(uint8) = 1
PRICING_NEGOTIATED: constant(uint8) = 2
PRICING_AUCTION: constant(uint8) = 3

# Listing states.
LISTING_ACTIVE: constant(uint8) = 1
LISTING_PENDING: constant(uint8) = 2
LISTING_SOLD: constant(uint8) = 3
LISTING_CANCELLED: constant(uint8) = 4
LISTING_CLOSED: constant(uint8) = 5

# Order states.
ORDER_PAID: constant(uint8) = 1
ORDER_DELIVERED: constant(uint8) = 2
ORDER_DISPUTED: constant(uint8) = 3
ORDER_COMPLETED: constant(uint8) = 4
ORDER_REFUNDED: constant(uint8) = 5

# Offer states (negotiation).
OFFER_OPEN: constant(uint8) = 1
OFFER_COUNTERED: constant(uint8) = 2
OFFER_ACCEPTED: constant(uint8) = 3
OFFER_REJECTED: constant(uint8) = 4
OFFER_WITHDRAWN: constant(uint8) = 5

# Settlement outcomes (event Settled).
OUTCOME_CONFIRMED: constant(uint8) = 1
OUTCOME_RELEASED: constant(uint8) = 2
OUTCOME_FOR_SELLER: constant(uint8) = 3
OUTCOME_NOT_DELIVERED: constant(uint8) = 4
OUTCOME_FOR_BUYER: constant(uint8) = 5
OUTCOME_DISPUTE_TIMEOUT: constant(uint8) = 6
OUTCOME_USE_RIGHT_EXPIRED: constant(uint8) = 7
OUTCOME_REDELIVERED: constant(uint8) = 8

# Dispute rulings (Market.resolve).
RULING_FOR_SELLER: constant(uint8) = 1
RULING_REDELIVERED: constant(uint8) = 2
RULING_FOR_BUYER: constant(uint8) = 3

# Bounds.
MAX_FEE_BPS: constant(uint256) = 1_000
MIN_WINDOW: constant(uint256) = 60
MAX_WINDOW: constant(uint256) = 365 * 86_400
MAX_QUERIES: constant(uint256) = 1_000_000
MAX_MANAGEMENT_FEE: constant(uint256) = 10**18
MAX_AMOUNT: constant(uint256) = 2**160 - 1

# UseRights numbers its listings and orders from USE_RIGHTS_ID_OFFSET + 1,
# the Market from 1: one id names one order across both (Reputation, and
# an off-chain index that keeps them in one table).
USE_RIGHTS_ID_OFFSET: constant(uint256) = 1_000_000_000


# Unpacked listing returned by `listing()` of Market and UseRights.
struct Listing:
    seller: address
    token_id: uint256
    kind: uint8
    pricing: uint8
    state: uint8
    price: uint256
    collateral: uint256
    payment_token: address
    delivery_window: uint256
    confirm_window: uint256
    max_queries: uint256


# Unpacked order returned by `order()` of Market and UseRights. For a
# use-right order `amount` is the credit left and `deadline` the end of
# the usage window.
struct Order:
    listing_id: uint256
    buyer: address
    amount: uint256
    state: uint8
    fee_bps: uint256
    deadline: uint256
    queries_left: uint256
    queries_total: uint256
