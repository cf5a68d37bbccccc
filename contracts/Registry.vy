# pragma version ~=0.4.3
"""
@title Datagora Registry
@notice Organisations, customers and their encryption public keys.
        Implements EntDSM (Wang & Liu) Algorithm 1 `comInfoReg` and
        Algorithm 2 `changeComState`: an address registers an organisation
        by name (status ToAudit) or joins an existing one, registers only
        once, the supervisor cannot register, and only the supervisor
        changes an organisation's status. Joining an existing organisation
        is a request that an active member (or the supervisor) approves, so
        nobody inherits an organisation's audit by knowing its name. A
        pending request can be withdrawn by its author or rejected by a
        member (or the supervisor), and a pending account may register
        afresh (which withdraws its request), so an account whose founding
        registration was turned into a join request by someone who took the
        name first is never locked out.
        Individuals (customers) register without audit. Every account publishes the 64-byte secp256k1 public
        key of its own address, which other parties use for ECIES.
@dev The supervisor is the snekmate `ownable` owner.
"""

from snekmate.auth import ownable

from .interfaces import IRegistry

implements: IRegistry

initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)


# Organisation status (EntDSM `ComState`); the empty flag (0) is "no
# such organisation". Only the Registry uses these two flags.
flag OrgStatus:
    TO_AUDIT
    AUDITED
    SUSPENDED

# Account kind; the empty flag (0) is "not registered".
flag AccountKind:
    MEMBER
    CUSTOMER
    PENDING

MAX_NAME: constant(uint256) = 64


event OrganisationRegistered:
    organisation_id: indexed(uint256)
    name: String[MAX_NAME]
    founder: indexed(address)

event MemberJoined:
    organisation_id: indexed(uint256)
    account: indexed(address)
    public_key: Bytes[64]

event MembershipRequested:
    organisation_id: indexed(uint256)
    account: indexed(address)
    public_key: Bytes[64]

event MembershipWithdrawn:
    organisation_id: indexed(uint256)
    account: indexed(address)

event MembershipRejected:
    organisation_id: indexed(uint256)
    account: indexed(address)
    rejected_by: indexed(address)

event CustomerRegistered:
    account: indexed(address)
    public_key: Bytes[64]

event StatusChanged:
    organisation_id: indexed(uint256)
    old_status: OrgStatus
    new_status: OrgStatus
    supervisor: indexed(address)


struct Organisation:
    name: String[MAX_NAME]
    status: OrgStatus
    members: uint256


organisations: public(HashMap[uint256, Organisation])
organisation_count: public(uint256)
organisation_id_of_name: public(HashMap[String[MAX_NAME], uint256])
organisation_of: public(HashMap[address, uint256])
account_kind: public(HashMap[address, AccountKind])
public_key: public(HashMap[address, Bytes[64]])


@deploy
def __init__():
    """
    @notice The deployer becomes the supervisor.
    """
    ownable.__init__()


@external
def register_organisation(name: String[MAX_NAME], public_key: Bytes[64]) -> uint256:
    """
    @notice Register the caller in organisation `name` (EntDSM Algorithm 1):
            a new name creates the organisation with status ToAudit and the
            caller as its first member; an existing name files a membership
            request that a member of it (or the supervisor) approves with
            `approve_member`. An account with a pending request may call
            it again: the pending request is withdrawn first.
    @param name Organisation name, 1..64 bytes.
    @param public_key The caller's uncompressed secp256k1 public key
           without the 0x04 prefix (64 bytes); its keccak256 must give
           the caller's address.
    @return The organisation id (starting at 1).
    """
    assert msg.sender != ownable.owner, "registry: supervisor cannot register"
    assert self._may_register(msg.sender), "registry: already registered"
    assert len(name) > 0, "registry: empty name"
    self._check_public_key(public_key)
    self._withdraw_pending(msg.sender)

    organisation_id: uint256 = self.organisation_id_of_name[name]
    self.public_key[msg.sender] = public_key
    if organisation_id != 0:
        self.organisation_of[msg.sender] = organisation_id
        self.account_kind[msg.sender] = AccountKind.PENDING
        log MembershipRequested(organisation_id=organisation_id, account=msg.sender, public_key=public_key)
        return organisation_id

    organisation_id = self.organisation_count + 1
    self.organisation_count = organisation_id
    self.organisation_id_of_name[name] = organisation_id
    self.organisations[organisation_id] = Organisation(name=name, status=OrgStatus.TO_AUDIT, members=1)
    self.organisation_of[msg.sender] = organisation_id
    self.account_kind[msg.sender] = AccountKind.MEMBER
    log OrganisationRegistered(organisation_id=organisation_id, name=name, founder=msg.sender)
    log MemberJoined(organisation_id=organisation_id, account=msg.sender, public_key=public_key)
    return organisation_id


@external
def approve_member(account: address):
    """
    @notice Accept `account`'s pending request to join the caller's
            organisation; callable by an active member of it or by the
            supervisor.
    @param account The requesting address.
    """
    assert self.account_kind[account] == AccountKind.PENDING, "registry: not a pending member"
    organisation_id: uint256 = self.organisation_of[account]
    self._check_member_or_supervisor(organisation_id)
    self.account_kind[account] = AccountKind.MEMBER
    self.organisations[organisation_id].members += 1
    log MemberJoined(organisation_id=organisation_id, account=account, public_key=self.public_key[account])


