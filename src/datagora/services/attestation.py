"""The platform's novelty check and EIP-712 attestation (Wu et al. section III.A steps 4-8).

The platform keeps the "data-contract" table (fingerprint → dataset) in SQLite
(:class:`~datagora.storage.data_contract.DataContractTable`). A request is the seller's
fingerprint and description encrypted to the platform's key; when no recorded dataset matches, the platform
signs ``NoveltyAttestation(publisher, contentHash, descriptionHash, fingerprintCommitment, dcatHash, expiry)`` for
``Catalog``; the description hash binds the attestation to the name, domain, attributes and size it was asked for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.crypto.eip712 import description_hash, novelty_attestation, sign_typed_data
from datagora.crypto.hashing import keccak256
from datagora.crypto.keys import address_of_public_key
from datagora.domain.errors import AccessDenied, CryptoError, NotFoundError, NoveltyRefused, ValidationError
from datagora.domain.models import DatasetDescription
from datagora.fingerprint.base import Fingerprint, get_method
from datagora.services.sample_search import SampleSearchGuard, SampleSearchRules, SearchLog, check_sample
from datagora.storage.data_contract import DataContractTable

if TYPE_CHECKING:
    from datagora.fingerprint.index import FingerprintIndex

DEFAULT_VALIDITY = 3600


@dataclass(frozen=True)
class AttestationRequest:
    """What the seller sends, encrypted, to the platform."""

    publisher: str
    content_hash: bytes
    fingerprint: bytes
    salt: bytes
    dcat_hash: bytes
    description: DatasetDescription

    def to_bytes(self) -> bytes:
        desc = asdict(self.description)
        desc["content_hash"] = self.description.content_hash.hex()
        return json.dumps(
            {
                "publisher": self.publisher,
                "content_hash": self.content_hash.hex(),
                "fingerprint": self.fingerprint.hex(),
                "salt": self.salt.hex(),
                "dcat_hash": self.dcat_hash.hex(),
                "description": desc,
            }
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> AttestationRequest:
        try:
            doc = json.loads(raw)
            d = doc["description"]
            return cls(
                publisher=str(doc["publisher"]),
                content_hash=bytes.fromhex(doc["content_hash"]),
                fingerprint=bytes.fromhex(doc["fingerprint"]),
                salt=bytes.fromhex(doc["salt"]),
                dcat_hash=bytes.fromhex(doc["dcat_hash"]),
                description=DatasetDescription(
                    str(d["domain"]),
                    str(d["name"]),
                    str(d["attributes"]),
                    int(d["size"]),
                    bytes.fromhex(d["content_hash"]),
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"malformed attestation request: {exc}") from exc

    @property
    def commitment(self) -> bytes:
        return keccak256(self.salt + self.fingerprint)


@dataclass(frozen=True)
class Attestation:
    """The platform's signature (65 bytes) and the values it covers; ``expiry`` in Unix seconds."""

    publisher: str
    content_hash: bytes
    description_hash: bytes
    fingerprint_commitment: bytes
    dcat_hash: bytes
    expiry: int
    signature: bytes
    attester: str


class Attestor(Protocol):
    """What a seller needs from the platform: its ``address`` (whose Registry key encrypts the request), an
    attestation for an encrypted :class:`AttestationRequest`, and a note once the dataset is minted. Implemented
    by :class:`NoveltyAttestor` (in process) and ``datagora.api.remote_attestor.RemoteAttestor`` (over HTTP)."""

    @property
    def address(self) -> str: ...

    def attest(self, ciphertext: bytes) -> Attestation: ...

    def record_published(self, fingerprint: bytes, token_id: int) -> None: ...


SAMPLE_SEARCH_LOG = "sample-searches.jsonl"
"""File name of the platform's sample-search log, beside its data-contract table."""


