"""Indexes every Datagora contract event into SQL and keeps projections (datasets, listings, orders, offers,
bids) for search and audit without on-chain scans.

- Waits for ``confirmations`` blocks before indexing a block.
- Resumes from its cursor (last indexed block and its hash) after a restart.
- Survives chain reorganisations: before each sync it checks the stored hash of the cursor block; on a mismatch
  it walks back through the stored block hashes to the newest block still on the canonical chain, deletes every
  row above it and rebuilds the projections from the remaining events, then indexes forward again.
- Each batch is one SQL transaction: a crash never leaves half a batch.
- :meth:`EventIndexer.verify` re-reads every indexed row from the chain and reports differences.
- Projections are a function of the stored events: when the projection code changes
  (:data:`PROJECTION_VERSION`), opening the index rebuilds them from the ``events`` table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from datagora.chain.contracts import Contracts
from datagora.domain.models import ChainEvent, OfferState, Outcome, Pricing, SaleKind
from datagora.index.schema import PROJECTIONS, bids, blocks, datasets, events, listings, meta, offers, orders

PROJECTION_VERSION = "2"
"""Bumped whenever :meth:`EventIndexer._project` changes what it derives from events."""


def jsonable(value: Any) -> Any:
    """Event argument values as JSON: bytes → 0x-hex, tuples → lists."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def args_json(args: dict[str, Any]) -> str:
    return json.dumps(jsonable(args), sort_keys=True)


@dataclass
class SyncReport:
    """What one :meth:`EventIndexer.sync` did: blocks ``from_block``..``to_block`` indexed, ``events`` added,
    ``reorg_depth`` blocks rolled back (0 when none)."""

    from_block: int
    to_block: int
    events: int = 0
    reorg_depth: int = 0
    reorged_from: int | None = None


@dataclass
class Difference:
    """A row that differs from the chain: ``kind`` is ``missing-on-chain``, ``args`` or ``block-hash``."""

    event_id: int
    tx_hash: str
    log_index: int
    kind: str
    detail: str = ""


@dataclass
class VerifyReport:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def term(value: SaleKind | Pricing | Outcome | OfferState) -> str:
    """An enum member as stored in the projections: ``USE_RIGHT`` → ``"use-right"``."""
    return value.name.lower().replace("_", "-")


_SELLER_WINS = (Outcome.CONFIRMED, Outcome.RELEASED, Outcome.FOR_SELLER, Outcome.REDELIVERED)
_BUYER_WINS = (Outcome.NOT_DELIVERED, Outcome.FOR_BUYER, Outcome.DISPUTE_TIMEOUT)
_TRADE_EVENTS = frozenset(
    {
        "AuctionOpened",
        "UseRightTerms",
        "ListingCancelled",
        "OfferMade",
        "OfferCountered",
        "OfferAccepted",
        "OfferClosed",
        "BidPlaced",
        "AuctionSettled",
        "OrderPaid",
        "Delivered",
        "QueryAnswered",
        "Disputed",
        "Settled",
    }
)


