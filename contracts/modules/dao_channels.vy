# pragma version ~=0.4.3
"""
@title DAO nested channels
@notice The nested channels of a DAO: the k-th value provider to join
        opens channel k = {DSP, VP1, ..., VPk}; a member seated k belongs
        to channels k..n, never to earlier ones (the DSP to all). Content
        is encrypted off-chain under a group key per channel and key
        epoch; the epoch moves on every membership change, a member
        publishes the hash of the new key envelope, posts carry content
        hashes.
@dev Collaboration.vy initializes this module and exports
     `publish_channel_key`, `post` and `channel_key`.
"""

from . import dao_membership

uses: dao_membership


MAX_LOCATION: constant(uint256) = 256


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


# The hash of each channel's key envelope, per DAO, channel and key epoch.
channel_key: public(HashMap[uint256, HashMap[uint256, HashMap[uint256, bytes32]]])


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
    post_id: uint256 = dao_membership.daos[dao_id].post_count + 1
    dao_membership.daos[dao_id].post_count = post_id
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


@internal
@view
def _in_channel(dao_id: uint256, channel: uint256, account: address) -> bool:
    """
    @notice Channel k (1 <= k < seats) holds the active members seated 0..k.
    @param dao_id The DAO.
    @param channel The channel number.
    @param account The account.
    @return True when it belongs to the channel.
    """
    m: dao_membership.Member = dao_membership.members[dao_id][account]
    return m.active and channel >= 1 and channel < dao_membership.daos[dao_id].seats and m.seat <= channel


@internal
@view
def _check_channel(dao_id: uint256, channel: uint256) -> uint256:
    """
    @notice The DAO is active and the caller belongs to `channel`.
    @dev Reverts "collaboration: dao not active" or
         "collaboration: not in channel".
    @param dao_id The DAO.
    @param channel The channel number.
    @return The DAO's current key epoch.
    """
    dao: dao_membership.Dao = dao_membership._active_dao(dao_id)
    assert self._in_channel(dao_id, channel, msg.sender), "collaboration: not in channel"
    return dao.key_epoch
