"""Collaboration events in the audit trail: offers and negotiation rounds, DAOs formed and joined, stakes,
revenue paid and withdrawn, infrastructure requests, heartbeats, terminations, channel keys and posts (hashes
only: channel content stays encrypted off-chain), closings and ratings."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ContractTexts, Trail, eth, short_hash, when

ROLES = {1: "data provider", 2: "value provider"}


def _pct(bps: int) -> str:
    return f"{bps / 100:.2f} %"


def _posted(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    target = "a new collaboration" if a["dao_id"] == 0 else f"joining collaboration #{a['dao_id']}"
    return (
        a["poster"],
        f"posted collaboration offer #{a['offer_id']} as {ROLES.get(a['poster_role'], 'party')} for {target}: "
        f"value provider's stake {_pct(a['stake_bps'])}, terms {short_hash(a['terms_hash'])}",
    )


def _countered(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["proposer"],
        f"countered collaboration offer #{a['offer_id']} (round {a['round']}, with {a['counterparty']}): "
        f"value provider's stake {_pct(a['stake_bps'])}, terms {short_hash(a['terms_hash'])}",
    )


def _accepted(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["counterparty"],
        f"agreed on collaboration offer #{a['offer_id']} (round {a['round']}): value provider's stake "
        f"{_pct(a['stake_bps'])}",
    )


def _withdrawn_offer(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["poster"], f"withdrew collaboration offer #{a['offer_id']}"


def _formed(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["founder"],
        f"founded collaboration #{a['dao_id']} from offer #{a['offer_id']} "
        f"(heartbeat timeout {a['heartbeat_timeout']} s)",
    )


def _joined(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    where = "as its data provider" if a["seat"] == 0 else f"opening channel {a['seat']}"
    return a["member"], f"joined collaboration #{a['dao_id']} {where} with a {_pct(a['stake_bps'])} stake"


def _stake(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["member"], f"now holds {_pct(a['stake_bps'])} of collaboration #{a['dao_id']}"


def _paid(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["payer"],
        f"paid {eth(a['amount'])} of revenue to collaboration #{a['dao_id']} "
        f"({a['remainder']} wei of rounding to {a['remainder_to']})",
    )


def _withdrew(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"withdrew {eth(a['amount'])} of collaboration revenue"


def _infrastructure(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["requester"], f"requested infrastructure for collaboration #{a['dao_id']} ({len(a['spec'])} bytes of spec)"


def _heartbeat(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["member"], f"reported alive in collaboration #{a['dao_id']} at {when(a['timestamp'])}"


def _terminated(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["terminated_by"],
        f"terminated {a['member']} in collaboration #{a['dao_id']} (no heartbeat since {when(a['last_heartbeat'])}; "
        f"its {_pct(a['stake_bps'])} stake shared among the others)",
    )


def _key(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["publisher"],
        f"rotated the key of channel {a['channel']} of collaboration #{a['dao_id']} (epoch {a['key_epoch']})",
    )


def _post(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["author"],
        f"posted encrypted content #{a['post_id']} to channel {a['channel']} of collaboration #{a['dao_id']} "
        f"(hash {short_hash(a['content_hash'])})",
    )


def _closed(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["closed_by"], f"closed collaboration #{a['dao_id']}"


def _rated(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["rater"], f"rated {a['ratee']} {a['score']}/5 after collaboration #{a['dao_id']}"


TEXTS = ContractTexts(
    "Collaboration",
    describe={
        "OfferPosted": _posted,
        "OfferCountered": _countered,
        "OfferAccepted": _accepted,
        "OfferWithdrawn": _withdrawn_offer,
        "DaoFormed": _formed,
        "MemberJoined": _joined,
        "StakeChanged": _stake,
        "RevenuePaid": _paid,
        "Withdrawn": _withdrew,
        "InfrastructureRequested": _infrastructure,
        "Heartbeat": _heartbeat,
        "MemberTerminated": _terminated,
        "ChannelKeyPublished": _key,
        "ChannelPosted": _post,
        "DaoClosed": _closed,
        "Rated": _rated,
    },
)
