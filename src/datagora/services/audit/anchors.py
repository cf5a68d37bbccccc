"""Anchors events in the audit trail: batches of records committed as one Merkle root."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ContractTexts, Trail, short_hash


def _anchored(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    size = int(a["size"])
    return (
        a["anchorer"],
        f"anchored batch #{a['batch_id']} of {size:,} record{'s' if size != 1 else ''} {a['label']!r} for "
        f"organisation #{a['organisation_id']} (Merkle root {short_hash(a['root'])})",
    )


TEXTS = ContractTexts("Anchors", describe={"Anchored": _anchored})
