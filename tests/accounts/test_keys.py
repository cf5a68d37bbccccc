"""Accounts, keystores and public keys (datagora.crypto.keys)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import coincurve
import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils.address import is_checksum_address
from eth_utils.crypto import keccak

from datagora.crypto.keys import (
    address_of_private_key,
    address_of_public_key,
    check_private_key,
    checksum_address,
    load_keystore,
    new_account,
    normalize_public_key,
    public_key_of,
    save_keystore,
)
from datagora.domain.errors import CryptoError, NotFoundError, ValidationError, WrongKeyError

FAST = 2**4  # scrypt work factor for tests; production uses eth-account's 2**18
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_new_account_is_random_and_usable() -> None:
    a, b = new_account(), new_account()
    assert a.key != b.key
    assert len(a.key) == 32
    assert is_checksum_address(a.address)
    assert address_of_private_key(a.key) == a.address


def test_public_key_is_64_bytes_and_hashes_to_the_address() -> None:
    account = new_account()
    public_key = public_key_of(account.key)
    assert len(public_key) == 64
    assert "0x" + keccak(public_key)[12:].hex() == account.address.lower()
    assert public_key == PrivateKey(account.key).public_key.to_bytes()


def test_address_of_public_key_accepts_64_65_and_33_byte_forms() -> None:
    account = new_account()
    point = coincurve.PrivateKey(account.key).public_key
    forms = [public_key_of(account.key), point.format(compressed=False), point.format(compressed=True)]
    assert [len(f) for f in forms] == [64, 65, 33]
    for form in forms:
        assert address_of_public_key(form) == account.address
        assert normalize_public_key(form) == forms[0]


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x04" * 63,
        b"\x05" + b"\x01" * 64,  # 65 bytes with a wrong prefix
        b"\x04" + b"\x01" * 64,  # right prefix, not on the curve
        b"\x01" * 64,  # not on the curve
        b"\x04" + b"\x01" * 32,  # 33 bytes with the uncompressed prefix
        b"\x02" + b"\xff" * 32,  # x >= p
    ],
)
def test_malformed_public_keys_are_rejected(bad: bytes) -> None:
    with pytest.raises(ValidationError):
        normalize_public_key(bad)
    with pytest.raises(ValidationError):
        address_of_public_key(bad)


def test_checksum_address_accepts_any_consistent_spelling() -> None:
    address = new_account().address
    digits = address[2:]
    for spelling in (address, address.lower(), "0x" + digits.upper()):
        assert checksum_address(spelling) == address


@pytest.mark.parametrize("bad", ["", "0x1234", "1234" * 10, "0x" + "g" * 40, "0x" + "a" * 41, None, b"\x00" * 20])
def test_checksum_address_rejects_non_addresses(bad: object) -> None:
    with pytest.raises(ValidationError, match="not an Ethereum address"):
        checksum_address(bad)  # type: ignore[arg-type]


def test_checksum_address_rejects_a_wrong_checksum() -> None:
    address = new_account().address
    letters = [i for i, c in enumerate(address) if i >= 2 and c.isalpha()]
    typo = list(address)
    typo[letters[0]] = typo[letters[0]].swapcase()
    with pytest.raises(ValidationError, match="checksum"):
        checksum_address("".join(typo))


def test_public_key_of_a_string_is_rejected() -> None:
    with pytest.raises(ValidationError, match="must be bytes"):
        normalize_public_key("04" * 32)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x01" * 31, b"\x01" * 33, b"\x00" * 32, SECP256K1_N.to_bytes(32, "big"), b"\xff" * 32],
)
def test_malformed_private_keys_are_rejected(bad: bytes) -> None:
    with pytest.raises(ValidationError):
        check_private_key(bad)
    with pytest.raises(ValidationError):
        public_key_of(bad)


def test_private_key_as_hex_string_is_rejected() -> None:
    with pytest.raises(ValidationError, match="must be bytes"):
        check_private_key("11" * 32)  # type: ignore[arg-type]


def test_keystore_round_trip(tmp_path: Path) -> None:
    account = new_account()
    path = tmp_path / "alice.json"
    assert save_keystore(account, path, "correct horse", iterations=FAST) == path
    loaded = load_keystore(path, "correct horse")
    assert loaded.key == account.key
    assert loaded.address == account.address


def test_keystore_is_scrypt_v3_with_mode_0600(tmp_path: Path) -> None:
    path = save_keystore(new_account(), tmp_path / "k.json", "pw", iterations=FAST)
    keystore = json.loads(path.read_text())
    assert keystore["version"] == 3
    assert keystore["crypto"]["kdf"] == "scrypt"
    assert keystore["crypto"]["kdfparams"]["n"] == FAST
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json"]  # no temporary file left


def test_keystore_defaults_to_eth_account_work_factor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    real_encrypt = Account.encrypt

    def spy(key: bytes, password: str, kdf: str | None = None, iterations: int | None = None) -> object:
        seen.update(kdf=kdf, iterations=iterations)
        return real_encrypt(key, password, kdf="scrypt", iterations=FAST)

    monkeypatch.setattr(Account, "encrypt", spy)
    save_keystore(new_account(), tmp_path / "k.json", "pw")
    assert seen == {"kdf": "scrypt", "iterations": None}


def test_keystore_creates_parent_directories(tmp_path: Path) -> None:
    path = save_keystore(new_account(), tmp_path / "a" / "b" / "k.json", "pw", iterations=FAST)
    assert path.is_file()


def test_keystore_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("precious")
    with pytest.raises(ValidationError, match="already exists"):
        save_keystore(new_account(), path, "pw", iterations=FAST)
    assert path.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json"]


def test_keystore_refuses_to_overwrite_a_file_created_concurrently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final step is a hard link, which fails instead of replacing a file that appeared meanwhile."""
    path = tmp_path / "k.json"
    real_link = os.link

    def racing_link(src: Path, dst: Path) -> None:
        Path(dst).write_text("winner")
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(ValidationError, match="already exists"):
        save_keystore(new_account(), path, "pw", iterations=FAST)
    assert path.read_text() == "winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json"]


