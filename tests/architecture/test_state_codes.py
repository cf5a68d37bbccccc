"""Every state code is defined once, in the contracts, and Python agrees with it.

Each group of mutually exclusive states or kinds is a Vyper ``flag``: the sale groups (kinds, pricings, listing /
order / offer states, outcomes, rulings) in ``contracts/modules/states.vy``, the organisation statuses and account
kinds in ``contracts/Registry.vy``, the consent states and refusals in ``contracts/Consent.vy``, the groups
``ComputeJobs.vy`` uses alone in that contract, and those of ``Collaboration.vy`` in its ``modules/dao_*.vy``
modules. A flag's n-th member (from 0, in declaration order) has the value ``2**n``; events and views carry it as
a ``uint256``. ``datagora.domain.models`` (and ``.collaboration``, ``.compute``) mirror each flag as an
``IntEnum`` with the same member names and values, plus ``NONE = 0`` (the empty flag) where the contracts read 0
as "no such entry". These tests read the ``flag`` declarations from the Vyper sources and fail on any difference
of name or value, on a flag without a Python enum and on a Python enum without a flag.
"""

from __future__ import annotations

import inspect
import re
from enum import IntEnum

import pytest

from datagora.chain.artifacts import source_dir
from datagora.chain.bindings.use_rights import USE_RIGHTS_ID_OFFSET
from datagora.domain import collaboration, compute, models
from datagora.services.platform import MAX_FEE_BPS

# A flag declaration: ``flag Name:`` followed by its indented members (one identifier per line, comments allowed).
FLAG = re.compile(r"^flag ([A-Za-z_][A-Za-z0-9_]*):[ \t]*\n((?:[ \t]+[^\n]*\n|[ \t]*\n)+)", re.MULTILINE)
MEMBER = re.compile(r"^[ \t]+([A-Z][A-Z0-9_]*)[ \t]*(?:#.*)?$", re.MULTILINE)
# A contract-level ``uint256`` constant: ``NAME: constant(uint256) = 1_000`` (underscores allowed).
CONSTANT = re.compile(r"^([A-Z][A-Z0-9_]*): constant\(uint256\) = ([0-9_]+)\s*(?:#.*)?$", re.MULTILINE)
# Any small-integer constant: a state group kept as numbers instead of a flag shows up here.
UINT8_CONSTANT = re.compile(r"^([A-Z][A-Z0-9_]*): (?:public\()?constant\(uint8\)", re.MULTILINE)

# (source file, flag name) -> the Python enum that mirrors it.
GROUPS: dict[tuple[str, str], type[IntEnum]] = {
    ("modules/states.vy", "SaleKind"): models.SaleKind,
    ("modules/states.vy", "Pricing"): models.Pricing,
    ("modules/states.vy", "ListingState"): models.ListingState,
    ("modules/states.vy", "OrderState"): models.OrderState,
    ("modules/states.vy", "OfferState"): models.OfferState,
    ("modules/states.vy", "Outcome"): models.Outcome,
    ("modules/states.vy", "Ruling"): models.Ruling,
    ("Registry.vy", "OrgStatus"): models.OrgStatus,
    ("Registry.vy", "AccountKind"): models.AccountKind,
    ("Consent.vy", "ConsentState"): models.ConsentState,
    ("Consent.vy", "AccessRefusal"): models.AccessRefusal,
    ("modules/dao_offers.vy", "Role"): collaboration.Role,
    ("modules/dao_offers.vy", "OfferState"): collaboration.CollabOfferState,
    ("modules/dao_membership.vy", "DaoState"): collaboration.DaoState,
    ("ComputeJobs.vy", "JobState"): compute.JobState,
    ("ComputeJobs.vy", "JobOutcome"): compute.JobOutcome,
}

# The domain modules whose IntEnums mirror contract groups.
DOMAIN_MODULES = (models, collaboration, compute)

# The uint8 constants that are not a state group: score and tier bounds, and ComputeJobs' job kinds, which number
# from 0 (a single job's kind is 0 in a slot that a flag would fill, at 20,000 gas a submit).
NOT_FLAGS = {"MIN_SCORE", "MAX_SCORE", "MAX_TIER", "KIND_SINGLE", "KIND_FEDERATED"}


def flags_in(text: str) -> dict[str, dict[str, int]]:
    """The ``flag`` declarations of a Vyper source: flag name -> member name -> value (2**position)."""
    return {
        name: {member: 1 << position for position, member in enumerate(MEMBER.findall(body))}
        for name, body in FLAG.findall(text)
    }


def flags(source: str) -> dict[str, dict[str, int]]:
    """The ``flag`` declarations of ``contracts/<source>``."""
    return flags_in((source_dir() / source).read_text(encoding="utf-8"))


def constants(source: str) -> dict[str, int]:
    """The ``uint256`` constants declared in ``contracts/<source>``: name -> value."""
    text = (source_dir() / source).read_text(encoding="utf-8")
    return {name: int(value.replace("_", "")) for name, value in CONSTANT.findall(text)}


