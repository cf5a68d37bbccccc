"""Publishing a dataset (Wu et al. section III.A steps 1-8; EntDSM Algorithm 3).

The seller describes the file (EntDSM 6-tuple and a W3C DCAT JSON-LD description), keeps an encrypted copy in
its own blob store, sends fingerprint and description encrypted to the platform, which checks novelty and signs
an EIP-712 attestation; the seller then mints the dataset in ``Catalog``. The data never leaves the seller.
"""

from __future__ import annotations

import csv
import hashlib
import mimetypes
import os
import secrets
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import encrypt_to
from datagora.crypto.envelope import encrypt_stream
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import ValidationError
from datagora.domain.models import DatasetDescription, TxResult
from datagora.services.attestation import Attestation, AttestationRequest, Attestor
from datagora.services.participant import Participant


def staging_area(owner: Participant) -> Path:
    """A fresh private directory (mode 0700, in a 0700 parent) under ``<home>/staging`` for one clear upload.
    Remove it once the upload is published or refused; :func:`wipe_staging` removes what a crash left."""
    root = owner.paths.staging
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # also when it existed with a looser mode
    work = root / secrets.token_hex(8)
    work.mkdir(mode=0o700)
    return work


def wipe_staging(owner: Participant) -> int:
    """Delete every clear upload a killed node left under ``<home>/staging`` (and the older ``<home>/uploads``).
    Call it when the node starts, before it accepts uploads. Returns the number of entries removed."""
    removed = 0
    for root in (owner.paths.staging, owner.paths.uploads):
        if not root.is_dir():
            continue
        for entry in list(root.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


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


EU_DATA_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
"""The EU Data Theme vocabulary (a SKOS concept scheme), the one DCAT-AP 3.0 recommends for ``dcat:theme``."""

_THEMES = {
    "agriculture": "AGRI",
    "food": "AGRI",
    "fisheries": "AGRI",
    "economy": "ECON",
    "finance": "ECON",
    "business": "ECON",
    "education": "EDUC",
    "culture": "EDUC",
    "sport": "EDUC",
    "energy": "ENER",
    "environment": "ENVI",
    "climate": "ENVI",
    "government": "GOVE",
    "public sector": "GOVE",
    "health": "HEAL",
    "healthcare": "HEAL",
    "medicine": "HEAL",
    "international": "INTR",
    "justice": "JUST",
    "legal": "JUST",
    "regions": "REGI",
    "cities": "REGI",
    "population": "SOCI",
    "society": "SOCI",
    "demographics": "SOCI",
    "science": "TECH",
    "technology": "TECH",
    "imagery": "TECH",
    "transport": "TRAN",
    "mobility": "TRAN",
}
"""Datagora domains that map onto an EU Data Theme concept (lower-case domain → concept code)."""

IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
"""Base of the IANA media-type IRIs DCAT 3 uses for ``dcat:mediaType`` (e.g. ``…/text/csv``)."""

DCAT_CONTEXT: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
"""The inline JSON-LD context of a description (prefixes only: nothing is fetched to read it)."""


def theme_iri(domain: str) -> str | None:
    """The EU Data Theme concept IRI for a Datagora domain (``"health"`` →
    ``http://publications.europa.eu/resource/authority/data-theme/HEAL``), or None when none fits."""
    code = _THEMES.get(domain.strip().lower())
    return None if code is None else EU_DATA_THEME + code


def media_type_iri(media_type: str) -> str:
    """The IANA IRI of a media type (``text/csv`` → ``https://www.iana.org/assignments/media-types/text/csv``).
    Raises ``ValidationError`` for a string that is not ``type/subtype``."""
    kind, _, subtype = media_type.strip().lower().partition("/")
    if not kind or not subtype or not all(c.isalnum() or c in "!#$&-^_.+" for c in kind + subtype):
        raise ValidationError(f"not a media type: {media_type!r}")
    return f"{IANA_MEDIA_TYPES}{kind}/{subtype}"


def summary_of(description: DatasetDescription, media_type: str) -> str:
    """A one-line ``dct:description`` when the publisher gives none: what the data is and its shape."""
    if media_type == "text/csv":
        return f"{description.name}: a table of {description.size} rows with columns {description.attributes}."
    return f"{description.name}: {media_type} data of {description.size} bytes ({description.attributes})."


def dcat_description(
    description: DatasetDescription,
    publisher: str,
    media_type: str,
    byte_size: int,
    *,
    chain_id: int,
    access_url: str,
    summary: str | None = None,
    publisher_name: str | None = None,
) -> dict[str, Any]:
    """A W3C DCAT 3 JSON-LD description of the dataset (https://www.w3.org/TR/vocab-dcat-3/) that also meets
    DCAT-AP 3.0's mandatory properties (https://semiceu.github.io/DCAT-AP/releases/3.0.0/), with an SPDX
    SHA-256 checksum of the distribution.

    - ``dct:publisher``: a ``foaf:Agent`` identified as ``did:pkh:eip155:<chain_id>:<address>`` (CAIP-10),
      named ``publisher_name`` (default: the address).
    - ``dcat:theme``: the EU Data Theme concept of the domain (:func:`theme_iri`) when one fits; the domain is
      always a ``dcat:keyword`` too.
    - ``dct:description``: ``summary`` or :func:`summary_of`.
    - distribution: ``dcat:mediaType`` the IANA IRI (a ``dct:MediaType``), ``dcat:byteSize`` an
      ``xsd:nonNegativeInteger`` (bytes), ``dcat:accessURL`` ``access_url`` (where access is obtained, e.g. the
      Market contract as an EIP-681 ``ethereum:`` URL).

    Raises ``ValidationError`` for a bad chain id, byte size or media type."""
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise ValidationError(f"chain id must be a positive integer, got {chain_id!r}")
    if isinstance(byte_size, bool) or not isinstance(byte_size, int) or byte_size < 0:
        raise ValidationError(f"byte size must be a non-negative integer, got {byte_size!r}")
    if not access_url or ":" not in access_url:
        raise ValidationError(f"access URL must be an absolute IRI, got {access_url!r}")
    keywords = [description.domain, *(a for a in description.attributes.split(",") if a)]
    doc: dict[str, Any] = {
        "@context": dict(DCAT_CONTEXT),
        "@type": "dcat:Dataset",
        "dct:title": description.name,
        "dct:description": summary or summary_of(description, media_type),
        "dcat:keyword": list(dict.fromkeys(k.strip() for k in keywords if k.strip()))[:50],
        "dct:publisher": {
            "@id": f"did:pkh:eip155:{chain_id}:{publisher}",
            "@type": "foaf:Agent",
            "foaf:name": publisher_name or publisher,
        },
        "dct:issued": {"@value": datetime.now(UTC).date().isoformat(), "@type": "xsd:date"},
        "dcat:distribution": {
            "@type": "dcat:Distribution",
            "dcat:accessURL": {"@id": access_url},
            "dcat:mediaType": {"@id": media_type_iri(media_type), "@type": "dct:MediaType"},
            "dcat:byteSize": {"@value": str(byte_size), "@type": "xsd:nonNegativeInteger"},
            "spdx:checksum": {
                "@type": "spdx:Checksum",
                "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                "spdx:checksumValue": {"@value": description.content_hash.hex(), "@type": "xsd:hexBinary"},
            },
        },
    }
    theme = theme_iri(description.domain)
    if theme is not None:
        doc["dcat:theme"] = {"@id": theme, "@type": "skos:Concept"}
    return doc


def market_access_url(chain_id: int, market: str) -> str:
    """The EIP-681 URL of the Market contract on ``chain_id`` (``ethereum:0x…@31337``): where a dataset's
    distribution is obtained (bought, or used per query)."""
    return f"ethereum:{market}@{chain_id}"


@dataclass(frozen=True)
class PreparedDataset:
    """A file made ready to publish: its description, media type and size in bytes, fingerprint with its salted
    commitment (keccak256(salt ‖ fingerprint)), and the address of its encrypted copy in the owner's store. The
    DCAT description is written at publishing, once the chain and its contracts are known (:func:`dcat_for`)."""

    description: DatasetDescription
    media_type: str
    byte_size: int
    fingerprint: bytes
    salt: bytes
    fingerprint_commitment: bytes
    blob: str


def dcat_for(
    prepared: PreparedDataset, publisher: str, *, chain_id: int, market: str, summary: str | None = None
) -> tuple[dict[str, Any], bytes]:
    """The DCAT description of ``prepared`` on chain ``chain_id`` (access through ``market``) and its SHA-256
    over its canonical JSON (32 bytes; :func:`datagora.domain.canonical.canonical_json`), the ``dcat_hash`` that
    goes on chain. :class:`~datagora.domain.errors.NotCanonicalJSON` when the description holds NaN or Infinity."""
    dcat = dcat_description(
        prepared.description,
        publisher,
        prepared.media_type,
        prepared.byte_size,
        chain_id=chain_id,
        access_url=market_access_url(chain_id, market),
        summary=summary,
    )
    return dcat, hashlib.sha256(canonical_json(dcat)).digest()


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
    fingerprint = fingerprint_of(path)
    salt = secrets.token_bytes(32)
    commitment = keccak256(salt + fingerprint)
    tmp = owner.paths.tmp
    tmp.mkdir(exist_ok=True)
    cipher_path = tmp / f"{description.content_hash.hex()}.dge"
    try:
        with path.open("rb") as src, cipher_path.open("wb") as dst:
            encrypt_stream(src, dst, {owner.address: owner.public_key})
        blob = owner.store.put_file(cipher_path)
    finally:
        cipher_path.unlink(missing_ok=True)
    prepared = PreparedDataset(description, media_type, path.stat().st_size, fingerprint, salt, commitment, blob)
    owner.save_record(
        "datasets",
        description.content_hash.hex(),
        {
            "blob": blob,
            "file": path.name,
            "media_type": media_type,
            "description": {**asdict(description), "content_hash": description.content_hash.hex()},
            "fingerprint": fingerprint.hex(),
            "salt": salt.hex(),
        },
    )
    return prepared


def attestation_request(
    owner: Participant, prepared: PreparedDataset, platform_public_key: bytes, dcat_hash: bytes
) -> bytes:
    """``E_PkP(f, d)`` of Wu et al. step 4: fingerprint, salt, description and DCAT hash encrypted to the
    platform."""
    request = AttestationRequest(
        publisher=owner.address,
        content_hash=prepared.description.content_hash,
        fingerprint=prepared.fingerprint,
        salt=prepared.salt,
        dcat_hash=dcat_hash,
        description=prepared.description,
    )
    return encrypt_to(platform_public_key, request.to_bytes())


def publish(
    contracts: Contracts,
    owner: Participant,
    prepared: PreparedDataset,
    attestor: Attestor,
) -> tuple[int, Attestation, TxResult]:
    """Write the DCAT description for this chain (kept in the owner's dataset record), ask the platform for its
    novelty attestation and mint the dataset. Returns the token id, the attestation (its ``dcat_hash`` is the
    description's) and the transaction.

    Raises ``NoveltyRefused`` when the platform finds a match, ``AccessDenied``/``TransactionReverted`` when
    the owner may not publish (``catalog: publisher not audited``)."""
    chain_id = contracts.chain.chain_id
    dcat, dcat_hash = dcat_for(prepared, owner.address, chain_id=chain_id, market=contracts.addresses["Market"])
    key = prepared.description.content_hash.hex()
    owner.save_record("datasets", key, {**owner.load_record("datasets", key), "dcat": dcat})
    platform_key = contracts.registry.public_key(attestor.address)
    attestation = attestor.attest(attestation_request(owner, prepared, platform_key, dcat_hash))
    token_id, tx = contracts.catalog.publish(
        owner.account,
        prepared.description,
        dcat_hash,
        prepared.fingerprint_commitment,
        attestation.expiry,
        attestation.signature,
    )
    attestor.record_published(prepared.fingerprint, token_id)
    return token_id, attestation, tx
