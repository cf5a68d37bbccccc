"""Registry events in the audit trail: organisations registered, joined and audited, customers (EntDSM
Algorithms 1-2)."""

from __future__ import annotations

from typing import Any

from datagora.domain.models import OrgStatus
from datagora.services.audit.base import ContractTexts, Trail


def _registered(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["founder"], f"registered organisation #{a['organisation_id']} {a['name']!r}"


def _joined(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"joined organisation #{a['organisation_id']} and published its encryption key"


def _requested(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"asked to join organisation #{a['organisation_id']}"


def _withdrawn(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"withdrew its request to join organisation #{a['organisation_id']}"


def _rejected(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["rejected_by"], f"refused {a['account']}'s request to join organisation #{a['organisation_id']}"


def _customer(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], "registered as a customer"


def _status(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["supervisor"],
        f"set organisation #{a['organisation_id']} {OrgStatus(a['old_status']).name} → "
        f"{OrgStatus(a['new_status']).name}",
    )


def _learn_member(trail: Trail, a: dict[str, Any]) -> None:
    trail.members.setdefault(int(a["organisation_id"]), set()).add(str(a["account"]).lower())


TEXTS = ContractTexts(
    "Registry",
    describe={
        "OrganisationRegistered": _registered,
        "MemberJoined": _joined,
        "MembershipRequested": _requested,
        "MembershipWithdrawn": _withdrawn,
        "MembershipRejected": _rejected,
        "CustomerRegistered": _customer,
        "StatusChanged": _status,
    },
    learn={"MemberJoined": _learn_member},
    housekeeping=frozenset({"OwnershipTransferred"}),
)