@external
def withdraw_request():
    """
    @notice Withdraw the caller's pending request to join an organisation;
            the caller is unregistered again and may register afresh.
    """
    assert self.account_kind[msg.sender] == AccountKind.PENDING, "registry: no pending request"
    self._withdraw_pending(msg.sender)


@external
def reject_member(account: address):
    """
    @notice Refuse `account`'s pending request to join the caller's
            organisation; callable by an active member of it or by the
            supervisor. The account is unregistered again.
    @param account The requesting address.
    """
    assert self.account_kind[account] == AccountKind.PENDING, "registry: not a pending member"
    organisation_id: uint256 = self.organisation_of[account]
    self._check_member_or_supervisor(organisation_id)
    self._clear_request(account)
    log MembershipRejected(organisation_id=organisation_id, account=account, rejected_by=msg.sender)


@external
def register_customer(public_key: Bytes[64]):
    """
    @notice Register the caller as an individual customer (data subject);
            no audit is needed. A pending membership request of the
            caller is withdrawn first.
    @param public_key The caller's 64-byte secp256k1 public key.
    """
    assert msg.sender != ownable.owner, "registry: supervisor cannot register"
    assert self._may_register(msg.sender), "registry: already registered"
    self._check_public_key(public_key)
    self._withdraw_pending(msg.sender)
    self.account_kind[msg.sender] = AccountKind.CUSTOMER
    self.public_key[msg.sender] = public_key
    log CustomerRegistered(account=msg.sender, public_key=public_key)


@external
def set_status(organisation_id: uint256, new_status: OrgStatus):
    """
    @notice Change an organisation's status (EntDSM Algorithm 2);
            supervisor only.
    @param organisation_id The organisation id.
    @param new_status OrgStatus.TO_AUDIT (1), AUDITED (2) or SUSPENDED (4).
    """
    ownable._check_owner()
    assert (
        new_status == OrgStatus.TO_AUDIT or new_status == OrgStatus.AUDITED or new_status == OrgStatus.SUSPENDED
    ), "registry: invalid status"
    old_status: OrgStatus = self.organisations[organisation_id].status
    assert old_status != empty(OrgStatus), "registry: unknown organisation"
    assert old_status != new_status, "registry: status unchanged"
    self.organisations[organisation_id].status = new_status
    log StatusChanged(organisation_id=organisation_id, old_status=old_status, new_status=new_status, supervisor=msg.sender)


@external
@view
def status_of(account: address) -> OrgStatus:
    """
    @notice The status of the organisation `account` belongs to or asked
            to join (0 if none).
    @param account The account.
    @return The status of the account's organisation (0 = none).
    """
    return self.organisations[self.organisation_of[account]].status


@external
@view
def is_audited(account: address) -> bool:
    """
    @notice True when `account` is an approved member of an Audited
            organisation.
    @param account The account.
    @return True when the account is a member of an Audited organisation.
    """
    if self.account_kind[account] != AccountKind.MEMBER:
        return False
    return self.organisations[self.organisation_of[account]].status == OrgStatus.AUDITED


@external
@view
def audited_organisation(account: address) -> uint256:
    """
    @notice The organisation `account` trades for: its id when `account` is
            an approved member of an Audited organisation, else 0.
    @dev The same reads as `is_audited`, so a sale contract compares the
         two parties' organisations (for Reputation's rule that parties of
         one organisation cannot rate each other) at no extra cost.
    @param account The account.
    @return The organisation id, 0 when the account may not trade.
    """
    if self.account_kind[account] != AccountKind.MEMBER:
        return 0
    organisation_id: uint256 = self.organisation_of[account]
    if self.organisations[organisation_id].status != OrgStatus.AUDITED:
        return 0
    return organisation_id


@internal
@view
def _check_public_key(public_key: Bytes[64]):
    """
    @notice The public key is 64 bytes and belongs to the caller's address
            (keccak256(public_key)[12:] == msg.sender).
    @dev Reverts "registry: bad public key" / "registry: public key does
         not match sender".
    @param public_key The 64-byte secp256k1 public key (no 0x04 prefix).
    """
    assert len(public_key) == 64, "registry: bad public key"
    assert convert(convert(slice(keccak256(public_key), 12, 20), bytes20), address) == msg.sender, "registry: public key does not match sender"


@internal
@view
def _check_member_or_supervisor(organisation_id: uint256):
    if msg.sender != ownable.owner:
        assert (
            self.account_kind[msg.sender] == AccountKind.MEMBER and self.organisation_of[msg.sender] == organisation_id
        ), "registry: not a member of that organisation"


@internal
@view
def _may_register(account: address) -> bool:
    kind: AccountKind = self.account_kind[account]
    return kind == empty(AccountKind) or kind == AccountKind.PENDING


@internal
def _clear_request(account: address):
    self.account_kind[account] = empty(AccountKind)
    self.organisation_of[account] = 0
    self.public_key[account] = b""


@internal
def _withdraw_pending(account: address):
    if self.account_kind[account] == AccountKind.PENDING:
        organisation_id: uint256 = self.organisation_of[account]
        self._clear_request(account)
        log MembershipWithdrawn(organisation_id=organisation_id, account=account)