def python_members(enum: type[IntEnum]) -> dict[str, int]:
    """An enum's members as the contract would declare them: NONE (the empty flag, 0) left out."""
    members = {member.name: int(member.value) for member in enum}
    if "NONE" in members:
        assert members.pop("NONE") == 0, f"{enum.__name__}.NONE must be 0, the contracts' empty flag"
    return members


def test_the_sources_are_where_the_test_reads_them() -> None:
    for source, name in GROUPS:
        assert flags(source).get(name), f"no flag {name} in contracts/{source}"


@pytest.mark.parametrize(("source", "name"), list(GROUPS), ids=[f"{s}:{n}" for s, n in GROUPS])
def test_python_enum_matches_the_contract_flag(source: str, name: str) -> None:
    """Same names, same values (order of members = bit position); Python's NONE is the empty flag (0)."""
    enum = GROUPS[(source, name)]
    assert python_members(enum) == flags(source)[name], f"{enum.__name__} differs from flag {name} of {source}"


def test_every_flag_has_a_python_enum() -> None:
    """A new flag in a mirrored source fails here until Python mirrors it."""
    for source in {s for s, _ in GROUPS}:
        unmirrored = sorted(set(flags(source)) - {n for s, n in GROUPS if s == source})
        assert unmirrored == [], f"contracts/{source}: flags {unmirrored} have no Python enum"


def test_no_state_group_is_left_as_numbers() -> None:
    """Every contract's states and kinds are flags, not ``uint8`` constants (bounds and job kinds aside)."""
    sources = sorted(source_dir().glob("*.vy")) + sorted((source_dir() / "modules").glob("*.vy"))
    assert len(sources) > 10
    for path in sources:
        numbered = set(UINT8_CONSTANT.findall(path.read_text(encoding="utf-8"))) - NOT_FLAGS
        assert numbered == set(), f"{path.name} numbers {sorted(numbered)} with uint8 constants: make them a flag"


def test_every_flag_of_every_contract_is_mirrored() -> None:
    """A flag added to any contract (not only the sources above) fails here until Python mirrors it."""
    sources = sorted(source_dir().glob("*.vy")) + sorted((source_dir() / "modules").glob("*.vy"))
    declared = {
        (path.relative_to(source_dir()).as_posix(), name) for path in sources for name in flags_in(path.read_text())
    }
    assert declared == set(GROUPS)


def test_job_kinds_stay_numbered_from_zero() -> None:
    """ComputeJobs' job kinds are the one group kept as numbers; Python mirrors them the same way."""
    text = (source_dir() / "ComputeJobs.vy").read_text(encoding="utf-8")
    kinds = dict(re.findall(r"^KIND_([A-Z_]+): public\(constant\(uint8\)\) = ([0-9]+)", text, re.MULTILINE))
    assert {name: int(value) for name, value in kinds.items()} == {k.name: int(k.value) for k in compute.JobKind}


def test_every_domain_int_enum_mirrors_a_contract_flag() -> None:
    """A new IntEnum in the domain modules fails here until it is tied to the contract flag it mirrors."""
    enums = {
        obj
        for module in DOMAIN_MODULES
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, IntEnum) and obj is not IntEnum and obj.__module__ == module.__name__
    }
    assert enums == set(GROUPS.values()) | {compute.JobKind}


def test_python_numbers_match_the_contract_bounds() -> None:
    """The numbers Python keeps beside the enums (fee cap, UseRights id offset) are the contracts' own."""
    bounds = constants("modules/states.vy")
    assert bounds["MAX_FEE_BPS"] == MAX_FEE_BPS
    assert bounds["USE_RIGHTS_ID_OFFSET"] == USE_RIGHTS_ID_OFFSET


def test_a_mismatch_is_detected() -> None:
    """The parser reads bit positions from the order of members, and a renumbered or renamed enum differs."""
    source = "flag Demo:\n    FIRST\n    # a comment\n\n    SECOND  # trailing\n    THIRD\n\nX: constant(uint256) = 1\n"
    parsed = flags_in(source)
    assert parsed == {"Demo": {"FIRST": 1, "SECOND": 2, "THIRD": 4}}

    class Consecutive(IntEnum):  # the numbering before flags: differs from the flag's powers of two
        PAID = 1
        DELIVERED = 2
        DISPUTED = 3

    class Renamed(IntEnum):
        PAID = 1
        SHIPPED = 2

    contract = flags("modules/states.vy")["OrderState"]
    assert python_members(Consecutive) != contract
    assert python_members(Renamed) != contract
    assert contract["DISPUTED"] == 4


@pytest.mark.parametrize("source", ["modules/states.vy", "Consent.vy"])
def test_packed_flags_fit_their_byte(source: str) -> None:
    """The listing, order and consent words keep a flag in 8 bits: a ninth member would not fit."""
    packed = {name: len(members) for name, members in flags(source).items() if name != "AccessRefusal"}
    assert packed and max(packed.values()) <= 8, packed
