# pragma version ~=0.4.3
"""
@title Datagora Consent
@notice Consent per purpose with a reward per access (Shrestha, Joshi,
        Vassileva, "Customer Data Sharing Platform: A Blockchain-Based
        Shopping Cart": the smart contract verifies and executes the agreed
        terms of use of the data and transfers digital tokens as a reward to
        the customer; it tracks who shared what, with whom, when and for
        what purpose). A consent is (data subject, data category, consumer
        organisation, purpose, expiry, reward per access). The purpose is a
        W3C Data Privacy Vocabulary (DPV) term: its IRI is carried in the
        `ConsentGranted` event and only its keccak256 is stored (so is the
        category's). The subject grants and revokes; a member of the
        consumer organisation records each access to a stream item, which
        pays the reward in RewardToken from the consumer's pre-funded
        deposit to the subject (pull payment: `withdraw(REWARD_TOKEN)`).
        Two ways to ask: `record_access` reverts without a valid consent
        (for callers that want all or nothing); `request_access` never
        reverts for a consent reason and records a refusal as an
        `AccessRefused` event with its reason, so refusals sit in the same
        audit trail as accesses, signed and timestamped by the consumer's
        own transaction (the shop node delivers an item only against a
        request transaction, so every request passes the chain).
@dev Reward tokens are held on the shared escrow module: deposits are
     `escrowed`, rewards and withdrawn deposits move to `pending_withdrawals`.
     Invariant: token balance of this contract == escrowed + sum of
     pending; escrowed == sum of `deposits`. Consents are packed in 4
     slots. No loop; value leaves only through `withdraw`.
"""

from .interfaces import IRegistry
from .interfaces import IStreams
from .modules import escrow

initializes: escrow

exports: (
    escrow.withdraw,
    escrow.escrowed,
    escrow.pending_withdrawals,
)


# Consent states (an expired consent stays ACTIVE: expiry is a time); the
# empty flag (0) is "no such consent". Only Consent uses its two flags.
flag ConsentState:
    ACTIVE
    REVOKED

# Why an access is refused (event AccessRefused; the empty flag, 0, is
# "allowed").
flag AccessRefusal:
    NO_CONSENT
    NOT_CONSUMER
    WRONG_CATEGORY
    WRONG_PURPOSE
    REVOKED
    EXPIRED
    NO_ITEM
    ITEM_ERASED
    DEPOSIT_TOO_LOW

MAX_CATEGORY: constant(uint256) = 64
MAX_PURPOSE: constant(uint256) = 128
MAX_EXPIRY: constant(uint256) = 2**40 - 1
MAX_REWARD: constant(uint256) = 2**128 - 1

REGISTRY: public(immutable(IRegistry))
STREAMS: public(immutable(IStreams))
REWARD_TOKEN: public(immutable(address))


event ConsentGranted:
    consent_id: indexed(uint256)
    subject: indexed(address)
    organisation_id: indexed(uint256)
    category: String[MAX_CATEGORY]
    purpose: String[MAX_PURPOSE]
    category_hash: bytes32
    purpose_hash: bytes32
    expiry: uint256
    reward: uint256

event ConsentRevoked:
    consent_id: indexed(uint256)
    subject: indexed(address)
    organisation_id: indexed(uint256)

event AccessRecorded:
    consent_id: indexed(uint256)
    consumer: indexed(address)
    subject: indexed(address)
    item_id: uint256
    purpose_hash: bytes32
    reward: uint256

event AccessRefused:
    consent_id: indexed(uint256)
    consumer: indexed(address)
    subject: indexed(address)
    item_id: uint256
    purpose_hash: bytes32
    reason: AccessRefusal

event Deposited:
    consumer: indexed(address)
    amount: uint256
    balance: uint256

event DepositWithdrawn:
    consumer: indexed(address)
    amount: uint256
    balance: uint256


# Stored form (4 slots): `head` = subject | expiry << 160 | state << 200 |
# organisation_id << 208 (organisation ids are sequential, far below 2**48).
struct StoredConsent:
    head: uint256
    category_hash: bytes32
    purpose_hash: bytes32
    reward: uint256


# Unpacked consent returned by `consent()`.
struct ConsentView:
    subject: address
    organisation_id: uint256
    category_hash: bytes32
    purpose_hash: bytes32
    expiry: uint256
    reward: uint256
    state: ConsentState


