# pragma version ~=0.4.3
"""
@title Datagora Reputation
@notice Ratings of trading partners after a settled sale order, after
        Wu et al. (reputation of data sellers and buyers) and Mehdi et al.
        (reputation as an input to trust between participants): once an
        order is completed or refunded, its buyer may rate the seller and
        its seller may rate the buyer, each once, with a score of 1 to 5.
        Every account's running total and number of ratings are public.
@dev Reads an order's parties and state (`order_parties`, IOrderParties) with staticcall only, from
     UseRights for ids above its offset and from the Market otherwise; holds no ether and has no owner.
"""


from .interfaces import IOrderParties
from .modules import states


MIN_SCORE: public(constant(uint8)) = 1
MAX_SCORE: public(constant(uint8)) = 5

MARKET: public(immutable(IOrderParties))
USE_RIGHTS: public(immutable(IOrderParties))


event Rated:
    order_id: indexed(uint256)
    rater: indexed(address)
    ratee: indexed(address)
    score: uint8


total_score: HashMap[address, uint256]
ratings: HashMap[address, uint256]
rated: public(HashMap[uint256, HashMap[address, bool]])


@deploy
def __init__(market: address, use_rights: address):
    """
    @notice Bind the reputation ledger to one Market and one UseRights.
    @param market Address of the Datagora Market whose orders can be rated.
    @param use_rights Address of the Datagora UseRights whose orders can be
           rated (ids above states.USE_RIGHTS_ID_OFFSET).
    """
    MARKET = IOrderParties(market)
    USE_RIGHTS = IOrderParties(use_rights)


@external
def rate(order_id: uint256, score: uint8):
    """
    @notice Rate the other party of a settled (completed or refunded)
            Market or UseRights order: its buyer rates the seller, its seller rates
            the buyer. Each party rates once per order.
    @dev Guards in order: score range, order state, caller is a party,
         not yet rated by the caller.
    @param order_id The order id (a UseRights order above its offset).
    @param score 1 (worst) to 5 (best).
    """
    assert score >= MIN_SCORE and score <= MAX_SCORE, "reputation: bad score"
    buyer: address = empty(address)
    seller: address = empty(address)
    state: uint8 = 0
    if order_id > states.USE_RIGHTS_ID_OFFSET:
        buyer, seller, state = staticcall USE_RIGHTS.order_parties(order_id)
    else:
        buyer, seller, state = staticcall MARKET.order_parties(order_id)
    assert state == states.ORDER_COMPLETED or state == states.ORDER_REFUNDED, "reputation: order not settled"
    ratee: address = empty(address)
    if msg.sender == buyer:
        ratee = seller
    elif msg.sender == seller:
        ratee = buyer
    else:
        raise "reputation: not a party"
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
    @return The sum of its scores and the number of ratings.
    """
    return self.total_score[account], self.ratings[account]


@external
@view
def average_x100(account: address) -> uint256:
    """
    @notice The average score of `account` times 100, rounded down
            (e.g. 450 for 4.5); 0 when it has never been rated.
    @param account The rated account.
    @return The average score times 100.
    """
    count: uint256 = self.ratings[account]
    if count == 0:
        return 0
    return self.total_score[account] * 100 // count
