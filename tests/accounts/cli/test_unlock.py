"""The key decryption a signing command starts in the background: the scrypt-derived key computed in a thread
decrypts the keystore exactly as eth-account does, and a wrong password is still a wrong password."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.cli.app import _derive_keystore_key
from datagora.crypto import keys
from datagora.domain.errors import WrongKeyError

PASSWORD = "correct horse battery staple"


def keystore(tmp_path: Path, **kwargs: object) -> tuple[Path, bytes]:
    account = keys.new_account()
    path = keys.save_keystore(account, tmp_path / "k.json", PASSWORD, **kwargs)  # type: ignore[arg-type]
    return path, bytes(account.key)


def test_a_derived_key_decrypts_like_eth_account(tmp_path: Path) -> None:
    path, key = keystore(tmp_path, iterations=2**10)
    derived = _derive_keystore_key(path, PASSWORD)
    assert derived is not None and len(derived) == 32
    assert keys.decrypt_keystore(path, PASSWORD, derived_key=derived) == key
    assert keys.load_keystore(path, PASSWORD).key == key


def test_a_key_derived_from_a_wrong_password_is_refused(tmp_path: Path) -> None:
    path, _ = keystore(tmp_path, iterations=2**10)
    derived = _derive_keystore_key(path, "not it")
    assert derived is not None
    with pytest.raises(WrongKeyError, match="wrong password"):
        keys.decrypt_keystore(path, "not it", derived_key=derived)
    with pytest.raises(WrongKeyError, match="wrong password"):
        keys.decrypt_keystore(path, PASSWORD, derived_key=bytes(32))


def test_the_default_work_factor(tmp_path: Path) -> None:
    path, key = keystore(tmp_path)  # scrypt 2^18, as `datagora account new` writes it
    derived = _derive_keystore_key(path, PASSWORD)
    assert derived is not None
    assert keys.decrypt_keystore(path, PASSWORD, derived_key=derived) == key
