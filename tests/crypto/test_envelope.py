"""Streaming hybrid encryption, DGE1 format (datagora.crypto.envelope)."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagora.crypto import envelope as envelope_module
from datagora.crypto.envelope import (
    MAGIC,
    MAX_CHUNK_SIZE,
    EnvelopeInfo,
    decrypt_bytes,
    decrypt_file,
    decrypt_stream,
    encrypt_bytes,
    encrypt_file,
    encrypt_stream,
    recipients_of,
)
from datagora.crypto.keys import new_account, public_key_of
from datagora.domain.errors import CryptoError, NotFoundError, TamperedError, ValidationError, WrongKeyError

TAG = 16


@pytest.fixture(scope="module")
def alice() -> LocalAccount:
    return new_account()


@pytest.fixture(scope="module")
def bob() -> LocalAccount:
    return new_account()


@pytest.fixture(scope="module")
def mallory() -> LocalAccount:
    return new_account()


def recipients(*accounts: LocalAccount) -> dict[str, bytes]:
    return {a.address: public_key_of(a.key) for a in accounts}


def header_size(envelope: bytes) -> int:
    """Bytes of magic, header length and header."""
    assert envelope[:4] == MAGIC
    return 8 + int.from_bytes(envelope[4:8], "big")


def chunk_spans(envelope: bytes, chunk_size: int) -> list[tuple[int, int]]:
    """(start, end) of each sealed chunk."""
    start, spans = header_size(envelope), []
    while start < len(envelope):
        end = min(start + chunk_size + TAG, len(envelope))
        spans.append((start, end))
        start = end
    return spans


def flipped(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


# --- round trips -----------------------------------------------------------------------------------------------


def test_multi_chunk_file_round_trip(tmp_path: Path, alice: LocalAccount, bob: LocalAccount) -> None:
    plaintext = os.urandom(3 * (1 << 20) + 12345)  # 3 MiB and a bit: four 1-MiB chunks
    src, enc, dec = tmp_path / "data.csv", tmp_path / "data.dge", tmp_path / "out.csv"
    src.write_bytes(plaintext)

    written = encrypt_file(src, enc, recipients(alice, bob))
    envelope = enc.read_bytes()
    assert written.plaintext_size == len(plaintext)
    assert written.plaintext_sha256 == hashlib.sha256(plaintext).digest()
    assert written.ciphertext_size == len(envelope) == header_size(envelope) + len(plaintext) + 4 * TAG
    assert len(chunk_spans(envelope, 1 << 20)) == 4

    read = decrypt_file(enc, dec, bob.key)
    assert dec.read_bytes() == plaintext
    assert read == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "data.dge", "out.csv"]


def test_every_recipient_can_decrypt(alice: LocalAccount, bob: LocalAccount) -> None:
    envelope = encrypt_bytes(b"shared", recipients(alice, bob), chunk_size=4)
    assert decrypt_bytes(envelope, alice.key) == b"shared"
    assert decrypt_bytes(envelope, bob.key) == b"shared"


def test_empty_plaintext_is_one_empty_chunk(alice: LocalAccount) -> None:
    out = io.BytesIO()
    info = encrypt_stream(io.BytesIO(b""), out, recipients(alice))
    envelope = out.getvalue()
    assert len(envelope) == header_size(envelope) + TAG == info.ciphertext_size
    assert info.plaintext_sha256 == hashlib.sha256(b"").digest()
    sink = io.BytesIO()
    assert decrypt_stream(io.BytesIO(envelope), sink, alice.key).plaintext_size == 0
    assert sink.getvalue() == b""


def test_empty_file_round_trip(tmp_path: Path, alice: LocalAccount) -> None:
    (tmp_path / "empty").write_bytes(b"")
    encrypt_file(tmp_path / "empty", tmp_path / "empty.dge", recipients(alice))
    decrypt_file(tmp_path / "empty.dge", tmp_path / "out", alice.key)
    assert (tmp_path / "out").read_bytes() == b""


def test_exact_multiple_of_chunk_size_has_no_trailing_empty_chunk(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(b"x" * 40, recipients(alice), chunk_size=10)
    assert len(envelope) == header_size(envelope) + 40 + 4 * TAG
    assert decrypt_bytes(envelope, alice.key) == b"x" * 40


def test_recipients_are_checksummed_sorted_and_readable_without_a_key(
    alice: LocalAccount, bob: LocalAccount, mallory: LocalAccount
) -> None:
    given_keys = {a.address.lower(): public_key_of(a.key) for a in (alice, bob, mallory)}
    envelope = encrypt_bytes(b"data", given_keys)
    expected = sorted([alice.address, bob.address, mallory.address], key=str.lower)
    assert recipients_of(io.BytesIO(envelope)) == expected
    assert decrypt_bytes(envelope, mallory.key) == b"data"


def test_recipients_of_reads_only_the_header(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(b"y" * 1000, recipients(alice), chunk_size=100)
    stream = io.BytesIO(envelope)
    assert recipients_of(stream) == [alice.address]
    assert stream.tell() == header_size(envelope)


def test_header_is_canonical_json_with_expected_fields(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(b"z", recipients(alice), chunk_size=7)
    header = json.loads(envelope[8 : header_size(envelope)])
    assert header["v"] == 1 and header["alg"] == "AES-256-GCM" and header["chunk_size"] == 7
    assert len(bytes.fromhex(header["nonce_prefix"])) == 4
    assert [r["address"] for r in header["recipients"]] == [alice.address]
    assert len(bytes.fromhex(header["recipients"][0]["wrapped_key"])) == 32 + 97


def test_each_envelope_has_a_fresh_data_key(alice: LocalAccount) -> None:
    one = encrypt_bytes(b"same plaintext" * 10, recipients(alice), chunk_size=16)
    two = encrypt_bytes(b"same plaintext" * 10, recipients(alice), chunk_size=16)
    assert one[header_size(one) :] != two[header_size(two) :]


def test_chunks_use_distinct_nonces(alice: LocalAccount) -> None:
    """Equal plaintext chunks must encrypt differently (a repeated GCM nonce would repeat the key stream)."""
    envelope = encrypt_bytes(bytes(300), recipients(alice), chunk_size=100)
    bodies = [envelope[start : end - TAG] for start, end in chunk_spans(envelope, 100)]
    assert len(set(bodies)) == 3


class TrickleStream(io.RawIOBase):
    """Returns at most ``step`` bytes per read, like a pipe or socket, and records (position, size) asked for."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step
        self.requests: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.requests.append((self._pos, size))
        n = self._step if size < 0 else min(size, self._step)
        piece = self._data[self._pos : self._pos + n]
        self._pos += len(piece)
        return piece


