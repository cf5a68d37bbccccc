"""Registry.vy: pending membership requests can be withdrawn, rejected, or replaced by a fresh registration.

The attack they answer: someone registers "Contoso" before Contoso's founder does, so the founder's own
``register_organisation("Contoso")`` becomes a request to join the squatter's organisation. Before the fix that
request could never be withdrawn nor rejected and the founder's address could never register again.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    KIND_CUSTOMER,
    KIND_MEMBER,
    KIND_NONE,
    KIND_PENDING,
    STATUS_AUDITED,
    STATUS_TO_AUDIT,
    Deployment,
    assert_event,
    assert_no_event,
    make_account,
    public_key_of,
)


def squatted(d: Deployment) -> tuple[Any, Any, int]:
    """Mallory registers "Contoso" first; the founder's registration becomes a pending join request."""
    founder = make_account("contoso-founder")
    contoso_id = d.register_organisation(d.mallory, "Contoso")
    assert d.register_organisation(founder, "Contoso") == contoso_id
    assert d.registry.account_kind(founder.address) == KIND_PENDING
    return founder, d.mallory, contoso_id


def assert_unregistered(d: Deployment, account: Any) -> None:
    assert d.registry.account_kind(account.address) == KIND_NONE
    assert d.registry.organisation_of(account.address) == 0
    assert d.registry.public_key(account.address) == b""
    assert d.registry.status_of(account.address) == 0
    assert not d.registry.is_audited(account.address)


# --- withdraw_request ---------------------------------------------------------------------------------------


def test_founder_withdraws_request_and_founds_organisation_under_another_name(d: Deployment) -> None:
    founder, _, contoso_id = squatted(d)
    with d.env.prank(founder.address):
        d.registry.withdraw_request()
    assert_event(d.registry, "MembershipWithdrawn", organisation_id=contoso_id, account=founder.address)
    assert_unregistered(d, founder)
    assert tuple(d.registry.organisations(contoso_id)) == ("Contoso", STATUS_TO_AUDIT, 1)

    new_id = d.register_organisation(founder, "Contoso Ltd")
    assert d.registry.account_kind(founder.address) == KIND_MEMBER
    assert d.registry.organisation_of(founder.address) == new_id != contoso_id