class EventIndexer:
    """Index the events of one deployment into ``engine``. ``batch`` blocks per ``eth_getLogs`` request."""

    def __init__(self, contracts: Contracts, engine: Engine, *, confirmations: int = 0, batch: int = 2_000) -> None:
        self.contracts = contracts
        self.chain = contracts.chain
        self.engine = engine
        self.confirmations = confirmations
        self.batch = batch
        self._check_deployment()

    # -- cursor ------------------------------------------------------------------------------------------

    def _get(self, conn: Connection, key: str) -> str | None:
        row = conn.execute(select(meta.c.value).where(meta.c.key == key)).first()
        return None if row is None else str(row[0])

    def _set(self, conn: Connection, key: str, value: str) -> None:
        if conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(insert(meta).values(key=key, value=value))

    def _check_deployment(self) -> None:
        identity = json.dumps({"chain_id": self.chain.chain_id, **self.contracts.addresses}, sort_keys=True)
        with self.engine.begin() as conn:
            stored = self._get(conn, "deployment")
            if stored is None:
                self._set(conn, "deployment", identity)
            elif stored != identity:
                raise ValueError("this index belongs to another chain or deployment: use a new database")
            if self._get(conn, "projections") != PROJECTION_VERSION:
                self._rebuild_projections(conn)
                self._set(conn, "projections", PROJECTION_VERSION)

    def cursor(self) -> tuple[int, str] | None:
        """(last indexed block, its hash), or None before the first sync."""
        with self.engine.connect() as conn:
            number, block_hash = self._get(conn, "cursor_block"), self._get(conn, "cursor_hash")
        if number is None or block_hash is None:
            return None
        return int(number), block_hash

    # -- sync --------------------------------------------------------------------------------------------

    def sync(self, max_blocks: int | None = None) -> SyncReport:
        """Index confirmed blocks after the cursor (up to ``max_blocks`` of them). Handles a reorg first."""
        depth, reorged_from = self._handle_reorg()
        cur = self.cursor()
        start = self.contracts.deployment.block if cur is None else cur[0] + 1
        head = self.chain.block_number() - self.confirmations
        if max_blocks is not None:
            head = min(head, start + max_blocks - 1)
        report = SyncReport(start, head, reorg_depth=depth, reorged_from=reorged_from)
        lo = start
        while lo <= head:
            hi = min(lo + self.batch - 1, head)
            evs = self.contracts.events(from_block=lo, to_block=hi)
            hi_hash = self.chain.block_hash(hi)
            if hi_hash is None:  # the chain shrank under us; the next sync's reorg check handles it
                break
            with self.engine.begin() as conn:
                self._store(conn, evs)
                self._remember_block(conn, hi, hi_hash)
                self._set(conn, "cursor_block", str(hi))
                self._set(conn, "cursor_hash", hi_hash)
            report.events += len(evs)
            lo = hi + 1
        return report

    def _remember_block(self, conn: Connection, number: int, block_hash: str) -> None:
        conn.execute(delete(blocks).where(blocks.c.number == number))
        conn.execute(insert(blocks).values(number=number, hash=block_hash))

    def _store(self, conn: Connection, evs: Iterable[ChainEvent]) -> None:
        evs = list(evs)
        if not evs:
            return
        conn.execute(
            insert(events),
            [
                {
                    "block_number": ev.block_number,
                    "block_hash": ev.block_hash,
                    "tx_hash": ev.tx_hash,
                    "log_index": ev.log_index,
                    "timestamp": ev.timestamp,
                    "contract": ev.contract,
                    "name": ev.name,
                    "args": args_json(ev.args),
                }
                for ev in evs
            ],
        )
        seen = {ev.block_number: ev.block_hash for ev in evs}
        conn.execute(delete(blocks).where(blocks.c.number.in_(list(seen))))
        conn.execute(insert(blocks), [{"number": n, "hash": h} for n, h in seen.items()])
        for ev in evs:
            self._project(conn, ev.name, jsonable(ev.args), ev.block_number, ev.tx_hash, ev.log_index)

    # -- reorgs ------------------------------------------------------------------------------------------

    def _handle_reorg(self) -> tuple[int, int | None]:
        cur = self.cursor()
        if cur is None or self.chain.block_hash(cur[0]) == cur[1]:
            return 0, None
        with self.engine.connect() as conn:
            stored = conn.execute(select(blocks.c.number, blocks.c.hash).order_by(blocks.c.number.desc())).all()
        ancestor = self.contracts.deployment.block - 1
        for number, block_hash in stored:
            if self.chain.block_hash(int(number)) == block_hash:
                ancestor = int(number)
                break
        with self.engine.begin() as conn:
            conn.execute(delete(events).where(events.c.block_number > ancestor))
            conn.execute(delete(blocks).where(blocks.c.number > ancestor))
            self._rebuild_projections(conn)
            self._set(conn, "cursor_block", str(ancestor))
            self._set(conn, "cursor_hash", self.chain.block_hash(ancestor) or "")
        return cur[0] - ancestor, ancestor + 1

    def _rebuild_projections(self, conn: Connection) -> None:
        if conn.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO datasets_fts(datasets_fts) VALUES('delete-all')"))
        for table in PROJECTIONS:
            conn.execute(delete(table))
        rows = conn.execute(
            select(events.c.name, events.c.args, events.c.block_number, events.c.tx_hash, events.c.log_index).order_by(
                events.c.block_number, events.c.log_index
            )
        )
        for name, args, block_number, tx_hash, log_index in rows.all():
            self._project(conn, name, json.loads(args), int(block_number), tx_hash, int(log_index))

    # -- projections ------------------------------------------------------------------------------------

    def _project(
        self, conn: Connection, name: str, a: dict[str, Any], block_number: int, tx_hash: str, log_index: int
    ) -> None:
        """Apply one event to the projections (``a``: its arguments as JSON, see :func:`jsonable`)."""
        if name == "DatasetPublished":
            row = {
                "token_id": int(a["token_id"]),
                "owner": a["owner"],
                "publisher": a["owner"],
                "name": a["name"],
                "domain": a["domain"],
                "attributes": a["attributes"],
                "size": int(a["size"]),
                "content_hash": bytes.fromhex(a["content_hash"][2:]),
                "dcat_hash": bytes.fromhex(a["dcat_hash"][2:]),
                "published_block": block_number,
                "published_tx": tx_hash,
            }
            conn.execute(insert(datasets).values(**row))
            if conn.dialect.name == "sqlite":
                conn.execute(
                    text("INSERT INTO datasets_fts(rowid, name, domain, attributes) VALUES (:id, :n, :d, :a)"),
                    {"id": row["token_id"], "n": row["name"], "d": row["domain"], "a": row["attributes"]},
                )
        elif name == "Transfer" and a.get("sender") != "0x" + "0" * 40:
            market = self.contracts.addresses["Market"].lower()
            receiver = str(a["receiver"])
            if receiver.lower() != market:  # custody by the market is not ownership
                conn.execute(update(datasets).where(datasets.c.token_id == int(a["token_id"])).values(owner=receiver))
        elif name == "Listed":
            self._project_listed(conn, a)
        elif name in _TRADE_EVENTS:
            self._project_trade(conn, name, a, (block_number, log_index, tx_hash))

    def _project_listed(self, conn: Connection, a: dict[str, Any]) -> None:
        price, token = int(a["price"]), str(a["payment_token"])
        kind, pricing = term(SaleKind(int(a["kind"]))), term(Pricing(int(a["pricing"])))
        conn.execute(
            insert(listings).values(
                listing_id=int(a["listing_id"]),
                token_id=int(a["token_id"]),
                seller=a["seller"],
                price=str(price),
                state="active",
                kind=kind,
                pricing=pricing,
                collateral=str(int(a["collateral"])),
                payment_token=token,
            )
        )
        conn.execute(
            update(datasets)
            .where(datasets.c.token_id == int(a["token_id"]))
            .values(
                listing_id=int(a["listing_id"]),
                price=str(price),
                # price filters compare ether prices only (an ERC-20's unit is another currency)
                price_eth=price // 10**9 if int(token, 16) == 0 else None,
                sale_kind=kind,
                pricing=pricing,
                payment_token=token,
            )
        )

    def _project_trade(self, conn: Connection, name: str, a: dict[str, Any], where: tuple[int, int, str]) -> None:
        def set_listing(listing_id: int, **values: Any) -> None:
            conn.execute(update(listings).where(listings.c.listing_id == listing_id).values(**values))

        def set_order(order_id: int, **values: Any) -> None:
            conn.execute(update(orders).where(orders.c.order_id == order_id).values(**values))

        def set_offer(offer_id: int, **values: Any) -> None:
            conn.execute(update(offers).where(offers.c.offer_id == offer_id).values(**values))

        def unlist(listing_id: int) -> None:
            # the dataset is no longer on offer under this listing
            conn.execute(
                update(datasets)
                .where(datasets.c.listing_id == listing_id)
                .values(listing_id=None, price=None, price_eth=None, sale_kind=None, pricing=None, payment_token=None)
            )

        def close_listing(listing_id: int, state: str) -> None:
            set_listing(listing_id, state=state)
            unlist(listing_id)

        if name == "AuctionOpened":
            set_listing(
                int(a["listing_id"]), auction_end=int(a["end_time"]), min_increment=str(int(a["min_increment"]))
            )
        elif name == "UseRightTerms":
            set_listing(int(a["listing_id"]), max_queries=int(a["max_queries"]), policy_hash=a["policy_hash"])
        elif name == "ListingCancelled":
            close_listing(int(a["listing_id"]), "cancelled")
        elif name == "OfferMade":
            conn.execute(
                insert(offers).values(
                    offer_id=int(a["offer_id"]),
                    listing_id=int(a["listing_id"]),
                    buyer=a["buyer"],
                    amount=str(int(a["amount"])),
                    expiry=int(a["expiry"]),
                    state=term(OfferState.OPEN),
                )
            )
        elif name == "OfferCountered":
            set_offer(int(a["offer_id"]), counter=str(int(a["counter"])), state=term(OfferState.COUNTERED))
        elif name == "OfferAccepted":
            set_offer(int(a["offer_id"]), state=term(OfferState.ACCEPTED), order_id=int(a["order_id"]))
        elif name == "OfferClosed":
            set_offer(int(a["offer_id"]), state=term(OfferState.REJECTED if a["rejected"] else OfferState.WITHDRAWN))
        elif name == "BidPlaced":
            conn.execute(
                insert(bids).values(
                    block_number=where[0],
                    log_index=where[1],
                    listing_id=int(a["listing_id"]),
                    bidder=a["bidder"],
                    amount=str(int(a["amount"])),
                    tx_hash=where[2],
                )
            )
            set_listing(int(a["listing_id"]), highest_bid=str(int(a["amount"])), highest_bidder=a["bidder"])
        elif name == "AuctionSettled":
            if int(a["winner"], 16) == 0:  # no bid: the NFT and the collateral went back to the seller
                close_listing(int(a["listing_id"]), "closed")
        elif name == "OrderPaid":
            amount, queries = int(a["amount"]), int(a["queries"])
            conn.execute(
                insert(orders).values(
                    order_id=int(a["order_id"]),
                    listing_id=int(a["listing_id"]),
                    buyer=a["buyer"],
                    price=str(amount),
                    state="paid",
                    amount=str(amount),
                    collateral=str(int(a["collateral"])),
                    fee_bps=int(a["fee_bps"]),
                    queries_total=queries,
                    queries_left=queries,
                    deadline=int(a["deadline"]),
                )
            )
            if queries == 0:  # an ownership sale is pending; a use-right listing keeps selling
                close_listing(int(a["listing_id"]), "pending")
        elif name == "Delivered":
            set_order(
                int(a["order_id"]),
                state="delivered",
                delivery_hash=a["delivery_hash"],
                deadline=int(a["confirm_deadline"]),
            )
        elif name == "QueryAnswered":
            order_id = int(a["order_id"])
            row = conn.execute(
                select(orders.c.amount, orders.c.queries_left).where(orders.c.order_id == order_id)
            ).one()
            spent = int(a["seller_amount"]) + int(a["fee"])
            set_order(order_id, amount=str(int(row.amount) - spent), queries_left=int(row.queries_left) - 1)
        elif name == "Disputed":
            set_order(int(a["order_id"]), state="disputed", deadline=int(a["resolve_deadline"]))
        elif name == "Settled":
            self._project_settled(conn, a, close_listing)

    @staticmethod
    def _project_settled(conn: Connection, a: dict[str, Any], close_listing: Callable[[int, str], None]) -> None:
        order_id, outcome = int(a["order_id"]), Outcome(int(a["outcome"]))
        values: dict[str, Any] = {
            "outcome": term(outcome),
            "seller_credit": str(int(a["seller_credit"])),
            "buyer_credit": str(int(a["buyer_credit"])),
            "fee": str(int(a["fee"])),
        }
        if outcome in _SELLER_WINS:
            values["state"] = "completed"
            close_listing(int(a["listing_id"]), "sold")
        elif outcome in _BUYER_WINS:
            values["state"] = "refunded"
            close_listing(int(a["listing_id"]), "closed")
        else:  # use-right expired: the unused credit went back; the listing sells on
            row = conn.execute(
                select(orders.c.queries_left, orders.c.queries_total).where(orders.c.order_id == order_id)
            ).one()
            values["state"] = "refunded" if row.queries_left == row.queries_total else "completed"
            values["amount"] = "0"
        conn.execute(update(orders).where(orders.c.order_id == order_id).values(**values))

    # -- verification ------------------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Re-read every indexed event from its transaction receipt and compare position, block hash and
        arguments. Rows whose transaction or log no longer exists on chain are reported as missing."""
        report = VerifyReport()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    events.c.id, events.c.tx_hash, events.c.log_index, events.c.block_hash, events.c.name, events.c.args
                )
            ).all()
        receipts: dict[str, list[ChainEvent] | None] = {}
        for event_id, tx_hash, log_index, block_hash, name, args in rows:
            report.checked += 1
            if tx_hash not in receipts:
                receipts[tx_hash] = self.contracts.events_of_tx(tx_hash)
            on_chain = receipts[tx_hash]
            match = None if on_chain is None else next((e for e in on_chain if e.log_index == log_index), None)
            if match is None:
                report.differences.append(Difference(event_id, tx_hash, log_index, "missing-on-chain"))
            elif match.block_hash != block_hash:
                report.differences.append(
                    Difference(event_id, tx_hash, log_index, "block-hash", f"{block_hash} != {match.block_hash}")
                )
            elif match.name != name or args_json(match.args) != args:
                report.differences.append(Difference(event_id, tx_hash, log_index, "args", f"{name} {args}"))
        return report

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
