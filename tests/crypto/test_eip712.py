"""EIP-712 signatures and the Catalog's novelty attestation (datagora.crypto.eip712)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from datagora.crypto.eip712 import (
    NOVELTY_ATTESTATION_TYPE,
    description_hash,
    novelty_attestation,
    recover_typed_data,
    sign_typed_data,
    typed_data_digest,
)
from datagora.crypto.keys import new_account
from datagora.domain.errors import CryptoError, ValidationError
from datagora.domain.models import DatasetDescription
from tests import REPO_ROOT

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
CATALOG_SOURCE = REPO_ROOT / "contracts" / "Catalog.vy"

FIELDS: dict[str, Any] = {
    "chain_id": 31337,
    "catalog": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "publisher": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "content_hash": bytes.fromhex("11" * 32),
    "description_hash": bytes.fromhex("44" * 32),
    "fingerprint_commitment": bytes.fromhex("22" * 32),
    "dcat_hash": bytes.fromhex("33" * 32),
    "expiry": 1_900_000_000,
}
CHANGED: dict[str, Any] = {
    "chain_id": 1,
    "catalog": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    "publisher": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "content_hash": bytes.fromhex("11" * 31 + "12"),
    "description_hash": bytes.fromhex("45" + "44" * 31),
    "fingerprint_commitment": bytes.fromhex("23" + "22" * 31),
    "dcat_hash": bytes(32),
    "expiry": 1_900_000_001,
}


@pytest.fixture(scope="module")
def attester() -> LocalAccount:
    return new_account()


def attestation(**overrides: Any) -> dict[str, Any]:
    return novelty_attestation(**{**FIELDS, **overrides})


def contract_digest(fields: dict[str, Any]) -> bytes:
    """The digest as Catalog.vy computes it: ATTESTATION_TYPEHASH struct hash under snekmate's domain separator."""
    domain_typehash = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    domain_separator = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_typehash, keccak(b"Datagora Catalog"), keccak(b"1"), fields["chain_id"], fields["catalog"]],
        )
    )
    struct_hash = keccak(
        abi_encode(
            ["bytes32", "address", "bytes32", "bytes32", "bytes32", "bytes32", "uint256"],
            [
                keccak(NOVELTY_ATTESTATION_TYPE.encode()),
                fields["publisher"],
                fields["content_hash"],
                fields["description_hash"],
                fields["fingerprint_commitment"],
                fields["dcat_hash"],
                fields["expiry"],
            ],
        )
    )
    return keccak(b"\x19\x01" + domain_separator + struct_hash)


def test_signature_recovers_to_signer(attester: LocalAccount) -> None:
    typed = attestation()
    signature = sign_typed_data(attester.key, typed)
    assert len(signature) == 65
    assert signature[64] in (27, 28)
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2
    assert recover_typed_data(typed, signature) == attester.address


def test_signature_equals_eth_accounts(attester: LocalAccount) -> None:
    typed = attestation()
    expected = Account.sign_typed_data(attester.key, full_message=typed).signature
    assert sign_typed_data(attester.key, typed) == bytes(expected)


def test_digest_equals_eth_account_hash_and_contract_formula() -> None:
    typed = attestation()
    digest = typed_data_digest(typed)
    assert len(digest) == 32
    assert digest == _hash_eip191_message(encode_typed_data(full_message=typed))
    assert digest == contract_digest(FIELDS)


def test_typehash_matches_the_contract_source() -> None:
    assert NOVELTY_ATTESTATION_TYPE == (
        "NoveltyAttestation(address publisher,bytes32 contentHash,bytes32 descriptionHash,"
        "bytes32 fingerprintCommitment,bytes32 dcatHash,uint256 expiry)"
    )
    assert CATALOG_SOURCE.is_file(), "the test runs from a source checkout with contracts/"
    source = CATALOG_SOURCE.read_text()
    assert f'"{NOVELTY_ATTESTATION_TYPE}"' in source
    assert '"Datagora Catalog", "1"' in source