_consents: HashMap[uint256, StoredConsent]
# keccak256(subject, category_hash, organisation_id, purpose_hash) -> the last consent granted for it.
_latest: HashMap[bytes32, uint256]
consent_count: public(uint256)
access_count: public(uint256)
deposits: public(HashMap[address, uint256])


@deploy
def __init__(registry: address, streams: address, reward_token: address):
    """
    @notice Bind consents to the Registry (consumer organisations), the
            Streams (items) and the reward token.
    @param registry The Datagora Registry.
    @param streams The Datagora Streams.
    @param reward_token The RewardToken (ERC-20) rewards are paid in.
    """
    assert reward_token.is_contract, "consent: token not a contract"
    REGISTRY = IRegistry(registry)
    STREAMS = IStreams(streams)
    REWARD_TOKEN = reward_token


@external
def grant(
    category: String[MAX_CATEGORY], organisation_id: uint256, purpose: String[MAX_PURPOSE], expiry: uint256, reward: uint256
) -> uint256:
    """
    @notice The caller (the data subject) lets members of organisation
            `organisation_id` use its data of `category` for `purpose`
            until `expiry`, for `reward` tokens per access.
    @dev One live consent per (subject, category, organisation, purpose):
         a new one needs the last one revoked or expired.
    @param category Data category, e.g. "purchase-history" (non-empty).
    @param organisation_id The consumer organisation (Registry id, > 0).
    @param purpose The W3C DPV purpose IRI, e.g.
           "https://w3id.org/dpv#Marketing" (non-empty).
    @param expiry Unix time (seconds) after which the consent is void;
           in the future, below 2**40.
    @param reward RewardToken units (18 decimals) paid per access; may be 0.
    @return The consent id (starting at 1).
    """
    assert len(category) > 0, "consent: empty category"
    assert len(purpose) > 0, "consent: empty purpose"
    assert organisation_id > 0 and organisation_id < 2**48, "consent: bad organisation"
    assert expiry > block.timestamp, "consent: expiry in the past"
    assert expiry <= MAX_EXPIRY, "consent: expiry too far"
    assert reward <= MAX_REWARD, "consent: reward too large"
    category_hash: bytes32 = keccak256(category)
    purpose_hash: bytes32 = keccak256(purpose)
    key: bytes32 = keccak256(abi_encode(msg.sender, category_hash, organisation_id, purpose_hash))
    last: uint256 = self._latest[key]
    if last != 0:
        head: uint256 = self._consents[last].head
        live: bool = (head >> 200) & 255 == convert(ConsentState.ACTIVE, uint256) and block.timestamp <= (head >> 160) & MAX_EXPIRY
        assert not live, "consent: already granted"
    consent_id: uint256 = self.consent_count + 1
    self.consent_count = consent_id
    self._latest[key] = consent_id
    self._consents[consent_id] = StoredConsent(
        head=(
            convert(convert(msg.sender, uint160), uint256)
            | (expiry << 160)
            | (convert(ConsentState.ACTIVE, uint256) << 200)
            | (organisation_id << 208)
        ),
        category_hash=category_hash,
        purpose_hash=purpose_hash,
        reward=reward,
    )
    log ConsentGranted(
        consent_id=consent_id,
        subject=msg.sender,
        organisation_id=organisation_id,
        category=category,
        purpose=purpose,
        category_hash=category_hash,
        purpose_hash=purpose_hash,
        expiry=expiry,
        reward=reward,
    )
    return consent_id


@external
def revoke(consent_id: uint256):
    """
    @notice The data subject withdraws a consent; later accesses under it
            are refused. Accesses already recorded stay recorded.
    @param consent_id The consent, granted by the caller and not revoked.
    """
    consent: ConsentView = self._consent(consent_id)
    assert consent.subject == msg.sender, "consent: not the data subject"
    assert consent.state == ConsentState.ACTIVE, "consent: already revoked"
    head: uint256 = self._consents[consent_id].head
    self._consents[consent_id].head = (head & ~(255 << 200)) | (convert(ConsentState.REVOKED, uint256) << 200)
    log ConsentRevoked(consent_id=consent_id, subject=msg.sender, organisation_id=consent.organisation_id)


