"""Registry.vy: organisations, customers, public keys and the supervisor (EntDSM Algorithms 1 and 2)."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    KIND_CUSTOMER,
    KIND_MEMBER,
    KIND_NONE,
    KIND_PENDING,
    STATUS_AUDITED,
    STATUS_NONE,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    ZERO_ADDRESS,
    Deployment,
    assert_event,
    assert_no_event,
    make_account,
    public_key_of,
)

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# --- deployment -------------------------------------------------------------------------------------------


def test_deployer_becomes_supervisor(env: Any, registry_deployer: Any) -> None:
    supervisor = make_account("another-supervisor")
    with env.prank(supervisor.address):
        registry = registry_deployer.deploy()
    assert_event(registry, "OwnershipTransferred", previous_owner=ZERO_ADDRESS, new_owner=supervisor.address)
    assert registry.owner() == supervisor.address
    assert registry.organisation_count() == 0


# --- register_organisation --------------------------------------------------------------------------------


def test_register_organisation_creates_organisation(d: Deployment) -> None:
    frank = make_account("frank")
    key = public_key_of(frank)
    with d.env.prank(frank.address):
        organisation_id = d.registry.register_organisation("Delta Analytics", key)

    assert_event(d.registry, "OrganisationRegistered", organisation_id=4, name="Delta Analytics", founder=frank.address)
    assert_event(d.registry, "MemberJoined", organisation_id=4, account=frank.address, public_key=key)
    assert organisation_id == 4  # Acme, Beta, Gamma exist
    assert d.registry.organisation_count() == 4
    assert tuple(d.registry.organisations(4)) == ("Delta Analytics", STATUS_TO_AUDIT, 1)
    assert d.registry.organisation_id_of_name("Delta Analytics") == 4
    assert d.registry.organisation_of(frank.address) == 4
    assert d.registry.account_kind(frank.address) == KIND_MEMBER
    assert d.registry.public_key(frank.address) == key
    assert d.registry.status_of(frank.address) == STATUS_TO_AUDIT
    assert not d.registry.is_audited(frank.address)


def test_register_organisation_requests_to_join_existing_organisation(d: Deployment) -> None:
    """Joining by name files a request and creates nothing (EntDSM Algorithm 1, with member approval)."""
    frank = make_account("frank")
    key = public_key_of(frank)
    with d.env.prank(frank.address):
        organisation_id = d.registry.register_organisation("Beta", key)

    assert_no_event(d.registry, "OrganisationRegistered")
    assert_no_event(d.registry, "MemberJoined")
    assert_event(d.registry, "MembershipRequested", organisation_id=d.beta_id, account=frank.address, public_key=key)
    assert organisation_id == d.beta_id
    assert d.registry.organisation_count() == 3
    assert tuple(d.registry.organisations(d.beta_id)) == ("Beta", STATUS_AUDITED, 1)
    assert d.registry.organisation_of(frank.address) == d.beta_id
    assert d.registry.account_kind(frank.address) == KIND_PENDING
    assert d.registry.public_key(frank.address) == key
    assert not d.registry.is_audited(frank.address)


def test_pending_member_of_an_audited_organisation_cannot_trade(d: Deployment) -> None:
    """Knowing an Audited organisation's name is not enough to inherit its audit."""
    d.register_organisation(d.mallory, "Acme")
    assert not d.registry.is_audited(d.mallory.address)
    _, listing_id = d.publish_and_list(d.bob)
    with d.env.prank(d.mallory.address), boa.reverts("market: buyer not audited"):
        d.market.buy(listing_id, value=10**18)


@pytest.mark.parametrize("approver", ["bob", "supervisor"])
def test_approve_member(d: Deployment, approver: str) -> None:
    frank = make_account("frank")
    d.register_organisation(frank, "Beta")
    with d.env.prank(getattr(d, approver).address):
        d.registry.approve_member(frank.address)
    assert_event(
        d.registry, "MemberJoined", organisation_id=d.beta_id, account=frank.address, public_key=public_key_of(frank)
    )
    assert d.registry.account_kind(frank.address) == KIND_MEMBER
    assert tuple(d.registry.organisations(d.beta_id)) == ("Beta", STATUS_AUDITED, 2)
    assert d.registry.is_audited(frank.address)


