# pragma version ~=0.4.3
"""
@title DAO infrastructure requests, heartbeats and termination
@notice Members request infrastructure with a JSON spec (event only) and
        their machines post heartbeats; anyone may terminate a member
        whose last heartbeat is older than the DAO's timeout. Its stake is
        redistributed pro rata to the remaining members; what it earned
        before stays its own. A DAO left with one member is closed.
@dev Collaboration.vy initializes this module and exports
     `request_infrastructure`, `heartbeat` and `terminate`.
"""

from . import dao_membership
from . import dao_revenue

uses: dao_membership
uses: dao_revenue


MAX_SPEC: constant(uint256) = 4096


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


@external
def request_infrastructure(dao_id: uint256, spec: String[MAX_SPEC]):
    """
    @notice Ask the members' event handlers to start infrastructure for the
            DAO's workload (Ansible, Terraform, Kubernetes), described by a
            JSON `spec` carried in the event only.
    @param dao_id An active DAO of the caller.
    @param spec Non-empty JSON document.
    """
    dao_membership._check_member(dao_id, msg.sender)
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
    dao_membership._check_member(dao_id, msg.sender)
    dao_membership.members[dao_id][msg.sender].last_heartbeat = block.timestamp
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
    dao: dao_membership.Dao = dao_membership._active_dao(dao_id)
    m: dao_membership.Member = dao_membership.members[dao_id][member]
    assert m.active, "collaboration: not a member"
    assert block.timestamp > m.last_heartbeat + dao.heartbeat_timeout, "collaboration: heartbeat not missed"
    dao_revenue._settle_all(dao_id, dao.seats)
    dao_membership.members[dao_id][member].active = False
    dao_membership.members[dao_id][member].stake_bps = 0
    remaining: uint256 = dao.active_members - 1
    dao_membership.daos[dao_id].active_members = remaining
    epoch: uint256 = dao.key_epoch + 1
    dao_membership.daos[dao_id].key_epoch = epoch
    lead: address = dao.lead
    if member == lead:
        lead = dao_membership._first_active(dao_id, dao.seats)
        dao_membership.daos[dao_id].lead = lead
    log MemberTerminated(
        dao_id=dao_id,
        member=member,
        terminated_by=msg.sender,
        last_heartbeat=m.last_heartbeat,
        stake_bps=m.stake_bps,
        key_epoch=epoch,
    )
    log dao_membership.StakeChanged(dao_id=dao_id, member=member, stake_bps=0)
    dao_membership._redistribute(dao_id, dao.seats, m.stake_bps, lead)
    if remaining < 2:
        dao_membership.daos[dao_id].state = dao_membership.DaoState.CLOSED
        log dao_membership.DaoClosed(dao_id=dao_id, closed_by=msg.sender)
