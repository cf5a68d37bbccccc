"""Streams events in the audit trail: streams, write permissions, items published (hash and location only) and
items erased."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ContractTexts, Trail, short_hash


def _created(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["owner"], f"created stream #{a['stream_id']} {a['name']!r}"


def _granted(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["writer"], f"may now publish to stream #{a['stream_id']}"


def _revoked(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["writer"], f"may no longer publish to stream #{a['stream_id']}"


def _published(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["publisher"],
        f"published item #{a['item_id']} under key {a['key']!r} in stream #{a['stream_id']} "
        f"(hash {short_hash(a['item_hash'])}, at {a['location']})",
    )


def _erased(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["erased_by"], f"erased item #{a['item_id']} of stream #{a['stream_id']} (its data key destroyed)"


TEXTS = ContractTexts(
    "Streams",
    describe={
        "StreamCreated": _created,
        "WriterGranted": _granted,
        "WriterRevoked": _revoked,
        "ItemPublished": _published,
        "ItemErased": _erased,
    },
)