class NoveltyAttestor:
    """The platform's attestation service. ``db_path`` holds the data-contract table (``":memory:"`` for a
    throw-away platform); the sample-search log is :data:`SAMPLE_SEARCH_LOG` beside it, searches follow
    ``sample_rules`` (:mod:`datagora.services.sample_search`). Safe to share between threads (one lock around
    the table)."""

    def __init__(
        self,
        contracts: Contracts,
        platform: LocalAccount,
        db_path: Path | str,
        *,
        validity: int = DEFAULT_VALIDITY,
        fingerprints: FingerprintIndex | None = None,
        sample_rules: SampleSearchRules | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.contracts = contracts
        self.platform = platform
        self.validity = validity
        self._fingerprints = fingerprints
        where = Path(db_path)
        self._fingerprints_path = (
            ":memory:" if str(db_path) == ":memory:" else where.with_name(where.stem + "-fingerprints.sqlite")
        )
        self._lock = threading.RLock()
        self.data_contract = DataContractTable(db_path)
        log = SearchLog(None if str(db_path) == ":memory:" else Path(db_path).with_name(SAMPLE_SEARCH_LOG))
        self.sample_search = SampleSearchGuard(sample_rules or SampleSearchRules(), log, clock)

    @property
    def fingerprints(self) -> FingerprintIndex:
        """The registered datasets' fingerprints (``<db>-fingerprints.sqlite`` beside the data contract). Opened on
        first use: loading it brings numpy and the fingerprint methods' libraries (tens of MiB) into a node that
        may never be asked for an attestation."""
        with self._lock:
            if self._fingerprints is None:
                from datagora.fingerprint.index import FingerprintIndex

                path = self._fingerprints_path
                self._fingerprints = FingerprintIndex(":memory:") if path == ":memory:" else FingerprintIndex.open(path)
            return self._fingerprints

    @property
    def address(self) -> str:
        return str(self.platform.address)

    def _decrypt(self, ciphertext: bytes) -> AttestationRequest:
        try:
            return AttestationRequest.from_bytes(decrypt_with(bytes(self.platform.key), ciphertext))
        except CryptoError as exc:
            raise CryptoError(f"attestation request not readable by the platform: {exc}") from exc

    def check_novelty(self, request: AttestationRequest) -> None:
        """Raise ``NoveltyRefused`` naming the matching dataset when the content or fingerprint is known."""
        token = self.contracts.catalog.token_of_content(request.content_hash)
        if token:
            raise NoveltyRefused(f"refused: identical content is already dataset {token}", token)
        row = self.data_contract.row(request.fingerprint)
        if row is None:
            self._check_near_duplicates(request)
            return
        if row.token_id is not None:
            raise NoveltyRefused(f"refused: fingerprint matches dataset {row.token_id}", int(row.token_id))
        if row.publisher.lower() != request.publisher.lower() and row.expiry >= int(time.time()):
            raise NoveltyRefused("refused: another seller holds a pending attestation for this fingerprint")
        self._check_near_duplicates(request)

    def _check_near_duplicates(self, request: AttestationRequest) -> None:
        """Wu et al. step 5 / section IV.A.2: refuse data whose fingerprint is close to a published one."""
        match = self.fingerprints.check_novelty(Fingerprint.from_bytes(request.fingerprint))
        if match is not None:
            raise NoveltyRefused(
                f"refused: near-duplicate of dataset {match.dataset_id} (similarity {match.similarity:.2f})",
                match.dataset_id,
            )

    def attest(self, ciphertext: bytes, *, requester: str | None = None) -> Attestation:
        """Decrypt an :class:`AttestationRequest`, check it, sign. Raises ``CryptoError``, ``ValidationError``
        (description does not match the content hash) or ``NoveltyRefused``; ``AccessDenied`` when
        ``requester`` (the authenticated caller, if known) is not the request's publisher."""
        request = self._decrypt(ciphertext)
        if requester is not None and requester.lower() != request.publisher.lower():
            raise AccessDenied(f"{requester} may not request an attestation for publisher {request.publisher}")
        if request.description.content_hash != request.content_hash:
            raise ValidationError("attestation request: description and content hash disagree")
        with self._lock:
            return self._attest(request)

    def _attest(self, request: AttestationRequest) -> Attestation:
        try:
            self.check_novelty(request)
        except NoveltyRefused as exc:  # the platform's desk shows refusals next to the attestations given
            self.data_contract.record_refused(
                request.publisher,
                request.content_hash,
                str(exc),
                refused_at=int(time.time()),
                matching_token_id=exc.matching_token_id,
            )
            raise
        expiry = max(self.contracts.chain.now(), int(time.time())) + self.validity
        described = description_hash(request.publisher, request.description)
        typed = novelty_attestation(
            chain_id=self.contracts.chain.chain_id,
            catalog=self.contracts.addresses["Catalog"],
            publisher=request.publisher,
            content_hash=request.content_hash,
            description_hash=described,
            fingerprint_commitment=request.commitment,
            dcat_hash=request.dcat_hash,
            expiry=expiry,
        )
        signature = sign_typed_data(bytes(self.platform.key), typed)
        self.data_contract.record_attested(
            request.fingerprint, request.publisher, request.content_hash, attested_at=int(time.time()), expiry=expiry
        )
        return Attestation(
            request.publisher,
            request.content_hash,
            described,
            request.commitment,
            request.dcat_hash,
            expiry,
            signature,
            self.address,
        )

    def record_published(self, fingerprint: bytes, token_id: int) -> None:
        """Bind an attested fingerprint to its minted dataset in the data-contract table and add it to the
        fingerprint index, so later near-duplicates are refused."""
        with self._lock:
            self.data_contract.bind(fingerprint, token_id)
            if token_id not in self.fingerprints:
                self.fingerprints.add(token_id, Fingerprint.from_bytes(fingerprint))

    def fingerprint_of(self, token_id: int) -> bytes | None:
        """f_{D,P}: the fingerprint the platform attested for dataset ``token_id`` (its data-contract row), or
        None. Used to arbitrate disputes (Wu et al. section IV.A.3)."""
        return self.data_contract.fingerprint_of(token_id)

    def search_by_sample(self, ciphertext: bytes, requester_public_key: bytes, k: int = 10) -> bytes:
        """Wu et al. step 9-2: ``ciphertext`` is ``E_PkP(f_d)``, a sample's serialised fingerprint encrypted to
        the platform; returns ``E_PkB(ids)``: JSON ``[{"token_id": …, "similarity": …}]`` of the live (not
        retired) published datasets at or above the method's threshold, best first, encrypted to the requester
        (the account of ``requester_public_key``). No fingerprint leaves the platform. Every search is logged.

        Raises ``RateLimited`` past the requester's searches per window, ``CryptoError`` / ``ValidationError``
        for an unreadable request, ``ValidationError`` for a table sample with fewer distinct rows than the
        rules' minimum (:mod:`datagora.services.sample_search`)."""
        requester = address_of_public_key(requester_public_key)
        guard = self.sample_search
        guard.admit(requester)
        try:
            sample = Fingerprint.from_bytes(decrypt_with(bytes(self.platform.key), ciphertext))
            threshold = get_method(sample.method).threshold
        except (CryptoError, ValidationError) as exc:
            guard.record(requester, "", 0, "unreadable")
            if isinstance(exc, CryptoError):
                raise CryptoError(f"sample not readable by the platform: {exc}") from exc
            raise
        try:
            rows = check_sample(sample, guard.rules.min_rows)
        except ValidationError:
            guard.record(requester, sample.kind, _rows_or_zero(sample), "too few rows")
            raise
        with self._lock:
            matches = self.fingerprints.query(sample, k=k, min_similarity=threshold)
        live = [m for m in matches if not self.contracts.catalog.is_retired(m.dataset_id)]
        guard.record(requester, sample.kind, rows, "answered", [m.dataset_id for m in live])
        found = [{"token_id": m.dataset_id, "similarity": round(m.similarity, 4)} for m in live]
        return encrypt_to(requester_public_key, json.dumps(found).encode())

    def record_published_checked(self, fingerprint: bytes, token_id: int) -> None:
        """:meth:`record_published` for a seller's claim received over the network: the dataset ``token_id``
        must exist in ``Catalog`` with the content hash attested for ``fingerprint``. Raises ``NotFoundError``
        (no attestation for the fingerprint, unknown dataset) or ``ValidationError`` (content differs)."""
        row = self.data_contract.row(fingerprint)
        if row is None:
            raise NotFoundError("the platform attested no dataset with this fingerprint")
        if self.contracts.catalog.dataset(token_id).content_hash != row.content_hash:
            raise ValidationError(f"dataset {token_id} does not carry the content attested for this fingerprint")
        self.record_published(fingerprint, token_id)

    def table(self) -> list[dict[str, Any]]:
        """The data-contract table without the fingerprints: publisher, content hash (hex), dataset, expiry."""
        return [
            {"publisher": r.publisher, "content_hash": r.content_hash.hex(), "token_id": r.token_id, "expiry": r.expiry}
            for r in self.data_contract.rows()
        ]


def _rows_or_zero(sample: Fingerprint) -> int:
    from datagora.services.sample_search import distinct_rows

    try:
        return distinct_rows(sample)
    except ValidationError:
        return 0
