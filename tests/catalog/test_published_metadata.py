"""What publishing puts on chain and off chain, on every backend: a DCAT description that validates and names
the real chain, whose SHA-256 is the on-chain ``dcat_hash``; an attestation that holds only for the description it
was given for; a use-right policy carrying its query count; membership requests that can be withdrawn."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph

from datagora.domain.canonical import canonical_json
from datagora.domain.errors import TransactionReverted, ValidationError
from datagora.domain.models import AccountKind
from datagora.query import UsagePolicy
from datagora.services import publishing, registry, use_rights
from datagora.services.participant import Participant
from tests import REPO_ROOT
from tests.world import World, write_table

SHAPES = REPO_ROOT / "docs" / "shapes"


def test_published_dcat_validates_names_the_chain_and_is_hashed_on_chain(world: World, tmp_path: Path) -> None:
    assert world.attestor is not None
    name = "Ward survey — Zürich café 東京"  # non-ASCII: the hash is over UTF-8 text, not \u escapes
    prepared = publishing.prepare(world.seller, write_table(tmp_path / "d.csv"), name=name, domain="health")
    token_id, attestation, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)

    dcat = world.seller.load_record("datasets", prepared.description.content_hash.hex())["dcat"]
    received = json.loads(json.dumps(dcat))  # as a buyer reads it from JSON text with ASCII escapes
    assert dcat["dct:title"] == name
    assert hashlib.sha256(canonical_json(received)).digest() == world.contracts.catalog.dataset(token_id).dcat_hash
    assert attestation.dcat_hash == world.contracts.catalog.dataset(token_id).dcat_hash
    chain_id = world.contracts.chain.chain_id
    assert dcat["dct:publisher"]["@id"] == f"did:pkh:eip155:{chain_id}:{world.seller.address}"
    assert dcat["dcat:distribution"]["dcat:accessURL"]["@id"] == (
        f"ethereum:{world.contracts.addresses['Market']}@{chain_id}"
    )
    data = Graph().parse(data=json.dumps(dcat), format="json-ld")
    for profile in ("dcat3", "dcat-ap-3"):
        shapes = Graph().parse(SHAPES / f"{profile}.ttl", format="turtle")
        conforms, _, report = pyshacl.validate(data, shacl_graph=shapes, inference="none")
        assert conforms, report


@pytest.mark.parametrize(
    "change",
    [{"name": "Another name"}, {"domain": "finance"}, {"attributes": "a"}, {"size": 1}],
    ids=["name", "domain", "attributes", "size"],
)
def test_attestation_holds_only_for_the_description_it_covers(
    world: World, tmp_path: Path, change: dict[str, object]
) -> None:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, write_table(tmp_path / "d.csv"), name="Ward survey")
    _, dcat_hash = publishing.dcat_for(
        prepared, world.seller.address, chain_id=world.chain.chain_id, market=world.contracts.addresses["Market"]
    )
    key = world.contracts.registry.public_key(world.attestor.address)
    attestation = world.attestor.attest(publishing.attestation_request(world.seller, prepared, key, dcat_hash))
    renamed = replace(prepared.description, **change)  # type: ignore[arg-type]
    with pytest.raises(TransactionReverted, match="catalog: invalid attestation"):
        world.contracts.catalog.publish(
            world.seller.account,
            renamed,
            dcat_hash,
            prepared.fingerprint_commitment,
            attestation.expiry,
            attestation.signature,
        )
    token_id, _ = world.contracts.catalog.publish(
        world.seller.account,
        prepared.description,
        dcat_hash,
        prepared.fingerprint_commitment,
        attestation.expiry,
        attestation.signature,
    )
    assert world.contracts.catalog.dataset(token_id).description_hash == attestation.description_hash


def _policy(world: World, token_id: int, max_queries: int | None) -> UsagePolicy:
    return UsagePolicy.aggregates_only(
        uid=f"urn:datagora:policy:dataset-{token_id}",
        assigner=f"did:pkh:eip155:{world.chain.chain_id}:{world.seller.address}",
        target=f"urn:datagora:dataset:{token_id}",
        max_queries=max_queries,
    )


def test_use_right_policy_carries_the_query_count(world: World, tmp_path: Path) -> None:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, write_table(tmp_path / "q.csv"), name="Queries")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    with pytest.raises(ValidationError, match="odrl:count"):
        use_rights.list_use_right(
            world.contracts, world.seller, token_id, 10**15, _policy(world, token_id, 5), max_queries=7
        )
    listing_id, _ = use_rights.list_use_right(
        world.contracts, world.seller, token_id, 10**15, _policy(world, token_id, None), max_queries=7
    )
    listed = use_rights.policy_of(world.seller, listing_id)
    assert listed.max_queries == 7
    (permission,) = listed.to_jsonld()["permission"]
    assert {"leftOperand": "count", "operator": "lteq", "rightOperand": 7} in permission["constraint"]
    assert use_rights.policy_hash_on_chain(world.contracts, listing_id) == listed.policy_hash()


def test_squatted_founder_withdraws_and_registers_afresh(world: World, tmp_path: Path) -> None:
    from eth_account import Account

    squatter = Participant("squatter", Account.create(), tmp_path / "squatter")
    founder = Participant("founder", Account.create(), tmp_path / "founder")
    for p in (squatter, founder):
        world.chain.fund(p.address, 10**18)
    registry.register_organisation(world.contracts, squatter, "Contoso")
    org, _ = registry.register_organisation(world.contracts, founder, "Contoso")
    assert world.contracts.registry.account_kind(founder.address) == AccountKind.PENDING
    tx = registry.withdraw_request(world.contracts, founder)
    assert [e.name for e in tx.events] == ["MembershipWithdrawn"]
    assert world.contracts.registry.account_kind(founder.address) == AccountKind.NONE
    fresh, _ = registry.register_organisation(world.contracts, founder, "Contoso Ltd")
    assert fresh.id != org.id and fresh.members == 1

    other = Participant("other", Account.create(), tmp_path / "other")
    world.chain.fund(other.address, 10**18)
    registry.register_organisation(world.contracts, other, "Contoso Ltd")
    tx = registry.reject_member(world.contracts, founder.account, other.address)
    assert [e.name for e in tx.events] == ["MembershipRejected"]
    assert world.contracts.registry.account_kind(other.address) == AccountKind.NONE