@external
@nonreentrant
def deposit(amount: uint256):
    """
    @notice Pre-fund rewards: pull `amount` RewardToken from the caller
            (after its `approve`) into its deposit.
    @param amount RewardToken units, > 0.
    """
    assert amount > 0, "consent: zero amount"
    escrow._pull_token(REWARD_TOKEN, msg.sender, amount)
    balance: uint256 = self.deposits[msg.sender] + amount
    self.deposits[msg.sender] = balance
    log Deposited(consumer=msg.sender, amount=amount, balance=balance)


@external
@nonreentrant
def withdraw_deposit(amount: uint256):
    """
    @notice Take back `amount` of the caller's unused deposit: it becomes
            withdrawable with `withdraw(REWARD_TOKEN)`.
    @param amount RewardToken units, > 0, at most the deposit.
    """
    assert amount > 0, "consent: zero amount"
    balance: uint256 = self.deposits[msg.sender]
    assert amount <= balance, "consent: deposit too low"
    balance -= amount
    self.deposits[msg.sender] = balance
    log DepositWithdrawn(consumer=msg.sender, amount=amount, balance=balance)
    escrow._release(msg.sender, REWARD_TOKEN, amount)


@external
@nonreentrant
def record_access(consent_id: uint256, category_hash: bytes32, purpose_hash: bytes32, item_id: uint256):
    """
    @notice The consumer records one access to stream item `item_id`
            under a consent and pays its reward to the data subject; reverts
            without a valid consent.
    @dev Reverts, in this order: "consent: no such consent", "consent: not
         the consumer" (the caller is not an audited member of the
         consumer organisation), "consent: wrong category", "consent: wrong
         purpose", "consent: revoked", "consent: expired", "consent: no such
         item", "consent: item erased", "consent: deposit too low".
    @param consent_id The consent.
    @param category_hash keccak256 of the data category of the item.
    @param purpose_hash keccak256 of the DPV purpose IRI of this use.
    @param item_id The Streams item used.
    """
    consent: ConsentView = self._consent(consent_id)
    reason: AccessRefusal = self._refusal(consent, consent_id, msg.sender, category_hash, purpose_hash, item_id)
    if reason == AccessRefusal.NO_CONSENT:
        raise "consent: no such consent"
    elif reason == AccessRefusal.NOT_CONSUMER:
        raise "consent: not the consumer"
    elif reason == AccessRefusal.WRONG_CATEGORY:
        raise "consent: wrong category"
    elif reason == AccessRefusal.WRONG_PURPOSE:
        raise "consent: wrong purpose"
    elif reason == AccessRefusal.REVOKED:
        raise "consent: revoked"
    elif reason == AccessRefusal.EXPIRED:
        raise "consent: expired"
    elif reason == AccessRefusal.NO_ITEM:
        raise "consent: no such item"
    elif reason == AccessRefusal.ITEM_ERASED:
        raise "consent: item erased"
    elif reason == AccessRefusal.DEPOSIT_TOO_LOW:
        raise "consent: deposit too low"
    self._pay(consent, consent_id, msg.sender, purpose_hash, item_id)


@external
@nonreentrant
def request_access(consent_id: uint256, category_hash: bytes32, purpose_hash: bytes32, item_id: uint256) -> bool:
    """
    @notice Like `record_access`, but a refusal is recorded instead of
            reverting: with a valid consent the access is recorded and the
            reward paid (`AccessRecorded`, returns True); otherwise
            `AccessRefused` carries the reason (an AccessRefusal member) and nothing
            is paid (returns False).
    @param consent_id The consent.
    @param category_hash keccak256 of the data category of the item.
    @param purpose_hash keccak256 of the DPV purpose IRI of this use.
    @param item_id The Streams item asked for.
    @return True when the access was recorded and paid.
    """
    consent: ConsentView = self._consent(consent_id)
    reason: AccessRefusal = self._refusal(consent, consent_id, msg.sender, category_hash, purpose_hash, item_id)
    if reason != empty(AccessRefusal):
        log AccessRefused(
            consent_id=consent_id,
            consumer=msg.sender,
            subject=consent.subject,
            item_id=item_id,
            purpose_hash=purpose_hash,
            reason=reason,
        )
        return False
    self._pay(consent, consent_id, msg.sender, purpose_hash, item_id)
    return True


@external
@view
def check(consent_id: uint256, consumer: address, category_hash: bytes32, purpose_hash: bytes32, item_id: uint256) -> AccessRefusal:
    """
    @notice Whether `consumer` may access item `item_id` under the consent
            now, without recording anything.
    @param consent_id The consent.
    @param consumer The account that would record the access.
    @param category_hash keccak256 of the data category.
    @param purpose_hash keccak256 of the DPV purpose IRI.
    @param item_id The Streams item.
    @return 0 when allowed, else the AccessRefusal reason.
    """
    return self._refusal(self._consent(consent_id), consent_id, consumer, category_hash, purpose_hash, item_id)


