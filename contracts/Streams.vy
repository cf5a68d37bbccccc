# pragma version ~=0.4.3
"""
@title Datagora Streams
@notice MultiChain-style streams for customer data (Shrestha, Joshi,
        Vassileva, "Customer Data Sharing Platform: A Blockchain-Based
        Shopping Cart": the shopping-cart node stores each customer's data
        encrypted off-chain and commits its hash to a stream; consumer
        nodes subscribe to the stream and find items by key). A stream has
        an owner (its creator, an audited organisation member) and
        writers the owner grants and revokes. An item is (stream, key,
        publisher, hash of the encrypted item, location of the ciphertext).
        Only the hash and a pseudonymous key reach the chain; the key and
        the location URI are carried in the `ItemPublished` event and not
        stored. Erasure (crypto-shredding: the publisher destroys the data
        key off-chain) is marked here so every consumer sees the item is
        gone and `Consent` refuses access to it.
@dev Holds no value. Subscribers follow items by stream and key from the
     events (key_hash is indexed); nothing loops over items on chain.
"""

from .interfaces import IRegistry


MAX_NAME: constant(uint256) = 64
MAX_KEY: constant(uint256) = 128
MAX_LOCATION: constant(uint256) = 256

REGISTRY: public(immutable(IRegistry))


event StreamCreated:
    stream_id: indexed(uint256)
    owner: indexed(address)
    name: String[MAX_NAME]

event WriterGranted:
    stream_id: indexed(uint256)
    writer: indexed(address)

event WriterRevoked:
    stream_id: indexed(uint256)
    writer: indexed(address)

event ItemPublished:
    item_id: indexed(uint256)
    stream_id: indexed(uint256)
    key_hash: indexed(bytes32)
    publisher: address
    key: String[MAX_KEY]
    item_hash: bytes32
    location: String[MAX_LOCATION]

event ItemErased:
    item_id: indexed(uint256)
    stream_id: indexed(uint256)
    erased_by: indexed(address)


# Stored form of an item (2 slots): `head` = publisher | stream_id << 160 |
# erased << 255; `item_hash` the hash of the encrypted item.
struct StoredItem:
    head: uint256
    item_hash: bytes32


stream_owner: public(HashMap[uint256, address])
stream_of_name: public(HashMap[String[MAX_NAME], uint256])
is_writer: public(HashMap[uint256, HashMap[address, bool]])
stream_count: public(uint256)
item_count: public(uint256)
_items: HashMap[uint256, StoredItem]


@deploy
def __init__(registry: address):
    """
    @notice Bind the streams to the Registry whose audited members may
            create streams.
    @param registry The Datagora Registry.
    """
    REGISTRY = IRegistry(registry)


