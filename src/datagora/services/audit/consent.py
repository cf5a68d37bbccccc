"""Consent events in the audit trail: who let whom use what, for which purpose, until when; every
access with its reward and every refusal with its reason ("who shared what, with whom, when, for what purpose",
Shrestha et al.)."""

from __future__ import annotations

from typing import Any

from datagora.domain.models import AccessRefusal
from datagora.services.audit.base import ContractTexts, Trail, short_hash, when

REFUSAL_TEXT = {
    AccessRefusal.NO_CONSENT: "no such consent",
    AccessRefusal.NOT_CONSUMER: "the asker is not an audited member of the consumer organisation",
    AccessRefusal.WRONG_CATEGORY: "the consent is for another data category",
    AccessRefusal.WRONG_PURPOSE: "the consent is for another purpose",
    AccessRefusal.REVOKED: "the consent was revoked",
    AccessRefusal.EXPIRED: "the consent expired",
    AccessRefusal.NO_ITEM: "no such data item",
    AccessRefusal.ITEM_ERASED: "the data item was erased",
    AccessRefusal.DEPOSIT_TOO_LOW: "the consumer's reward deposit is too low",
}


def reward(units: int) -> str:
    """RewardToken units (18 decimals) as ``"5.000000 DGR"``."""
    return f"{units / 10**18:.6f} DGR"


def _granted(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["subject"],
        f"consented #{a['consent_id']}: organisation #{a['organisation_id']} may use {a['category']!r} for "
        f"{a['purpose']} until {when(int(a['expiry']))}, {reward(int(a['reward']))} per access",
    )


def _revoked(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["subject"], f"revoked consent #{a['consent_id']} of organisation #{a['organisation_id']}"


def _recorded(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["consumer"],
        f"accessed item #{a['item_id']} of {a['subject']} under consent #{a['consent_id']} for purpose "
        f"{short_hash(a['purpose_hash'])}, paying {reward(int(a['reward']))}",
    )


def _refused(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    code = int(a["reason"])
    why = REFUSAL_TEXT[AccessRefusal(code)] if code in AccessRefusal._value2member_map_ else f"reason {code}"
    return (
        a["consumer"],
        f"was refused item #{a['item_id']} under consent #{a['consent_id']}: {why}",
    )


def _deposited(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["consumer"], f"deposited {reward(int(a['amount']))} for rewards (deposit {reward(int(a['balance']))})"


def _deposit_withdrawn(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["consumer"], f"took back {reward(int(a['amount']))} of its deposit (left {reward(int(a['balance']))})"


def _withdrawn(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"withdrew {reward(int(a['amount']))} of rewards and deposits"


TEXTS = ContractTexts(
    "Consent",
    describe={
        "ConsentGranted": _granted,
        "ConsentRevoked": _revoked,
        "AccessRecorded": _recorded,
        "AccessRefused": _refused,
        "Deposited": _deposited,
        "DepositWithdrawn": _deposit_withdrawn,
        "Withdrawn": _withdrawn,
    },
)
