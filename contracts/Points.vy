# pragma version ~=0.4.3
"""
@title Datagora Points
@notice Loyalty points shared by a brand and an e-commerce platform, and
        the brand's membership tiers, after Hu, Xin, Deng and Qian (points
        on a blockchain, membership computed by secure multi-party
        computation; case study steps 1, 9 and 10). Registering a brand
        creates the brand's own ERC-20 token (`BrandPoints`, from a
        blueprint, with the brand's name and symbol), so any wallet lists
        its points; this contract is that token's only minter. A brand's
        issuers (its shops, the platform) mint points on purchases through
        `issue`; a holder, or a checkout the holder gave an ERC-20
        allowance, spends (burns) them through `spend`.
        A member's tier is set only with an EIP-712 TierAttestation signed
        by every computing party of the brand (brand, platform, MPC
        platform), in the order of the brand's party set; the result is
        posted as an event.
@dev Tokens are snekmate `erc20` made with `create_from_blueprint`
     (EIP-5202 blueprint given at deployment); EIP-712 domain "Datagora
     Points" version "1". The owner (the deployer, the platform) registers
     brands and their party sets; each brand's admin names its issuers.
     Holds no ether.
"""


from snekmate.auth import ownable
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

initializes: ownable
initializes: eip712_domain_separator

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    eip712_domain_separator.eip712Domain,
)


interface IBrandPoints:
    def mint(owner: address, amount: uint256): nonpayable
    def burn_at_checkout(holder: address, spender: address, amount: uint256): nonpayable
    def balanceOf(owner: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view


MAX_PARTIES: public(constant(uint256)) = 5
MIN_PARTIES: public(constant(uint256)) = 2
MAX_TIER: public(constant(uint8)) = 3

# EIP-712 struct every computing party signs over the computation's result.
TIER_ATTESTATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "TierAttestation(uint256 brand,address member,uint8 tier,uint256 score,uint256 nonce)"
)


event BrandRegistered:
    brand: indexed(uint256)
    admin: indexed(address)
    token: indexed(address)
    name: String[25]
    symbol: String[5]
    parties: DynArray[address, MAX_PARTIES]


event IssuerSet:
    brand: indexed(uint256)
    issuer: indexed(address)
    allowed: bool


event PointsIssued:
    brand: indexed(uint256)
    member: indexed(address)
    issuer: indexed(address)
    amount: uint256
    purchase_ref: bytes32


event PointsSpent:
    brand: indexed(uint256)
    holder: indexed(address)
    spender: indexed(address)
    amount: uint256
    order_ref: bytes32


event PointValueSet:
    brand: indexed(uint256)
    admin: indexed(address)
    wei_per_point: uint256


event TierUpdated:
    brand: indexed(uint256)
    member: indexed(address)
    submitter: indexed(address)
    tier: uint8
    score: uint256
    nonce: uint256


BRAND_POINTS_BLUEPRINT: public(immutable(address))

brand_count: public(uint256)
token_of: public(HashMap[uint256, address])
brand_admin: public(HashMap[uint256, address])
is_issuer: public(HashMap[uint256, HashMap[address, bool]])
tier_of: public(HashMap[uint256, HashMap[address, uint8]])
score_of: public(HashMap[uint256, HashMap[address, uint256]])
tier_nonce: public(HashMap[uint256, HashMap[address, uint256]])
_parties: HashMap[uint256, DynArray[address, MAX_PARTIES]]
point_value: public(HashMap[uint256, uint256])
spent_on: public(HashMap[uint256, HashMap[bytes32, uint256]])


@deploy
def __init__(brand_points_blueprint: address):
    """
    @notice The deployer (the platform) becomes owner: it registers brands.
    @param brand_points_blueprint The EIP-5202 blueprint of `BrandPoints`,
           from which each brand's ERC-20 is created.
    """
    assert brand_points_blueprint.is_contract, "points: blueprint is not a contract"
    ownable.__init__()
    eip712_domain_separator.__init__("Datagora Points", "1")
    BRAND_POINTS_BLUEPRINT = brand_points_blueprint