@external
def create_stream(name: String[MAX_NAME]) -> uint256:
    """
    @notice Create a stream; the caller (a member of an audited
            organisation) owns it and may write to it.
    @param name A unique, non-empty name, e.g. "acme-shop/customers".
    @return The stream id (starting at 1).
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "streams: creator not audited"
    assert len(name) > 0, "streams: empty name"
    assert self.stream_of_name[name] == 0, "streams: name taken"
    stream_id: uint256 = self.stream_count + 1
    self.stream_count = stream_id
    self.stream_owner[stream_id] = msg.sender
    self.stream_of_name[name] = stream_id
    log StreamCreated(stream_id=stream_id, owner=msg.sender, name=name)
    return stream_id


@external
def grant_write(stream_id: uint256, writer: address):
    """
    @notice The stream's owner lets `writer` publish items to it.
    @param stream_id The stream, owned by the caller.
    @param writer The account that may publish.
    """
    self._check_owner(stream_id)
    assert writer != empty(address), "streams: empty writer"
    assert not self._may_write(stream_id, writer), "streams: already a writer"
    self.is_writer[stream_id][writer] = True
    log WriterGranted(stream_id=stream_id, writer=writer)


@external
def revoke_write(stream_id: uint256, writer: address):
    """
    @notice The stream's owner withdraws `writer`'s permission to publish;
            items it published stay.
    @param stream_id The stream, owned by the caller.
    @param writer An account granted write permission.
    """
    self._check_owner(stream_id)
    assert self.is_writer[stream_id][writer], "streams: not a writer"
    self.is_writer[stream_id][writer] = False
    log WriterRevoked(stream_id=stream_id, writer=writer)


@external
def publish(stream_id: uint256, key: String[MAX_KEY], item_hash: bytes32, location: String[MAX_LOCATION]) -> uint256:
    """
    @notice Publish an item: the hash of an encrypted item kept off-chain
            at `location`, under `key` (MultiChain's stream key, e.g. a
            pseudonymous customer id and a data category; never personal
            data in clear).
    @param stream_id The stream; the caller is its owner or a writer.
    @param key Non-empty key subscribers look items up by.
    @param item_hash SHA-256 (or keccak256) of the encrypted item, non-zero.
    @param location Where the ciphertext lives (a URI), carried in the event.
    @return The item id (starting at 1).
    """
    assert self.stream_owner[stream_id] != empty(address), "streams: no such stream"
    assert self._may_write(stream_id, msg.sender), "streams: not a writer"
    assert len(key) > 0, "streams: empty key"
    assert item_hash != empty(bytes32), "streams: empty item hash"
    item_id: uint256 = self.item_count + 1
    self.item_count = item_id
    self._items[item_id] = StoredItem(
        head=convert(convert(msg.sender, uint160), uint256) | (stream_id << 160), item_hash=item_hash
    )
    log ItemPublished(
        item_id=item_id,
        stream_id=stream_id,
        key_hash=keccak256(key),
        publisher=msg.sender,
        key=key,
        item_hash=item_hash,
        location=location,
    )
    return item_id


@external
def erase(item_id: uint256):
    """
    @notice Mark an item erased after its data key was destroyed off-chain
            (crypto-shredding): consumers see it is gone and `Consent`
            refuses access to it. Its hash stays (it reveals nothing).
    @param item_id The item; the caller is its publisher or the stream's
           owner.
    """
    head: uint256 = self._items[item_id].head
    assert head != 0, "streams: no such item"
    stream_id: uint256 = (head >> 160) & (2**64 - 1)
    publisher: address = convert(convert(head & (2**160 - 1), uint160), address)
    assert msg.sender == publisher or msg.sender == self.stream_owner[stream_id], "streams: not publisher or owner"
    assert head >> 255 == 0, "streams: item already erased"
    self._items[item_id].head = head | (1 << 255)
    log ItemErased(item_id=item_id, stream_id=stream_id, erased_by=msg.sender)


@external
@view
def item(item_id: uint256) -> (uint256, address, bytes32, bool):
    """
    @notice An item as stored.
    @param item_id The item id.
    @return Its stream id (0 = no such item), publisher, item hash and
            whether it was erased.
    """
    head: uint256 = self._items[item_id].head
    return (
        (head >> 160) & (2**64 - 1),
        convert(convert(head & (2**160 - 1), uint160), address),
        self._items[item_id].item_hash,
        head >> 255 == 1,
    )


@external
@view
def may_write(stream_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` may publish to the stream (owner or writer).
    @param stream_id The stream id.
    @param account The account.
    @return True when it may publish.
    """
    return self._may_write(stream_id, account)


@internal
@view
def _may_write(stream_id: uint256, account: address) -> bool:
    """
    @notice The stream's owner and its granted writers may publish.
    @param stream_id The stream id.
    @param account The account.
    @return True when it may publish.
    """
    return account == self.stream_owner[stream_id] or self.is_writer[stream_id][account]


@internal
@view
def _check_owner(stream_id: uint256):
    """
    @notice The stream exists and the caller owns it.
    @dev Reverts "streams: no such stream" / "streams: not stream owner".
    @param stream_id The stream id.
    """
    owner: address = self.stream_owner[stream_id]
    assert owner != empty(address), "streams: no such stream"
    assert owner == msg.sender, "streams: not stream owner"