@pytest.mark.parametrize("who", ["alice", "dave", "erin", "mallory"])
def test_approve_member_rejects_outsiders(d: Deployment, who: str) -> None:
    frank = make_account("frank")
    d.register_organisation(frank, "Beta")
    with d.env.prank(getattr(d, who).address), boa.reverts("registry: not a member of that organisation"):
        d.registry.approve_member(frank.address)


def test_approve_member_rejects_pending_approver(d: Deployment) -> None:
    frank, gina = make_account("frank"), make_account("gina")
    d.register_organisation(frank, "Beta")
    d.register_organisation(gina, "Beta")
    with d.env.prank(frank.address), boa.reverts("registry: not a member of that organisation"):
        d.registry.approve_member(gina.address)


@pytest.mark.parametrize("who", ["carol", "erin", "mallory"])
def test_approve_member_rejects_non_pending_account(d: Deployment, who: str) -> None:
    with d.env.prank(d.alice.address), boa.reverts("registry: not a pending member"):
        d.registry.approve_member(getattr(d, who).address)


def test_register_organisation_accepts_64_byte_name(d: Deployment) -> None:
    frank = make_account("frank")
    name = "N" * 64
    organisation_id = d.register_organisation(frank, name)
    assert d.registry.organisations(organisation_id).name == name


def test_register_organisation_rejects_supervisor(d: Deployment) -> None:
    with d.env.prank(d.supervisor.address), boa.reverts("registry: supervisor cannot register"):
        d.registry.register_organisation("Supervisors", public_key_of(d.supervisor))


@pytest.mark.parametrize("who", ["alice", "erin"])
def test_register_organisation_rejects_registered_account(d: Deployment, who: str) -> None:
    account = getattr(d, who)  # a member and a customer
    with d.env.prank(account.address), boa.reverts("registry: already registered"):
        d.registry.register_organisation("Elsewhere", public_key_of(account))


def test_register_organisation_rejects_empty_name(d: Deployment) -> None:
    with d.env.prank(d.mallory.address), boa.reverts("registry: empty name"):
        d.registry.register_organisation("", public_key_of(d.mallory))


@pytest.mark.parametrize("length", [0, 33, 63])
def test_register_organisation_rejects_short_public_key(d: Deployment, length: int) -> None:
    with d.env.prank(d.mallory.address), boa.reverts("registry: bad public key"):
        d.registry.register_organisation("Mallory Ltd", public_key_of(d.mallory)[:length])


def test_register_organisation_rejects_someone_elses_public_key(d: Deployment) -> None:
    with d.env.prank(d.mallory.address), boa.reverts("registry: public key does not match sender"):
        d.registry.register_organisation("Mallory Ltd", public_key_of(d.alice))


# --- register_customer ------------------------------------------------------------------------------------


def test_register_customer(d: Deployment) -> None:
    frank = make_account("frank")
    key = public_key_of(frank)
    with d.env.prank(frank.address):
        d.registry.register_customer(key)

    assert_event(d.registry, "CustomerRegistered", account=frank.address, public_key=key)
    assert d.registry.account_kind(frank.address) == KIND_CUSTOMER
    assert d.registry.public_key(frank.address) == key
    assert d.registry.organisation_of(frank.address) == 0
    assert d.registry.status_of(frank.address) == STATUS_NONE
    assert not d.registry.is_audited(frank.address)


def test_register_customer_rejects_supervisor(d: Deployment) -> None:
    with d.env.prank(d.supervisor.address), boa.reverts("registry: supervisor cannot register"):
        d.registry.register_customer(public_key_of(d.supervisor))


@pytest.mark.parametrize("who", ["alice", "erin"])
def test_register_customer_rejects_registered_account(d: Deployment, who: str) -> None:
    account = getattr(d, who)
    with d.env.prank(account.address), boa.reverts("registry: already registered"):
        d.registry.register_customer(public_key_of(account))


def test_register_customer_rejects_short_public_key(d: Deployment) -> None:
    with d.env.prank(d.mallory.address), boa.reverts("registry: bad public key"):
        d.registry.register_customer(public_key_of(d.mallory)[:63])


