"""The privacy budget and the ranges a listing declares, on the owner's node with a chain: ranges derived only for
the columns the policy lets a query read; one budget per buyer organisation and dataset, shared by every order
and every listing of the dataset, separate for another organisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.domain.errors import AccessDenied
from datagora.domain.models import OrgStatus
from datagora.services import registry, use_rights
from tests.privacy.kit import list_diabetes, publish_diabetes
from tests.world import World

pytestmark = pytest.mark.parametrize("world_base", ["embedded"], indirect=True)

COUNT = {"select": [{"aggregate": "count"}]}


def test_listing_derives_ranges_for_permitted_columns_only(world: World, tmp_path: Path) -> None:
    published = publish_diabetes(world, tmp_path)
    derived = list_diabetes(world, published, exact=False, prohibited_columns=("s1", "s2"))
    assert set(derived.policy.value_ranges) == {"age", "sex", "bmi", "bp", "s3", "s4", "s5", "s6", "progression"}
    assert derived.policy.value_range("progression") == (25.0, 350.0)
    declared = list_diabetes(world, published, exact=False, value_ranges={"progression": (0, 400)})
    assert dict(declared.policy.value_ranges) == {"progression": (0.0, 400.0)}  # the owner's word wins
    order = declared.buy(1)
    with pytest.raises(AccessDenied, match="no value range declared for column 'bmi'"):
        declared.ask(order, {"select": [{"aggregate": "avg", "column": "bmi"}]})
    assert world.contracts.market.order(order).queries_left == 1


def test_one_budget_per_organisation_and_dataset_across_orders_and_listings(world: World, tmp_path: Path) -> None:
    published = publish_diabetes(world, tmp_path)
    first = list_diabetes(world, published, exact=False, privacy_budget=2.0)
    second = list_diabetes(world, published, exact=False, privacy_budget=2.0)
    order = first.buy(1)
    first.ask(order, COUNT)
    other = second.buy(2)  # another listing of the same dataset: the same budget
    second.ask(other, COUNT)
    with pytest.raises(AccessDenied, match="has spent 2 of its 2 on dataset"):
        second.ask(other, COUNT)
    budget = use_rights.privacy_budget(world.contracts, world.seller, other)
    assert (budget.buyer, budget.epsilon_spent, budget.answers_left) == (f"organisation:{world.orgs['buyer']}", 2.0, 0)

    registry.set_status(world.contracts, world.supervisor.account, world.orgs["outsider"], OrgStatus.AUDITED)
    outsider = second.buy(1, buyer=world.outsider)  # another organisation: its own budget
    assert second.ask(outsider, COUNT, buyer=world.outsider).privacy is not None
    mine = use_rights.privacy_budget(world.contracts, world.seller, outsider)
    assert (mine.buyer, mine.epsilon_spent) == (f"organisation:{world.orgs['outsider']}", 1.0)
