# pragma version ~=0.4.3
"""
@title DAO membership and stakes
@notice The DAOs of the Collaboration contract and their members: seats,
        stakes in basis points summing to 10,000, the key epoch of the
        nested channels, and the lead member who may close the DAO.
        A member seated k (k >= 1) opened channel k; the key epoch moves
        on every membership change.
@dev Used by the other `dao_*` modules and initialized by Collaboration.vy,
     which exports `close`, the public constants, `dao_count` and
     `seat_holder`. Members per DAO are bounded (MAX_MEMBERS), so the
     loops over seats are bounded. A member's revenue share must be
     settled (`dao_revenue._settle_all`) before its stake changes: the
     callers that change stakes do it first.
"""


BPS: public(constant(uint256)) = 10_000
MAX_MEMBERS: public(constant(uint256)) = 16
MIN_TIMEOUT: public(constant(uint256)) = 60
MAX_TIMEOUT: public(constant(uint256)) = 365 * 86_400

# A DAO's state is a flag used by the Collaboration contract alone (the
# empty flag, 0, is "no such DAO").
flag DaoState:
    ACTIVE
    CLOSED


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

event DaoClosed:
    dao_id: indexed(uint256)
    closed_by: indexed(address)


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


dao_count: public(uint256)
daos: HashMap[uint256, Dao]
members: HashMap[uint256, HashMap[address, Member]]
seat_holder: public(HashMap[uint256, HashMap[uint256, address]])


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


@internal
def _seat(dao_id: uint256, account: address, stake_bps: uint256):
    """
    @notice Give `account` the next seat (seat k >= 1 opens channel k) and
            move the key epoch.
    @dev Its revenue index starts at the DAO's current revenue per basis
         point: it earns nothing paid before it joined.
    @param dao_id An active DAO with a free seat.
    @param account The new member, not seated in the DAO yet.
    @param stake_bps Its stake in basis points.
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
    @dev Logs StakeChanged for every active member. The caller has settled
         every seat's revenue share before.
    @param dao_id The DAO.
    @param seats The DAO's number of seats.
    @param freed The basis points to share (the stake of a member that
           left, whose own stake is already 0).
    @param lead The lead member, or empty(address) when none is left.
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
@view
def _first_active(dao_id: uint256, seats: uint256) -> address:
    """
    @notice The active member with the lowest seat (empty when none).
    @param dao_id The DAO.
    @param seats The DAO's number of seats.
    @return The member's address, or empty(address).
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
    @param dao_id The DAO id.
    @return The DAO.
    """
    dao: Dao = self.daos[dao_id]
    assert dao.state == DaoState.ACTIVE, "collaboration: dao not active"
    return dao


@internal
@view
def _check_member(dao_id: uint256, account: address):
    """
    @notice The DAO is active and `account` is an active member of it.
    @dev Reverts "collaboration: dao not active" or
         "collaboration: not a member".
    @param dao_id The DAO id.
    @param account The account.
    """
    self._active_dao(dao_id)
    assert self.members[dao_id][account].active, "collaboration: not a member"
