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
        case "MembershipRequested":
            return a["account"], f"asked to join organisation #{a['organisation_id']}"
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
        case "Rated":
            return a["rater"], f"rated {a['ratee']} {a['score']}/5 for order #{a['order_id']}"
        case "FeeChanged":
            return "platform", f"changed the fee {a['old_fee_bps']} → {a['new_fee_bps']} bps"
        case "Transfer":
            return a.get("sender", ""), f"data NFT #{a.get('token_id')} {a.get('sender')} → {a.get('receiver')}"
        case _:
            return "", f"{ev.name} {a}"


_HOUSEKEEPING = (
    "Transfer",
    "Approval",
    "ApprovalForAll",
    "RoleGranted",
    "RoleRevoked",
    "RoleAdminChanged",
    "RoleMinterChanged",
    "OwnershipTransferred",
)


class _Subject:
    """Which events concern an organisation, a dataset and/or an account, learnt in one pass in chain order
    (members join before they act; listings precede their orders, orders their deliveries)."""

    def __init__(self, organisation_id: int | None, token_id: int | None, account: str | None) -> None:
        self.organisation_id = organisation_id
        self.token_id = token_id
        self.account = account.lower() if account else None
        self.members: set[str] = set()
        self.listings: set[int] = set()
        self.orders: set[int] = set()

    @staticmethod
    def _addresses(ev: ChainEvent) -> set[str]:
        return {v.lower() for v in ev.args.values() if isinstance(v, str) and len(v) == 42 and v.startswith("0x")}

    def matches(self, ev: ChainEvent) -> bool:
        a = ev.args
        if ev.name == "MemberJoined" and a["organisation_id"] == self.organisation_id:
            self.members.add(str(a["account"]).lower())
        elif ev.name == "Listed" and a["token_id"] == self.token_id:
            self.listings.add(int(a["listing_id"]))
        elif ev.name == "OrderPaid" and a["listing_id"] in self.listings:
            self.orders.add(int(a["order_id"]))
        addresses = self._addresses(ev)
        if self.organisation_id is not None and not (
            a.get("organisation_id") == self.organisation_id or addresses & self.members
        ):
            return False
        if self.token_id is not None and not (
            a.get("token_id") == self.token_id
            or a.get("listing_id") in self.listings
            or a.get("order_id") in self.orders
        ):
            return False
        return self.account is None or self.account in addresses


def audit_trail(
    contracts: Contracts,
    *,
    include_token_transfers: bool = False,
    organisation_id: int | None = None,
    token_id: int | None = None,
    account: str | None = None,
) -> list[AuditRecord]:
    """Every Datagora event since deployment as :class:`AuditRecord` rows, in chain order. Optional filters
    (combined with AND): ``organisation_id`` (events naming the organisation or one of its members),
    ``token_id`` (events of the dataset, its listings and their orders), ``account`` (events naming the
    address in any role: actor, buyer, seller, owner, data subject)."""
    filtered = organisation_id is not None or token_id is not None or account is not None
    subject = _Subject(organisation_id, token_id, account) if filtered else None
    out = []
    for ev in contracts.events():
        if subject is not None and not subject.matches(ev):
            continue
        if ev.name in _HOUSEKEEPING and not include_token_transfers:
            continue
        actor, detail = _describe(ev)
        out.append(AuditRecord(str(actor), ev.name, detail, ev.timestamp, ev.block_number, ev.tx_hash, ev.contract))
    return out
