"""The audit trail read back from contract events: who did what, to which record, when, in which transaction
(Shrestha et al.: "who shared what, with whom, when"; EntDSM step 9: the supervisor reviews every record)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datagora.chain.contracts import Contracts
from datagora.domain.models import ChainEvent, OrgStatus


@dataclass(frozen=True)
class AuditRecord:
    """One line of the trail: ``actor`` address, ``action`` (the event name), a readable ``detail``,
    block ``timestamp`` (Unix seconds), ``block_number``, ``tx_hash``."""

    actor: str
    action: str
    detail: str
    timestamp: int
    block_number: int
    tx_hash: str
    contract: str


def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6f} ETH"


def _describe(ev: ChainEvent) -> tuple[str, str]:
    a: dict[str, Any] = ev.args
    match ev.name:
        case "OrganisationRegistered":
            return a["founder"], f"registered organisation #{a['organisation_id']} {a['name']!r}"
        case "MemberJoined":
            return a["account"], f"joined organisation #{a['organisation_id']} and published its encryption key"
        case "CustomerRegistered":
            return a["account"], "registered as a customer"
        case "StatusChanged":
            return (
                a["supervisor"],
                f"set organisation #{a['organisation_id']} {OrgStatus(a['old_status']).name} → "
                f"{OrgStatus(a['new_status']).name}",
            )
        case "DatasetPublished":
            return (
                a["owner"],
                f"published dataset #{a['token_id']} {a['name']!r} ({a['domain']}, {a['size']} items, "
                f"sha256 {bytes(a['content_hash']).hex()[:16]}…) attested by {a['attester']}",
            )
        case "Listed":
            return a["seller"], f"listed dataset #{a['token_id']} as listing #{a['listing_id']} for {_eth(a['price'])}"
        case "ListingCancelled":
            return a["seller"], f"cancelled listing #{a['listing_id']}"
        case "OrderPaid":
            return (
                a["buyer"],
                f"paid {_eth(a['price'])} into escrow for listing #{a['listing_id']} (order #{a['order_id']})",
            )
        case "Delivered":
            return (
                a["seller"],
                f"delivered order #{a['order_id']} (ciphertext sha256 {bytes(a['delivery_hash']).hex()[:16]}…)",
            )
        case "Confirmed":
            how = "released after the confirmation deadline" if a["by_deadline"] else "confirmed"
            return (
                a["buyer"],
                f"{how} order #{a['order_id']}: dataset #{a['token_id']} transferred, seller owed "
                f"{_eth(a['seller_amount'])}, fee {_eth(a['fee'])}",
            )
        case "Refunded":
            return a["buyer"], f"refunded {_eth(a['amount'])} for undelivered order #{a['order_id']}"
        case "Withdrawn":
            return a["account"], f"withdrew {_eth(a['amount'])}"
        case "FeeChanged":
            return "platform", f"changed the fee {a['old_fee_bps']} → {a['new_fee_bps']} bps"
        case "Transfer":
            return a.get("sender", ""), f"data NFT #{a.get('token_id')} {a.get('sender')} → {a.get('receiver')}"
        case _:
            return "", f"{ev.name} {a}"


_HOUSEKEEPING = ("Transfer", "Approval", "ApprovalForAll", "RoleGranted", "OwnershipTransferred")


def audit_trail(contracts: Contracts, *, include_token_transfers: bool = False) -> list[AuditRecord]:
    """Every Datagora event since deployment as :class:`AuditRecord` rows, in chain order."""
    out = []
    for ev in contracts.events():
        if ev.name in _HOUSEKEEPING and not include_token_transfers:
            continue
        actor, detail = _describe(ev)
        out.append(AuditRecord(str(actor), ev.name, detail, ev.timestamp, ev.block_number, ev.tx_hash, ev.contract))
    return out
