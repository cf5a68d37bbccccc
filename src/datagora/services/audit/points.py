"""Points events in the audit trail: brands, issuers, points issued and spent, and tiers set from secure
computations (Hu, Xin, Deng, Qian, case study steps 1, 9 and 10)."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ContractTexts, Trail


def _brand(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    parties = ", ".join(str(p) for p in a["parties"])
    return a["admin"], (
        f"brand #{a['brand']} {a['name']!r} registered with its points token {a['symbol']} at {a['token']}; "
        f"computing parties {parties}"
    )


def _issuer(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    verb = "may now issue" if a["allowed"] else "may no longer issue"
    return a["issuer"], f"{verb} points of brand #{a['brand']}"


def _issued(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["issuer"], f"issued {a['amount']} points of brand #{a['brand']} to {a['member']}"


def _spent(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    by = "" if str(a["spender"]).lower() == str(a["holder"]).lower() else f" (checkout {a['spender']})"
    return a["holder"], f"spent {a['amount']} points of brand #{a['brand']}{by}"


def _value(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["admin"], f"one point of brand #{a['brand']} now takes {a['wei_per_point']} wei off a checkout"


def _tier(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["submitter"], (
        f"tier of {a['member']} at brand #{a['brand']} set to {a['tier']} (score {a['score']}), "
        "attested by every computing party"
    )


TEXTS = ContractTexts(
    "Points",
    describe={
        "BrandRegistered": _brand,
        "IssuerSet": _issuer,
        "PointsIssued": _issued,
        "PointsSpent": _spent,
        "PointValueSet": _value,
        "TierUpdated": _tier,
    },
    housekeeping=frozenset({"OwnershipTransferred"}),
)

BRAND_POINTS_TEXTS = ContractTexts(
    "BrandPoints",
    describe={},
    housekeeping=frozenset({"Transfer", "Approval", "OwnershipTransferred", "RoleMinterChanged"}),
)
"""A brand token's ERC-20 events are bookkeeping: the Points events say what was issued and spent, and why."""
