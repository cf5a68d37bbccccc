"""Keys, public-key encryption, streaming file encryption and EIP-712 signatures.

``keys``: accounts, keystores and public keys; ``ecies``: small secrets to a public key; ``envelope``: large files to
several recipients (DGE1 format); ``eip712``: typed-data signatures and the Catalog's novelty attestation.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datagora.crypto.ecies import decrypt_with, encrypt_to
    from datagora.crypto.eip712 import novelty_attestation, recover_typed_data, sign_typed_data, typed_data_digest
    from datagora.crypto.envelope import (
        EnvelopeInfo,
        decrypt_bytes,
        decrypt_file,
        decrypt_stream,
        encrypt_bytes,
        encrypt_file,
        encrypt_stream,
        recipients_of,
    )
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

_WHERE = {
    "EnvelopeInfo": "datagora.crypto.envelope",
    "address_of_private_key": "datagora.crypto.keys",
    "address_of_public_key": "datagora.crypto.keys",
    "check_private_key": "datagora.crypto.keys",
    "checksum_address": "datagora.crypto.keys",
    "decrypt_bytes": "datagora.crypto.envelope",
    "decrypt_file": "datagora.crypto.envelope",
    "decrypt_stream": "datagora.crypto.envelope",
    "decrypt_with": "datagora.crypto.ecies",
    "encrypt_bytes": "datagora.crypto.envelope",
    "encrypt_file": "datagora.crypto.envelope",
    "encrypt_stream": "datagora.crypto.envelope",
    "encrypt_to": "datagora.crypto.ecies",
    "load_keystore": "datagora.crypto.keys",
    "new_account": "datagora.crypto.keys",
    "normalize_public_key": "datagora.crypto.keys",
    "novelty_attestation": "datagora.crypto.eip712",
    "public_key_of": "datagora.crypto.keys",
    "recipients_of": "datagora.crypto.envelope",
    "recover_typed_data": "datagora.crypto.eip712",
    "save_keystore": "datagora.crypto.keys",
    "sign_typed_data": "datagora.crypto.eip712",
    "typed_data_digest": "datagora.crypto.eip712",
}
"""Where each name lives. The submodules load on first use (PEP 562 ``__getattr__``), not with the package: a
command that only hashes or reads a keystore's address does not pay for ECIES, AES-GCM and EIP-712 imports."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "EnvelopeInfo",
    "address_of_private_key",
    "address_of_public_key",
    "check_private_key",
    "checksum_address",
    "decrypt_bytes",
    "decrypt_file",
    "decrypt_stream",
    "decrypt_with",
    "encrypt_bytes",
    "encrypt_file",
    "encrypt_stream",
    "encrypt_to",
    "load_keystore",
    "new_account",
    "normalize_public_key",
    "novelty_attestation",
    "public_key_of",
    "recipients_of",
    "recover_typed_data",
    "save_keystore",
    "sign_typed_data",
    "typed_data_digest",
]
