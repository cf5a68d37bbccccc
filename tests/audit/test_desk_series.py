"""The supervisor desk's pure parts: the trade series from events (one currency, both sale contracts, empty
periods filled, weeks from Monday) and the CSV export that a spreadsheet cannot run as formulas."""

from __future__ import annotations

import csv
import io

from datagora.domain.models import ChainEvent
from datagora.services.audit import AuditRecord
from datagora.services.supervisor_desk import to_csv, trade_series

DAY = 86_400


def test_series_counts_one_currency_and_skips_other_contracts() -> None:
    token = "0x" + "ab" * 20
    day0 = 1_700_006_400  # a Wednesday 00:00 UTC

    def ev(contract: str, name: str, ts: int, **args: object) -> ChainEvent:
        return ChainEvent(contract, name, dict(args), 1, "0x", 0, ts, "0x")

    evs = [
        ev("Market", "Listed", day0, listing_id=1, payment_token="0x" + "0" * 40),
        ev("Market", "Listed", day0, listing_id=2, payment_token=token),
        ev("UseRights", "Listed", day0, listing_id=1, payment_token=token),
        ev("Market", "OrderPaid", day0 + 10, order_id=1, listing_id=1, amount=5),
        ev("Market", "OrderPaid", day0 + 20, order_id=2, listing_id=2, amount=7),
        ev("UseRights", "OrderPaid", day0 + 8 * DAY, order_id=3, listing_id=1, amount=11),
        ev("Catalog", "OrderPaid", day0, order_id=9, listing_id=1, amount=1000),
    ]
    in_ether = trade_series(evs)
    assert [(p.start, p.trades, p.volume) for p in in_ether] == [(day0, 1, 5)]
    in_token = trade_series(evs, "week", payment_token=token)
    assert [(p.trades, p.volume) for p in in_token] == [(1, 7), (1, 11)]
    assert in_token[0].start == day0 - 2 * DAY  # the Monday
    assert trade_series(evs, payment_token=token, since=day0 + DAY)[0].volume == 11


def test_csv_export_defuses_formulas() -> None:
    rec = AuditRecord("=HYPERLINK(1)", "Listed", "+1 ETH", 5, 1, "0xab", "Market", 0)
    rows = list(csv.reader(io.StringIO(to_csv([rec]))))
    assert rows[0] == ["block_number", "timestamp", "tx_hash", "contract", "action", "actor", "detail"]
    assert rows[1] == ["1", "5", "0xab", "Market", "Listed", "'=HYPERLINK(1)", "'+1 ETH"]


def test_open_orders_carry_their_latest_deadline() -> None:
    from datagora.services.platform_desk import _open_orders

    def ev(contract: str, name: str, **args: object) -> ChainEvent:
        return ChainEvent(contract, name, dict(args), 1, "0x", 0, 0, "0x")

    evs = [
        ev("Market", "OrderPaid", order_id=1, deadline=100),
        ev("Market", "OrderPaid", order_id=2, deadline=110),
        ev("Market", "Delivered", order_id=1, confirm_deadline=200),
        ev("Market", "Disputed", order_id=1, resolve_deadline=300),
        ev("Market", "Settled", order_id=2),
        ev("UseRights", "OrderPaid", order_id=1_000_000_001, deadline=400),
        ev("Market", "Delivered", order_id=7, confirm_deadline=500),  # paid before the index began: not known
        ev("Catalog", "OrderPaid", order_id=9, deadline=1),
    ]
    assert _open_orders(evs) == {1: 300, 1_000_000_001: 400}