@external
def register_brand(
    name: String[25], symbol: String[5], admin: address, parties: DynArray[address, MAX_PARTIES]
) -> uint256:
    """
    @notice Register a brand: create its points' ERC-20 token (`name`,
            `symbol`, 0 decimals, minted only by this contract); `admin`
            names its issuers, and `parties` are the computing parties whose
            signatures together set a member's tier.
    @dev Owner only. Guards: a name and a symbol, admin not zero, 2 to 5
         parties, each party non-zero and named once.
    @param name The token's name, e.g. "Cufflinks & Co Points".
    @param symbol The token's symbol, e.g. "CUFF".
    @param admin The brand's administrator account.
    @param parties The computing parties, in signature order (brand,
           platform, MPC platform).
    @return The new brand id (1, 2, ...).
    """
    ownable._check_owner()
    assert len(name) != 0, "points: empty name"
    assert len(symbol) != 0, "points: empty symbol"
    assert admin != empty(address), "points: zero admin"
    assert len(parties) >= MIN_PARTIES, "points: too few parties"
    for i: uint256 in range(MAX_PARTIES):
        if i >= len(parties):
            break
        assert parties[i] != empty(address), "points: zero party"
        for j: uint256 in range(MAX_PARTIES):
            if j >= i:
                break
            assert parties[j] != parties[i], "points: duplicate party"
    brand: uint256 = self.brand_count + 1
    self.brand_count = brand
    self.brand_admin[brand] = admin
    self._parties[brand] = parties
    token: address = create_from_blueprint(BRAND_POINTS_BLUEPRINT, name, symbol)
    self.token_of[brand] = token
    log BrandRegistered(brand=brand, admin=admin, token=token, name=name, symbol=symbol, parties=parties)
    return brand


@external
def set_issuer(brand: uint256, issuer: address, allowed: bool):
    """
    @notice Allow or stop `issuer` minting the brand's points.
    @dev Brand admin only.
    @param brand The brand id.
    @param issuer A shop's or the platform's account.
    @param allowed True to allow, False to stop.
    """
    assert msg.sender == self.brand_admin[brand] and msg.sender != empty(address), "points: not the brand admin"
    assert issuer != empty(address), "points: zero issuer"
    self.is_issuer[brand][issuer] = allowed
    log IssuerSet(brand=brand, issuer=issuer, allowed=allowed)


@external
def set_point_value(brand: uint256, wei_per_point: uint256):
    """
    @notice Set what one point of the brand takes off a checkout, in wei
            (the brand's discount rate; 0 stops discounts).
    @dev Brand admin only. Shops read it with `point_value` and the points
         spent on an order with `spent_on`.
    @param brand The brand id.
    @param wei_per_point Wei of discount per point spent.
    """
    assert msg.sender == self.brand_admin[brand] and msg.sender != empty(address), "points: not the brand admin"
    self.point_value[brand] = wei_per_point
    log PointValueSet(brand=brand, admin=msg.sender, wei_per_point=wei_per_point)


@external
def issue(brand: uint256, member: address, amount: uint256, purchase_ref: bytes32):
    """
    @notice Mint `amount` of the brand's points to `member` for a purchase
            (case study step 1).
    @dev Issuers only; mints on the brand's ERC-20 (`Transfer` from the
         zero address).
    @param brand The brand id.
    @param member The member's account.
    @param amount Points to mint (> 0).
    @param purchase_ref The purchase's reference (e.g. a hash of the order).
    """
    assert self.is_issuer[brand][msg.sender], "points: not an issuer"
    assert amount != 0, "points: zero amount"
    assert member != empty(address), "points: zero member"
    log PointsIssued(brand=brand, member=member, issuer=msg.sender, amount=amount, purchase_ref=purchase_ref)
    extcall IBrandPoints(self.token_of[brand]).mint(member, amount)


