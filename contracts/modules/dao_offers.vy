# pragma version ~=0.4.3
"""
@title DAO offers and negotiation rounds
@notice The services explorer of the Collaboration contract: a data
        service provider (DSP) or a value provider (VP) posts an offer
        (hash of its DCAT / ODRL terms, the text in the event) with the
        stake the VP would hold; the other party counters on terms and
        stake, round after round, until one side accepts the other's last
        proposal. On agreement a DAO is formed (DSP and VP1), or the
        newcomer joins an existing DAO: a newcomer with stake s takes s
        and the group it joins keeps 10,000 - s, split as before (every
        older stake is scaled by (10,000 - s) / 10,000), the profit tree
        of the paper's figure 3 stored flat. Basis points lost to rounding
        go to the lead member.
@dev Only members of audited organisations (the Registry) take part.
     Collaboration.vy initializes this module, calls its `__init__` and
     exports `post_offer`, `counter`, `accept`, `withdraw_offer`,
     `offer_count` and `REGISTRY`.
"""

from ..interfaces import IRegistry
from . import dao_membership
from . import dao_revenue

uses: dao_membership
uses: dao_revenue


MAX_TERMS: constant(uint256) = 4096

# The poster's role and an offer's state are flags used by the
# Collaboration contract alone (the empty flag, 0, is "no such offer").
flag Role:
    DSP
    VP

flag OfferState:
    OPEN
    ACCEPTED
    WITHDRAWN


REGISTRY: public(immutable(IRegistry))


event OfferPosted:
    offer_id: indexed(uint256)
    poster: indexed(address)
    dao_id: indexed(uint256)
    poster_role: Role
    terms_hash: bytes32
    stake_bps: uint256
    heartbeat_timeout: uint256
    expiry: uint256
    terms: String[MAX_TERMS]

event OfferCountered:
    offer_id: indexed(uint256)
    counterparty: indexed(address)
    proposer: indexed(address)
    round: uint256
    terms_hash: bytes32
    stake_bps: uint256
    terms: String[MAX_TERMS]

event OfferAccepted:
    offer_id: indexed(uint256)
    counterparty: indexed(address)
    dao_id: indexed(uint256)
    round: uint256
    terms_hash: bytes32
    stake_bps: uint256

event OfferWithdrawn:
    offer_id: indexed(uint256)
    poster: indexed(address)

event DaoFormed:
    dao_id: indexed(uint256)
    founder: indexed(address)
    offer_id: indexed(uint256)
    heartbeat_timeout: uint256
    terms_hash: bytes32


struct Offer:
    poster: address
    dao_id: uint256
    poster_role: Role
    state: OfferState
    terms_hash: bytes32
    stake_bps: uint256
    heartbeat_timeout: uint256
    expiry: uint256

struct Proposal:
    proposer: address
    round: uint256
    terms_hash: bytes32
    stake_bps: uint256


offer_count: public(uint256)
offers: HashMap[uint256, Offer]
negotiations: HashMap[uint256, HashMap[address, Proposal]]


@deploy
def __init__(registry: address):
    """
    @notice Bind offers to the Registry whose audited members may take
            part.
    @param registry The Datagora Registry.
    """
    REGISTRY = IRegistry(registry)