def test_register_customer_rejects_someone_elses_public_key(d: Deployment) -> None:
    with d.env.prank(d.mallory.address), boa.reverts("registry: public key does not match sender"):
        d.registry.register_customer(public_key_of(d.bob))


# --- set_status -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (STATUS_TO_AUDIT, STATUS_AUDITED),
        (STATUS_TO_AUDIT, STATUS_SUSPENDED),
        (STATUS_AUDITED, STATUS_SUSPENDED),
        (STATUS_AUDITED, STATUS_TO_AUDIT),
        (STATUS_SUSPENDED, STATUS_AUDITED),
        (STATUS_SUSPENDED, STATUS_TO_AUDIT),
    ],
)
def test_set_status(d: Deployment, old: int, new: int) -> None:
    if old != STATUS_TO_AUDIT:
        d.set_status(d.gamma_id, old)
    with d.env.prank(d.supervisor.address):
        d.registry.set_status(d.gamma_id, new)

    assert_event(
        d.registry,
        "StatusChanged",
        organisation_id=d.gamma_id,
        old_status=old,
        new_status=new,
        supervisor=d.supervisor.address,
    )
    assert d.registry.organisations(d.gamma_id).status == new
    assert d.registry.status_of(d.dave.address) == new
    assert d.registry.is_audited(d.dave.address) == (new == STATUS_AUDITED)


@pytest.mark.parametrize("who", ["platform", "alice", "mallory"])
def test_set_status_rejects_non_supervisor(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("ownable: caller is not the owner"):
        d.registry.set_status(d.gamma_id, STATUS_AUDITED)


@pytest.mark.parametrize("status", [0, STATUS_TO_AUDIT | STATUS_AUDITED, STATUS_AUDITED | STATUS_SUSPENDED, 7])
def test_set_status_rejects_invalid_status(d: Deployment, status: int) -> None:
    """The empty flag and any mix of statuses are refused with the Registry's own message."""
    with d.env.prank(d.supervisor.address), boa.reverts("registry: invalid status"):
        d.registry.set_status(d.gamma_id, status)


@pytest.mark.parametrize("status", [8, 255])
def test_set_status_rejects_bits_outside_the_flag(d: Deployment, status: int) -> None:
    """A value with a bit beyond the three statuses does not decode as an OrgStatus: the call reverts."""
    with d.env.prank(d.supervisor.address), pytest.raises(boa.BoaError):
        d.registry.set_status(d.gamma_id, status)
    assert d.registry.organisations(d.gamma_id)[1] == STATUS_TO_AUDIT


@pytest.mark.parametrize("organisation_id", [0, 4, 2**256 - 1])
def test_set_status_rejects_unknown_organisation(d: Deployment, organisation_id: int) -> None:
    with d.env.prank(d.supervisor.address), boa.reverts("registry: unknown organisation"):
        d.registry.set_status(organisation_id, STATUS_AUDITED)


def test_set_status_rejects_unchanged_status(d: Deployment) -> None:
    with d.env.prank(d.supervisor.address), boa.reverts("registry: status unchanged"):
        d.registry.set_status(d.acme_id, STATUS_AUDITED)


@FUZZ
@given(status=st.integers(min_value=0, max_value=7))
def test_set_status_fuzz(d: Deployment, status: int) -> None:
    """Only one status (one bit) is accepted, and only when it differs from the current one (Gamma is ToAudit)."""
    with d.env.anchor(), d.env.prank(d.supervisor.address):
        if status not in (STATUS_TO_AUDIT, STATUS_AUDITED, STATUS_SUSPENDED):
            with boa.reverts("registry: invalid status"):
                d.registry.set_status(d.gamma_id, status)
        elif status == STATUS_TO_AUDIT:
            with boa.reverts("registry: status unchanged"):
                d.registry.set_status(d.gamma_id, status)
        else:
            d.registry.set_status(d.gamma_id, status)
            assert d.registry.status_of(d.dave.address) == status


# --- views ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "audited"),
    [
        ("alice", STATUS_AUDITED, True),
        ("carol", STATUS_AUDITED, True),
        ("bob", STATUS_AUDITED, True),
        ("dave", STATUS_TO_AUDIT, False),
        ("erin", STATUS_NONE, False),
        ("mallory", STATUS_NONE, False),
        ("supervisor", STATUS_NONE, False),
    ],
)
def test_status_of_and_is_audited(d: Deployment, who: str, status: int, audited: bool) -> None:
    account = getattr(d, who)
    assert d.registry.status_of(account.address) == status
    assert d.registry.is_audited(account.address) is audited


