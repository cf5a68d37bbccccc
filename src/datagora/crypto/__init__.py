"""Keys, public-key encryption, streaming file encryption and EIP-712 signatures.

``keys``: accounts, keystores and public keys; ``ecies``: small secrets to a public key; ``envelope``: large files to
several recipients (DGE1 format); ``eip712``: typed-data signatures and the Catalog's novelty attestation.
"""

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