@external
def post_offer(
    dao_id: uint256,
    poster_role: Role,
    terms_hash: bytes32,
    stake_bps: uint256,
    heartbeat_timeout: uint256,
    expiry: uint256,
    terms: String[MAX_TERMS],
) -> uint256:
    """
    @notice Post an offer in the services explorer. For a new DAO
            (`dao_id` 0) the poster is the DSP or a VP and the party that
            accepts takes the other role. For an existing DAO either its
            lead member (role DSP) seeks a newcomer, or a newcomer (role
            VP) asks to join and the lead member answers.
    @param dao_id 0 for a new DAO, else the DAO to join.
    @param poster_role 1 (DSP, data service provider) or 2 (VP, value
           provider).
    @param terms_hash keccak256 of the DCAT / ODRL terms document.
    @param stake_bps The stake the VP (the newcomer) would hold, 1..9,999.
    @param heartbeat_timeout Seconds without heartbeat before a member may
           be terminated (60 s to 365 days) for a new DAO; 0 to join one.
    @param expiry Unix time (seconds) after which the offer cannot be
           countered or accepted.
    @param terms The terms' text (JSON-LD), carried in the event only.
    @return The offer id (starting at 1).
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "collaboration: not audited"
    assert poster_role == Role.DSP or poster_role == Role.VP, "collaboration: bad role"
    assert terms_hash != empty(bytes32), "collaboration: empty terms"
    assert stake_bps > 0 and stake_bps < dao_membership.BPS, "collaboration: bad stake"
    assert expiry > block.timestamp, "collaboration: bad expiry"
    if dao_id == 0:
        assert (
            heartbeat_timeout >= dao_membership.MIN_TIMEOUT and heartbeat_timeout <= dao_membership.MAX_TIMEOUT
        ), "collaboration: bad timeout"
    else:
        assert heartbeat_timeout == 0, "collaboration: bad timeout"
        dao: dao_membership.Dao = dao_membership._active_dao(dao_id)
        assert dao.seats < dao_membership.MAX_MEMBERS, "collaboration: dao full"
        if poster_role == Role.DSP:
            assert msg.sender == dao.lead, "collaboration: not the lead member"
        else:
            assert not dao_membership.members[dao_id][msg.sender].seated, "collaboration: already a member"
    offer_id: uint256 = self.offer_count + 1
    self.offer_count = offer_id
    self.offers[offer_id] = Offer(
        poster=msg.sender,
        dao_id=dao_id,
        poster_role=poster_role,
        state=OfferState.OPEN,
        terms_hash=terms_hash,
        stake_bps=stake_bps,
        heartbeat_timeout=heartbeat_timeout,
        expiry=expiry,
    )
    log OfferPosted(
        offer_id=offer_id,
        poster=msg.sender,
        dao_id=dao_id,
        poster_role=poster_role,
        terms_hash=terms_hash,
        stake_bps=stake_bps,
        heartbeat_timeout=heartbeat_timeout,
        expiry=expiry,
        terms=terms,
    )
    return offer_id


@external
def counter(offer_id: uint256, counterparty: address, terms_hash: bytes32, stake_bps: uint256, terms: String[MAX_TERMS]):
    """
    @notice Answer the other side's last proposal with new terms and stake
            (a negotiation round). A counterparty opens its negotiation by
            countering the offer as posted; the poster answers a
            counterparty's proposal.
    @dev Reverts "collaboration: not your turn" when the caller made the
         last proposal.
    @param offer_id An open, unexpired offer.
    @param counterparty The party negotiating with the poster (the caller
           itself unless the caller is the poster).
    @param terms_hash keccak256 of the proposed terms document.
    @param stake_bps The stake the VP (the newcomer) would hold, 1..9,999.
    @param terms The proposed terms' text, carried in the event only.
    """
    offer: Offer = self._live_offer(offer_id)
    party: address = self._counterparty(offer, counterparty)
    proposal: Proposal = self._proposal(offer_id, offer, party)
    if msg.sender == offer.poster:
        assert proposal.round > 0, "collaboration: no negotiation"
    assert proposal.proposer != msg.sender, "collaboration: not your turn"
    assert terms_hash != empty(bytes32), "collaboration: empty terms"
    assert stake_bps > 0 and stake_bps < dao_membership.BPS, "collaboration: bad stake"
    round: uint256 = proposal.round + 1
    self.negotiations[offer_id][party] = Proposal(
        proposer=msg.sender, round=round, terms_hash=terms_hash, stake_bps=stake_bps
    )
    log OfferCountered(
        offer_id=offer_id,
        counterparty=party,
        proposer=msg.sender,
        round=round,
        terms_hash=terms_hash,
        stake_bps=stake_bps,
        terms=terms,
    )


@external
def accept(offer_id: uint256, counterparty: address, round: uint256) -> uint256:
    """
    @notice Accept the other side's last proposal: a new DAO is formed
            (the DSP seated 0, the VP seated 1, channel 1 opened) or the
            newcomer joins the DAO (the next seat and channel).
    @dev Reverts "collaboration: proposal changed" when the last round is
         not `round` (the other side countered again before this call).
    @param offer_id An open, unexpired offer.
    @param counterparty The party negotiating with the poster (the caller
           itself unless the caller is the poster).
    @param round The round the caller accepts (0 = the offer as posted).
    @return The DAO id.
    """
    offer: Offer = self._live_offer(offer_id)
    party: address = self._counterparty(offer, counterparty)
    proposal: Proposal = self._proposal(offer_id, offer, party)
    assert proposal.round == round, "collaboration: proposal changed"
    assert proposal.proposer != msg.sender, "collaboration: not your turn"
    assert staticcall REGISTRY.is_audited(offer.poster), "collaboration: not audited"
    self.offers[offer_id].state = OfferState.ACCEPTED
    log OfferAccepted(
        offer_id=offer_id,
        counterparty=party,
        dao_id=offer.dao_id,
        round=round,
        terms_hash=proposal.terms_hash,
        stake_bps=proposal.stake_bps,
    )
    if offer.dao_id == 0:
        dsp: address = offer.poster
        vp: address = party
        if offer.poster_role == Role.VP:
            dsp = party
            vp = offer.poster
        return self._form(offer_id, dsp, vp, proposal, offer.heartbeat_timeout)
    newcomer: address = party
    if offer.poster_role == Role.VP:
        newcomer = offer.poster
    self._join(offer.dao_id, newcomer, proposal.stake_bps)
    return offer.dao_id


@external
def withdraw_offer(offer_id: uint256):
    """
    @notice The poster withdraws its open offer; negotiations on it end.
    @param offer_id An open offer of the caller.
    """
    offer: Offer = self.offers[offer_id]
    assert offer.state == OfferState.OPEN, "collaboration: offer not open"
    assert offer.poster == msg.sender, "collaboration: not the poster"
    self.offers[offer_id].state = OfferState.WITHDRAWN
    log OfferWithdrawn(offer_id=offer_id, poster=msg.sender)


@internal
def _form(offer_id: uint256, dsp: address, vp: address, proposal: Proposal, timeout: uint256) -> uint256:
    """
    @notice Form a DAO of the DSP (seat 0) and the VP (seat 1, channel 1).
    @param offer_id The accepted offer.
    @param dsp The data service provider, the lead member.
    @param vp The first value provider.
    @param proposal The accepted proposal (terms and the VP's stake).
    @param timeout The DAO's heartbeat timeout, in seconds.
    @return The DAO id.
    """
    dao_id: uint256 = dao_membership.dao_count + 1
    dao_membership.dao_count = dao_id
    dao_membership.daos[dao_id] = dao_membership.Dao(
        founder=dsp,
        lead=dsp,
        state=dao_membership.DaoState.ACTIVE,
        seats=0,
        active_members=0,
        heartbeat_timeout=timeout,
        key_epoch=0,
        revenue_per_bps=0,
        total_revenue=0,
        post_count=0,
    )
    log DaoFormed(dao_id=dao_id, founder=dsp, offer_id=offer_id, heartbeat_timeout=timeout, terms_hash=proposal.terms_hash)
    dao_membership._seat(dao_id, dsp, dao_membership.BPS)
    self._join(dao_id, vp, proposal.stake_bps)
    return dao_id


@internal
def _join(dao_id: uint256, newcomer: address, stake_bps: uint256):
    """
    @notice Seat `newcomer` with `stake_bps`, scaling every other stake by
            (10,000 - stake_bps) / 10,000; rounding goes to the lead member.
    @dev Settles every seat's revenue share first. Reverts
         "collaboration: dao full" or "collaboration: already a member".
    @param dao_id An active DAO.
    @param newcomer The account to seat.
    @param stake_bps Its stake in basis points, 1..9,999.
    """
    dao: dao_membership.Dao = dao_membership._active_dao(dao_id)
    assert dao.seats < dao_membership.MAX_MEMBERS, "collaboration: dao full"
    assert not dao_membership.members[dao_id][newcomer].seated, "collaboration: already a member"
    dao_revenue._settle_all(dao_id, dao.seats)
    kept: uint256 = dao_membership.BPS - stake_bps
    given: uint256 = 0
    for seat: uint256 in range(dao_membership.MAX_MEMBERS):
        if seat >= dao.seats:
            break
        holder: address = dao_membership.seat_holder[dao_id][seat]
        old: uint256 = dao_membership.members[dao_id][holder].stake_bps
        if old > 0:
            new: uint256 = old * kept // dao_membership.BPS
            dao_membership.members[dao_id][holder].stake_bps = new
            given += new
    if given < kept:
        dao_membership.members[dao_id][dao.lead].stake_bps += kept - given
    for seat: uint256 in range(dao_membership.MAX_MEMBERS):
        if seat >= dao.seats:
            break
        holder: address = dao_membership.seat_holder[dao_id][seat]
        if dao_membership.members[dao_id][holder].active:
            log dao_membership.StakeChanged(
                dao_id=dao_id, member=holder, stake_bps=dao_membership.members[dao_id][holder].stake_bps
            )
    dao_membership._seat(dao_id, newcomer, stake_bps)


@internal
@view
def _live_offer(offer_id: uint256) -> Offer:
    """
    @notice The offer, which must be open and unexpired.
    @dev Reverts "collaboration: offer not open" or
         "collaboration: offer expired".
    @param offer_id The offer id.
    @return The offer.
    """
    offer: Offer = self.offers[offer_id]
    assert offer.state == OfferState.OPEN, "collaboration: offer not open"
    assert block.timestamp <= offer.expiry, "collaboration: offer expired"
    return offer


@internal
@view
def _counterparty(offer: Offer, counterparty: address) -> address:
    """
    @notice The party negotiating with the poster: `counterparty` when the
            caller is the poster, else the caller, who must be audited and
            fit the offer (a newcomer not yet seated, or the DAO's lead
            member answering a newcomer).
    @param offer The offer.
    @param counterparty The party named by the caller.
    @return The counterparty.
    """
    if msg.sender == offer.poster:
        assert counterparty != msg.sender and counterparty != empty(address), "collaboration: bad counterparty"
        return counterparty
    assert counterparty == msg.sender, "collaboration: bad counterparty"
    assert staticcall REGISTRY.is_audited(msg.sender), "collaboration: not audited"
    if offer.dao_id != 0:
        if offer.poster_role == Role.DSP:
            assert not dao_membership.members[offer.dao_id][msg.sender].seated, "collaboration: already a member"
        else:
            assert msg.sender == dao_membership.daos[offer.dao_id].lead, "collaboration: not the lead member"
    return msg.sender


@internal
@view
def _proposal(offer_id: uint256, offer: Offer, counterparty: address) -> Proposal:
    """
    @notice The last proposal with `counterparty`; round 0 is the offer as
            posted, proposed by its poster.
    @param offer_id The offer id.
    @param offer The offer.
    @param counterparty The negotiating party.
    @return The proposal.
    """
    proposal: Proposal = self.negotiations[offer_id][counterparty]
    if proposal.round == 0:
        return Proposal(proposer=offer.poster, round=0, terms_hash=offer.terms_hash, stake_bps=offer.stake_bps)
    return proposal