def test_suspension_applies_to_every_member(d: Deployment) -> None:
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    for member in (d.alice, d.carol):
        assert d.registry.status_of(member.address) == STATUS_SUSPENDED
        assert not d.registry.is_audited(member.address)
    assert d.registry.is_audited(d.bob.address)


def test_public_key_and_account_kind_views(d: Deployment) -> None:
    assert d.registry.public_key(d.alice.address) == public_key_of(d.alice)
    assert d.registry.public_key(d.erin.address) == public_key_of(d.erin)
    assert d.registry.public_key(d.mallory.address) == b""
    assert d.registry.account_kind(d.alice.address) == KIND_MEMBER
    assert d.registry.account_kind(d.erin.address) == KIND_CUSTOMER
    assert d.registry.account_kind(d.mallory.address) == KIND_NONE
    assert d.registry.organisation_of(d.carol.address) == d.acme_id
    assert tuple(d.registry.organisations(d.acme_id)) == ("Acme", STATUS_AUDITED, 2)


def test_public_key_derives_the_account_address(d: Deployment) -> None:
    """What other parties rely on for ECIES: keccak256(public_key)[12:] is the account's address."""
    for account in (d.alice, d.bob, d.carol, d.dave, d.erin):
        key = d.registry.public_key(account.address)
        assert keccak(key)[12:] == bytes.fromhex(account.address[2:])


@FUZZ
@given(
    name=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=64),
    customer=st.booleans(),
)
def test_register_fuzz(d: Deployment, name: str, customer: bool) -> None:
    """Any 1..64-byte name registers once; a second registration of the same account always fails."""
    frank = make_account(f"fuzz-{name}")
    with d.env.anchor(), d.env.prank(frank.address):
        if customer:
            d.registry.register_customer(public_key_of(frank))
        else:
            organisation_id = d.registry.register_organisation(name, public_key_of(frank))
            assert d.registry.organisation_id_of_name(name) == organisation_id
            assert d.registry.organisations(organisation_id).name == name
        with boa.reverts("registry: already registered"):
            d.registry.register_organisation(name, public_key_of(frank))
        with boa.reverts("registry: already registered"):
            d.registry.register_customer(public_key_of(frank))


# --- transfer_ownership -----------------------------------------------------------------------------------


def test_transfer_ownership_moves_the_supervisor_role(d: Deployment) -> None:
    new_supervisor = make_account("new-supervisor")
    with d.env.prank(d.supervisor.address):
        d.registry.transfer_ownership(new_supervisor.address)

    assert_event(
        d.registry,
        "OwnershipTransferred",
        previous_owner=d.supervisor.address,
        new_owner=new_supervisor.address,
    )
    assert d.registry.owner() == new_supervisor.address
    with d.env.prank(d.supervisor.address), boa.reverts("ownable: caller is not the owner"):
        d.registry.set_status(d.gamma_id, STATUS_AUDITED)
    with d.env.prank(new_supervisor.address):
        d.registry.set_status(d.gamma_id, STATUS_AUDITED)
    with d.env.prank(new_supervisor.address), boa.reverts("registry: supervisor cannot register"):
        d.registry.register_customer(public_key_of(new_supervisor))
    with d.env.prank(d.supervisor.address):  # the former supervisor is an ordinary account again
        d.registry.register_customer(public_key_of(d.supervisor))


def test_transfer_ownership_rejects_non_owner(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("ownable: caller is not the owner"):
        d.registry.transfer_ownership(d.alice.address)


def test_transfer_ownership_rejects_zero_address(d: Deployment) -> None:
    with d.env.prank(d.supervisor.address), boa.reverts("ownable: new owner is the zero address"):
        d.registry.transfer_ownership(ZERO_ADDRESS)
