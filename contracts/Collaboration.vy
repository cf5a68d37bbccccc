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
@dev Members per DAO are bounded (MAX_MEMBERS), so the loops over seats are
     bounded. Revenue accrues per basis point (`revenue_per_bps`); a member's
     share is settled into `credit` before its stake changes. Invariant: the
     contract's balance equals the sum of `credit` plus every member's
     unsettled accrual (`claimable`).
"""

from .interfaces import IRegistry


BPS: public(constant(uint256)) = 10_000
MAX_MEMBERS: public(constant(uint256)) = 16
MIN_TIMEOUT: public(constant(uint256)) = 60
MAX_TIMEOUT: public(constant(uint256)) = 365 * 86_400
MIN_SCORE: public(constant(uint8)) = 1
MAX_SCORE: public(constant(uint8)) = 5
MAX_TERMS: constant(uint256) = 4096
MAX_SPEC: constant(uint256) = 4096
MAX_LOCATION: constant(uint256) = 256

# The poster's role, an offer's state and a DAO's state are flags used by
# this contract alone (the empty flag, 0, is "no such offer / DAO").
flag Role:
    DSP
    VP

flag OfferState:
    OPEN
    ACCEPTED
    WITHDRAWN

flag DaoState:
    ACTIVE
    CLOSED

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

event MemberJoined:
    dao_id: indexed(uint256)
    member: indexed(address)
    seat: indexed(uint256)
    stake_bps: uint256
    key_epoch: uint256

event StakeChanged:
    dao_id: indexed(uint256)
    member: indexed(address)
    stake_bps: uint256

event RevenuePaid:
    dao_id: indexed(uint256)
    payer: indexed(address)
    amount: uint256
    remainder: uint256
    remainder_to: address

event Withdrawn:
    account: indexed(address)
    amount: uint256

event InfrastructureRequested:
    dao_id: indexed(uint256)
    requester: indexed(address)
    spec: String[MAX_SPEC]

event Heartbeat:
    dao_id: indexed(uint256)
    member: indexed(address)
    timestamp: uint256

event MemberTerminated:
    dao_id: indexed(uint256)
    member: indexed(address)
    terminated_by: indexed(address)
    last_heartbeat: uint256
    stake_bps: uint256
    key_epoch: uint256

event ChannelKeyPublished:
    dao_id: indexed(uint256)
    channel: indexed(uint256)
    publisher: indexed(address)
    key_epoch: uint256
    envelope_hash: bytes32

event ChannelPosted:
    dao_id: indexed(uint256)
    channel: indexed(uint256)
    author: indexed(address)
    post_id: uint256
    key_epoch: uint256
    content_hash: bytes32
    location: String[MAX_LOCATION]

event DaoClosed:
    dao_id: indexed(uint256)
    closed_by: indexed(address)

event Rated:
    dao_id: indexed(uint256)
    rater: indexed(address)
    ratee: indexed(address)
    score: uint8


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

struct Dao:
    founder: address
    lead: address
    state: DaoState
    seats: uint256
    active_members: uint256
    heartbeat_timeout: uint256
    key_epoch: uint256
    revenue_per_bps: uint256
    total_revenue: uint256
    post_count: uint256

struct Member:
    seat: uint256
    seated: bool
    active: bool
    stake_bps: uint256
    last_heartbeat: uint256
    revenue_index: uint256


offer_count: public(uint256)
dao_count: public(uint256)
offers: HashMap[uint256, Offer]
negotiations: HashMap[uint256, HashMap[address, Proposal]]
daos: HashMap[uint256, Dao]
members: HashMap[uint256, HashMap[address, Member]]
seat_holder: public(HashMap[uint256, HashMap[uint256, address]])
credit: public(HashMap[address, uint256])
channel_key: public(HashMap[uint256, HashMap[uint256, HashMap[uint256, bytes32]]])
rated: public(HashMap[uint256, HashMap[address, HashMap[address, bool]]])
total_score: HashMap[address, uint256]
ratings: HashMap[address, uint256]


@deploy
def __init__(registry: address):
    """
    @notice Bind collaborations to the Registry whose audited members may
            take part.
    @param registry The Datagora Registry.
    """
    REGISTRY = IRegistry(registry)


# ------------------------------------------------------------------ offers


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
    assert stake_bps > 0 and stake_bps < BPS, "collaboration: bad stake"
    assert expiry > block.timestamp, "collaboration: bad expiry"
    if dao_id == 0:
        assert heartbeat_timeout >= MIN_TIMEOUT and heartbeat_timeout <= MAX_TIMEOUT, "collaboration: bad timeout"
    else:
        assert heartbeat_timeout == 0, "collaboration: bad timeout"
        dao: Dao = self._active_dao(dao_id)
        assert dao.seats < MAX_MEMBERS, "collaboration: dao full"
        if poster_role == Role.DSP:
            assert msg.sender == dao.lead, "collaboration: not the lead member"
        else:
            assert not self.members[dao_id][msg.sender].seated, "collaboration: already a member"
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
    assert stake_bps > 0 and stake_bps < BPS, "collaboration: bad stake"
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


# ------------------------------------------------------------------ revenue


@external
@payable
def pay(dao_id: uint256):
    """
    @notice Pay revenue (ether) to an active DAO. Each member is owed
            `msg.value // 10,000` wei per basis point of stake; the
            remainder (under 10,000 wei) is credited to the lead member.
    @param dao_id An active DAO.
    """
    dao: Dao = self._active_dao(dao_id)
    assert msg.value > 0, "collaboration: no value"
    remainder: uint256 = msg.value % BPS
    self.daos[dao_id].revenue_per_bps = dao.revenue_per_bps + msg.value // BPS
    self.daos[dao_id].total_revenue = dao.total_revenue + msg.value
    self.credit[dao.lead] += remainder
    log RevenuePaid(dao_id=dao_id, payer=msg.sender, amount=msg.value, remainder=remainder, remainder_to=dao.lead)


@external
@nonreentrant
def withdraw(dao_id: uint256):
    """
    @notice Withdraw everything owed to the caller: its share of `dao_id`'s
            revenue so far plus its credit from every DAO (pull payment).
    @param dao_id A DAO the caller holds a seat in, or 0 to withdraw the
           credit alone.
    """
    if dao_id != 0:
        self._settle(dao_id, msg.sender)
    amount: uint256 = self.credit[msg.sender]
    assert amount > 0, "collaboration: nothing to withdraw"
    self.credit[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)


# ------------------------------------------------------------ infrastructure


@external
def request_infrastructure(dao_id: uint256, spec: String[MAX_SPEC]):
    """
    @notice Ask the members' event handlers to start infrastructure for the
            DAO's workload (Ansible, Terraform, Kubernetes), described by a
            JSON `spec` carried in the event only.
    @param dao_id An active DAO of the caller.
    @param spec Non-empty JSON document.
    """
    self._check_member(dao_id, msg.sender)
    assert len(spec) > 0, "collaboration: empty spec"
    log InfrastructureRequested(dao_id=dao_id, requester=msg.sender, spec=spec)


@external
def heartbeat(dao_id: uint256):
    """
    @notice A member's machine reports that it is alive (section IV.C:
            "if no notification comes from his machine ... the contract
            will be terminated").
    @param dao_id An active DAO of the caller.
    """
    self._check_member(dao_id, msg.sender)
    self.members[dao_id][msg.sender].last_heartbeat = block.timestamp
    log Heartbeat(dao_id=dao_id, member=msg.sender, timestamp=block.timestamp)


@external
def terminate(dao_id: uint256, member: address):
    """
    @notice Anyone terminates a member whose last heartbeat (or joining) is
            older than the DAO's heartbeat timeout. Its revenue so far stays
            claimable by it; its stake is redistributed to the remaining
            members pro rata to their stakes (rounding to the lead member);
            the key epoch moves so later channel content is sealed from it.
            A DAO left with one member is closed.
    @param dao_id An active DAO.
    @param member An active member of it.
    """
    dao: Dao = self._active_dao(dao_id)
    m: Member = self.members[dao_id][member]
    assert m.active, "collaboration: not a member"
    assert block.timestamp > m.last_heartbeat + dao.heartbeat_timeout, "collaboration: heartbeat not missed"
    self._settle_all(dao_id, dao.seats)
    self.members[dao_id][member].active = False
    self.members[dao_id][member].stake_bps = 0
    remaining: uint256 = dao.active_members - 1
    self.daos[dao_id].active_members = remaining
    epoch: uint256 = dao.key_epoch + 1
    self.daos[dao_id].key_epoch = epoch
    lead: address = dao.lead
    if member == lead:
        lead = self._first_active(dao_id, dao.seats)
        self.daos[dao_id].lead = lead
    log MemberTerminated(
        dao_id=dao_id,
        member=member,
        terminated_by=msg.sender,
        last_heartbeat=m.last_heartbeat,
        stake_bps=m.stake_bps,
        key_epoch=epoch,
    )
    log StakeChanged(dao_id=dao_id, member=member, stake_bps=0)
    self._redistribute(dao_id, dao.seats, m.stake_bps, lead)
    if remaining < 2:
        self.daos[dao_id].state = DaoState.CLOSED
        log DaoClosed(dao_id=dao_id, closed_by=msg.sender)


@external
def close(dao_id: uint256):
    """
    @notice The lead member ends the collaboration: no more revenue, joins,
            posts or heartbeats; withdrawals and ratings stay open.
    @param dao_id An active DAO whose lead member is the caller.
    """
    dao: Dao = self._active_dao(dao_id)
    assert msg.sender == dao.lead, "collaboration: not the lead member"
    self.daos[dao_id].state = DaoState.CLOSED
    log DaoClosed(dao_id=dao_id, closed_by=msg.sender)


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
    assert self.members[dao_id][msg.sender].seated, "collaboration: not a member"
    target: Member = self.members[dao_id][ratee]
    assert target.seated and ratee != msg.sender, "collaboration: bad ratee"
    assert self.daos[dao_id].state == DaoState.CLOSED or not target.active, "collaboration: not ended"
    assert not self.rated[dao_id][msg.sender][ratee], "collaboration: already rated"
    self.rated[dao_id][msg.sender][ratee] = True
    self.total_score[ratee] += convert(score, uint256)
    self.ratings[ratee] += 1
    log Rated(dao_id=dao_id, rater=msg.sender, ratee=ratee, score=score)


# ----------------------------------------------------------------- channels


@external
def publish_channel_key(dao_id: uint256, channel: uint256, envelope_hash: bytes32):
    """
    @notice Record the hash of the channel's group-key envelope for the
            current key epoch (a fresh key wrapped with ECIES for each
            current member of the channel, kept off-chain). Once per
            channel and epoch.
    @param dao_id An active DAO.
    @param channel A channel the caller belongs to.
    @param envelope_hash keccak256 of the key envelope, non-zero.
    """
    epoch: uint256 = self._check_channel(dao_id, channel)
    assert envelope_hash != empty(bytes32), "collaboration: empty hash"
    assert self.channel_key[dao_id][channel][epoch] == empty(bytes32), "collaboration: key already published"
    self.channel_key[dao_id][channel][epoch] = envelope_hash
    log ChannelKeyPublished(
        dao_id=dao_id, channel=channel, publisher=msg.sender, key_epoch=epoch, envelope_hash=envelope_hash
    )


@external
def post(dao_id: uint256, channel: uint256, content_hash: bytes32, location: String[MAX_LOCATION]) -> uint256:
    """
    @notice Record content posted to a channel: its hash (the ciphertext,
            sealed under the channel's key of the current epoch, lives
            off-chain at `location`).
    @param dao_id An active DAO.
    @param channel A channel the caller belongs to, whose key for the
           current epoch is published.
    @param content_hash keccak256 of the sealed content, non-zero.
    @param location Where the ciphertext lives (a URI or blob id).
    @return The post id within the DAO (starting at 1).
    """
    epoch: uint256 = self._check_channel(dao_id, channel)
    assert content_hash != empty(bytes32), "collaboration: empty hash"
    assert self.channel_key[dao_id][channel][epoch] != empty(bytes32), "collaboration: channel key not published"
    post_id: uint256 = self.daos[dao_id].post_count + 1
    self.daos[dao_id].post_count = post_id
    log ChannelPosted(
        dao_id=dao_id,
        channel=channel,
        author=msg.sender,
        post_id=post_id,
        key_epoch=epoch,
        content_hash=content_hash,
        location=location,
    )
    return post_id


# -------------------------------------------------------------------- views


@external
@view
def offer(offer_id: uint256) -> Offer:
    """
    @notice An offer as posted (state 0 = none, else an OfferState:
            1 open, 2 accepted, 4 withdrawn).
    @param offer_id The offer id.
    @return The offer.
    """
    return self.offers[offer_id]


@external
@view
def proposal(offer_id: uint256, counterparty: address) -> Proposal:
    """
    @notice The last proposal between the offer's poster and
            `counterparty` (round 0 = the offer as posted).
    @param offer_id The offer id.
    @param counterparty The negotiating party.
    @return The proposal.
    """
    return self._proposal(offer_id, self.offers[offer_id], counterparty)


@external
@view
def dao(dao_id: uint256) -> Dao:
    """
    @notice A DAO (state 0 = none, else a DaoState: 1 active, 2 closed).
    @param dao_id The DAO id.
    @return The DAO.
    """
    return self.daos[dao_id]


@external
@view
def member(dao_id: uint256, account: address) -> Member:
    """
    @notice `account`'s seat, stake (basis points), last heartbeat (Unix
            seconds) and revenue index in a DAO.
    @param dao_id The DAO id.
    @param account The account.
    @return The member record (`seated` False when it never joined).
    """
    return self.members[dao_id][account]


@external
@view
def last_heartbeat(dao_id: uint256, account: address) -> uint256:
    """
    @notice When `account` last posted a heartbeat to the DAO (or joined).
    @param dao_id The DAO id.
    @param account The member.
    @return Unix time in seconds, 0 when never seated.
    """
    return self.members[dao_id][account].last_heartbeat


@external
@view
def heartbeat_timeout(dao_id: uint256) -> uint256:
    """
    @notice The DAO's heartbeat timeout.
    @param dao_id The DAO id.
    @return Seconds.
    """
    return self.daos[dao_id].heartbeat_timeout


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
    return self.credit[account] + self._accrued(dao_id, account)


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
    return self._in_channel(dao_id, channel, account)


@external
@view
def reputation(account: address) -> (uint256, uint256):
    """
    @notice The ratings `account` received as a collaboration member.
    @param account The rated account.
    @return The sum of its scores and the number of ratings.
    """
    return self.total_score[account], self.ratings[account]


# ----------------------------------------------------------------- internal


@internal
def _form(offer_id: uint256, dsp: address, vp: address, proposal: Proposal, timeout: uint256) -> uint256:
    """
    @notice Form a DAO of the DSP (seat 0) and the VP (seat 1, channel 1).
    @return The DAO id.
    """
    dao_id: uint256 = self.dao_count + 1
    self.dao_count = dao_id
    self.daos[dao_id] = Dao(
        founder=dsp,
        lead=dsp,
        state=DaoState.ACTIVE,
        seats=0,
        active_members=0,
        heartbeat_timeout=timeout,
        key_epoch=0,
        revenue_per_bps=0,
        total_revenue=0,
        post_count=0,
    )
    log DaoFormed(dao_id=dao_id, founder=dsp, offer_id=offer_id, heartbeat_timeout=timeout, terms_hash=proposal.terms_hash)
    self._seat(dao_id, dsp, BPS)
    self._join(dao_id, vp, proposal.stake_bps)
    return dao_id


@internal
def _join(dao_id: uint256, newcomer: address, stake_bps: uint256):
    """
    @notice Seat `newcomer` with `stake_bps`, scaling every other stake by
            (10,000 - stake_bps) / 10,000; rounding goes to the lead member.
    """
    dao: Dao = self._active_dao(dao_id)
    assert dao.seats < MAX_MEMBERS, "collaboration: dao full"
    assert not self.members[dao_id][newcomer].seated, "collaboration: already a member"
    self._settle_all(dao_id, dao.seats)
    kept: uint256 = BPS - stake_bps
    given: uint256 = 0
    for seat: uint256 in range(MAX_MEMBERS):
        if seat >= dao.seats:
            break
        holder: address = self.seat_holder[dao_id][seat]
        old: uint256 = self.members[dao_id][holder].stake_bps
        if old > 0:
            new: uint256 = old * kept // BPS
            self.members[dao_id][holder].stake_bps = new
            given += new
    if given < kept:
        self.members[dao_id][dao.lead].stake_bps += kept - given
    for seat: uint256 in range(MAX_MEMBERS):
        if seat >= dao.seats:
            break
        holder: address = self.seat_holder[dao_id][seat]
        if self.members[dao_id][holder].active:
            log StakeChanged(dao_id=dao_id, member=holder, stake_bps=self.members[dao_id][holder].stake_bps)
    self._seat(dao_id, newcomer, stake_bps)


@internal
def _seat(dao_id: uint256, account: address, stake_bps: uint256):
    """
    @notice Give `account` the next seat (seat k >= 1 opens channel k) and
            move the key epoch.
    """
    seat: uint256 = self.daos[dao_id].seats
    epoch: uint256 = self.daos[dao_id].key_epoch + 1
    self.daos[dao_id].seats = seat + 1
    self.daos[dao_id].active_members += 1
    self.daos[dao_id].key_epoch = epoch
    self.seat_holder[dao_id][seat] = account
    self.members[dao_id][account] = Member(
        seat=seat,
        seated=True,
        active=True,
        stake_bps=stake_bps,
        last_heartbeat=block.timestamp,
        revenue_index=self.daos[dao_id].revenue_per_bps,
    )
    log MemberJoined(dao_id=dao_id, member=account, seat=seat, stake_bps=stake_bps, key_epoch=epoch)


@internal
def _redistribute(dao_id: uint256, seats: uint256, freed: uint256, lead: address):
    """
    @notice Share `freed` basis points among the active members pro rata
            to their stakes; rounding (or everything, when they all hold 0)
            goes to `lead`.
    """
    held: uint256 = BPS - freed
    given: uint256 = 0
    if held > 0:
        for seat: uint256 in range(MAX_MEMBERS):
            if seat >= seats:
                break
            holder: address = self.seat_holder[dao_id][seat]
            old: uint256 = self.members[dao_id][holder].stake_bps
            if old > 0:
                extra: uint256 = freed * old // held
                self.members[dao_id][holder].stake_bps = old + extra
                given += extra
    if given < freed and lead != empty(address):
        self.members[dao_id][lead].stake_bps += freed - given
    for seat: uint256 in range(MAX_MEMBERS):
        if seat >= seats:
            break
        holder: address = self.seat_holder[dao_id][seat]
        if self.members[dao_id][holder].active:
            log StakeChanged(dao_id=dao_id, member=holder, stake_bps=self.members[dao_id][holder].stake_bps)


@internal
def _settle_all(dao_id: uint256, seats: uint256):
    """
    @notice Settle every seat's accrued revenue into its credit.
    """
    for seat: uint256 in range(MAX_MEMBERS):
        if seat >= seats:
            break
        self._settle(dao_id, self.seat_holder[dao_id][seat])


@internal
def _settle(dao_id: uint256, account: address):
    """
    @notice Move `account`'s accrued revenue share in the DAO to its credit.
    """
    owed: uint256 = self._accrued(dao_id, account)
    self.members[dao_id][account].revenue_index = self.daos[dao_id].revenue_per_bps
    if owed > 0:
        self.credit[account] += owed


@internal
@view
def _accrued(dao_id: uint256, account: address) -> uint256:
    """
    @notice `account`'s revenue share in the DAO not yet moved to credit.
    @return Wei.
    """
    m: Member = self.members[dao_id][account]
    if not m.seated:
        return 0
    return m.stake_bps * (self.daos[dao_id].revenue_per_bps - m.revenue_index)


@internal
@view
def _first_active(dao_id: uint256, seats: uint256) -> address:
    """
    @notice The active member with the lowest seat (empty when none).
    """
    for seat: uint256 in range(MAX_MEMBERS):
        if seat >= seats:
            break
        holder: address = self.seat_holder[dao_id][seat]
        if self.members[dao_id][holder].active:
            return holder
    return empty(address)


@internal
@view
def _active_dao(dao_id: uint256) -> Dao:
    """
    @notice The DAO, which must be active.
    @dev Reverts "collaboration: dao not active".
    """
    dao: Dao = self.daos[dao_id]
    assert dao.state == DaoState.ACTIVE, "collaboration: dao not active"
    return dao


@internal
@view
def _check_member(dao_id: uint256, account: address):
    """
    @notice The DAO is active and `account` is an active member of it.
    """
    self._active_dao(dao_id)
    assert self.members[dao_id][account].active, "collaboration: not a member"


@internal
@view
def _in_channel(dao_id: uint256, channel: uint256, account: address) -> bool:
    """
    @notice Channel k (1 <= k < seats) holds the active members seated 0..k.
    """
    m: Member = self.members[dao_id][account]
    return m.active and channel >= 1 and channel < self.daos[dao_id].seats and m.seat <= channel


@internal
@view
def _check_channel(dao_id: uint256, channel: uint256) -> uint256:
    """
    @notice The DAO is active and the caller belongs to `channel`.
    @return The DAO's current key epoch.
    """
    dao: Dao = self._active_dao(dao_id)
    assert self._in_channel(dao_id, channel, msg.sender), "collaboration: not in channel"
    return dao.key_epoch


@internal
@view
def _live_offer(offer_id: uint256) -> Offer:
    """
    @notice The offer, which must be open and unexpired.
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
    """
    if msg.sender == offer.poster:
        assert counterparty != msg.sender and counterparty != empty(address), "collaboration: bad counterparty"
        return counterparty
    assert counterparty == msg.sender, "collaboration: bad counterparty"
    assert staticcall REGISTRY.is_audited(msg.sender), "collaboration: not audited"
    if offer.dao_id != 0:
        if offer.poster_role == Role.DSP:
            assert not self.members[offer.dao_id][msg.sender].seated, "collaboration: already a member"
        else:
            assert msg.sender == self.daos[offer.dao_id].lead, "collaboration: not the lead member"
    return msg.sender


@internal
@view
def _proposal(offer_id: uint256, offer: Offer, counterparty: address) -> Proposal:
    """
    @notice The last proposal with `counterparty`; round 0 is the offer as
            posted, proposed by its poster.
    """
    proposal: Proposal = self.negotiations[offer_id][counterparty]
    if proposal.round == 0:
        return Proposal(proposer=offer.poster, round=0, terms_hash=offer.terms_hash, stake_bps=offer.stake_bps)
    return proposal