def test_typed_data_shape() -> None:
    typed = attestation()
    assert typed["primaryType"] == "NoveltyAttestation"
    assert typed["domain"] == {
        "name": "Datagora Catalog",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": FIELDS["catalog"],
    }
    fields = [(f["type"], f["name"]) for f in typed["types"]["NoveltyAttestation"]]
    rendered = "NoveltyAttestation(" + ",".join(f"{t} {n}" for t, n in fields) + ")"
    assert rendered == NOVELTY_ATTESTATION_TYPE
    assert typed["message"]["contentHash"] == "0x" + "11" * 32
    assert json.loads(json.dumps(typed)) == typed  # JSON-serialisable as is


def test_lower_case_addresses_are_checksummed() -> None:
    typed = attestation(catalog=FIELDS["catalog"].lower(), publisher=FIELDS["publisher"].lower())
    assert typed["domain"]["verifyingContract"] == FIELDS["catalog"]
    assert typed["message"]["publisher"] == FIELDS["publisher"]


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_changing_any_field_changes_digest_and_recovery(attester: LocalAccount, field: str) -> None:
    signature = sign_typed_data(attester.key, attestation())
    changed = attestation(**{field: CHANGED[field]})
    assert typed_data_digest(changed) != typed_data_digest(attestation())
    assert typed_data_digest(changed) == contract_digest({**FIELDS, field: CHANGED[field]})
    assert recover_typed_data(changed, signature) != attester.address


def test_recovery_rejects_other_signers(attester: LocalAccount) -> None:
    typed = attestation()
    assert recover_typed_data(typed, sign_typed_data(new_account().key, typed)) != attester.address


def _with(signature: bytes, r: int | None = None, s: int | None = None, v: int | None = None) -> bytes:
    r_bytes = signature[:32] if r is None else r.to_bytes(32, "big")
    s_bytes = signature[32:64] if s is None else s.to_bytes(32, "big")
    v_byte = signature[64:] if v is None else bytes([v])
    return r_bytes + s_bytes + v_byte


MALFORMED = ["empty", "64 bytes", "66 bytes", "v = 0", "v = 1", "v = 29", "r = 0", "s = 0", "r = n", "high s"]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_signatures_are_crypto_errors(attester: LocalAccount, case: str) -> None:
    typed = attestation()
    good = sign_typed_data(attester.key, typed)
    s = int.from_bytes(good[32:64], "big")
    signature = {
        "empty": b"",
        "64 bytes": good[:64],
        "66 bytes": good + b"\x00",
        "v = 0": _with(good, v=0),
        "v = 1": _with(good, v=1),
        "v = 29": _with(good, v=29),
        "r = 0": _with(good, r=0),
        "s = 0": _with(good, s=0),
        "r = n": _with(good, r=SECP256K1_N),
        "high s": _with(good, s=SECP256K1_N - s, v=55 - good[64]),  # malleable twin: ecrecover takes it, we don't
    }[case]
    with pytest.raises(CryptoError, match="malformed signature"):
        recover_typed_data(typed, signature)


def test_high_s_twin_is_otherwise_valid(attester: LocalAccount) -> None:
    """The high-s twin really recovers the signer under plain ecrecover, so its rejection above is deliberate."""
    typed = attestation()
    good = sign_typed_data(attester.key, typed)
    s = int.from_bytes(good[32:64], "big")
    twin = _with(good, s=SECP256K1_N - s, v=55 - good[64])
    assert Account._recover_hash(typed_data_digest(typed), signature=twin) == attester.address


