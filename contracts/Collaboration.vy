# pragma version ~=0.4.3
"""
@title Datagora Collaboration
@notice Collaborations of the data-centric marketplace (Mehdi, Mazlin, Sbai,
        Azghiou): data service providers (DSPs) invest their data with value
        providers (VPs) in a DAO instead of selling it.
        - Services explorer: a DSP or a VP posts an offer (hash of its DCAT
          / ODRL terms, the text in the event) with the stake the VP would
          hold; the other party counters on terms and stake, round after
          round, until one side accepts the other's last proposal.
        - On agreement a DAO is formed (DSP and VP1), or the newcomer joins
          an existing DAO. Stakes are basis points summing to 10,000. A
          newcomer with stake s takes s and the group it joins keeps
          10,000 - s, split as before (every older stake is scaled by
          (10,000 - s) / 10,000): the profit tree of the paper's figure 3,
          stored flat. Basis points lost to rounding go to the lead member.
        - Nested channels (section IV.B): the k-th VP to join opens
          channel k = {DSP, VP1, ..., VPk}; a member seated k belongs to
          channels k..n, never to earlier ones (the DSP to all). Content is
          encrypted off-chain under a group key per channel and key epoch;
          the epoch moves on every membership change, a member publishes
          the hash of the new key envelope, posts carry content hashes.
        - Revenue paid to the DAO in ether is split by stake with pull
          withdrawals; the wei that do not divide by 10,000 are credited
          to the lead member at once, so no wei is ever stuck.
        - Infrastructure (section IV.C): members request infrastructure
          with a JSON spec (event only) and their machines post heartbeats;
          anyone may terminate a member whose last heartbeat is older than
          the DAO's timeout. Its stake is redistributed pro rata to the
          remaining members; what it earned before stays its own.
        - Members rate each other once the DAO is closed (or the ratee was
          terminated), each pair once, 1 to 5, as Reputation records them.
@dev The deployable holds the constructor, the wiring and the views; the
     logic lives in the `modules/dao_*.vy` modules: membership and stakes
     (`dao_membership`), offers and negotiation rounds (`dao_offers`),
     revenue and withdrawals (`dao_revenue`), infrastructure, heartbeats
     and termination (`dao_infrastructure`), nested channels
     (`dao_channels`) and ratings (`dao_ratings`). Members per DAO are
     bounded (MAX_MEMBERS), so the loops over seats are bounded. Revenue
     accrues per basis point (`revenue_per_bps`); a member's share is
     settled into `credit` before its stake changes. Invariant: the
     contract's balance equals the sum of `credit` plus every member's
     unsettled accrual (`claimable`).
"""

from .modules import dao_membership
from .modules import dao_revenue
from .modules import dao_offers
from .modules import dao_infrastructure
from .modules import dao_channels
from .modules import dao_ratings

# Storage is laid out in this order: the offer counter keeps slot 0.
initializes: dao_offers[dao_membership := dao_membership, dao_revenue := dao_revenue]
initializes: dao_membership
initializes: dao_revenue[dao_membership := dao_membership]
initializes: dao_channels[dao_membership := dao_membership]
initializes: dao_ratings[dao_membership := dao_membership]
initializes: dao_infrastructure[dao_membership := dao_membership, dao_revenue := dao_revenue]

# The state-changing functions first, in the order the single-file contract
# declared them: the selector table checks the functions that share a
# bucket in this order, so each keeps the dispatch cost it had.
exports: (
    dao_offers.post_offer,
    dao_offers.counter,
    dao_offers.accept,
    dao_offers.withdraw_offer,
    dao_revenue.pay,
    dao_revenue.withdraw,
    dao_infrastructure.request_infrastructure,
    dao_infrastructure.heartbeat,
    dao_infrastructure.terminate,
    dao_membership.close,
    dao_ratings.rate,
    dao_channels.publish_channel_key,
    dao_channels.post,
    dao_membership.BPS,
    dao_membership.MAX_MEMBERS,
    dao_membership.MIN_TIMEOUT,
    dao_membership.MAX_TIMEOUT,
    dao_ratings.MIN_SCORE,
    dao_ratings.MAX_SCORE,
    dao_offers.REGISTRY,
    dao_offers.offer_count,
    dao_membership.dao_count,
    dao_membership.seat_holder,
    dao_revenue.credit,
    dao_channels.channel_key,
    dao_ratings.rated,
)


@deploy
def __init__(registry: address):
    """
    @notice Bind collaborations to the Registry whose audited members may
            take part.
    @param registry The Datagora Registry.
    """
    dao_offers.__init__(registry)


@external
@view
def offer(offer_id: uint256) -> dao_offers.Offer:
    """
    @notice An offer as posted (state 0 = none, else an OfferState:
            1 open, 2 accepted, 4 withdrawn).
    @param offer_id The offer id.
    @return The offer.
    """
    return dao_offers.offers[offer_id]


@external
@view
def proposal(offer_id: uint256, counterparty: address) -> dao_offers.Proposal:
    """
    @notice The last proposal between the offer's poster and
            `counterparty` (round 0 = the offer as posted).
    @param offer_id The offer id.
    @param counterparty The negotiating party.
    @return The proposal.
    """
    return dao_offers._proposal(offer_id, dao_offers.offers[offer_id], counterparty)


@external
@view
def dao(dao_id: uint256) -> dao_membership.Dao:
    """
    @notice A DAO (state 0 = none, else a DaoState: 1 active, 2 closed).
    @param dao_id The DAO id.
    @return The DAO.
    """
    return dao_membership.daos[dao_id]


@external
@view
def member(dao_id: uint256, account: address) -> dao_membership.Member:
    """
    @notice `account`'s seat, stake (basis points), last heartbeat (Unix
            seconds) and revenue index in a DAO.
    @param dao_id The DAO id.
    @param account The account.
    @return The member record (`seated` False when it never joined).
    """
    return dao_membership.members[dao_id][account]


@external
@view
def last_heartbeat(dao_id: uint256, account: address) -> uint256:
    """
    @notice When `account` last posted a heartbeat to the DAO (or joined).
    @param dao_id The DAO id.
    @param account The member.
    @return Unix time in seconds, 0 when never seated.
    """
    return dao_membership.members[dao_id][account].last_heartbeat


@external
@view
def heartbeat_timeout(dao_id: uint256) -> uint256:
    """
    @notice The DAO's heartbeat timeout.
    @param dao_id The DAO id.
    @return Seconds.
    """
    return dao_membership.daos[dao_id].heartbeat_timeout


@external
@view
def claimable(dao_id: uint256, account: address) -> uint256:
    """
    @notice Wei `account` would receive from `withdraw(dao_id)`: its credit
            plus its unsettled share of the DAO's revenue.
    @param dao_id The DAO id.
    @param account The account.
    @return Wei.
    """
    return dao_revenue.credit[account] + dao_revenue._accrued(dao_id, account)


@external
@view
def in_channel(dao_id: uint256, channel: uint256, account: address) -> bool:
    """
    @notice Whether `account` is a current member of channel `channel`
            (channel k holds the members seated 0..k).
    @param dao_id The DAO id.
    @param channel The channel number (1 .. seats - 1).
    @param account The account.
    @return True when it belongs to the channel.
    """
    return dao_channels._in_channel(dao_id, channel, account)


@external
@view
def reputation(account: address) -> (uint256, uint256):
    """
    @notice The ratings `account` received as a collaboration member.
    @param account The rated account.
    @return The sum of its scores and the number of ratings.
    """
    return dao_ratings.total_score[account], dao_ratings.ratings[account]