@external
def spend(brand: uint256, holder: address, amount: uint256, order_ref: bytes32):
    """
    @notice Spend (burn) `amount` of `holder`'s points of `brand` at a
            checkout.
    @dev Callable by the holder, or by a spender (a shop's checkout) with
         an ERC-20 allowance of at least `amount` on the brand's token,
         which the spend uses up. Burns on the brand's ERC-20.
    @param brand The brand id.
    @param holder The member whose points are spent.
    @param amount Points to spend (> 0).
    @param order_ref The order's reference (a shop's cart reference):
           `spent_on[brand][order_ref]` adds up the points spent on it.
    """
    token: IBrandPoints = IBrandPoints(self.token_of[brand])
    assert token.address != empty(address), "points: unknown brand"
    assert msg.sender == holder or staticcall token.allowance(holder, msg.sender) >= amount, "points: not the holder"
    assert amount != 0, "points: zero amount"
    assert staticcall token.balanceOf(holder) >= amount, "points: insufficient points"
    extcall token.burn_at_checkout(holder, msg.sender, amount)
    self.spent_on[brand][order_ref] += amount
    log PointsSpent(brand=brand, holder=holder, spender=msg.sender, amount=amount, order_ref=order_ref)


@external
def set_tier(
    brand: uint256,
    member: address,
    tier: uint8,
    score: uint256,
    nonce: uint256,
    signatures: DynArray[Bytes[65], MAX_PARTIES],
):
    """
    @notice Set `member`'s tier from a secure computation's result, attested
            by every computing party of the brand (case study steps 9-10).
    @dev Anyone may submit; each signature must recover to the party at the
         same position. `nonce` must be the member's current `tier_nonce`,
         so an attestation is used once and an older one cannot replace a
         newer one.
    @param brand The brand id.
    @param member The member's account.
    @param tier The tier, 0 (none) to 3.
    @param score The computation's score F(A, B).
    @param nonce The member's current `tier_nonce`.
    @param signatures One 65-byte EIP-712 TierAttestation signature per
           party, in the party set's order.
    """
    parties: DynArray[address, MAX_PARTIES] = self._parties[brand]
    assert len(parties) != 0, "points: unknown brand"
    assert tier <= MAX_TIER, "points: bad tier"
    assert nonce == self.tier_nonce[brand][member], "points: stale attestation"
    assert len(signatures) == len(parties), "points: missing signature"
    digest: bytes32 = self._attestation_digest(brand, member, tier, score, nonce)
    for i: uint256 in range(MAX_PARTIES):
        if i >= len(parties):
            break
        assert ecdsa._recover_sig(digest, signatures[i]) == parties[i], "points: invalid signature"
    self.tier_of[brand][member] = tier
    self.score_of[brand][member] = score
    self.tier_nonce[brand][member] = nonce + 1
    log TierUpdated(brand=brand, member=member, submitter=msg.sender, tier=tier, score=score, nonce=nonce)


@external
@view
def points_of(brand: uint256, member: address) -> uint256:
    """
    @notice `member`'s points of `brand` (its ERC-20 balance).
    @param brand The brand id.
    @param member The member's account.
    @return The points (0 for an unknown brand).
    """
    token: address = self.token_of[brand]
    if token == empty(address):
        return 0
    return staticcall IBrandPoints(token).balanceOf(member)


@external
@view
def parties_of(brand: uint256) -> DynArray[address, MAX_PARTIES]:
    """
    @notice The computing parties of `brand`, in signature order.
    @param brand The brand id.
    @return The parties (empty for an unknown brand).
    """
    return self._parties[brand]


@external
@view
def attestation_digest(brand: uint256, member: address, tier: uint8, score: uint256, nonce: uint256) -> bytes32:
    """
    @notice The EIP-712 digest each computing party signs for this result.
    @param brand The brand id.
    @param member The member's account.
    @param tier The tier, 0 to 3.
    @param score The score F(A, B).
    @param nonce The member's `tier_nonce` the attestation is for.
    @return The 32-byte `hashTypedData_v4` digest.
    """
    return self._attestation_digest(brand, member, tier, score, nonce)


@internal
@view
def _attestation_digest(brand: uint256, member: address, tier: uint8, score: uint256, nonce: uint256) -> bytes32:
    """
    @notice The EIP-712 digest of a TierAttestation.
    @dev See `attestation_digest` for the parameters.
    @return The 32-byte digest.
    """
    struct_hash: bytes32 = keccak256(abi_encode(TIER_ATTESTATION_TYPEHASH, brand, member, tier, score, nonce))
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)