@pytest.mark.parametrize("who", ["alice", "erin", "mallory", "supervisor"])
def test_withdraw_request_rejects_account_without_pending_request(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("registry: no pending request"):
        d.registry.withdraw_request()


def test_withdraw_request_cannot_be_repeated(d: Deployment) -> None:
    founder, _, _ = squatted(d)
    with d.env.prank(founder.address):
        d.registry.withdraw_request()
        with boa.reverts("registry: no pending request"):
            d.registry.withdraw_request()


# --- reject_member ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rejecter", ["member", "supervisor"])
def test_reject_member(d: Deployment, rejecter: str) -> None:
    frank = make_account("frank")
    d.register_organisation(frank, "Beta")
    who = d.bob if rejecter == "member" else d.supervisor
    with d.env.prank(who.address):
        d.registry.reject_member(frank.address)
    assert_event(
        d.registry, "MembershipRejected", organisation_id=d.beta_id, account=frank.address, rejected_by=who.address
    )
    assert_unregistered(d, frank)
    assert tuple(d.registry.organisations(d.beta_id)) == ("Beta", STATUS_AUDITED, 1)
    with d.env.prank(d.bob.address), boa.reverts("registry: not a pending member"):
        d.registry.approve_member(frank.address)


def test_squatter_rejecting_the_founder_frees_the_founder(d: Deployment) -> None:
    founder, squatter, _ = squatted(d)
    with d.env.prank(squatter.address):
        d.registry.reject_member(founder.address)
    assert_unregistered(d, founder)
    with d.env.prank(founder.address):
        d.registry.register_customer(public_key_of(founder))
    assert d.registry.account_kind(founder.address) == KIND_CUSTOMER


@pytest.mark.parametrize("who", ["alice", "dave", "erin", "mallory"])
def test_reject_member_rejects_outsiders(d: Deployment, who: str) -> None:
    frank = make_account("frank")
    d.register_organisation(frank, "Beta")
    with d.env.prank(getattr(d, who).address), boa.reverts("registry: not a member of that organisation"):
        d.registry.reject_member(frank.address)
    assert d.registry.account_kind(frank.address) == KIND_PENDING


def test_reject_member_rejects_pending_rejecter(d: Deployment) -> None:
    frank, gina = make_account("frank"), make_account("gina")
    d.register_organisation(frank, "Beta")
    d.register_organisation(gina, "Beta")
    with d.env.prank(frank.address), boa.reverts("registry: not a member of that organisation"):
        d.registry.reject_member(gina.address)


@pytest.mark.parametrize("who", ["carol", "erin", "mallory"])
def test_reject_member_rejects_non_pending_account(d: Deployment, who: str) -> None:
    with d.env.prank(d.alice.address), boa.reverts("registry: not a pending member"):
        d.registry.reject_member(getattr(d, who).address)


# --- registering afresh while pending -----------------------------------------------------------------------


def test_pending_account_registers_a_new_organisation_afresh(d: Deployment) -> None:
    founder, _, contoso_id = squatted(d)
    key = public_key_of(founder)
    with d.env.prank(founder.address):
        new_id = d.registry.register_organisation("Contoso Holdings", key)
    assert_event(d.registry, "MembershipWithdrawn", organisation_id=contoso_id, account=founder.address)
    assert_event(
        d.registry, "OrganisationRegistered", organisation_id=new_id, name="Contoso Holdings", founder=founder.address
    )
    assert_event(d.registry, "MemberJoined", organisation_id=new_id, account=founder.address, public_key=key)
    assert d.registry.organisation_of(founder.address) == new_id
    assert d.registry.account_kind(founder.address) == KIND_MEMBER
    with d.env.prank(d.mallory.address), boa.reverts("registry: not a pending member"):
        d.registry.approve_member(founder.address)


def test_pending_account_requests_another_organisation(d: Deployment) -> None:
    founder, _, contoso_id = squatted(d)
    assert d.register_organisation(founder, "Beta") == d.beta_id
    assert_event(d.registry, "MembershipWithdrawn", organisation_id=contoso_id, account=founder.address)
    assert_event(
        d.registry,
        "MembershipRequested",
        organisation_id=d.beta_id,
        account=founder.address,
        public_key=public_key_of(founder),
    )
    assert d.registry.organisation_of(founder.address) == d.beta_id
    with d.env.prank(d.mallory.address), boa.reverts("registry: not a member of that organisation"):
        d.registry.approve_member(founder.address)


def test_pending_account_registers_as_customer(d: Deployment) -> None:
    founder, _, contoso_id = squatted(d)
    with d.env.prank(founder.address):
        d.registry.register_customer(public_key_of(founder))
    assert_event(d.registry, "MembershipWithdrawn", organisation_id=contoso_id, account=founder.address)
    assert d.registry.account_kind(founder.address) == KIND_CUSTOMER
    assert d.registry.organisation_of(founder.address) == 0


def test_member_still_cannot_register_again(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("registry: already registered"):
        d.registry.register_organisation("Other", public_key_of(d.alice))
    assert_no_event(d.registry, "MembershipWithdrawn")


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(["request", "withdraw", "reject", "approve", "customer"]), max_size=8))
def test_request_lifecycle_fuzz(d: Deployment, steps: list[str]) -> None:
    """Whatever the order of requests, withdrawals, rejections and approvals, Beta's member count equals its
    approved members and a non-member holds no organisation."""
    with d.env.anchor():
        frank = make_account("frank")
        members = 1
        for step in steps:
            kind = int(d.registry.account_kind(frank.address))
            if step == "request" and kind in (KIND_NONE, KIND_PENDING):
                d.register_organisation(frank, "Beta")
            elif step == "withdraw" and kind == KIND_PENDING:
                with d.env.prank(frank.address):
                    d.registry.withdraw_request()
            elif step == "reject" and kind == KIND_PENDING:
                with d.env.prank(d.bob.address):
                    d.registry.reject_member(frank.address)
            elif step == "approve" and kind == KIND_PENDING:
                with d.env.prank(d.bob.address):
                    d.registry.approve_member(frank.address)
                members += 1
            elif step == "customer" and kind in (KIND_NONE, KIND_PENDING):
                with d.env.prank(frank.address):
                    d.registry.register_customer(public_key_of(frank))
            kind = int(d.registry.account_kind(frank.address))
            assert d.registry.organisations(d.beta_id).members == members
            assert (d.registry.organisation_of(frank.address) == d.beta_id) == (kind in (KIND_MEMBER, KIND_PENDING))
