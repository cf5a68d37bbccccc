"""Publishing a dataset (Wu et al. section III.A steps 1-8; EntDSM Algorithm 3).

The seller describes the file (EntDSM 6-tuple and a W3C DCAT JSON-LD description), keeps an encrypted copy in
its own blob store, sends fingerprint and description encrypted to the platform, which checks novelty and signs
an EIP-712 attestation; the seller then mints the dataset in ``Catalog``. The data never leaves the seller.
"""

from __future__ import annotations

import csv
import hashlib
import json
import mimetypes
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import encrypt_to
from datagora.crypto.envelope import encrypt_stream
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.domain.errors import ValidationError
from datagora.domain.models import DatasetDescription, TxResult
from datagora.services.attestation import Attestation, AttestationRequest, Attestor
from datagora.services.participant import Participant


def _table_shape(path: Path) -> tuple[list[str], int]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ValidationError(f"{path.name}: CSV file has no header row")
            rows = sum(1 for _ in reader)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path.name}: CSV file is not UTF-8 text") from exc
    except csv.Error as exc:
        raise ValidationError(f"{path.name}: malformed CSV: {exc}") from exc
    return header, rows


def _image_shape(path: Path) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            return f"format={img.format},width={img.width},height={img.height},mode={img.mode}"
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError(f"{path.name}: not a readable image: {exc}") from exc


def describe_file(path: Path, *, name: str | None = None, domain: str = "general") -> DatasetDescription:
    """The EntDSM description of a file: CSV → attributes are the column names and ``size`` the number of
    rows; images → attributes give format and dimensions, ``size`` in bytes; anything else → ``size`` in bytes.
    Raises ``ValidationError`` for a missing, empty or malformed file."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    nbytes = path.stat().st_size
    if nbytes == 0:
        raise ValidationError(f"{path.name}: file is empty")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mime == "text/csv":
        header, rows = _table_shape(path)
        attributes, size = ",".join(h.strip() for h in header), rows
    elif mime.startswith("image/"):
        attributes, size = _image_shape(path), nbytes
    else:
        attributes, size = f"mediaType={mime}", nbytes
    title = (name or path.stem).strip()
    if not title:
        raise ValidationError("dataset name must not be empty")
    return DatasetDescription(
        domain=domain[:64], name=title[:128], attributes=attributes[:2048], size=size, content_hash=sha256_file(path)
    )


def dcat_description(
    description: DatasetDescription, publisher: str, media_type: str, byte_size: int
) -> dict[str, Any]:
    """A W3C DCAT 3 JSON-LD description of the dataset (https://www.w3.org/TR/vocab-dcat-3/), with an SPDX
    SHA-256 checksum of the distribution."""
    return {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "spdx": "http://spdx.org/rdf/terms#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@type": "dcat:Dataset",
        "dct:title": description.name,
        "dcat:theme": description.domain,
        "dcat:keyword": [a for a in description.attributes.split(",") if a][:50],
        "dct:publisher": {"@id": f"did:pkh:eip155:1:{publisher}"},
        "dct:issued": {"@value": datetime.now(UTC).date().isoformat(), "@type": "xsd:date"},
        "dcat:distribution": {
            "@type": "dcat:Distribution",
            "dcat:mediaType": media_type,
            "dcat:byteSize": byte_size,
            "spdx:checksum": {
                "@type": "spdx:Checksum",
                "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                "spdx:checksumValue": description.content_hash.hex(),
            },
        },
    }


def canonical_json(doc: dict[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the bytes whose SHA-256 goes on chain."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class PreparedDataset:
    """A file made ready to publish: its description, DCAT document and hash, fingerprint with its salted
    commitment (keccak256(salt ‖ fingerprint)), and the address of its encrypted copy in the owner's store."""

    description: DatasetDescription
    dcat: dict[str, Any]
    dcat_hash: bytes
    fingerprint: bytes
    salt: bytes
    fingerprint_commitment: bytes
    blob: str


def fingerprint_of(path: Path) -> bytes:
    """The serialised robust fingerprint of the file (Wu et al. section III.C; ``datagora.fingerprint``): it
    survives crops, noise and re-encoding of images and subsets or reorderings of tables, so the platform can
    refuse a lightly modified copy of a dataset already on the market. ``ValidationError`` for unsupported
    content."""
    from datagora.fingerprint import fingerprint

    return fingerprint(path).to_bytes()


def prepare(owner: Participant, path: Path, *, name: str | None = None, domain: str = "general") -> PreparedDataset:
    """Describe ``path`` and store it encrypted (AES-256-GCM, data key wrapped to the owner's key) in the
    owner's blob store. Raises ``ValidationError`` for an unusable file."""
    description = describe_file(path, name=name, domain=domain)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    dcat = dcat_description(description, owner.address, media_type, path.stat().st_size)
    fingerprint = fingerprint_of(path)
    salt = secrets.token_bytes(32)
    commitment = keccak256(salt + fingerprint)
    tmp = owner.home / "tmp"
    tmp.mkdir(exist_ok=True)
    cipher_path = tmp / f"{description.content_hash.hex()}.dge"
    try:
        with path.open("rb") as src, cipher_path.open("wb") as dst:
            encrypt_stream(src, dst, {owner.address: owner.public_key})
        blob = owner.store.put_file(cipher_path)
    finally:
        cipher_path.unlink(missing_ok=True)
    dcat_hash = hashlib.sha256(canonical_json(dcat)).digest()
    prepared = PreparedDataset(description, dcat, dcat_hash, fingerprint, salt, commitment, blob)
    owner.save_record(
        "datasets",
        description.content_hash.hex(),
        {
            "blob": blob,
            "file": path.name,
            "media_type": media_type,
            "description": {**asdict(description), "content_hash": description.content_hash.hex()},
            "dcat": dcat,
            "fingerprint": fingerprint.hex(),
            "salt": salt.hex(),
        },
    )
    return prepared


def attestation_request(owner: Participant, prepared: PreparedDataset, platform_public_key: bytes) -> bytes:
    """``E_PkP(f, d)`` of Wu et al. step 4: fingerprint, salt and description encrypted to the platform."""
    request = AttestationRequest(
        publisher=owner.address,
        content_hash=prepared.description.content_hash,
        fingerprint=prepared.fingerprint,
        salt=prepared.salt,
        dcat_hash=prepared.dcat_hash,
        description=prepared.description,
    )
    return encrypt_to(platform_public_key, request.to_bytes())


def publish(
    contracts: Contracts,
    owner: Participant,
    prepared: PreparedDataset,
    attestor: Attestor,
) -> tuple[int, Attestation, TxResult]:
    """Ask the platform for its novelty attestation and mint the dataset. Returns the token id.

    Raises ``NoveltyRefused`` when the platform finds a match, ``AccessDenied``/``TransactionReverted`` when
    the owner may not publish (``catalog: publisher not audited``)."""
    platform_key = contracts.registry.public_key(attestor.address)
    attestation = attestor.attest(attestation_request(owner, prepared, platform_key))
    token_id, tx = contracts.catalog.publish(
        owner.account,
        prepared.description,
        prepared.dcat_hash,
        prepared.fingerprint_commitment,
        attestation.expiry,
        attestation.signature,
    )
    attestor.record_published(prepared.fingerprint, token_id)
    return token_id, attestation, tx
