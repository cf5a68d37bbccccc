# pragma version ~=0.4.3
"""
@title Datagora sale flags, constants and view shapes
@notice The flags and numbers the sale contracts (Market, UseRights,
        Shop) and Reputation share: sale kinds, pricings, listing /
        order / offer states, settlement outcomes, dispute rulings,
        bounds, and the unpacked `Listing` / `Order` shapes their views
        return. Every value here is part of the contracts' ABI and events
        (off-chain code reads them): a flag member's value is its bit, so
        members are only ever appended, never reordered.
@dev Holds no storage and no functions: import it, never `initializes:`.
     The listing and order words pack a flag's bits in 8 bits.
"""


# Each group of mutually exclusive values is a Vyper `flag`: member n
# (from 0, in declaration order) has the value 2**n, so the first member
# is 1, and 0 (the empty flag) means "no such entry". A flag is a uint256
# in the ABI (events, views, arguments); in storage the listing and order
# words keep its bits in 8 bits (no group here has more than 8 members).

# Sale kinds (Wu et al. section II).
flag SaleKind:
    OWNERSHIP
    USE_RIGHT

# Pricings (Wu et al. section III.A, pricing module).
flag Pricing:
    FIXED
    NEGOTIATED
    AUCTION

# Listing states.
flag ListingState:
    ACTIVE
    PENDING
    SOLD
    CANCELLED
    CLOSED

# Order states.
flag OrderState:
    PAID
    DELIVERED
    DISPUTED
    COMPLETED
    REFUNDED

# Offer states (negotiation).
flag OfferState:
    OPEN
    COUNTERED
    ACCEPTED
    REJECTED
    WITHDRAWN

# Settlement outcomes (event Settled).
flag Outcome:
    CONFIRMED
    RELEASED
    FOR_SELLER
    NOT_DELIVERED
    FOR_BUYER
    DISPUTE_TIMEOUT
    USE_RIGHT_EXPIRED
    REDELIVERED

# Dispute rulings (Market.resolve).
flag Ruling:
    FOR_SELLER
    REDELIVERED
    FOR_BUYER

# Bounds.
MAX_FEE_BPS: constant(uint256) = 1_000
MIN_WINDOW: constant(uint256) = 60
MAX_WINDOW: constant(uint256) = 365 * 86_400
MAX_QUERIES: constant(uint256) = 1_000_000
MAX_MANAGEMENT_FEE: constant(uint256) = 10**18
MAX_AMOUNT: constant(uint256) = 2**160 - 1
# Soft close of English auctions: a bid less than this many seconds before
# the end moves the end to this many seconds after the bid.
AUCTION_EXTENSION: constant(uint256) = 600

# UseRights numbers its listings and orders from USE_RIGHTS_ID_OFFSET + 1,
# the Market from 1: one id names one order across both (Reputation, and
# an off-chain index that keeps them in one table).
USE_RIGHTS_ID_OFFSET: constant(uint256) = 1_000_000_000


# Unpacked listing returned by `listing()` of Market and UseRights.
struct Listing:
    seller: address
    token_id: uint256
    kind: SaleKind
    pricing: Pricing
    state: ListingState
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
    state: OrderState
    fee_bps: uint256
    deadline: uint256
    queries_left: uint256
    queries_total: uint256