def test_keystore_failure_while_writing_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        save_keystore(new_account(), tmp_path / "k.json", "pw", iterations=FAST)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("iterations", [0, 1, 3, 1000])
def test_keystore_rejects_unusable_work_factor(tmp_path: Path, iterations: int) -> None:
    with pytest.raises(ValidationError, match="power of two"):
        save_keystore(new_account(), tmp_path / "k.json", "pw", iterations=iterations)


def test_wrong_password_is_wrong_key_error_with_one_line_message(tmp_path: Path) -> None:
    path = save_keystore(new_account(), tmp_path / "k.json", "right", iterations=FAST)
    with pytest.raises(WrongKeyError) as caught:
        load_keystore(path, "wrong")
    assert isinstance(caught.value, CryptoError)
    assert "wrong password" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_missing_keystore_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_keystore(tmp_path / "nope.json", "pw")
    assert issubclass(NotFoundError, ValidationError)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe not text",
        b"{not json",
        b"[1, 2, 3]",
        b'{"version": 4, "crypto": {}}',
        b'{"version": 3}',
        b'{"version": 3, "crypto": {"kdf": "scrypt"}}',
        b'{"version": 3, "crypto": {"cipher": "aes-128-ctr", "cipherparams": {}, "ciphertext": "00", '
        b'"kdf": "argon2", "kdfparams": {}, "mac": "00"}}',
    ],
)
def test_malformed_keystore_is_validation_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(ValidationError):
        load_keystore(path, "pw")


def test_keystore_with_broken_kdf_params_is_validation_error(tmp_path: Path) -> None:
    path = save_keystore(new_account(), tmp_path / "k.json", "pw", iterations=FAST)
    keystore = json.loads(path.read_text())
    del keystore["crypto"]["kdfparams"]["salt"]
    path.write_text(json.dumps(keystore))
    with pytest.raises(ValidationError, match="malformed"):
        load_keystore(path, "pw")


def test_keystore_whose_address_field_lies_is_rejected(tmp_path: Path) -> None:
    path = save_keystore(new_account(), tmp_path / "k.json", "pw", iterations=FAST)
    keystore = json.loads(path.read_text())
    keystore["address"] = new_account().address[2:].lower()
    path.write_text(json.dumps(keystore))
    with pytest.raises(ValidationError, match="does not match"):
        load_keystore(path, "pw")


def test_keystore_written_by_eth_account_loads(tmp_path: Path) -> None:
    """Interoperability: any V3 keystore (here pbkdf2, as geth and MetaMask export) decrypts."""
    account = new_account()
    path = tmp_path / "geth.json"
    path.write_text(json.dumps(Account.encrypt(account.key, "pw", kdf="pbkdf2", iterations=2)))
    assert load_keystore(path, "pw").address == account.address
