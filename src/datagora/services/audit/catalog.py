"""Catalog events in the audit trail: datasets published (with the platform's novelty attestation), datasets
retired by their owners and, when asked for, the data NFT's transfers (ERC-721)."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ContractTexts, Trail, short_hash


def _published(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["owner"],
        f"published dataset #{a['token_id']} {a['name']!r} ({a['domain']}, {a['size']} items, "
        f"sha256 {short_hash(a['content_hash'])}) attested by {a['attester']}",
    )


def _retired(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["owner"],
        f"retired dataset #{a['token_id']} (sha256 {short_hash(a['content_hash'])}): token burned, the owner's "
        "ciphertext and data keys destroyed; buyers keep their copies",
    )


def _transfer(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a.get("sender", ""), f"data NFT #{a.get('token_id')} {a.get('sender')} → {a.get('receiver')}"


TEXTS = ContractTexts(
    "Catalog",
    describe={"DatasetPublished": _published, "Retired": _retired, "Transfer": _transfer},
    housekeeping=frozenset(
        {
            "Transfer",
            "Approval",
            "ApprovalForAll",
            "RoleGranted",
            "RoleRevoked",
            "OwnershipTransferred",
        }
    ),
)
