# pragma version ~=0.4.3
"""
@title Datagora Anchors
@notice Batch anchoring of high-volume records (IoT readings, stream
        items, dataset versions, consent accesses): a member of an Audited
        organisation commits many records at once as the root of an
        RFC 6962 / RFC 9162 Merkle tree (SHA-256, leaf hash
        SHA-256(0x00 || record), node hash SHA-256(0x01 || left || right)),
        one transaction per batch. Each record is then verifiable on its
        own with its inclusion proof (audit path), off chain or here with
        `verify`, which other contracts may call.
@dev Holds no value and has no owner. One batch takes two storage slots:
     the root and a packed word (size | anchored_at << 64 |
     organisation_id << 128). The anchoring account and the batch's label
     live in the `Anchored` event only.
"""

from .interfaces import IRegistry


MAX_LABEL: constant(uint256) = 64
MAX_PROOF: public(constant(uint256)) = 64
MAX_SIZE: public(constant(uint256)) = 2**63
LOW64: constant(uint256) = 2**64 - 1

REGISTRY: public(immutable(IRegistry))


event Anchored:
    batch_id: indexed(uint256)
    anchorer: indexed(address)
    organisation_id: indexed(uint256)
    root: bytes32
    size: uint256
    label: String[MAX_LABEL]


batch_count: public(uint256)
_roots: HashMap[uint256, bytes32]
_meta: HashMap[uint256, uint256]


@deploy
def __init__(registry: address):
    """
    @notice Bind the anchors to the Registry whose audited members may
            anchor batches.
    @param registry The Datagora Registry.
    """
    REGISTRY = IRegistry(registry)


@external
def anchor(root: bytes32, size: uint256, label: String[MAX_LABEL]) -> uint256:
    """
    @notice Commit a batch of `size` records as the root of their Merkle
            tree (RFC 6962 / RFC 9162, SHA-256).
    @dev Guards in order: the caller is an approved member of an Audited
         organisation, the root is not zero, the batch is not empty and
         holds fewer than 2**63 records, the label is not empty.
    @param root The tree's root hash.
    @param size The number of records (leaves) in the batch.
    @param label What the batch holds, for people (e.g. "sensor-12 readings").
    @return The batch id, counting from 1.
    """
    organisation_id: uint256 = staticcall REGISTRY.audited_organisation(msg.sender)
    assert organisation_id != 0, "anchors: not audited"
    assert root != empty(bytes32), "anchors: empty root"
    assert size != 0, "anchors: empty batch"
    assert size < MAX_SIZE, "anchors: batch too large"
    assert len(label) != 0, "anchors: empty label"
    batch_id: uint256 = self.batch_count + 1
    self.batch_count = batch_id
    self._roots[batch_id] = root
    self._meta[batch_id] = size | (block.timestamp << 64) | (organisation_id << 128)
    log Anchored(
        batch_id=batch_id, anchorer=msg.sender, organisation_id=organisation_id, root=root, size=size, label=label
    )
    return batch_id


@external
@view
def batch(batch_id: uint256) -> (bytes32, uint256, uint256, uint256):
    """
    @notice A batch as anchored.
    @param batch_id The batch id.
    @return Its root, its size (records), when it was anchored (seconds
            since the epoch) and the anchoring organisation's id; all zero
            for an unknown batch.
    """
    meta: uint256 = self._meta[batch_id]
    return self._roots[batch_id], meta & LOW64, (meta >> 64) & LOW64, meta >> 128


@external
@view
def verify(batch_id: uint256, leaf_hash: bytes32, index: uint256, proof: DynArray[bytes32, MAX_PROOF]) -> bool:
    """
    @notice Whether the record whose leaf hash is `leaf_hash` is the
            `index`-th record (counting from 0) of batch `batch_id`.
    @dev The inclusion proof check of RFC 9162 section 2.1.3.2 against the
         batch's root and size. False for an unknown batch, an index past
         its size and any proof that does not lead to its root.
    @param batch_id The batch id.
    @param leaf_hash SHA-256(0x00 || record).
    @param index The record's position in the batch, from 0.
    @param proof The audit path, from the leaf's sibling up to the root's
           children.
    @return True when the proof leads from the leaf to the batch's root.
    """
    size: uint256 = self._meta[batch_id] & LOW64
    if index >= size:
        return False
    fn: uint256 = index
    sn: uint256 = size - 1
    r: bytes32 = leaf_hash
    for p: bytes32 in proof:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            r = sha256(concat(b"\x01", p, r))
            if fn & 1 == 0:
                for _: uint256 in range(MAX_PROOF):
                    if fn & 1 == 1 or fn == 0:
                        break
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(concat(b"\x01", r, p))
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == self._roots[batch_id]
