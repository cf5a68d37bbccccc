"""The projector's batch forms give the same tables as the per-event handlers applied one by one in chain order,
on both databases: for chain-like runs that mix datasets published, moved between accounts, listed, bought,
delivered, cancelled and retired with consents, accesses and stream items (a hypothesis search over such runs on
SQLite, one long run on each backend), and they really batch (a handful of handler calls for a page)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from datagora.index import open_engine
from datagora.index.projections import StoredEvent
from datagora.index.projector import project
from datagora.index.schema import PROJECTION_TABLES, datasets

MARKET = "0x" + "9" * 40
ZERO = "0x" + "0" * 40
SET = frozenset({MARKET})


def account(i: int) -> str:
    return f"0x{i + 1:040x}"


class ChainRun:
    """A valid run of events as the contracts would emit them, drawn from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out: list[StoredEvent] = []
        self.owner: dict[int, str] = {}  # live datasets
        self.listing_of: dict[int, int] = {}  # token -> active listing
        self.listings: dict[int, tuple[int, bool]] = {}  # active listing -> (token, use-right)
        self.paid: list[int] = []  # orders awaiting delivery
        self.consents: list[int] = []
        self.streams: list[int] = []
        self.items: list[int] = []
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def emit(self, contract: str, event: str, /, **args: Any) -> None:
        k = len(self.out)
        block = 100 + k // 7
        self.out.append(
            StoredEvent(contract, event, args, block, f"0x{k // 2:064x}", k % 7, SET, 1_760_000_000 + 12 * block)
        )

    def step(self) -> None:
        rng = self.rng
        free = [t for t in self.owner if t not in self.listing_of]
        choice = rng.choice(
            ["publish", "transfer", "list", "buy", "deliver", "cancel", "retire", "consent", "access", "stream"]
        )
        if choice == "publish" or not self.owner:
            t, who = self._id(), account(rng.randrange(4))
            self.emit("Catalog", "Transfer", sender=ZERO, receiver=who, token_id=t)
            self.emit(
                "Catalog",
                "DatasetPublished",
                token_id=t,
                owner=who,
                name=f"dataset {t}",
                domain=rng.choice(["health", "finance"]),
                attributes="a,b",
                size=10 * t,
                content_hash=f"0x{t:064x}",
                dcat_hash="0x" + "11" * 32,
            )
            self.owner[t] = who
        elif choice == "transfer" and free:
            t = rng.choice(free)
            new = account(rng.randrange(4))
            self.emit("Catalog", "Transfer", sender=self.owner[t], receiver=new, token_id=t)
            self.owner[t] = new
        elif choice == "list" and free:
            t, lid, use_right = rng.choice(free), self._id(), rng.random() < 0.3
            self.emit(
                "Market",
                "Listed",
                listing_id=lid,
                token_id=t,
                seller=self.owner[t],
                price=10**15 * rng.randrange(1, 50),
                kind=2 if use_right else 1,
                pricing=1,
                collateral=10**14,
                payment_token=ZERO if rng.random() < 0.8 else account(9),
            )
            if not use_right:
                self.emit("Catalog", "Transfer", sender=self.owner[t], receiver=MARKET, token_id=t)
            self.listing_of[t], self.listings[lid] = lid, (t, use_right)
        elif choice == "buy" and self.listings:
            lid = rng.choice(list(self.listings))
            t, use_right = self.listings[lid]
            oid = self._id()
            self.emit(
                "Market",
                "OrderPaid",
                order_id=oid,
                listing_id=lid,
                buyer=account(5 + rng.randrange(3)),
                amount=10**15,
                collateral=10**14,
                fee_bps=250,
                queries=3 if use_right else 0,
                deadline=1_770_000_000 + oid,
            )
            self.paid.append(oid)
            if not use_right:  # sold: the listing is pending, the dataset off the market
                del self.listings[lid], self.listing_of[t]
        elif choice == "deliver" and self.paid:
            oid = self.paid.pop(rng.randrange(len(self.paid)))
            self.emit("Market", "Delivered", order_id=oid, delivery_hash=f"0x{oid:064x}", confirm_deadline=oid)
        elif choice == "cancel" and self.listings:
            lid = rng.choice(list(self.listings))
            t, use_right = self.listings.pop(lid)
            del self.listing_of[t]
            if not use_right:
                self.emit("Catalog", "Transfer", sender=MARKET, receiver=self.owner[t], token_id=t)
            self.emit("Market", "ListingCancelled", listing_id=lid)
        elif choice == "retire" and free and rng.random() < 0.15:
            t = rng.choice(free)
            self.emit("Catalog", "Retired", token_id=t)
            del self.owner[t]
        elif choice == "consent" or not self.consents:
            cid = self._id()
            self.emit(
                "Consent",
                "ConsentGranted",
                consent_id=cid,
                subject=account(rng.randrange(6)),
                organisation_id=1 + rng.randrange(3),
                category="purchases",
                purpose="https://w3id.org/dpv#Marketing",
                purpose_hash="0x" + "22" * 32,
                expiry=1_800_000_000,
                reward=5,
            )
            self.consents.append(cid)
            if rng.random() < 0.2:
                self.emit("Consent", "ConsentRevoked", consent_id=rng.choice(self.consents))
        elif choice == "access":
            # A refusal reason is one AccessRefusal flag (a power of two).
            name = "AccessRecorded" if rng.random() < 0.8 else "AccessRefused"
            detail = {"reward": 5} if name == "AccessRecorded" else {"reason": 1 << rng.randrange(3)}
            self.emit(
                "Consent",
                name,
                consent_id=rng.choice(self.consents),
                consumer=account(7),
                subject=account(1),
                item_id=rng.randrange(100),
                purpose_hash="0x" + "22" * 32,
                **detail,
            )
        elif choice == "stream":
            if not self.streams or rng.random() < 0.2:
                sid = self._id()
                self.emit("Streams", "StreamCreated", stream_id=sid, owner=account(2), name=f"stream {sid}")
                self.streams.append(sid)
            iid = self._id()
            self.emit(
                "Streams",
                "ItemPublished",
                item_id=iid,
                stream_id=rng.choice(self.streams),
                key=f"customer-{rng.randrange(5)}",
                publisher=account(2),
                item_hash=f"0x{iid:064x}",
                location=f"ipfs://item-{iid}",
            )
            self.items.append(iid)
            if rng.random() < 0.2:
                self.emit("Streams", "ItemErased", item_id=self.items.pop(0))