def test_short_reads_are_retried_and_reads_are_bounded(alice: LocalAccount) -> None:
    plaintext = os.urandom(1000)
    src = TrickleStream(plaintext, step=7)
    out = io.BytesIO()
    encrypt_stream(src, out, recipients(alice), chunk_size=64)  # type: ignore[arg-type]
    assert max(size for _, size in src.requests) <= 64
    envelope = out.getvalue()
    envelope_src = TrickleStream(envelope, step=5)
    sink = io.BytesIO()
    decrypt_stream(envelope_src, sink, alice.key)  # type: ignore[arg-type]
    assert sink.getvalue() == plaintext
    assert max(size for pos, size in envelope_src.requests if pos >= header_size(envelope)) <= 64 + TAG


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.binary(max_size=3000), chunk_size=st.integers(min_value=1, max_value=700))
def test_round_trip_property(alice: LocalAccount, plaintext: bytes, chunk_size: int) -> None:
    envelope = encrypt_bytes(plaintext, recipients(alice), chunk_size=chunk_size)
    chunks = max(1, math.ceil(len(plaintext) / chunk_size))
    assert len(envelope) == header_size(envelope) + len(plaintext) + chunks * TAG
    out = io.BytesIO()
    info = decrypt_stream(io.BytesIO(envelope), out, alice.key)
    assert out.getvalue() == plaintext
    assert info == EnvelopeInfo(len(plaintext), len(envelope), hashlib.sha256(plaintext).digest(), [alice.address])


# --- who may decrypt -------------------------------------------------------------------------------------------


def test_not_a_recipient(alice: LocalAccount, bob: LocalAccount, mallory: LocalAccount) -> None:
    envelope = encrypt_bytes(b"secret", recipients(alice, bob))
    with pytest.raises(WrongKeyError, match="not a recipient") as caught:
        decrypt_bytes(envelope, mallory.key)
    assert mallory.address in str(caught.value)


