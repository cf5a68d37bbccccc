"""crypto/channels.py: a channel's group key wrapped per member with ECIES, content sealed under it with the DAO,
channel and epoch bound in (what a member of another channel, or a departed member, cannot open)."""

from __future__ import annotations

import pytest
from eth_account import Account

from datagora.crypto.channels import ChannelKeyEnvelope, new_channel_key, open_channel_key, seal, unseal
from datagora.crypto.keys import public_key_of
from datagora.domain.errors import TamperedError, ValidationError, WrongKeyError

DSP, VP1, VP2 = (Account.from_key(bytes([i]) * 32) for i in (1, 2, 3))


def keys(*accounts: object) -> dict[str, bytes]:
    return {a.address: public_key_of(bytes(a.key)) for a in accounts}  # type: ignore[attr-defined]


def test_every_member_opens_the_key_and_reads() -> None:
    key, envelope = new_channel_key(1, 2, 5, keys(DSP, VP1, VP2))
    sealed = seal(key, b"summary", dao_id=1, channel=2, epoch=5)
    for member in (DSP, VP1, VP2):
        opened = open_channel_key(ChannelKeyEnvelope.from_bytes(envelope.to_bytes()), bytes(member.key))
        assert unseal(opened, sealed, dao_id=1, channel=2, epoch=5) == b"summary"
    assert envelope.members == sorted([DSP.address, VP1.address, VP2.address])
    assert len(sealed) == len(b"summary") + 32


def test_a_member_of_channel_2_cannot_open_channel_1() -> None:
    key1, envelope1 = new_channel_key(1, 1, 3, keys(DSP, VP1))
    with pytest.raises(WrongKeyError, match="not a member of channel 1"):
        open_channel_key(envelope1, bytes(VP2.key))
    key2, _ = new_channel_key(1, 2, 3, keys(DSP, VP1, VP2))
    sealed = seal(key1, b"channel 1 only", dao_id=1, channel=1, epoch=3)
    with pytest.raises(TamperedError):
        unseal(key2, sealed, dao_id=1, channel=1, epoch=3)


def test_content_is_bound_to_its_channel_and_epoch() -> None:
    key, _ = new_channel_key(1, 1, 3, keys(DSP, VP1))
    sealed = seal(key, b"x", dao_id=1, channel=1, epoch=3)
    for where in ({"dao_id": 2, "channel": 1, "epoch": 3}, {"dao_id": 1, "channel": 2, "epoch": 3},
                  {"dao_id": 1, "channel": 1, "epoch": 4}):  # fmt: skip
        with pytest.raises(TamperedError):
            unseal(key, sealed, **where)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(TamperedError):
        unseal(key, tampered, dao_id=1, channel=1, epoch=3)


def test_a_rotated_key_leaves_the_departed_member_out() -> None:
    _, before = new_channel_key(1, 2, 4, keys(DSP, VP1, VP2))
    key_after, after = new_channel_key(1, 2, 5, keys(DSP, VP2))
    assert open_channel_key(before, bytes(VP1.key))
    with pytest.raises(WrongKeyError):
        open_channel_key(after, bytes(VP1.key))
    assert open_channel_key(after, bytes(VP2.key)) == key_after
    assert before.envelope_hash != after.envelope_hash


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValidationError):
        new_channel_key(1, 1, 1, {})
    with pytest.raises(ValidationError):
        ChannelKeyEnvelope.from_bytes(b"{not json")
    with pytest.raises(ValidationError):
        seal(b"short", b"x", dao_id=1, channel=1, epoch=1)
    with pytest.raises(TamperedError):
        unseal(bytes(32), b"DGC1", dao_id=1, channel=1, epoch=1)
