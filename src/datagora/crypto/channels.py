"""Encryption of a collaboration channel's content to the channel's current members.

Each channel of a DAO (channel k = the data provider and the first k value providers, Mehdi et al. section IV.B)
has a group key per key epoch: 32 random bytes, wrapped for every current member of the channel with ECIES
(:mod:`datagora.crypto.ecies`) in a *key envelope*. The contract's key epoch moves on every membership change (a
join or a termination), so a fresh key is made for the new member set: a departed member holds no wrap of any
later key and cannot read what is written after it left; a member of channel 2 holds no wrap of channel 1's key.

Content is sealed with AES-256-GCM (NIST SP 800-38D) under the group key; the associated data binds the DAO,
channel and epoch, so a ciphertext moved to another channel or epoch fails to open. Only hashes reach the chain
(keccak256 of the canonical envelope JSON, of the sealed content); a non-member sees the metadata (DAO, channel,
epoch, author, size, hashes) and nothing else.

Envelope (canonical JSON: UTF-8, sorted keys, no spaces)::

    {"channel": k, "dao_id": d, "epoch": e, "recipients": {"<EIP-55 address>": "<hex ECIES(key)>", ...}, "v": 1}

Sealed content: ``b"DGC1" || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.crypto.hashing import keccak256
from datagora.crypto.keys import address_of_private_key, checksum_address
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import TamperedError, ValidationError, WrongKeyError

__all__ = ["KEY_SIZE", "MAGIC", "ChannelKeyEnvelope", "new_channel_key", "open_channel_key", "seal", "unseal"]

KEY_SIZE = 32
"""Bytes of a channel's group key (AES-256)."""
MAGIC = b"DGC1"
"""First bytes of sealed channel content."""
NONCE_SIZE = 12
TAG_SIZE = 16


@dataclass(frozen=True)
class ChannelKeyEnvelope:
    """A channel's group key for one epoch, wrapped for each member: ``recipients`` maps an EIP-55 address to
    the ECIES ciphertext (129 bytes) of the 32-byte key under that member's public key."""

    dao_id: int
    channel: int
    epoch: int
    recipients: Mapping[str, bytes]

    def to_bytes(self) -> bytes:
        """The canonical JSON form (what is stored off-chain and hashed)."""
        body = {
            "channel": self.channel,
            "dao_id": self.dao_id,
            "epoch": self.epoch,
            "recipients": {a: w.hex() for a, w in sorted(self.recipients.items())},
            "v": 1,
        }
        return canonical_json(body)

    @property
    def envelope_hash(self) -> bytes:
        """keccak256 of :meth:`to_bytes` (32 bytes), what ``Collaboration.publish_channel_key`` records."""
        return keccak256(self.to_bytes())

    @classmethod
    def from_bytes(cls, raw: bytes) -> ChannelKeyEnvelope:
        """Parse :meth:`to_bytes` output; :class:`ValidationError` when it is not a channel key envelope."""
        try:
            body: Any = json.loads(raw)
            recipients = {checksum_address(a): bytes.fromhex(w) for a, w in body["recipients"].items()}
            return cls(int(body["dao_id"]), int(body["channel"]), int(body["epoch"]), recipients)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationError("not a channel key envelope") from exc

    @property
    def members(self) -> list[str]:
        """The addresses the key is wrapped for, sorted."""
        return sorted(self.recipients)


def new_channel_key(
    dao_id: int, channel: int, epoch: int, members: Mapping[str, bytes]
) -> tuple[bytes, ChannelKeyEnvelope]:
    """A fresh group key for (``dao_id``, ``channel``, ``epoch``) wrapped for each of ``members`` (address →
    secp256k1 public key, 64/65/33 bytes). Returns the 32-byte key and its envelope. :class:`ValidationError` when
    ``members`` is empty or a public key is malformed."""
    if not members:
        raise ValidationError("a channel key needs at least one member")
    key = os.urandom(KEY_SIZE)
    wrapped = {checksum_address(a): encrypt_to(pk, key) for a, pk in members.items()}
    return key, ChannelKeyEnvelope(dao_id, channel, epoch, wrapped)


def open_channel_key(envelope: ChannelKeyEnvelope, private_key: bytes) -> bytes:
    """The group key of ``envelope`` for the holder of ``private_key`` (32 bytes).

    Raises:
        WrongKeyError: the key's account is not a member of the channel at that epoch.
        TamperedError: the wrapped key fails authentication.
    """
    address = address_of_private_key(private_key)
    wrapped = envelope.recipients.get(address)
    if wrapped is None:
        raise WrongKeyError(
            f"{address} is not a member of channel {envelope.channel} of collaboration #{envelope.dao_id} "
            f"at key epoch {envelope.epoch}"
        )
    key = decrypt_with(private_key, wrapped)
    if len(key) != KEY_SIZE:
        raise TamperedError("channel key has the wrong length")
    return key


def _aad(dao_id: int, channel: int, epoch: int) -> bytes:
    return MAGIC + dao_id.to_bytes(32, "big") + channel.to_bytes(32, "big") + epoch.to_bytes(32, "big")


def seal(key: bytes, plaintext: bytes, *, dao_id: int, channel: int, epoch: int) -> bytes:
    """Encrypt ``plaintext`` under a channel's 32-byte group key for (``dao_id``, ``channel``, ``epoch``).
    Returns ``len(plaintext) + 32`` bytes."""
    if len(key) != KEY_SIZE:
        raise ValidationError(f"a channel key is {KEY_SIZE} bytes, not {len(key)}")
    nonce = os.urandom(NONCE_SIZE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, bytes(plaintext), _aad(dao_id, channel, epoch))


def unseal(key: bytes, sealed: bytes, *, dao_id: int, channel: int, epoch: int) -> bytes:
    """Decrypt :func:`seal` output. :class:`TamperedError` when the key is wrong, the ciphertext was changed,
    or it belongs to another DAO, channel or epoch."""
    if len(key) != KEY_SIZE:
        raise ValidationError(f"a channel key is {KEY_SIZE} bytes, not {len(key)}")
    if len(sealed) < len(MAGIC) + NONCE_SIZE + TAG_SIZE or not sealed.startswith(MAGIC):
        raise TamperedError("not sealed channel content")
    nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
    try:
        return AESGCM(key).decrypt(nonce, sealed[len(MAGIC) + NONCE_SIZE :], _aad(dao_id, channel, epoch))
    except InvalidTag:
        raise TamperedError("cannot decrypt channel content: wrong key, wrong channel or epoch, or tampered") from None