def test_unrecoverable_r_is_crypto_error(attester: LocalAccount) -> None:
    """An r that is not the x-coordinate of any curve point recovers nothing."""
    typed = attestation()
    good = sign_typed_data(attester.key, typed)
    r = 5  # x = 5: 5**3 + 7 = 132 is not a square modulo p
    p = 2**256 - 2**32 - 977
    assert pow(r**3 + 7, (p - 1) // 2, p) != 1
    with pytest.raises(CryptoError, match="malformed signature"):
        recover_typed_data(typed, _with(good, r=r))


def test_signature_of_wrong_type_is_crypto_error() -> None:
    with pytest.raises(CryptoError):
        recover_typed_data(attestation(), "0x" + "00" * 65)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chain_id", 0),
        ("chain_id", True),
        ("catalog", "0x1234"),
        ("catalog", FIELDS["catalog"][:2] + FIELDS["catalog"][2:].swapcase()),  # wrong checksum
        ("publisher", None),
        ("content_hash", b"\x11" * 31),
        ("description_hash", b"\x11" * 31),
        ("fingerprint_commitment", "11" * 32),
        ("dcat_hash", b"\x11" * 33),
        ("expiry", -1),
        ("expiry", 2**256),
    ],
)
def test_bad_attestation_input_is_validation_error(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        attestation(**{field: value})


def test_malformed_typed_data_is_validation_error(attester: LocalAccount) -> None:
    broken = copy.deepcopy(attestation())
    broken["primaryType"] = "NoSuchType"
    with pytest.raises(ValidationError, match="typed data"):
        sign_typed_data(attester.key, broken)
    wrong_value = copy.deepcopy(attestation())
    wrong_value["message"]["expiry"] = "not a number"
    with pytest.raises(ValidationError, match="typed data"):
        typed_data_digest(wrong_value)
    with pytest.raises(ValidationError):
        recover_typed_data([], b"\x00" * 65)  # type: ignore[arg-type]


def test_malformed_private_key_is_validation_error() -> None:
    with pytest.raises(ValidationError):
        sign_typed_data(b"\x00" * 32, attestation())


DESCRIPTION = DatasetDescription("finance", "Income survey", "age,income", 1_000, bytes.fromhex("11" * 32))


def test_description_hash_is_the_catalogs_abi_encoding() -> None:
    """keccak256(abi.encode(publisher, domain, name, attributes, size, contentHash)), what Catalog.publish stores."""
    expected = keccak(
        abi_encode(
            ["address", "string", "string", "string", "uint256", "bytes32"],
            [FIELDS["publisher"], "finance", "Income survey", "age,income", 1_000, b"\x11" * 32],
        )
    )
    assert description_hash(FIELDS["publisher"], DESCRIPTION) == expected
    assert description_hash(FIELDS["publisher"].lower(), DESCRIPTION) == expected


@pytest.mark.parametrize(
    "changed",
    [
        DatasetDescription("health", "Income survey", "age,income", 1_000, b"\x11" * 32),
        DatasetDescription("finance", "Another name", "age,income", 1_000, b"\x11" * 32),
        DatasetDescription("finance", "Income survey", "age", 1_000, b"\x11" * 32),
        DatasetDescription("finance", "Income survey", "age,income", 1_001, b"\x11" * 32),
    ],
    ids=["domain", "name", "attributes", "size"],
)
def test_description_hash_covers_every_field(changed: DatasetDescription) -> None:
    assert description_hash(FIELDS["publisher"], changed) != description_hash(FIELDS["publisher"], DESCRIPTION)


@pytest.mark.parametrize(
    ("publisher", "description"),
    [
        ("0x1234", DESCRIPTION),
        (FIELDS["publisher"], DatasetDescription("d", "n", "a", -1, b"\x11" * 32)),
        (FIELDS["publisher"], DatasetDescription("d", "n", "a", 1, b"\x11" * 31)),
    ],
    ids=["address", "negative size", "short content hash"],
)
def test_description_hash_rejects_bad_input(publisher: str, description: DatasetDescription) -> None:
    with pytest.raises(ValidationError):
        description_hash(publisher, description)
