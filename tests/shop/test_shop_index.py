"""Revision 0004 of the event index: an index at revision 0003 gains the ``shop_orders`` table (the shop's
order history) and loses it again on downgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import create_engine, inspect

from datagora.index import open_engine
from tests.index.test_search import _alembic


def test_revision_0004_adds_and_drops_shop_orders(db_factory: Callable[[], str]) -> None:
    url = db_factory()
    old = create_engine(url)
    _alembic(old, "upgrade", "0003")
    assert "shop_orders" not in inspect(old).get_table_names()
    engine = open_engine(url)
    columns = {c["name"] for c in inspect(engine).get_columns("shop_orders")}
    assert {"order_hash", "buyer", "seller", "amount", "collateral", "state", "deadline", "outcome"} <= columns
    _alembic(engine, "downgrade", "0003")
    assert "shop_orders" not in inspect(engine).get_table_names()
    _alembic(engine, "upgrade", "head")
    assert "shop_orders" in inspect(engine).get_table_names()
