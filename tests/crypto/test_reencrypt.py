"""Re-encryption to other recipients through a pipe (datagora.crypto.reencrypt)."""

from __future__ import annotations

import io
import os
import threading

import pytest
from eth_account.signers.local import LocalAccount

from datagora.crypto.envelope import decrypt_bytes, encrypt_bytes, recipients_of
from datagora.crypto.keys import new_account, public_key_of
from datagora.crypto.reencrypt import reencrypt_stream
from datagora.domain.errors import TamperedError, ValidationError, WrongKeyError


def key(account: LocalAccount) -> dict[str, bytes]:
    return {account.address: public_key_of(bytes(account.key))}


@pytest.fixture(scope="module")
def people() -> tuple[LocalAccount, LocalAccount, LocalAccount]:
    return new_account(), new_account(), new_account()


@pytest.mark.parametrize("size", [0, 1, 1 << 16, 3 * (1 << 16) + 7])
def test_the_new_envelope_opens_for_the_new_recipient_only(people: tuple[LocalAccount, ...], size: int) -> None:
    owner, buyer, stranger = people
    plain = os.urandom(size)
    mine = encrypt_bytes(plain, key(owner), chunk_size=1 << 16)
    out = io.BytesIO()
    info = reencrypt_stream(io.BytesIO(mine), out, bytes(owner.key), key(buyer), chunk_size=1 << 16)
    theirs = out.getvalue()
    assert info.plaintext_size == size
    assert decrypt_bytes(theirs, bytes(buyer.key)) == plain
    assert recipients_of(io.BytesIO(theirs)) == [buyer.address]
    assert theirs[-64:] != mine[-64:]  # a fresh data key: nothing of the old ciphertext is reused
    with pytest.raises(WrongKeyError):
        decrypt_bytes(theirs, bytes(owner.key))
    with pytest.raises(WrongKeyError):
        decrypt_bytes(theirs, bytes(stranger.key))


def test_errors_of_the_source_reach_the_caller_and_no_thread_is_left(people: tuple[LocalAccount, ...]) -> None:
    owner, buyer, stranger = people
    mine = encrypt_bytes(os.urandom(200_000), key(owner), chunk_size=1 << 16)
    before = threading.active_count()
    with pytest.raises(WrongKeyError):  # not the owner's key
        reencrypt_stream(io.BytesIO(mine), io.BytesIO(), bytes(stranger.key), key(buyer))
    tampered = bytearray(mine)
    tampered[len(mine) // 2] ^= 1
    with pytest.raises(TamperedError):
        reencrypt_stream(io.BytesIO(bytes(tampered)), io.BytesIO(), bytes(owner.key), key(buyer))
    with pytest.raises(ValidationError):  # the recipient's key does not belong to the address
        reencrypt_stream(
            io.BytesIO(mine), io.BytesIO(), bytes(owner.key), {buyer.address: key(stranger)[stranger.address]}
        )
    assert threading.active_count() == before
