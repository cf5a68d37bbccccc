"""The platform's attestation service over HTTP, behind the ``Attestor`` surface ``services.publishing`` and
``services.catalog`` use (:class:`~datagora.services.attestation.NoveltyAttestor` is the in-process one)."""

from __future__ import annotations

from datagora.api.client import NodeClient, RemoteError
from datagora.domain.errors import NoveltyRefused
from datagora.services.attestation import Attestation


class RemoteAttestor:
    """The platform's attestation service reached over HTTP: the ``Attestor`` surface of
    :class:`~datagora.services.attestation.NoveltyAttestor` (``address``, ``attest``, ``record_published``),
    signed in to the platform's node as the seller through ``client``."""

    def __init__(self, client: NodeClient) -> None:
        self.client = client
        self._address: str | None = None

    @property
    def address(self) -> str:
        """The platform's account (whose Registry key the request is encrypted to), from ``GET /node``."""
        if self._address is None:
            info = self.client.node_info()
            if not info.roles.platform:
                raise RemoteError(0, "that node is not the platform (no attestation service)", self.client.base_url)
            self._address = info.address
        return self._address

    def attest(self, ciphertext: bytes) -> Attestation:
        """The platform's attestation; ``NoveltyRefused`` (with the matching dataset) when it refuses."""
        try:
            doc = self.client.attest(ciphertext)
        except RemoteError as exc:
            if exc.status == 409 and "matching_token_id" in exc.body:
                raise NoveltyRefused(exc.detail, exc.body["matching_token_id"]) from exc
            raise
        return Attestation(
            publisher=doc.publisher,
            content_hash=bytes.fromhex(doc.content_hash.removeprefix("0x")),
            description_hash=bytes.fromhex(doc.description_hash.removeprefix("0x")),
            fingerprint_commitment=bytes.fromhex(doc.fingerprint_commitment.removeprefix("0x")),
            dcat_hash=bytes.fromhex(doc.dcat_hash.removeprefix("0x")),
            expiry=doc.expiry,
            signature=bytes.fromhex(doc.signature.removeprefix("0x")),
            attester=doc.attester,
        )

    def record_published(self, fingerprint: bytes, token_id: int) -> None:
        self.client.record_published(fingerprint, token_id)

    def search_by_sample(self, ciphertext: bytes, requester_public_key: bytes, k: int = 10) -> bytes:
        """The platform's search by sample (its answer is encrypted to the signed-in caller's Registry key,
        which must be ``requester_public_key``'s owner)."""
        return self.client.search_by_sample(ciphertext)
