"""Points events in the audit trail: brands, issuers, points issued and spent, points transferred between members
on a brand's token, and tiers set from secure computations (Hu, Xin, Deng, Qian, case study steps 1, 9 and 10)."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ZERO_ADDRESS, ContractTexts, Trail


def _learn_brand(trail: Trail, a: dict[str, Any]) -> None:
    trail.brand_tokens[str(a["token"]).lower()] = (int(a["brand"]), str(a["symbol"]), str(a["name"]))


def _points(trail: Trail, token: str, value: int) -> str:
    """``value`` points of the brand whose token is ``token``: "25 CUFF points of brand #1 'Cufflinks & Co'"."""
    unit = "point" if value == 1 else "points"
    known = trail.brand_tokens.get(token.lower())
    if known is None:
        return f"{value} {unit} of the points token {token}"
    brand, symbol, name = known
    return f"{value} {symbol} {unit} of brand #{brand} {name!r}"


def _moved(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    sender, receiver, points = str(a["sender"]), str(a["receiver"]), _points(trail, a["token"], int(a["value"]))
    if int(sender, 16) == 0:
        return receiver, f"received {points}, newly issued (minted on the token)"
    if int(receiver, 16) == 0:
        return sender, f"spent {points} (burnt on the token)"
    return sender, f"transferred {points} to {receiver}"


def _minted_or_burnt(a: dict[str, Any]) -> bool:
    """Points issued or spent: the Points event of the same transaction already says so, and why."""
    return ZERO_ADDRESS in (str(a["sender"]).lower(), str(a["receiver"]).lower())


def _approval(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    points = _points(trail, a["token"], int(a["value"]))
    return a["owner"], f"allowed {a['spender']} to spend up to {points}"


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
    learn={"BrandRegistered": _learn_brand},
    housekeeping=frozenset({"OwnershipTransferred"}),
)

BRAND_POINTS_TEXTS = ContractTexts(
    "BrandPoints",
    describe={"Transfer": _moved, "Approval": _approval},
    housekeeping=frozenset({"Approval", "OwnershipTransferred", "RoleMinterChanged"}),
    quiet={"Transfer": _minted_or_burnt},
    address_as="token",
)
"""A brand token's ERC-20 events: a transfer between members is in the trail; points issued and spent (a mint or
a burn) and allowances are bookkeeping shown with token transfers, since the Points events say what was issued
and spent, and why."""