def test_malformed_private_key_is_validation_error(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(b"secret", recipients(alice))
    with pytest.raises(ValidationError):
        decrypt_bytes(envelope, b"\x00" * 32)


# --- bad input to encryption -----------------------------------------------------------------------------------


def test_encryption_input_checks(alice: LocalAccount, bob: LocalAccount) -> None:
    pk_a, pk_b = public_key_of(alice.key), public_key_of(bob.key)
    wrong_checksum = alice.address[:2] + alice.address[2:].swapcase()
    cases: list[tuple[dict[str, bytes], str]] = [
        ({}, "at least one recipient"),
        ({alice.address: pk_b}, "belongs to"),
        ({"0x1234": pk_a}, "not an Ethereum address"),
        ({wrong_checksum: pk_a}, "checksum"),
        ({alice.address: pk_a, alice.address.lower(): pk_a}, "listed twice"),
        ({alice.address: b"\x04" * 64}, "not a point"),
    ]
    for given_recipients, message in cases:
        with pytest.raises(ValidationError, match=message):
            encrypt_bytes(b"data", given_recipients)


@pytest.mark.parametrize("chunk_size", [0, -1, MAX_CHUNK_SIZE + 1, True])
def test_bad_chunk_size_is_rejected(alice: LocalAccount, chunk_size: int) -> None:
    with pytest.raises(ValidationError, match="chunk size"):
        encrypt_bytes(b"data", recipients(alice), chunk_size=chunk_size)


def test_header_size_limit(monkeypatch: pytest.MonkeyPatch, alice: LocalAccount, bob: LocalAccount) -> None:
    one = encrypt_bytes(b"data", recipients(alice))
    monkeypatch.setattr(envelope_module, "MAX_HEADER_SIZE", header_size(one) - 8)
    encrypt_bytes(b"data", recipients(alice))
    with pytest.raises(ValidationError, match="too many recipients"):
        encrypt_bytes(b"data", recipients(alice, bob))


# --- not an envelope -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"DG", b"hello world, plain text", b"\x00" * 100, b"DGE2" + b"\x00" * 100])
def test_not_an_envelope_is_validation_error(alice: LocalAccount, data: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        decrypt_bytes(data, alice.key)
    assert not isinstance(caught.value, CryptoError)
    with pytest.raises(ValidationError):
        recipients_of(io.BytesIO(data))


# --- tampering -------------------------------------------------------------------------------------------------


def test_every_header_byte_flip_is_detected(alice: LocalAccount, bob: LocalAccount) -> None:
    """Each bit flip after the magic fails; only flips inside the decryptor's own address can read as 'not a
    recipient' (its checksum changes or it names another account)."""
    envelope = encrypt_bytes(b"payload" * 5, recipients(alice, bob), chunk_size=8)
    own = envelope.find(bob.address.encode())
    assert own > 0
    for offset in range(4, header_size(envelope)):
        with pytest.raises(CryptoError) as caught:
            decrypt_bytes(flipped(envelope, offset), bob.key)
        if not own <= offset < own + len(bob.address):
            assert isinstance(caught.value, TamperedError), offset


@pytest.mark.parametrize("field", ["wrapped_key", "nonce_prefix", "other_wrapped_key", "chunk_size"])
def test_consistent_header_edits_are_detected(alice: LocalAccount, bob: LocalAccount, field: str) -> None:
    """Edits that keep the header well-formed JSON of the right length still fail authentication."""
    envelope = encrypt_bytes(os.urandom(100), recipients(alice, bob), chunk_size=32)
    raw = envelope[8 : header_size(envelope)]
    header = json.loads(raw)
    mine = next(r for r in header["recipients"] if r["address"] == bob.address)
    other = next(r for r in header["recipients"] if r["address"] == alice.address)

    def swap_digit(value: str) -> str:
        return value[:-1] + ("1" if value[-1] != "1" else "2")

    if field == "wrapped_key":
        mine["wrapped_key"] = swap_digit(mine["wrapped_key"])
    elif field == "other_wrapped_key":
        other["wrapped_key"] = swap_digit(other["wrapped_key"])
    elif field == "nonce_prefix":
        header["nonce_prefix"] = swap_digit(header["nonce_prefix"])
    else:
        header["chunk_size"] = 33
    new_raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    assert len(new_raw) == len(raw) and new_raw != raw
    with pytest.raises(TamperedError):
        decrypt_bytes(envelope[:8] + new_raw + envelope[8 + len(raw) :], bob.key)


def test_non_canonical_header_is_tampered(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(b"data", recipients(alice))
    header = json.loads(envelope[8 : header_size(envelope)])
    for variant in (
        json.dumps(header, indent=1, sort_keys=True).encode(),  # same content, other spelling
        json.dumps({**header, "extra": 1}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**header, "v": 2}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**header, "recipients": []}, sort_keys=True, separators=(",", ":")).encode(),
        b"[]",
        b"\xff\xfe",
    ):
        forged = MAGIC + struct.pack(">I", len(variant)) + variant + envelope[header_size(envelope) :]
        with pytest.raises(TamperedError, match="header malformed"):
            decrypt_bytes(forged, alice.key)


@pytest.mark.parametrize("length", [0, (1 << 20) + 1, 0xFFFFFFFF])
def test_absurd_header_length_is_tampered(alice: LocalAccount, length: int) -> None:
    envelope = encrypt_bytes(b"data", recipients(alice))
    forged = MAGIC + struct.pack(">I", length) + envelope[8:]
    with pytest.raises(TamperedError, match="header length"):
        decrypt_bytes(forged, alice.key)


@pytest.mark.parametrize("where", ["first chunk body", "middle chunk body", "last chunk tag", "first chunk tag"])
def test_flipped_body_or_tag_byte_is_tampered(alice: LocalAccount, where: str) -> None:
    envelope = encrypt_bytes(os.urandom(250), recipients(alice), chunk_size=100)
    spans = chunk_spans(envelope, 100)
    assert len(spans) == 3
    offset = {
        "first chunk body": spans[0][0] + 3,
        "middle chunk body": spans[1][0] + 50,
        "last chunk tag": spans[2][1] - 1,
        "first chunk tag": spans[0][1] - TAG,
    }[where]
    with pytest.raises(TamperedError, match="chunk"):
        decrypt_bytes(flipped(envelope, offset), alice.key)


def test_truncation_anywhere_is_tampered(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(os.urandom(300), recipients(alice), chunk_size=100)
    spans = chunk_spans(envelope, 100)
    cuts = {5, 8, header_size(envelope) - 1, header_size(envelope)}  # inside preamble, header, before chunk 0
    cuts |= {end for _, end in spans[:-1]}  # at chunk boundaries: drops whole final chunks
    cuts |= {len(envelope) - 1, len(envelope) - TAG, spans[-1][0] + 1}  # inside the last chunk
    for cut in sorted(cuts):
        with pytest.raises(TamperedError):
            decrypt_bytes(envelope[:cut], alice.key)


def test_extension_is_tampered(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(os.urandom(250), recipients(alice), chunk_size=100)
    spans = chunk_spans(envelope, 100)
    last_chunk = envelope[spans[-1][0] :]
    other = encrypt_bytes(os.urandom(100), recipients(alice), chunk_size=100)
    for extended in (
        envelope + b"\x00",
        envelope + b"\x00" * (100 + TAG),
        envelope + last_chunk,
        envelope + other[header_size(other) :],
    ):
        with pytest.raises(TamperedError):
            decrypt_bytes(extended, alice.key)


def test_chunk_reordering_and_duplication_are_tampered(alice: LocalAccount) -> None:
    envelope = encrypt_bytes(os.urandom(300), recipients(alice), chunk_size=100)
    head = envelope[: header_size(envelope)]
    c0, c1, c2 = (envelope[s:e] for s, e in chunk_spans(envelope, 100))
    assert decrypt_bytes(head + c0 + c1 + c2, alice.key)  # the reassembly itself is right
    for body in (c1 + c0 + c2, c0 + c2 + c1, c0 + c0 + c2, c0 + c1 + c1 + c2, c0 + c2):
        with pytest.raises(TamperedError):
            decrypt_bytes(head + body, alice.key)


def test_header_from_another_envelope_is_tampered(alice: LocalAccount) -> None:
    one = encrypt_bytes(os.urandom(100), recipients(alice), chunk_size=50)
    two = encrypt_bytes(os.urandom(100), recipients(alice), chunk_size=50)
    with pytest.raises(TamperedError):
        decrypt_bytes(one[: header_size(one)] + two[header_size(two) :], alice.key)


def test_decrypt_stream_may_emit_a_prefix_before_failing(alice: LocalAccount) -> None:
    """Documented behaviour: streaming output must be discarded on error (decrypt_file does this)."""
    plaintext = os.urandom(300)
    envelope = encrypt_bytes(plaintext, recipients(alice), chunk_size=100)
    sink = io.BytesIO()
    with pytest.raises(TamperedError, match="chunk 2"):
        decrypt_stream(io.BytesIO(flipped(envelope, len(envelope) - 1)), sink, alice.key)
    assert sink.getvalue() == plaintext[:200]


# --- atomic files ----------------------------------------------------------------------------------------------


def test_decrypt_file_leaves_no_plaintext_of_a_tampered_envelope(tmp_path: Path, alice: LocalAccount) -> None:
    plaintext = os.urandom(5000)
    (tmp_path / "p").write_bytes(plaintext)
    encrypt_file(tmp_path / "p", tmp_path / "e", recipients(alice), chunk_size=1000)
    envelope = (tmp_path / "e").read_bytes()
    (tmp_path / "e").write_bytes(flipped(envelope, len(envelope) - 1))  # only the last chunk is bad
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(TamperedError):
        decrypt_file(tmp_path / "e", out_dir / "plain", alice.key)
    assert list(out_dir.iterdir()) == []

    (out_dir / "plain").write_bytes(b"previous version")
    with pytest.raises(TamperedError):
        decrypt_file(tmp_path / "e", out_dir / "plain", alice.key)
    assert [p.name for p in out_dir.iterdir()] == ["plain"]
    assert (out_dir / "plain").read_bytes() == b"previous version"


def test_decrypt_file_not_a_recipient_leaves_nothing(tmp_path: Path, alice: LocalAccount, bob: LocalAccount) -> None:
    (tmp_path / "p").write_bytes(b"x")
    encrypt_file(tmp_path / "p", tmp_path / "e", recipients(alice))
    with pytest.raises(WrongKeyError):
        decrypt_file(tmp_path / "e", tmp_path / "out", bob.key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e", "p"]


def test_encrypt_file_failure_leaves_nothing(tmp_path: Path, alice: LocalAccount, bob: LocalAccount) -> None:
    (tmp_path / "p").write_bytes(b"x" * 100)
    with pytest.raises(ValidationError):
        encrypt_file(tmp_path / "p", tmp_path / "e", {alice.address: public_key_of(bob.key)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_decrypted_file_is_private(tmp_path: Path, alice: LocalAccount) -> None:
    (tmp_path / "p").write_bytes(b"x")
    encrypt_file(tmp_path / "p", tmp_path / "e", recipients(alice))
    decrypt_file(tmp_path / "e", tmp_path / "out", alice.key)
    assert (tmp_path / "out").stat().st_mode & 0o077 == 0


def test_missing_paths_are_not_found(tmp_path: Path, alice: LocalAccount) -> None:
    with pytest.raises(NotFoundError):
        encrypt_file(tmp_path / "missing", tmp_path / "e", recipients(alice))
    (tmp_path / "p").write_bytes(b"x")
    with pytest.raises(NotFoundError):
        encrypt_file(tmp_path / "p", tmp_path / "no-such-dir" / "e", recipients(alice))
    with pytest.raises(NotFoundError):
        decrypt_file(tmp_path / "missing", tmp_path / "out", alice.key)


def test_disclosed_data_key_decrypts_that_envelope_only(alice: LocalAccount, bob: LocalAccount) -> None:
    """A recipient can disclose one envelope's data key to an arbiter (dispute of Wu et al. IV.A.3): the key opens
    that envelope, not another one to the same recipient, and a wrong or short key is refused."""
    from datagora.crypto.envelope import data_key_of, decrypt_stream_with_data_key

    plaintext = os.urandom(70_000)
    sealed = encrypt_bytes(plaintext, recipients(alice), chunk_size=4096)
    other = encrypt_bytes(plaintext, recipients(alice), chunk_size=4096)
    key = data_key_of(io.BytesIO(sealed), bytes(alice.key))
    assert len(key) == 32
    out = io.BytesIO()
    info = decrypt_stream_with_data_key(io.BytesIO(sealed), out, key)
    assert out.getvalue() == plaintext
    assert info.plaintext_sha256 == hashlib.sha256(plaintext).digest()
    with pytest.raises(TamperedError, match="fails authentication"):
        decrypt_stream_with_data_key(io.BytesIO(other), io.BytesIO(), key)
    with pytest.raises(ValidationError, match="32 bytes"):
        decrypt_stream_with_data_key(io.BytesIO(sealed), io.BytesIO(), key[:16])
    with pytest.raises(WrongKeyError, match="not a recipient"):
        data_key_of(io.BytesIO(sealed), bytes(bob.key))
