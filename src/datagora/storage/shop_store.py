"""A shop node's own state on disk (one SQLite file, ``ParticipantHome.shop``): each customer's open cart, the
quotes the shop signed at checkout (what each order hash stands for: the lines, prices and discount), and the
stock sold. It survives a restart of the node. Rows only: pricing, signing and the chain are
``datagora.services.shop``'s job.

Customers are keyed by their address in lower case; order hashes by their 0x-hex form in lower case; amounts are
wei as decimal text (they exceed 64-bit integers).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from datagora.storage.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS carts (
    customer TEXT PRIMARY KEY,
    cart_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cart_lines (
    customer TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (customer, sku)
);
CREATE TABLE IF NOT EXISTS quotes (
    order_hash TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    cart_id TEXT NOT NULL,
    lines TEXT NOT NULL,
    amount TEXT NOT NULL,
    discount TEXT NOT NULL,
    collateral TEXT NOT NULL,
    expiry INTEGER NOT NULL,
    signature TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    paid INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS quotes_by_cart ON quotes (customer, cart_id);
CREATE TABLE IF NOT EXISTS sold (
    sku TEXT PRIMARY KEY,
    quantity INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class StoredQuote:
    """A quote as kept: ``lines`` as ``[(sku, name, quantity, unit price in wei), …]``, amounts in wei,
    ``expiry`` and ``created_at`` in Unix seconds, the seller's 65-byte ``signature`` as 0x-hex."""

    order_hash: str
    customer: str
    cart_id: str
    lines: tuple[tuple[str, str, int, int], ...]
    amount: int
    discount: int
    collateral: int
    expiry: int
    signature: str
    created_at: int
    paid: bool


class ShopStore(SqliteFile):
    """The shop's SQLite file at ``db_path`` (created with its tables when missing). Each call opens its own
    connection and commits before returning; thread-safe within one process."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path, _SCHEMA)

    # -- carts ------------------------------------------------------------------------------------------------

    def cart_id(self, customer: str, now: int) -> str:
        """The id of ``customer``'s open cart (a new one is opened when there is none): 32 hex digits."""
        key = customer.lower()
        with self._db() as db:
            row = db.execute("SELECT cart_id FROM carts WHERE customer = ?", (key,)).fetchone()
            if row is not None:
                return str(row[0])
            cart_id = secrets.token_hex(16)
            db.execute("INSERT INTO carts (customer, cart_id, updated_at) VALUES (?, ?, ?)", (key, cart_id, now))
            return cart_id

    def lines(self, customer: str) -> list[tuple[str, int]]:
        """``[(sku, quantity), …]`` of the open cart, in the order they were first added."""
        with self._db() as db:
            rows = db.execute(
                "SELECT sku, quantity FROM cart_lines WHERE customer = ? ORDER BY added_at, sku", (customer.lower(),)
            ).fetchall()
        return [(str(sku), int(quantity)) for sku, quantity in rows]

    def set_quantity(self, customer: str, sku: str, quantity: int, now: int) -> None:
        """Put ``quantity`` of ``sku`` in the cart (0 removes the line)."""
        key = customer.lower()
        with self._db() as db:
            if quantity <= 0:
                db.execute("DELETE FROM cart_lines WHERE customer = ? AND sku = ?", (key, sku))
            else:
                db.execute(
                    "INSERT INTO cart_lines (customer, sku, quantity, added_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (customer, sku) DO UPDATE SET quantity = excluded.quantity",
                    (key, sku, quantity, now),
                )
            db.execute("UPDATE carts SET updated_at = ? WHERE customer = ?", (now, key))

    def close_cart(self, customer: str, cart_id: str) -> bool:
        """End the cart ``cart_id`` of ``customer`` (it was paid): its lines go, the next read opens a new cart.
        False when that cart was already closed."""
        key = customer.lower()
        with self._db() as db:
            gone = db.execute("DELETE FROM carts WHERE customer = ? AND cart_id = ?", (key, cart_id)).rowcount
            if gone:
                db.execute("DELETE FROM cart_lines WHERE customer = ?", (key,))
            return bool(gone)

    # -- quotes -----------------------------------------------------------------------------------------------

    def put_quote(self, quote: StoredQuote) -> None:
        """Keep (or refresh: a new expiry and signature for the same cart) a quote."""
        with self._db() as db:
            db.execute(
                "INSERT INTO quotes (order_hash, customer, cart_id, lines, amount, discount, collateral, expiry, "
                "signature, created_at, paid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) "
                "ON CONFLICT (order_hash) DO UPDATE SET expiry = excluded.expiry, signature = excluded.signature, "
                "collateral = excluded.collateral",
                (
                    quote.order_hash.lower(),
                    quote.customer.lower(),
                    quote.cart_id,
                    json.dumps([list(line) for line in quote.lines]),
                    str(quote.amount),
                    str(quote.discount),
                    str(quote.collateral),
                    quote.expiry,
                    quote.signature,
                    quote.created_at,
                ),
            )

    def quote(self, order_hash: str) -> StoredQuote | None:
        with self._db() as db:
            row = db.execute(
                f"SELECT {_QUOTE_COLUMNS} FROM quotes WHERE order_hash = ?", (order_hash.lower(),)
            ).fetchone()
        return None if row is None else _quote(row)

    def quotes_of_cart(self, customer: str, cart_id: str) -> list[StoredQuote]:
        """The quotes signed for one cart (each version of its content has its own order hash)."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_QUOTE_COLUMNS} FROM quotes WHERE customer = ? AND cart_id = ? ORDER BY created_at",
                (customer.lower(), cart_id),
            ).fetchall()
        return [_quote(r) for r in rows]

    def mark_paid(self, order_hash: str) -> StoredQuote | None:
        """Note that the quote's order was paid and count its lines as sold (once). Returns the quote when this
        call marked it, None when it was already marked or is unknown."""
        key = order_hash.lower()
        with self._db() as db:
            row = db.execute(f"SELECT {_QUOTE_COLUMNS} FROM quotes WHERE order_hash = ?", (key,)).fetchone()
            if row is None or row[-1]:
                return None
            quote = _quote(row)
            db.execute("UPDATE quotes SET paid = 1 WHERE order_hash = ?", (key,))
            for sku, _name, quantity, _price in quote.lines:
                db.execute(
                    "INSERT INTO sold (sku, quantity) VALUES (?, ?) "
                    "ON CONFLICT (sku) DO UPDATE SET quantity = quantity + excluded.quantity",
                    (sku, quantity),
                )
        return quote

    def sold(self) -> dict[str, int]:
        """Units sold per SKU (paid orders)."""
        with self._db() as db:
            return {str(sku): int(q) for sku, q in db.execute("SELECT sku, quantity FROM sold")}


_QUOTE_COLUMNS = (
    "order_hash, customer, cart_id, lines, amount, discount, collateral, expiry, signature, created_at, paid"
)


def _quote(row: tuple[object, ...]) -> StoredQuote:
    (order_hash, customer, cart_id, lines, amount, discount, collateral, expiry, signature, created_at, paid) = row
    parsed = tuple((str(s), str(n), int(q), int(p)) for s, n, q, p in json.loads(str(lines)))
    return StoredQuote(
        str(order_hash),
        str(customer),
        str(cart_id),
        parsed,
        int(str(amount)),
        int(str(discount)),
        int(str(collateral)),
        int(str(expiry)),
        str(signature),
        int(str(created_at)),
        bool(paid),
    )
