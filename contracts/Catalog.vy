# pragma version ~=0.4.3
"""
@title Datagora Catalog
@notice One ERC-721 token per dataset (the "data NFT": holding the token is
        owning the data). Publishing implements EntDSM (Wang & Liu)
        Algorithm 3 `updateDatabase`: only members of an Audited
        organisation publish. The 6-tuple description (owner, domain, name,
        attributes, size, content hash) is emitted in full in the
        `DatasetPublished` event with its keccak256, the hash of the W3C
        DCAT JSON-LD description, a commitment to the data fingerprint
        (Wu et al. section III.A steps 4-8) and the platform's novelty
        attestation, an EIP-712 signature recovered on chain against an
        account holding ATTESTER_ROLE. Storage keeps only what the chain
        itself reads back: the content hash (both ways) and the token's
        holder with its block of publication. The attestation covers the
        description hash, so it cannot be reused to publish the same
        content under another name, domain, attribute list or size.
        ERC-165 answers true only for what the contract implements in full:
        ERC-165, ERC-721 and ERC-4494 (`permit`, `nonces`,
        `DOMAIN_SEPARATOR`). It does not claim the enumeration extension
        (the event index answers which datasets an account holds), the
        metadata extension (no `tokenURI`: the DCAT description is kept
        off-chain and found by its hash) nor ERC-4906 (metadata never
        changes).
        The owner retires a dataset by burning its token (`retire`): no
        sale contract can list or sell it any more (their `ownerOf` check
        reverts), its record and `Retired` event stay for the audit trail,
        and its content hash is never published again.
"""

from snekmate.auth import ownable
from snekmate.auth import access_control
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

from .interfaces import ICatalog
from .interfaces import IRegistry
from .modules import nft

implements: ICatalog

initializes: ownable
initializes: access_control
initializes: nft
uses: eip712_domain_separator

exports: (
    ownable.owner,
    nft.balanceOf,
    nft.ownerOf,
    nft.approve,
    nft.getApproved,
    nft.setApprovalForAll,
    nft.isApprovedForAll,
    nft.transferFrom,
    nft.safeTransferFrom,
    nft.name,
    nft.symbol,
    nft.eip712Domain,
    nft.DOMAIN_SEPARATOR,
    nft.permit,
    nft.nonces,
    access_control.hasRole,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.getRoleAdmin,
)


ATTESTER_ROLE: public(constant(bytes32)) = keccak256("ATTESTER_ROLE")

# ERC-165 identifiers answered true by `supportsInterface`: ERC-165, ERC-721,
# ERC-4494 (permit with v, r, s; nonces; DOMAIN_SEPARATOR).
_SUPPORTED_INTERFACES: constant(bytes4[3]) = [0x01FFC9A7, 0x80AC58CD, 0x589C5CE2]

# EIP-712 struct of the platform's novelty attestation.
ATTESTATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "NoveltyAttestation(address publisher,bytes32 contentHash,bytes32 descriptionHash,bytes32 fingerprintCommitment,bytes32 dcatHash,uint256 expiry)"
)

COUNT_SET: constant(uint256) = 1 << 255

MAX_DOMAIN: constant(uint256) = 64
MAX_NAME: constant(uint256) = 128
MAX_ATTRIBUTES: constant(uint256) = 2048

REGISTRY: public(immutable(IRegistry))


event DatasetPublished:
    token_id: indexed(uint256)
    owner: indexed(address)
    content_hash: indexed(bytes32)
    domain: String[MAX_DOMAIN]
    name: String[MAX_NAME]
    attributes: String[MAX_ATTRIBUTES]
    size: uint256
    description_hash: bytes32
    dcat_hash: bytes32
    fingerprint_commitment: bytes32
    attester: address


event Retired:
    token_id: indexed(uint256)
    owner: indexed(address)
    content_hash: bytes32


# What a publish stores (two slots besides the token's owner word and the
# publisher's balance): the content hash per token, for `retire` and for
# sale contracts, and the token per content hash, so content is published
# once. The description, its hash, the DCAT hash and the fingerprint
# commitment are in `DatasetPublished` only (nothing on chain reads them
# back; the attestation checked here covers them), found by the block of
# publication kept in the token's owner word (`dataset_record`).
content_of: public(HashMap[uint256, bytes32])
token_of_content: public(HashMap[bytes32, uint256])
# The number of datasets published | COUNT_SET: never zero, so the first
# publish updates the slot (2,900 gas) instead of filling it (22,100).
_count: uint256


@deploy
def __init__(registry: address):
    """
    @notice The deployer holds DEFAULT_ADMIN_ROLE and grants ATTESTER_ROLE
            to the platform account(s).
    @param registry The Datagora Registry.
    """
    ownable.__init__()
    access_control.__init__()
    nft.__init__("Datagora Dataset", "DATA", "Datagora Catalog", "1")
    REGISTRY = IRegistry(registry)
    self._count = COUNT_SET


