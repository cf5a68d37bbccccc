# pragma version ~=0.4.3
"""
@title Ratings between DAO members
@notice Members rate each other once the DAO is closed (or the ratee was
        terminated), each pair once, 1 to 5, as Reputation rates trading
        partners.
@dev Collaboration.vy initializes this module and exports `rate`,
     `rated`, MIN_SCORE and MAX_SCORE; its `reputation` view reads
     `total_score` and `ratings`.
"""

from . import dao_membership

uses: dao_membership


MIN_SCORE: public(constant(uint8)) = 1
MAX_SCORE: public(constant(uint8)) = 5


event Rated:
    dao_id: indexed(uint256)
    rater: indexed(address)
    ratee: indexed(address)
    score: uint8


# Whether a member rated another, per DAO, rater and ratee.
rated: public(HashMap[uint256, HashMap[address, HashMap[address, bool]]])
# Sum of the scores and number of ratings each account received.
total_score: HashMap[address, uint256]
ratings: HashMap[address, uint256]


@external
def rate(dao_id: uint256, ratee: address, score: uint8):
    """
    @notice Rate another member of a closed DAO (or a member that was
            terminated), once per pair, as Reputation rates trading
            partners.
    @param dao_id The DAO both held a seat in.
    @param ratee The rated member.
    @param score 1 (worst) to 5 (best).
    """
    assert score >= MIN_SCORE and score <= MAX_SCORE, "collaboration: bad score"
    assert dao_membership.members[dao_id][msg.sender].seated, "collaboration: not a member"
    target: dao_membership.Member = dao_membership.members[dao_id][ratee]
    assert target.seated and ratee != msg.sender, "collaboration: bad ratee"
    assert (
        dao_membership.daos[dao_id].state == dao_membership.DaoState.CLOSED or not target.active
    ), "collaboration: not ended"
    assert not self.rated[dao_id][msg.sender][ratee], "collaboration: already rated"
    self.rated[dao_id][msg.sender][ratee] = True
    self.total_score[ratee] += convert(score, uint256)
    self.ratings[ratee] += 1
    log Rated(dao_id=dao_id, rater=msg.sender, ratee=ratee, score=score)
