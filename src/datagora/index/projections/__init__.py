"""One projection module per contract, registered here: how each contract's events update the index's tables.

A new contract adds its module (``projections/<contract>.py`` exporting ``PROJECTION``) and one line below."""

from __future__ import annotations

from datagora.domain.models import ChainEvent
from datagora.index.projections import (
    anchors,
    catalog,
    collaboration,
    compute_jobs,
    consent,
    market,
    points,
    registry,
    reputation,
    reward_token,
    shop,
    streams,
    use_rights,
)
from datagora.index.projections.base import ContractProjection, Handler, StoredEvent, register

PROJECTIONS: dict[str, ContractProjection] = register(
    registry.PROJECTION,
    catalog.PROJECTION,
    market.PROJECTION,
    use_rights.PROJECTION,
    reputation.PROJECTION,
    reward_token.PROJECTION,
    streams.PROJECTION,
    consent.PROJECTION,
    shop.PROJECTION,
    points.BRAND_POINTS_PROJECTION,
    points.PROJECTION,
    compute_jobs.PROJECTION,
    collaboration.PROJECTION,
    anchors.PROJECTION,
)
"""The registered projections by contract name (the deployment manifest's names)."""


def handler(contract: str, event: str) -> Handler | None:
    """The handler of ``event`` emitted by ``contract``, or None when the event derives no row (ignored, or a
    contract without a registered projection: its events stay in the ``events`` table only)."""
    projection = PROJECTIONS.get(contract)
    return None if projection is None else projection.handlers.get(event)


def created_contract(ev: ChainEvent) -> tuple[str, str] | None:
    """(contract name, lower-case address) of the contract ``ev`` announces it created (a ``BrandRegistered``
    names its brand's points token), or None when ``ev`` announces none."""
    projection = PROJECTIONS.get(ev.contract)
    created = None if projection is None else projection.creates.get(ev.name)
    if created is None:
        return None
    name, argument = created
    return name, str(ev.args[argument]).lower()


def unaccounted(contract: str, events: set[str] | frozenset[str]) -> set[str]:
    """The names among ``events`` (a contract's ABI) that the projection of ``contract`` neither projects nor
    ignores; every one of them when no projection is registered for ``contract``."""
    projection = PROJECTIONS.get(contract)
    return set(events) if projection is None else set(events) - projection.events


__all__ = [
    "PROJECTIONS",
    "ContractProjection",
    "Handler",
    "StoredEvent",
    "created_contract",
    "handler",
    "register",
    "unaccounted",
]
