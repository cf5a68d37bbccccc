"""Binding of ``Catalog.vy``: one ERC-721 token per dataset with its commitments (EntDSM Algorithm 3; Wu et al.
publication with the platform's novelty attestation)."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.errors import DatasetRetired, NotFoundError
from datagora.domain.models import Dataset, DatasetDescription, TxResult


class CatalogBinding(Binding):
    """Typed calls of the Catalog (the data NFT)."""

    NAME = "Catalog"

    def attestation_digest(
        self,
        publisher: str,
        content_hash: bytes,
        description_hash: bytes,
        fingerprint_commitment: bytes,
        dcat_hash: bytes,
        expiry: int,
    ) -> bytes:
        """The EIP-712 digest of ``NoveltyAttestation`` the Catalog checks (32 bytes); it covers the description
        hash that ``publish`` stores."""
        args = (publisher, content_hash, description_hash, fingerprint_commitment, dcat_hash, expiry)
        return bytes(self._view("attestation_digest", *args))

    def grant_attester(self, admin: LocalAccount, account: str) -> TxResult:
        """Give ``account`` ATTESTER_ROLE (it may sign novelty attestations)."""
        role = self._view("ATTESTER_ROLE")
        return self._send(admin, "grantRole", role, Web3.to_checksum_address(account))

    def is_attester(self, account: str) -> bool:
        role = self._view("ATTESTER_ROLE")
        return bool(self._view("hasRole", role, Web3.to_checksum_address(account)))

    def publish(
        self,
        sender: LocalAccount,
        description: DatasetDescription,
        dcat_hash: bytes,
        fingerprint_commitment: bytes,
        expiry: int,
        attestation: bytes,
    ) -> tuple[int, TxResult]:
        """EntDSM Algorithm 3 with the platform's novelty attestation. Returns the new token id."""
        res = self._send(
            sender,
            "publish",
            description.domain,
            description.name,
            description.attributes,
            description.size,
            description.content_hash,
            dcat_hash,
            fingerprint_commitment,
            expiry,
            attestation,
        )
        return int(res.event("DatasetPublished").args["token_id"]), res

    def dataset(self, token_id: int) -> Dataset:
        """The Catalog record of ``token_id``; :class:`NotFoundError` when no such dataset exists,
        :class:`DatasetRetired` when its owner retired it.

        The chain stores the content hash and the holder with the block of publication; the description hash,
        DCAT hash and fingerprint commitment are read from the ``DatasetPublished`` event of that block (one
        ``eth_getLogs`` over one block, filtered on the token id)."""
        content, owner, block = self._view("dataset_record", token_id)
        if bytes(content) == bytes(32):
            raise NotFoundError(f"unknown dataset id {token_id}")
        if int(owner, 16) == 0:
            raise DatasetRetired(token_id)
        published = self.published_event(token_id, int(block))
        return Dataset(
            token_id,
            str(owner),
            bytes(content),
            bytes(published["description_hash"]),
            bytes(published["dcat_hash"]),
            bytes(published["fingerprint_commitment"]),
        )

    def published_event(self, token_id: int, block: int) -> dict[str, Any]:
        """The decoded arguments of dataset ``token_id``'s ``DatasetPublished`` event, published in ``block``.
        :class:`NotFoundError` when that block holds no such event (a node that pruned its logs)."""
        event = self.contract.events.DatasetPublished()
        topics = [event.topic, "0x" + token_id.to_bytes(32, "big").hex()]
        for log in self._contracts.get_logs([self.address], topics, block, block):
            return dict(event.process_log(log)["args"])
        raise NotFoundError(f"the publication of dataset {token_id} is not in block {block} on this node")

    def retire(self, sender: LocalAccount, token_id: int) -> TxResult:
        """``Catalog.retire``: the holder burns dataset ``token_id``'s token and ``Retired`` records it. Reverts
        "catalog: unknown dataset", "catalog: dataset retired" or "catalog: not dataset owner" (a token in a sale
        contract's custody is not the seller's until the listing is cancelled or its order settles)."""
        return self._send(sender, "retire", token_id)

    def content_hash_of(self, token_id: int) -> bytes:
        """The content hash (SHA-256, 32 bytes) recorded for ``token_id``, live or retired; zero bytes for an
        unknown id."""
        return bytes(self._view("content_of", token_id))

    def is_retired(self, token_id: int) -> bool:
        """Whether dataset ``token_id`` was published and then retired (false for a live or unknown one)."""
        return bool(self._view("retired", token_id))

    def dataset_count(self) -> int:
        return int(self._view("dataset_count"))

    def token_of_content(self, content_hash: bytes) -> int:
        """The token id whose content hash is ``content_hash`` (0 when none)."""
        return int(self._view("token_of_content", content_hash))

    def content_hash(self, token_id: int) -> bytes:
        """The content hash (32 bytes) dataset ``token_id`` was minted with, in one call (it never changes);
        :class:`NotFoundError` when no such dataset was minted."""
        content = self.content_hash_of(token_id)
        if content == bytes(32):
            raise NotFoundError(f"unknown dataset id {token_id}")
        return content

    def owner_of(self, token_id: int) -> str:
        return str(self._view("ownerOf", token_id))

    def set_approval_for_all(self, sender: LocalAccount, operator: str, approved: bool = True) -> TxResult:
        """ERC-721 ``setApprovalForAll``: let ``operator`` (the Market) move the sender's data tokens."""
        return self._send(sender, "setApprovalForAll", Web3.to_checksum_address(operator), approved)

    def is_approved_for_all(self, owner: str, operator: str) -> bool:
        return bool(self._view("isApprovedForAll", Web3.to_checksum_address(owner), Web3.to_checksum_address(operator)))


DEPLOYABLE = Deployable(
    "Catalog",
    deployer="platform",
    needs=("Registry",),
    args=lambda addresses, options: (addresses["Registry"],),
    binding=CatalogBinding,
)
