# pragma version ~=0.4.3
"""
@title DAO revenue and withdrawals
@notice Revenue paid to a DAO in ether is split by stake, with pull
        withdrawals: each member is owed `amount // 10,000` wei per basis
        point of its stake; the wei that do not divide by 10,000 are
        credited to the lead member at once, so no wei is ever stuck.
@dev Revenue accrues per basis point (`Dao.revenue_per_bps`); a member's
     share is settled into `credit` (`_settle`, `_settle_all`) before its
     stake changes. Invariant: the contract's balance equals the sum of
     `credit` plus every member's unsettled accrual (`_accrued`).
     Collaboration.vy initializes this module and exports `pay`,
     `withdraw` and `credit`.
"""

from . import dao_membership

uses: dao_membership


event RevenuePaid:
    dao_id: indexed(uint256)
    payer: indexed(address)
    amount: uint256
    remainder: uint256
    remainder_to: address

event Withdrawn:
    account: indexed(address)
    amount: uint256


# Wei each account may withdraw, settled from every DAO it held a seat in.
credit: public(HashMap[address, uint256])


@external
@payable
def pay(dao_id: uint256):
    """
    @notice Pay revenue (ether) to an active DAO. Each member is owed
            `msg.value // 10,000` wei per basis point of stake; the
            remainder (under 10,000 wei) is credited to the lead member.
    @param dao_id An active DAO.
    """
    dao: dao_membership.Dao = dao_membership._active_dao(dao_id)
    assert msg.value > 0, "collaboration: no value"
    remainder: uint256 = msg.value % dao_membership.BPS
    dao_membership.daos[dao_id].revenue_per_bps = dao.revenue_per_bps + msg.value // dao_membership.BPS
    dao_membership.daos[dao_id].total_revenue = dao.total_revenue + msg.value
    self.credit[dao.lead] += remainder
    log RevenuePaid(dao_id=dao_id, payer=msg.sender, amount=msg.value, remainder=remainder, remainder_to=dao.lead)


@external
@nonreentrant
def withdraw(dao_id: uint256):
    """
    @notice Withdraw everything owed to the caller: its share of `dao_id`'s
            revenue so far plus its credit from every DAO (pull payment).
    @dev Effects before the transfer, under the contract's reentrancy lock;
         all gas is forwarded. Reverts "collaboration: nothing to withdraw".
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


@internal
def _settle_all(dao_id: uint256, seats: uint256):
    """
    @notice Settle every seat's accrued revenue into its credit.
    @param dao_id The DAO.
    @param seats The DAO's number of seats.
    """
    for seat: uint256 in range(dao_membership.MAX_MEMBERS):
        if seat >= seats:
            break
        self._settle(dao_id, dao_membership.seat_holder[dao_id][seat])


@internal
def _settle(dao_id: uint256, account: address):
    """
    @notice Move `account`'s accrued revenue share in the DAO to its credit.
    @param dao_id The DAO.
    @param account The account (nothing accrues when it never held a seat).
    """
    owed: uint256 = self._accrued(dao_id, account)
    dao_membership.members[dao_id][account].revenue_index = dao_membership.daos[dao_id].revenue_per_bps
    if owed > 0:
        self.credit[account] += owed


@internal
@view
def _accrued(dao_id: uint256, account: address) -> uint256:
    """
    @notice `account`'s revenue share in the DAO not yet moved to credit.
    @param dao_id The DAO.
    @param account The account.
    @return Wei.
    """
    m: dao_membership.Member = dao_membership.members[dao_id][account]
    if not m.seated:
        return 0
    return m.stake_bps * (dao_membership.daos[dao_id].revenue_per_bps - m.revenue_index)