def chain_run(seed: int, steps: int) -> list[StoredEvent]:
    run = ChainRun(random.Random(seed))
    for _ in range(steps):
        run.step()
    return run.out


def tables(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in PROJECTION_TABLES}


def applied(engine: Engine, evs: list[StoredEvent], *, batch: bool) -> tuple[dict[str, list[tuple[Any, ...]]], int]:
    """The projection tables after applying ``evs`` (rolled back afterwards) and the number of handler calls."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            calls = project(conn, evs, batch=batch)
            return tables(conn), calls
        finally:
            trans.rollback()


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('projector') / 'index.db'}")
    yield engine
    engine.dispose()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 120))
def test_batched_projections_equal_one_event_at_a_time(sqlite_engine: Engine, seed: int, steps: int) -> None:
    evs = chain_run(seed, steps)
    assert applied(sqlite_engine, evs, batch=True)[0] == applied(sqlite_engine, evs, batch=False)[0]


@pytest.fixture(scope="module")
def postgres_engine(postgres_server: Any) -> Iterator[Engine]:
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute("CREATE DATABASE projector_hypothesis")
    engine = open_engine(postgres_server.url.rsplit("/", 1)[0] + "/projector_hypothesis")
    yield engine
    engine.dispose()


@pytest.mark.postgres
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 120))
def test_batched_projections_equal_one_event_at_a_time_on_postgresql(
    postgres_engine: Engine, seed: int, steps: int
) -> None:
    """PostgreSQL runs a batch of row updates as one statement over arrays (the last row per key): the same
    tables as one statement per event."""
    evs = chain_run(seed, steps)
    assert applied(postgres_engine, evs, batch=True)[0] == applied(postgres_engine, evs, batch=False)[0]


def test_a_long_run_is_equal_and_batched_on_both_databases(db_factory: Callable[[], str]) -> None:
    engine = open_engine(db_factory())
    evs = chain_run(7, 600)
    batched, calls = applied(engine, evs, batch=True)
    reference, single_calls = applied(engine, evs, batch=False)
    engine.dispose()
    assert batched == reference
    assert sum(map(len, batched.values())) > 300  # the run derives rows in every table it touches
    assert {name for name, rows in batched.items() if rows} >= {
        "datasets",
        "listings",
        "orders",
        "consents",
        "consent_accesses",
        "streams",
        "stream_items",
    }
    assert single_calls > 600
    # ten or so Retired events (applied alone: removing the full-text row reads the dataset's row) cut the run into
    # stretches that each go as a few batches per event type
    assert calls < single_calls / 3


def test_events_of_another_type_on_the_same_row_keep_their_order(db_factory: Callable[[], str]) -> None:
    """A dataset published, moved twice and then listed in one page: the listing sees the last owner's row and
    both moves apply in chain order (on PostgreSQL, in one statement: the last move wins); the four events take
    three batches (publish, moves, listing)."""
    engine = open_engine(db_factory())
    run = ChainRun(random.Random(0))
    run.emit("Catalog", "Transfer", sender=ZERO, receiver=account(1), token_id=5)
    run.emit(
        "Catalog",
        "DatasetPublished",
        token_id=5,
        owner=account(1),
        name="weather",
        domain="climate",
        attributes="t",
        size=1,
        content_hash="0x" + "01" * 32,
        dcat_hash="0x" + "02" * 32,
    )
    run.emit("Catalog", "Transfer", sender=account(1), receiver=account(2), token_id=5)
    run.emit("Catalog", "Transfer", sender=account(2), receiver=account(3), token_id=5)
    run.emit(
        "Market",
        "Listed",
        listing_id=9,
        token_id=5,
        seller=account(3),
        price=10**18,
        kind=1,
        pricing=1,
        collateral=0,
        payment_token=ZERO,
    )
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            calls = project(conn, run.out)
            row = conn.execute(select(datasets.c.owner, datasets.c.listing_id, datasets.c.price_eth)).one()
        finally:
            trans.rollback()
    engine.dispose()
    assert tuple(row) == (account(3), 9, 10**9)
    assert calls == 4  # the mint's Transfer touches no row and runs beside the publication
