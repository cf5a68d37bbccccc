# pragma version ~=0.4.3
"""
@title Datagora Reputation
@notice Ratings of trading partners after a settled sale order, after
        Wu et al. (reputation of data sellers and buyers) and Mehdi et al.
        (reputation as an input to trust between participants): once an
        order is settled, its buyer may rate the seller and its seller may
        rate the buyer, each once, with a score of 1 to 5. Orders in which
        something was delivered count: completed ones (confirmed, released,
        ruled for the seller or redelivered, a use-right with at least one
        query answered) and refunded ones after a delivery (a dispute ruled
        for the buyer over fabricated data, or never resolved); refunds with
        nothing delivered (no delivery by the deadline, an unused use-right)
        cannot be rated. Two parties of one organisation
        cannot rate each other. Every account's running total and number of
        rated orders (its volume) are public, beside the average.
@dev Reads an order's parties, state, delivery and whether the parties
     were found in different organisations when it opened (`order_parties`,
     IOrderParties) from UseRights for ids above its offset and from the
     Market otherwise; only when the sale contract did not compare them
     (an auction's order) the parties' organisations from the Registry
     (`organisation_of`). Staticcall only; holds no ether and has no owner.
"""


from .interfaces import IOrderParties
from .interfaces import IRegistry
from .modules import states


MIN_SCORE: public(constant(uint8)) = 1
MAX_SCORE: public(constant(uint8)) = 5

MARKET: public(immutable(IOrderParties))
USE_RIGHTS: public(immutable(IOrderParties))
REGISTRY: public(immutable(IRegistry))


event Rated:
    order_id: indexed(uint256)
    rater: indexed(address)
    ratee: indexed(address)
    score: uint8


total_score: HashMap[address, uint256]
ratings: HashMap[address, uint256]
rated: public(HashMap[uint256, HashMap[address, bool]])


@deploy
def __init__(market: address, use_rights: address, registry: address):
    """
    @notice Bind the reputation ledger to one Market, one UseRights and
            their Registry.
    @param market Address of the Datagora Market whose orders can be rated.
    @param use_rights Address of the Datagora UseRights whose orders can be
           rated (ids above states.USE_RIGHTS_ID_OFFSET).
    @param registry Address of the Datagora Registry (organisations).
    """
    MARKET = IOrderParties(market)
    USE_RIGHTS = IOrderParties(use_rights)
    REGISTRY = IRegistry(registry)


@external
def rate(order_id: uint256, score: uint8):
    """
    @notice Rate the other party of a settled Market or UseRights order
            (completed, or refunded after a delivery): its buyer
            rates the seller, its seller rates the buyer. Each party rates
            once per order; parties of one organisation cannot rate each
            other.
    @dev Guards in order: score range, order completed or refunded after
         a delivery ("reputation: order not completed"), caller is a party,
         parties in different organisations, not yet rated by the caller.
    @param order_id The order id (a UseRights order above its offset).
    @param score 1 (worst) to 5 (best).
    """
    assert score >= MIN_SCORE and score <= MAX_SCORE, "reputation: bad score"
    buyer: address = empty(address)
    seller: address = empty(address)
    state: states.OrderState = empty(states.OrderState)
    delivered: bool = False
    distinct: bool = False
    if order_id > states.USE_RIGHTS_ID_OFFSET:
        buyer, seller, state, delivered, distinct = staticcall USE_RIGHTS.order_parties(order_id)
    else:
        buyer, seller, state, delivered, distinct = staticcall MARKET.order_parties(order_id)
    assert state == states.OrderState.COMPLETED or (state == states.OrderState.REFUNDED and delivered), "reputation: order not completed"
    ratee: address = empty(address)
    if msg.sender == buyer:
        ratee = seller
    elif msg.sender == seller:
        ratee = buyer
    else:
        raise "reputation: not a party"
    if not distinct:
        # The sale contract did not compare the parties' organisations when
        # the order opened (an auction's winner): ask the Registry.
        organisation_id: uint256 = staticcall REGISTRY.organisation_of(msg.sender)
        assert (
            organisation_id == 0 or organisation_id != staticcall REGISTRY.organisation_of(ratee)
        ), "reputation: parties of one organisation"
    assert not self.rated[order_id][msg.sender], "reputation: already rated"
    self.rated[order_id][msg.sender] = True
    self.total_score[ratee] += convert(score, uint256)
    self.ratings[ratee] += 1
    log Rated(order_id=order_id, rater=msg.sender, ratee=ratee, score=score)


@external
@view
def reputation(account: address) -> (uint256, uint256):
    """
    @notice The ratings `account` has received.
    @param account The rated account.
    @return The sum of its scores and the number of rated orders.
    """
    return self.total_score[account], self.ratings[account]


@external
@view
def summary(account: address) -> (uint256, uint256):
    """
    @notice The average score of `account` beside its volume, so a high
            average earned on a handful of orders reads as such.
    @param account The rated account.
    @return The average score times 100, rounded down (e.g. 450 for 4.5;
            0 when never rated), and the number of rated orders.
    """
    return self._average_x100(account), self.ratings[account]


@external
@view
def average_x100(account: address) -> uint256:
    """
    @notice The average score of `account` times 100, rounded down
            (e.g. 450 for 4.5); 0 when it has never been rated.
    @param account The rated account.
    @return The average score times 100.
    """
    return self._average_x100(account)


@internal
@view
def _average_x100(account: address) -> uint256:
    """
    @notice The average score of `account` times 100, rounded down.
    @param account The rated account.
    @return 0 when never rated.
    """
    count: uint256 = self.ratings[account]
    if count == 0:
        return 0
    return self.total_score[account] * 100 // count