@external
@view
def consent(consent_id: uint256) -> ConsentView:
    """
    @notice A consent, unpacked.
    @param consent_id The consent id.
    @return The consent (state 0 = no such consent).
    """
    return self._consent(consent_id)


@external
@view
def latest_consent(subject: address, category_hash: bytes32, organisation_id: uint256, purpose_hash: bytes32) -> uint256:
    """
    @notice The last consent `subject` granted for this category,
            organisation and purpose (it may since be revoked or expired).
    @param subject The data subject.
    @param category_hash keccak256 of the data category.
    @param organisation_id The consumer organisation.
    @param purpose_hash keccak256 of the DPV purpose IRI.
    @return The consent id, 0 when none was ever granted.
    """
    return self._latest[keccak256(abi_encode(subject, category_hash, organisation_id, purpose_hash))]


@internal
@view
def _consent(consent_id: uint256) -> ConsentView:
    """
    @notice Unpack a stored consent.
    @param consent_id The consent id.
    @return The consent (all zero when it does not exist).
    """
    stored: StoredConsent = self._consents[consent_id]
    head: uint256 = stored.head
    return ConsentView(
        subject=convert(convert(head & (2**160 - 1), uint160), address),
        organisation_id=head >> 208,
        category_hash=stored.category_hash,
        purpose_hash=stored.purpose_hash,
        expiry=(head >> 160) & MAX_EXPIRY,
        reward=stored.reward,
        state=convert((head >> 200) & 255, ConsentState),
    )


@internal
@view
def _refusal(
    consent: ConsentView, consent_id: uint256, consumer: address, category_hash: bytes32, purpose_hash: bytes32, item_id: uint256
) -> AccessRefusal:
    """
    @notice Why `consumer` may not access `item_id` under `consent` now.
    @param consent The consent, unpacked.
    @param consent_id Its id.
    @param consumer The account asking.
    @param category_hash keccak256 of the data category asked for.
    @param purpose_hash keccak256 of the DPV purpose IRI asked for.
    @param item_id The Streams item.
    @return 0 when allowed, else the first AccessRefusal reason that applies.
    """
    if consent.state == empty(ConsentState):
        return AccessRefusal.NO_CONSENT
    if not staticcall REGISTRY.is_audited(consumer) or staticcall REGISTRY.organisation_of(consumer) != consent.organisation_id:
        return AccessRefusal.NOT_CONSUMER
    if category_hash != consent.category_hash:
        return AccessRefusal.WRONG_CATEGORY
    if purpose_hash != consent.purpose_hash:
        return AccessRefusal.WRONG_PURPOSE
    if consent.state == ConsentState.REVOKED:
        return AccessRefusal.REVOKED
    if block.timestamp > consent.expiry:
        return AccessRefusal.EXPIRED
    stream_id: uint256 = 0
    publisher: address = empty(address)
    item_hash: bytes32 = empty(bytes32)
    erased: bool = False
    stream_id, publisher, item_hash, erased = staticcall STREAMS.item(item_id)
    if stream_id == 0:
        return AccessRefusal.NO_ITEM
    if erased:
        return AccessRefusal.ITEM_ERASED
    if self.deposits[consumer] < consent.reward:
        return AccessRefusal.DEPOSIT_TOO_LOW
    return empty(AccessRefusal)


@internal
def _pay(consent: ConsentView, consent_id: uint256, consumer: address, purpose_hash: bytes32, item_id: uint256):
    """
    @notice Record an allowed access and owe its reward to the subject.
    @param consent The consent, unpacked.
    @param consent_id Its id.
    @param consumer The consumer paying from its deposit.
    @param purpose_hash keccak256 of the DPV purpose IRI.
    @param item_id The Streams item.
    """
    self.deposits[consumer] -= consent.reward
    self.access_count += 1
    log AccessRecorded(
        consent_id=consent_id,
        consumer=consumer,
        subject=consent.subject,
        item_id=item_id,
        purpose_hash=purpose_hash,
        reward=consent.reward,
    )
    escrow._release(consent.subject, REWARD_TOKEN, consent.reward)
