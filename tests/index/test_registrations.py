"""Each contract's events are registered in one place: one projection module (index) and one audit-text
module (audit trail) per contract, covering every event of every deployable's ABI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, update

from datagora.chain.artifacts import load_artifact
from datagora.chain.contracts import MANIFEST
from datagora.index import EventIndexer, open_engine
from datagora.index import projections as index_projections
from datagora.index.projections import ContractProjection, StoredEvent, catalog, handler, register
from datagora.index.schema import events
from datagora.services import audit
from datagora.services.audit import TEXTS, ContractTexts
from tests.world import World

CONTRACTS = [d.name for d in MANIFEST]


def abi_events(contract: str) -> set[str]:
    return {e["name"] for e in load_artifact(contract).abi if e.get("type") == "event"}


@pytest.mark.parametrize("contract", CONTRACTS)
def test_every_event_has_a_projection_or_is_declared_ignored(contract: str) -> None:
    names = abi_events(contract)
    assert names, f"{contract} declares no event"
    missing = index_projections.unaccounted(contract, names)
    assert not missing, f"{contract} events with no projection (add them to index/projections): {sorted(missing)}"
    unknown = index_projections.PROJECTIONS[contract].events - names
    assert not unknown, f"index/projections names events {contract} does not emit: {sorted(unknown)}"


@pytest.mark.parametrize("contract", CONTRACTS)
def test_every_event_has_an_audit_text_or_is_declared_housekeeping(contract: str) -> None:
    names = abi_events(contract)
    missing = audit.unaccounted(contract, names)
    assert not missing, f"{contract} events with no audit text (add them to services/audit): {sorted(missing)}"
    unknown = TEXTS[contract].events - names
    assert not unknown, f"services/audit names events {contract} does not emit: {sorted(unknown)}"


def test_the_coverage_check_reports_what_is_missing() -> None:
    assert index_projections.unaccounted("Catalog", {"DatasetPublished", "Burned"}) == {"Burned"}
    assert index_projections.unaccounted("Consent", {"ConsentGiven"}) == {"ConsentGiven"}  # nothing registered
    assert audit.unaccounted("Market", {"Listed", "Relisted"}) == {"Relisted"}
    assert audit.unaccounted("Consent", {"ConsentGiven"}) == {"ConsentGiven"}


def test_dispatch_is_by_contract_and_event() -> None:
    assert handler("Catalog", "Transfer") is catalog.transfer
    assert handler("Market", "Transfer") is None  # the Market emits none; an ERC-20's Transfer is not the NFT's
    assert handler("Catalog", "Approval") is None  # declared ignored
    assert handler("Consent", "ConsentGiven") is None  # no projection registered


def test_registrations_refuse_duplicates_and_contradictions() -> None:
    with pytest.raises(ValueError, match="two projections for Catalog"):
        register(catalog.PROJECTION, catalog.PROJECTION)
    with pytest.raises(ValueError, match="both projected and ignored"):
        ContractProjection("X", handlers={"A": catalog.transfer}, ignored=frozenset({"A"}))
    with pytest.raises(ValueError, match="two audit texts for Market"):
        audit.base.register(TEXTS["Market"], TEXTS["Market"])


def test_a_registered_projection_receives_its_contracts_events(
    world: World, db_factory: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new contract adds a module and one registration: the indexer hands it its events, in chain order, in
    the index's JSON form, and never another contract's."""
    seen: list[tuple[str, str, dict[str, Any]]] = []

    def organisation(_: Connection, ev: StoredEvent) -> None:
        seen.append((ev.contract, ev.name, ev.args))

    replaced = ContractProjection(
        "Registry",
        handlers={"OrganisationRegistered": organisation},
        ignored=index_projections.PROJECTIONS["Registry"].events - {"OrganisationRegistered"},
    )
    monkeypatch.setitem(index_projections.PROJECTIONS, "Registry", replaced)
    EventIndexer(world.contracts, open_engine(db_factory())).sync()
    names = [args["name"] for _, _, args in seen]
    assert names[:4] == ["Platform", "Seller Org", "Buyer Org", "Outsider Org"]
    assert {(c, n) for c, n, _ in seen} == {("Registry", "OrganisationRegistered")}
    assert all(isinstance(args["founder"], str) and args["founder"].startswith("0x") for _, _, args in seen)


def test_audit_texts_registered_for_a_contract_describe_its_events(
    world: World, db_factory: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ContractTexts(
        "Registry", describe={"OrganisationRegistered": lambda _t, a: (a["founder"], f"founded {a['name']}")}
    )
    monkeypatch.setitem(TEXTS, "Registry", texts)
    trail = audit.audit_trail(EventIndexer(world.contracts, open_engine(db_factory())))
    founded = [r.detail for r in trail if r.contract == "Registry" and r.action == "OrganisationRegistered"]
    assert founded[:2] == ["founded Platform", "founded Seller Org"]


def test_the_audit_trail_reads_the_index_synced_first(world: World, db_factory: Callable[[], str]) -> None:
    """The trail is the index's content: a new event shows once synced, an index row changed behind the node's
    back shows as changed (and ``verify`` catches it), and a second read asks the chain only for new blocks."""
    idx = EventIndexer(world.contracts, open_engine(db_factory()))
    first = audit.audit_trail(idx)
    assert any("registered organisation" in r.detail and "'Seller Org'" in r.detail for r in first)
    assert first == audit.audit_trail(world.contracts)  # the same lines as a one-off in-memory index

    asked: list[tuple[int | None, int | None]] = []
    events_of = world.contracts.events

    def counting(from_block: int | None = None, to_block: int | None = None) -> Any:
        asked.append((from_block, to_block))
        return events_of(from_block, to_block)

    cursor = idx.cursor()
    assert cursor is not None
    world.contracts.events = counting  # type: ignore[method-assign]
    try:
        world.chain.fund(world.outsider.address, 1)  # a block without Datagora events
        again = audit.audit_trail(idx)
    finally:
        del world.contracts.events
    assert again == first
    assert asked and all(lo is not None and lo > cursor[0] for lo, _ in asked)  # no scan from deployment

    with idx.engine.begin() as conn:
        row = conn.execute(events.select().where(events.c.name == "OrganisationRegistered")).first()
        assert row is not None
        conn.execute(
            update(events).where(events.c.id == row.id).values(args=row.args.replace('"Platform"', '"Forged Ltd"'))
        )
    forged = audit.audit_trail(idx, sync=False)
    assert any("'Forged Ltd'" in r.detail for r in forged)
    assert not idx.verify().ok
