"""Shop events in the audit trail: shop terms and bonds, carts paid, delivered and settled with the double-deposit
collateral (Shrestha et al.)."""

from __future__ import annotations

from typing import Any

from datagora.domain.models import Outcome
from datagora.services.audit.base import ContractTexts, Trail, eth, short_hash, when

SETTLED = {
    Outcome.CONFIRMED: "confirmed by the buyer",
    Outcome.RELEASED: "released after the buyer did not confirm",
    Outcome.NOT_DELIVERED: "refunded: not delivered in time",
}


def _key(order_hash: Any) -> str:
    return order_hash if isinstance(order_hash, str) else "0x" + bytes(order_hash).hex()


def _terms(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["seller"],
        f"set shop terms: collateral {a['collateral_bps']} bps of each order, {a['delivery_window']} s to deliver, "
        f"{a['confirm_window']} s to confirm",
    )


def _bond_in(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["seller"], f"added {eth(int(a['amount']))} to its shop bond (bond {eth(int(a['bond']))})"


def _bond_out(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["seller"], f"took {eth(int(a['amount']))} out of its shop bond (bond {eth(int(a['bond']))})"


def _paid(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["buyer"],
        f"paid cart {short_hash(a['order_hash'])} to {a['seller']}: {eth(int(a['amount']))} and a collateral of "
        f"{eth(int(a['collateral']))} from each side; delivery due by {when(int(a['deadline']))}",
    )


def _learn_paid(trail: Trail, a: dict[str, Any]) -> None:
    trail.shop_orders[_key(a["order_hash"])] = (str(a["buyer"]), str(a["seller"]))


def _delivered(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    _buyer, seller = trail.shop_orders.get(_key(a["order_hash"]), ("", ""))
    return (
        seller,
        f"delivered cart {short_hash(a['order_hash'])} (record {short_hash(a['delivery_hash'])}); confirmation due "
        f"by {when(int(a['confirm_deadline']))}",
    )


def _settled(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    buyer, _seller = trail.shop_orders.get(_key(a["order_hash"]), ("", ""))
    code = int(a["outcome"])
    how = SETTLED.get(Outcome(code), f"outcome {code}") if code in Outcome._value2member_map_ else f"outcome {code}"
    return (
        buyer,
        f"cart {short_hash(a['order_hash'])} settled, {how}: seller owed {eth(int(a['seller_credit']))}, buyer owed "
        f"{eth(int(a['buyer_credit']))}, {eth(int(a['bond_returned']))} back to the seller's bond",
    )


def _parties(trail: Trail, a: dict[str, Any]) -> set[str]:
    return set(trail.shop_orders.get(_key(a["order_hash"]), ()))


def _withdrawn(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"withdrew {eth(int(a['amount']))} from the shop"


TEXTS = ContractTexts(
    "Shop",
    describe={
        "ShopTermsSet": _terms,
        "BondDeposited": _bond_in,
        "BondWithdrawn": _bond_out,
        "OrderPaid": _paid,
        "OrderDelivered": _delivered,
        "Settled": _settled,
        "Withdrawn": _withdrawn,
    },
    learn={"OrderPaid": _learn_paid},
    parties={"OrderDelivered": _parties, "Settled": _parties},
)
