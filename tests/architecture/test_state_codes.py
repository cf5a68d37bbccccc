"""Every state code is defined once, in the contracts, and Python agrees with it.

The sale states, kinds, pricings, outcomes and rulings live in ``contracts/modules/states.vy`` and the
organisation statuses and account kinds in ``contracts/Registry.vy`` (``uint8`` constants carried by the events
and views); ``datagora.domain.models`` mirrors them as ``IntEnum`` classes. These tests read the constants from the
Vyper sources and fail on any difference of name or value, on a constant group without a Python enum and on a
Python enum without a constant group.
"""

from __future__ import annotations

import inspect
import re
from enum import IntEnum

import pytest

from datagora.chain.artifacts import source_dir
from datagora.chain.bindings.use_rights import USE_RIGHTS_ID_OFFSET
from datagora.domain import models
from datagora.services.platform import MAX_FEE_BPS

# A contract-level ``uint8`` or ``uint256`` constant: ``NAME: constant(uint8) = 3`` (underscores allowed).
CONSTANT = re.compile(r"^([A-Z][A-Z0-9_]*): constant\((uint8|uint256)\) = ([0-9_]+)\s*(?:#.*)?$", re.MULTILINE)

# (source file, constant prefix) -> the Python enum that mirrors that group of uint8 codes.
GROUPS: dict[tuple[str, str], type[IntEnum]] = {
    ("modules/states.vy", "KIND_"): models.SaleKind,
    ("modules/states.vy", "PRICING_"): models.Pricing,
    ("modules/states.vy", "LISTING_"): models.ListingState,
    ("modules/states.vy", "ORDER_"): models.OrderState,
    ("modules/states.vy", "OFFER_"): models.OfferState,
    ("modules/states.vy", "OUTCOME_"): models.Outcome,
    ("modules/states.vy", "RULING_"): models.Ruling,
    ("Registry.vy", "STATUS_"): models.OrgStatus,
    ("Registry.vy", "KIND_"): models.AccountKind,
    ("Consent.vy", "CONSENT_"): models.ConsentState,
    ("Consent.vy", "REFUSED_"): models.AccessRefusal,
}


def constants(source: str, kind: str = "uint8") -> dict[str, int]:
    """The ``kind`` constants declared in ``contracts/<source>``: name -> value."""
    text = (source_dir() / source).read_text(encoding="utf-8")
    return {name: int(value.replace("_", "")) for name, k, value in CONSTANT.findall(text) if k == kind}


def group(source: str, prefix: str) -> dict[str, int]:
    """The ``prefix`` constants of ``source`` without the prefix: e.g. ORDER_PAID -> PAID."""
    return {name.removeprefix(prefix): value for name, value in constants(source).items() if name.startswith(prefix)}


def test_the_sources_are_where_the_test_reads_them() -> None:
    for source, prefix in GROUPS:
        assert group(source, prefix), f"no {prefix}* constant in contracts/{source}"


@pytest.mark.parametrize(("source", "prefix"), list(GROUPS), ids=[f"{s}:{p}" for s, p in GROUPS])
def test_python_enum_matches_the_contract_constants(source: str, prefix: str) -> None:
    """Same names, same values; a Python NONE is the contracts' "no such entry" (0) and is not declared there."""
    enum = GROUPS[(source, prefix)]
    python = {member.name: int(member.value) for member in enum}
    contract = group(source, prefix)
    if "NONE" in python:
        assert python["NONE"] == 0, f"{enum.__name__}.NONE must be 0, the contracts' empty value"
        contract.setdefault("NONE", 0)
    assert python == contract, f"{enum.__name__} differs from the {prefix}* constants of contracts/{source}"


def test_every_uint8_constant_of_states_belongs_to_a_mirrored_group() -> None:
    """A new code group added to states.vy (or Registry.vy) fails here until Python mirrors it."""
    for source in {s for s, _ in GROUPS}:
        prefixes = [p for s, p in GROUPS if s == source]
        unmirrored = [name for name in constants(source) if not any(name.startswith(p) for p in prefixes)]
        assert unmirrored == [], f"contracts/{source}: {unmirrored} have no Python enum"


def test_every_domain_int_enum_mirrors_a_contract_group() -> None:
    """A new IntEnum in domain.models fails here until it is tied to the contract constants it mirrors."""
    enums = {
        obj
        for _, obj in inspect.getmembers(models, inspect.isclass)
        if issubclass(obj, IntEnum) and obj is not IntEnum and obj.__module__ == models.__name__
    }
    assert enums == set(GROUPS.values())


def test_python_numbers_match_the_contract_bounds() -> None:
    """The numbers Python keeps beside the enums (fee cap, UseRights id offset) are the contracts' own."""
    bounds = constants("modules/states.vy", "uint256")
    assert bounds["MAX_FEE_BPS"] == MAX_FEE_BPS
    assert bounds["USE_RIGHTS_ID_OFFSET"] == USE_RIGHTS_ID_OFFSET


def test_a_mismatch_is_detected() -> None:
    """The comparison itself fails on a renamed or renumbered code (the test can fail)."""

    class Renumbered(IntEnum):
        PAID = 1
        DELIVERED = 3

    contract = group("modules/states.vy", "ORDER_")
    assert {m.name: int(m.value) for m in Renumbered} != contract
    assert contract["DELIVERED"] == 2
