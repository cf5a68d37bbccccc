"""Brand points in the event index on the embedded chain: each brand's ERC-20 token (made from the ``BrandPoints``
blueprint when the brand is registered) is found from its ``BrandRegistered`` event and its events indexed from
then on; every movement of points (issued, spent, transferred between members) is a ``point_transfers`` row; a
transfer between members reads in plain words in the audit trail (issuing and spending stay told by the Points
events); ``audit verify`` re-reads the token's rows from the chain and finds a tampered one (on SQLite and
PostgreSQL); an index made before the tokens were indexed fetches their past events on its next sync; a
reorganisation takes orphaned movements out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, delete, select, update

from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.index import EventIndexer, open_engine
from datagora.index.schema import events, meta, point_transfers
from datagora.services import points
from datagora.services.audit import audit_trail

WEI = 10**18
ZERO = "0x" + "0" * 40
REF = b"\x01" * 32


@dataclass
class Stage:
    chain: EmbeddedChain
    contracts: Contracts
    platform: LocalAccount
    brand: LocalAccount
    member: LocalAccount
    friend: LocalAccount


@pytest.fixture(scope="module")
def stage() -> Stage:
    chain = EmbeddedChain()
    chain.fixed_gas = 3_000_000  # no gas estimation (a replayed binary search per transaction on this chain)
    platform, brand, member, friend = (Account.create() for _ in range(4))
    for account in (platform, brand, member, friend):
        chain.fund(account.address, 10 * WEI)
    contracts = Contracts.deploy(chain, platform, platform, only=["BrandPoints", "Points"])
    return Stage(chain, contracts, platform, brand, member, friend)


def _index(stage: Stage, url: str) -> Iterator[tuple[EventIndexer, Engine]]:
    snapshot = stage.chain.snapshot()
    engine = open_engine(url)
    yield EventIndexer(stage.contracts, engine), engine
    engine.dispose()
    stage.chain.revert(snapshot)


@pytest.fixture
def index(stage: Stage, db_factory: Callable[[], str]) -> Iterator[tuple[EventIndexer, Engine]]:
    """An index on each backend."""
    yield from _index(stage, db_factory())


@pytest.fixture
def sqlite_index(stage: Stage, tmp_path: Path) -> Iterator[tuple[EventIndexer, Engine]]:
    """An index on SQLite only (what differs between the backends is covered by the first test)."""
    yield from _index(stage, f"sqlite:///{tmp_path / 'index.db'}")


def _brand(stage: Stage, name: str) -> tuple[int, str]:
    parties = [stage.brand.address, stage.platform.address]
    brand, _ = points.register_brand(stage.contracts, stage.platform, name, stage.brand.address, parties)
    stage.contracts.points.set_issuer(stage.brand, brand, stage.platform.address, True)
    return brand, stage.contracts.points.token_info(brand)[0].lower()


def test_points_issued_transferred_and_spent_are_indexed_told_and_verified(
    stage: Stage, index: tuple[EventIndexer, Engine]
) -> None:
    indexer, engine = index
    c, member, friend = stage.contracts, stage.member, stage.friend
    cuff, _ = _brand(stage, "Cufflinks & Co")
    indexer.sync()  # the brand's token is watched from here on, in a later sync
    points.issue(c, stage.platform, cuff, member.address, 100, REF)
    moved = points.transfer(c, member, cuff, friend.address, 30)
    points.spend(c, friend, cuff, friend.address, 10, REF)
    teas, teas_token = _brand(stage, "Tea House")  # registered and used within one sync
    points.issue(c, stage.platform, teas, friend.address, 7, REF)
    points.transfer(c, friend, teas, member.address, 2)
    indexer.sync()

    rows = [(t.brand, t.kind, t.sender, t.receiver, t.amount) for t in points.transfers(engine)]
    m, f = member.address.lower(), friend.address.lower()
    assert rows == [
        (cuff, "issued", ZERO, m, 100),
        (cuff, "transfer", m, f, 30),
        (cuff, "spent", f, ZERO, 10),
        (teas, "issued", ZERO, f, 7),
        (teas, "transfer", f, m, 2),
    ]
    assert [t.amount for t in points.transfers(engine, brand=teas, account=member.address)] == [2]
    assert points.transfers(engine)[1].tx_hash == moved.tx_hash

    trail = [r for r in audit_trail(indexer) if r.contract == "BrandPoints"]
    assert [(r.actor.lower(), r.detail) for r in trail] == [
        (m, f"transferred 30 CUFFL points of brand #{cuff} 'Cufflinks & Co' to {friend.address}"),
        (f, f"transferred 2 TEAHO points of brand #{teas} 'Tea House' to {member.address}"),
    ]
    told = {r.detail for r in audit_trail(indexer, include_token_transfers=True) if r.contract == "BrandPoints"}
    assert f"received 100 CUFFL points of brand #{cuff} 'Cufflinks & Co', newly issued (minted on the token)" in told
    assert f"spent 10 CUFFL points of brand #{cuff} 'Cufflinks & Co' (burnt on the token)" in told
    mentions = [r.detail for r in audit_trail(indexer, account=friend.address) if r.contract == "BrandPoints"]
    assert mentions == [trail[0].detail, trail[1].detail]  # sender in one, receiver in the other

    report = indexer.verify()
    token_rows = select(events.c.id).where(events.c.contract == "BrandPoints")
    with engine.connect() as conn:
        held = conn.execute(token_rows).all()
    assert report.ok and report.checked == indexer.count() and len(held) == 2 * 2 + 5  # each token's owner, minter

    # A fresh process (new bindings, nothing watched) verifies the same rows: the tokens are read from the index.
    again = EventIndexer(Contracts(stage.chain, stage.contracts.deployment), engine).verify()
    assert again.ok and again.checked == report.checked

    tampered = events.c.tx_hash == moved.tx_hash
    with engine.begin() as conn:
        (args,) = conn.execute(select(events.c.args).where(tampered, events.c.contract == "BrandPoints")).one()
        conn.execute(
            update(events)
            .where(tampered, events.c.contract == "BrandPoints")
            .values(args=args.replace('"value": 30', '"value": 300'))
        )
    (difference,) = indexer.verify().differences
    assert difference.kind == "args" and difference.tx_hash == moved.tx_hash and '"value": 300' in difference.detail

    with engine.begin() as conn:  # the right arguments, but said to come from the other brand's token
        conn.execute(update(events).where(tampered, events.c.contract == "BrandPoints").values(args=args))
        conn.execute(update(events).where(tampered, events.c.contract == "BrandPoints").values(address=teas_token))
    (difference,) = indexer.verify().differences
    assert difference.kind == "args" and difference.tx_hash == moved.tx_hash


def test_an_index_made_before_brand_tokens_were_indexed_fetches_their_past_events(
    stage: Stage, sqlite_index: tuple[EventIndexer, Engine]
) -> None:
    indexer, engine = sqlite_index
    cuff, _ = _brand(stage, "Cufflinks & Co")
    points.issue(stage.contracts, stage.platform, cuff, stage.member.address, 5, REF)
    points.transfer(stage.contracts, stage.member, cuff, stage.friend.address, 5)
    indexer.sync()
    with engine.begin() as conn:  # what an index of the previous version holds: no token event, no marker
        conn.execute(delete(events).where(events.c.contract == "BrandPoints"))
        conn.execute(delete(point_transfers))
        conn.execute(delete(meta).where(meta.c.key == "instances"))

    reopened = EventIndexer(Contracts(stage.chain, stage.contracts.deployment), engine)
    assert reopened.sync().events == 0  # no new block: the past token events come from the one-off backfill
    kinds = [(t.kind, t.amount) for t in points.transfers(engine)]
    assert kinds == [("issued", 5), ("transfer", 5)]
    assert reopened.verify().ok
    reopened.sync()
    assert [(t.kind, t.amount) for t in points.transfers(engine)] == kinds  # fetched once


def test_a_transfer_of_more_points_than_held_is_refused_in_words(stage: Stage) -> None:
    cuff, _ = _brand(stage, "Cufflinks & Co")
    with pytest.raises(ValidationError, match=r"holds 0 points of brand #\d+, fewer than 3"):
        points.transfer(stage.contracts, stage.member, cuff, stage.friend.address, 3)
    with pytest.raises(ValidationError, match="positive whole number"):
        points.transfer(stage.contracts, stage.member, cuff, stage.friend.address, 0)


def test_a_reorganisation_takes_orphaned_point_movements_out(
    stage: Stage, sqlite_index: tuple[EventIndexer, Engine]
) -> None:
    indexer, engine = sqlite_index
    cuff, _ = _brand(stage, "Cufflinks & Co")
    points.issue(stage.contracts, stage.platform, cuff, stage.member.address, 9, REF)
    indexer.sync()
    fork_point = stage.chain.snapshot()
    points.transfer(stage.contracts, stage.member, cuff, stage.friend.address, 4)  # orphaned below
    indexer.sync()
    assert [t.kind for t in points.transfers(engine)] == ["issued", "transfer"]
    stage.chain.revert(fork_point)
    stage.chain.advance_time(13)  # the canonical chain grows differently from the fork point
    points.transfer(stage.contracts, stage.member, cuff, stage.friend.address, 1)
    points.transfer(stage.contracts, stage.member, cuff, stage.friend.address, 2)
    assert indexer.sync().reorg_depth > 0
    assert [(t.kind, t.amount) for t in points.transfers(engine)] == [("issued", 9), ("transfer", 1), ("transfer", 2)]
    assert indexer.verify().ok