@external
def publish(
    domain: String[MAX_DOMAIN],
    name: String[MAX_NAME],
    attributes: String[MAX_ATTRIBUTES],
    size: uint256,
    content_hash: bytes32,
    dcat_hash: bytes32,
    fingerprint_commitment: bytes32,
    expiry: uint256,
    attestation: Bytes[65],
) -> uint256:
    """
    @notice Publish a dataset and mint its data NFT to the caller.
    @param domain Data source domain (EntDSM dataDomain).
    @param name Dataset name (EntDSM dataName).
    @param attributes Attributes, e.g. comma-separated column names (dataAttr).
    @param size Number of data items (dataSize), e.g. rows or bytes.
    @param content_hash SHA-256 of the plaintext (dataHash).
    @param dcat_hash SHA-256 of the canonical DCAT JSON-LD description.
    @param fingerprint_commitment keccak256 commitment to the fingerprint.
    @param expiry Unix time (seconds) after which the attestation is void.
    @param attestation 65-byte EIP-712 NoveltyAttestation signature by an
           ATTESTER_ROLE account over the caller, the content hash, the
           description hash of exactly these domain, name, attributes and
           size, the fingerprint commitment, the DCAT hash and the expiry.
    @return The new token id (starting at 1).
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "catalog: publisher not audited"
    assert content_hash != empty(bytes32), "catalog: empty content hash"
    assert self.token_of_content[content_hash] == 0, "catalog: content already published"
    assert block.timestamp <= expiry, "catalog: attestation expired"
    description_hash: bytes32 = keccak256(abi_encode(msg.sender, domain, name, attributes, size, content_hash))
    digest: bytes32 = self._attestation_digest(
        msg.sender, content_hash, description_hash, fingerprint_commitment, dcat_hash, expiry
    )
    attester: address = ecdsa._recover_sig(digest, attestation)
    assert attester != empty(address) and access_control.hasRole[ATTESTER_ROLE][attester], "catalog: invalid attestation"

    count: uint256 = self._count
    token_id: uint256 = (count ^ COUNT_SET) + 1
    self._count = count + 1
    self.token_of_content[content_hash] = token_id
    self.content_of[token_id] = content_hash
    log DatasetPublished(
        token_id=token_id,
        owner=msg.sender,
        content_hash=content_hash,
        domain=domain,
        name=name,
        attributes=attributes,
        size=size,
        description_hash=description_hash,
        dcat_hash=dcat_hash,
        fingerprint_commitment=fingerprint_commitment,
        attester=attester,
    )
    nft._mint(msg.sender, token_id, convert(block.number, uint96))
    return token_id


@external
def retire(token_id: uint256):
    """
    @notice Retire dataset `token_id`: its data NFT is burned, so it can no
            longer be listed, sold or used, and `Retired` records it. Only
            the token's holder may retire it; a token in a sale contract's
            custody (an open ownership listing or a paid order) comes back
            by cancelling, refunding or settling there first. The owner's
            node destroys its ciphertext and data keys off-chain; copies
            that buyers received stay theirs.
    @dev Reverts "catalog: unknown dataset", "catalog: dataset retired" or
         "catalog: not dataset owner".
    @param token_id The dataset's token id.
    """
    content_hash: bytes32 = self.content_of[token_id]
    assert content_hash != empty(bytes32), "catalog: unknown dataset"
    owner: address = nft._holder(token_id)
    assert owner != empty(address), "catalog: dataset retired"
    assert owner == msg.sender, "catalog: not dataset owner"
    log Retired(token_id=token_id, owner=msg.sender, content_hash=content_hash)
    nft._burn(token_id)


@external
@view
def dataset_count() -> uint256:
    """
    @notice How many datasets were published (the last token id).
    @return The count, retired datasets included.
    """
    return self._count ^ COUNT_SET


@external
@view
def retired(token_id: uint256) -> bool:
    """
    @notice Whether dataset `token_id` was published and then retired.
    @param token_id The dataset's token id.
    @return True once `retire` burned its token; false for a live or
            unknown dataset.
    """
    return self.content_of[token_id] != empty(bytes32) and nft._holder(token_id) == empty(address)


@external
@view
def dataset_record(token_id: uint256) -> (bytes32, address, uint256):
    """
    @notice What the chain keeps of dataset `token_id`: its content hash,
            its holder and the block in which it was published (where its
            `DatasetPublished` event, with the full record, is).
    @param token_id The dataset's token id.
    @return The content hash (zero for an unknown id), the holder
            (empty(address) once retired or for an unknown id) and the
            block number of publication (0 for an unknown id).
    """
    return self.content_of[token_id], nft._holder(token_id), nft._extra(token_id)


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165: whether the contract implements the interface
            `interface_id` in full.
    @param interface_id The 4-byte ERC-165 interface identifier.
    @return True for ERC-165, ERC-721 and ERC-4494.
    """
    return interface_id in _SUPPORTED_INTERFACES


@external
@view
def attestation_digest(
    publisher: address,
    content_hash: bytes32,
    description_hash: bytes32,
    fingerprint_commitment: bytes32,
    dcat_hash: bytes32,
    expiry: uint256,
) -> bytes32:
    """
    @notice The EIP-712 digest an attester signs for these values.
    @param publisher The account that will call `publish`.
    @param content_hash SHA-256 of the plaintext.
    @param description_hash keccak256(abi_encode(publisher, domain, name,
           attributes, size, content_hash)), the value `publish` logs.
    @param fingerprint_commitment keccak256 commitment to the fingerprint.
    @param dcat_hash SHA-256 of the canonical DCAT JSON-LD description.
    @param expiry Unix time (seconds) after which the attestation is void.
    @return The 32-byte digest (EIP-712 `hashTypedData_v4`).
    """
    return self._attestation_digest(publisher, content_hash, description_hash, fingerprint_commitment, dcat_hash, expiry)


@internal
@view
def _attestation_digest(
    publisher: address,
    content_hash: bytes32,
    description_hash: bytes32,
    fingerprint_commitment: bytes32,
    dcat_hash: bytes32,
    expiry: uint256,
) -> bytes32:
    """
    @notice The EIP-712 digest of a NoveltyAttestation for these values.
    @dev See `attestation_digest` for the parameters.
    @return The 32-byte `hashTypedData_v4` digest.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            ATTESTATION_TYPEHASH, publisher, content_hash, description_hash, fingerprint_commitment, dcat_hash, expiry
        )
    )
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)
