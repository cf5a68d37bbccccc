"""Catalog.vy: data NFTs, publishing (EntDSM Algorithm 3) and the EIP-712 novelty attestation."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_abi import encode
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    STATUS_AUDITED,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    Deployment,
    assert_event,
    description_hash,
    digest,
    events,
    make_account,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

CONTENT, DCAT, FINGERPRINT = digest("content"), digest("dcat"), digest("fingerprint")
DESCRIPTION = ("hospital.example.org", "Admissions 2024", "age,ward,length_of_stay", 52_000)


def publish_args(d: Deployment, publisher: Any, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of a valid ``publish`` call by ``publisher``, signed by the platform attester.

    ``overrides`` replace fields after signing (to tamper with them), except ``signer`` and ``sign_*`` which
    change what is signed (the description fields are signed through their description hash).
    """
    signer = overrides.pop("signer", None)
    signed = {
        "publisher": publisher.address,
        "domain": DESCRIPTION[0],
        "name": DESCRIPTION[1],
        "attributes": DESCRIPTION[2],
        "size": DESCRIPTION[3],
        "content_hash": CONTENT,
        "fingerprint_commitment": FINGERPRINT,
        "dcat_hash": DCAT,
        "expiry": d.env.timestamp + 600,
    }
    signed.update({k.removeprefix("sign_"): overrides.pop(k) for k in list(overrides) if k.startswith("sign_")})
    domain = {k: overrides.pop(k) for k in ("chain_id", "verifying_contract") if k in overrides}
    described = description_hash(
        signed["publisher"],
        signed["domain"],
        signed["name"],
        signed["attributes"],
        signed["size"],
        signed["content_hash"],
    )
    signature = d.attest(
        signed["publisher"],
        signed["content_hash"],
        described,
        signed["fingerprint_commitment"],
        signed["dcat_hash"],
        signed["expiry"],
        signer=signer,
        **domain,
    )
    args = {k: signed[k] for k in signed if k != "publisher"}
    args["attestation"] = signature
    args.update(overrides)
    return args


def call_publish(d: Deployment, publisher: Any, args: dict[str, Any]) -> int:
    with d.env.prank(publisher.address):
        return int(
            d.catalog.publish(
                args["domain"],
                args["name"],
                args["attributes"],
                args["size"],
                args["content_hash"],
                args["dcat_hash"],
                args["fingerprint_commitment"],
                args["expiry"],
                args["attestation"],
            )
        )


# --- deployment and EIP-712 ---------------------------------------------------------------------------------


def test_deployment(d: Deployment) -> None:
    c = d.catalog
    assert c.name() == "Datagora Dataset"
    assert c.symbol() == "DATA"
    assert c.REGISTRY() == d.registry.address
    assert c.owner() == d.platform.address
    assert c.hasRole(c.DEFAULT_ADMIN_ROLE(), d.platform.address)
    assert c.hasRole(c.ATTESTER_ROLE(), d.platform.address)
    assert not c.hasRole(c.ATTESTER_ROLE(), d.alice.address)
    assert c.ATTESTER_ROLE() == keccak(text="ATTESTER_ROLE")
    assert c.getRoleAdmin(c.ATTESTER_ROLE()) == c.DEFAULT_ADMIN_ROLE() == ZERO_BYTES32
    assert c.dataset_count() == 0
    assert c.supportsInterface(bytes.fromhex("80ac58cd"))  # ERC-721


def test_attestation_typehash_and_domain(d: Deployment) -> None:
    type_string = (
        "NoveltyAttestation(address publisher,bytes32 contentHash,bytes32 descriptionHash,"
        "bytes32 fingerprintCommitment,bytes32 dcatHash,uint256 expiry)"
    )
    assert d.catalog.ATTESTATION_TYPEHASH() == keccak(text=type_string)
    _fields, name, version, chain_id, verifying_contract, _salt, _extensions = d.catalog.eip712Domain()
    assert (name, version, chain_id, verifying_contract) == ("Datagora Catalog", "1", d.chain_id, d.catalog.address)
    signable = encode_typed_data(
        full_message=d.attestation_message(d.alice.address, CONTENT, DCAT, FINGERPRINT, DCAT, 1_700_000_000)
    )
    assert d.catalog.DOMAIN_SEPARATOR() == signable.header


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.binary(min_size=32, max_size=32),
    described=st.binary(min_size=32, max_size=32),
    fingerprint=st.binary(min_size=32, max_size=32),
    dcat=st.binary(min_size=32, max_size=32),
    expiry=st.integers(min_value=0, max_value=2**256 - 1),
)
def test_attestation_digest_matches_eth_account(
    d: Deployment, content: bytes, described: bytes, fingerprint: bytes, dcat: bytes, expiry: int
) -> None:
    """The on-chain digest equals eth-account's EIP-712 hash of the same typed data (what off-chain signers sign)."""
    message = d.attestation_message(d.bob.address, content, described, fingerprint, dcat, expiry)
    signable = encode_typed_data(full_message=message)
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    got = d.catalog.attestation_digest(d.bob.address, content, described, fingerprint, dcat, expiry)
    assert got == expected


# --- publish ------------------------------------------------------------------------------------------------


def test_publish_mints_token_and_records_dataset(d: Deployment) -> None:
    args = publish_args(d, d.alice)
    token_id = call_publish(d, d.alice, args)

    description_hash = keccak(
        encode(
            ["address", "string", "string", "string", "uint256", "bytes32"],
            [d.alice.address, *DESCRIPTION, CONTENT],
        )
    )
    assert_event(
        d.catalog,
        "DatasetPublished",
        token_id=1,
        owner=d.alice.address,
        content_hash=CONTENT,
        domain=DESCRIPTION[0],
        name=DESCRIPTION[1],
        attributes=DESCRIPTION[2],
        size=DESCRIPTION[3],
        description_hash=description_hash,
        dcat_hash=DCAT,
        fingerprint_commitment=FINGERPRINT,
        attester=d.platform.address,
    )
    assert_event(d.catalog, "Transfer", sender=ZERO_ADDRESS, receiver=d.alice.address, token_id=1)
    assert token_id == 1
    assert d.catalog.dataset_count() == 1
    assert d.catalog.content_of(1) == CONTENT
    assert tuple(d.catalog.dataset_record(1)) == (CONTENT, d.alice.address, d.env.evm.patch.block_number)
    assert d.catalog.token_of_content(CONTENT) == 1
    assert d.catalog.ownerOf(1) == d.alice.address
    assert d.catalog.balanceOf(d.alice.address) == 1


def test_publish_token_ids_increase(d: Deployment) -> None:
    assert d.publish(d.alice) == 1
    assert d.publish(d.carol) == 2  # a second member of the same audited organisation
    assert d.publish(d.bob) == 3
    assert d.catalog.dataset_count() == 3
    assert d.catalog.ownerOf(2) == d.carol.address


def test_publish_accepts_attestation_at_expiry(d: Deployment) -> None:
    args = publish_args(d, d.alice, sign_expiry=d.env.timestamp)
    assert call_publish(d, d.alice, args) == 1


def test_publish_accepts_second_attester(d: Deployment) -> None:
    attester = make_account("second-attester")
    with d.env.prank(d.platform.address):
        d.catalog.grantRole(d.catalog.ATTESTER_ROLE(), attester.address)
    call_publish(d, d.alice, publish_args(d, d.alice, signer=attester))
    (event,) = events(d.catalog, "DatasetPublished")
    assert event.attester == attester.address


def test_publish_accepts_eip2098_compact_signature(d: Deployment) -> None:
    """snekmate's ``_recover_sig`` also accepts the 64-byte (r, vs) form; content-hash uniqueness stops replays."""
    args = publish_args(d, d.alice)
    signature = args["attestation"]
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    args["attestation"] = r + ((v - 27) << 255 | s).to_bytes(32, "big")
    assert call_publish(d, d.alice, args) == 1
    with boa.reverts("catalog: content already published"):
        call_publish(d, d.alice, publish_args(d, d.alice))


@pytest.mark.parametrize("who", ["dave", "erin", "mallory", "platform", "supervisor"])
def test_publish_rejects_unaudited_publisher(d: Deployment, who: str) -> None:
    """ToAudit member, customer, unregistered account, platform and supervisor cannot publish."""
    publisher = getattr(d, who)
    with boa.reverts("catalog: publisher not audited"):
        call_publish(d, publisher, publish_args(d, publisher))


@pytest.mark.parametrize("status", [STATUS_SUSPENDED, STATUS_TO_AUDIT])
def test_publish_rejects_member_of_organisation_no_longer_audited(d: Deployment, status: int) -> None:
    args = publish_args(d, d.alice)
    d.set_status(d.acme_id, status)
    with boa.reverts("catalog: publisher not audited"):
        call_publish(d, d.alice, args)
    with boa.reverts("catalog: publisher not audited"):
        call_publish(d, d.carol, publish_args(d, d.carol))


def test_publish_rejects_empty_content_hash(d: Deployment) -> None:
    args = publish_args(d, d.alice, sign_content_hash=ZERO_BYTES32)
    with boa.reverts("catalog: empty content hash"):
        call_publish(d, d.alice, args)


def test_publish_rejects_content_already_published(d: Deployment) -> None:
    call_publish(d, d.alice, publish_args(d, d.alice))
    with boa.reverts("catalog: content already published"):
        call_publish(d, d.alice, publish_args(d, d.alice, sign_fingerprint_commitment=digest("other")))
    with boa.reverts("catalog: content already published"):  # by anybody
        call_publish(d, d.bob, publish_args(d, d.bob))


def test_publish_rejects_expired_attestation(d: Deployment) -> None:
    args = publish_args(d, d.alice)
    d.env.time_travel(seconds=601)
    with boa.reverts("catalog: attestation expired"):
        call_publish(d, d.alice, args)


def test_publish_rejects_attestation_one_second_past_expiry(d: Deployment) -> None:
    args = publish_args(d, d.alice, sign_expiry=d.env.timestamp - 1)
    with boa.reverts("catalog: attestation expired"):
        call_publish(d, d.alice, args)


def test_publish_rejects_attestation_by_signer_without_role(d: Deployment) -> None:
    with boa.reverts("catalog: invalid attestation"):
        call_publish(d, d.alice, publish_args(d, d.alice, signer=d.mallory))
    with boa.reverts("catalog: invalid attestation"):  # the publisher cannot attest its own data
        call_publish(d, d.alice, publish_args(d, d.alice, signer=d.alice))


def test_publish_rejects_attestation_after_attester_role_revoked(d: Deployment) -> None:
    args = publish_args(d, d.alice)
    with d.env.prank(d.platform.address):
        d.catalog.revokeRole(d.catalog.ATTESTER_ROLE(), d.platform.address)
    with boa.reverts("catalog: invalid attestation"):
        call_publish(d, d.alice, args)


@pytest.mark.parametrize(
    "tamper",
    [
        {"content_hash": digest("tampered")},
        {"fingerprint_commitment": digest("tampered")},
        {"dcat_hash": digest("tampered")},
        {"expiry_delta": 1},
        {"sign_publisher": "bob"},
        {"chain_id": 31_337},
        {"verifying_contract": "0x" + "11" * 20},
        {"name": "Someone else's admissions"},
        {"domain": "bank.example.org"},
        {"attributes": "age,ward"},
        {"size": 1},
    ],
    ids=[
        "content_hash",
        "fingerprint",
        "dcat_hash",
        "expiry",
        "publisher",
        "chain_id",
        "verifying_contract",
        "name",
        "domain",
        "attributes",
        "size",
    ],
)
def test_publish_rejects_tampered_attestation(d: Deployment, tamper: dict[str, Any]) -> None:
    overrides = dict(tamper)
    if "sign_publisher" in overrides:
        overrides["sign_publisher"] = d.bob.address
    delta = overrides.pop("expiry_delta", 0)
    args = publish_args(d, d.alice, **overrides)
    args["expiry"] += delta
    with boa.reverts("catalog: invalid attestation"):
        call_publish(d, d.alice, args)


def test_publish_rejects_attestation_replayed_by_another_publisher(d: Deployment) -> None:
    """Bob cannot use the attestation the platform gave Alice (the publisher is part of the signed struct)."""
    args = publish_args(d, d.alice)
    with boa.reverts("catalog: invalid attestation"):
        call_publish(d, d.bob, args)


@pytest.mark.parametrize(
    "signature", [b"", b"\x01" * 10, b"\x01" * 63, b"\x07" * 64], ids=["empty", "10-bytes", "63-bytes", "random-signer"]
)
def test_publish_rejects_malformed_or_foreign_signature(d: Deployment, signature: bytes) -> None:
    """Wrong length recovers nothing; ``0x07 * 64`` recovers some unrelated address without the role."""
    args = publish_args(d, d.alice, attestation=signature)
    with boa.reverts("catalog: invalid attestation"):
        call_publish(d, d.alice, args)


@pytest.mark.parametrize("signature", [b"\x01" * 65, b"\x00" * 65, b"\x00" * 64], ids=["ones65", "zeros65", "zeros64"])
def test_publish_rejects_unrecoverable_signature(d: Deployment, signature: bytes) -> None:
    """ecrecover gives the zero address: snekmate's ``_recover_sig`` reverts itself, with its own message.

    So ``attester != empty(address)`` in Catalog.publish only matters for signatures of the wrong length.
    """
    args = publish_args(d, d.alice, attestation=signature)
    with boa.reverts("ecdsa: invalid signature"):
        call_publish(d, d.alice, args)


def test_publish_rejects_malleable_high_s_signature(d: Deployment) -> None:
    args = publish_args(d, d.alice)
    signature = args["attestation"]
    s = int.from_bytes(signature[32:64], "big")
    v = 28 if signature[64] == 27 else 27
    args["attestation"] = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v])
    with boa.reverts("ecdsa: invalid signature `s` value"):
        call_publish(d, d.alice, args)


def test_publish_fails_for_suspended_then_works_when_reaudited(d: Deployment) -> None:
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with boa.reverts("catalog: publisher not audited"):
        d.publish(d.alice)
    d.set_status(d.acme_id, STATUS_AUDITED)
    assert d.publish(d.alice) == 1


# --- exported ERC-721 ---------------------------------------------------------------------------------------


def test_transfer_from_by_owner(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.alice.address):
        d.catalog.transferFrom(d.alice.address, d.erin.address, token_id)
    assert_event(d.catalog, "Transfer", sender=d.alice.address, receiver=d.erin.address, token_id=token_id)
    assert d.catalog.ownerOf(token_id) == d.erin.address
    assert d.catalog.balanceOf(d.alice.address) == 0
    assert d.catalog.token_of_content(d.catalog.content_of(token_id)) == token_id
    assert d.catalog.dataset_record(token_id)[1] == d.erin.address


def test_transfer_from_rejects_stranger(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.mallory.address), boa.reverts("erc721: caller is not token owner or approved"):
        d.catalog.transferFrom(d.alice.address, d.mallory.address, token_id)


def test_transfer_from_rejects_wrong_owner_argument(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.alice.address), boa.reverts("erc721: transfer from incorrect owner"):
        d.catalog.transferFrom(d.bob.address, d.erin.address, token_id)


def test_approve_then_approved_account_transfers(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.alice.address):
        d.catalog.approve(d.bob.address, token_id)
    assert_event(d.catalog, "Approval", owner=d.alice.address, approved=d.bob.address, token_id=token_id)
    assert d.catalog.getApproved(token_id) == d.bob.address
    with d.env.prank(d.bob.address):
        d.catalog.safeTransferFrom(d.alice.address, d.bob.address, token_id)
    assert d.catalog.ownerOf(token_id) == d.bob.address
    assert d.catalog.getApproved(token_id) == ZERO_ADDRESS


def test_approve_rejects_non_owner(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.mallory.address), boa.reverts("erc721: approve caller is not token owner or approved for all"):
        d.catalog.approve(d.mallory.address, token_id)


def test_set_approval_for_all(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.alice.address):
        d.catalog.setApprovalForAll(d.market.address, True)
    assert_event(d.catalog, "ApprovalForAll", owner=d.alice.address, operator=d.market.address, approved=True)
    assert d.catalog.isApprovedForAll(d.alice.address, d.market.address)
    with d.env.prank(d.alice.address), boa.reverts("erc721: approve to caller"):
        d.catalog.setApprovalForAll(d.alice.address, True)
    assert d.catalog.ownerOf(token_id) == d.alice.address


def test_tokens_cannot_be_minted_outside_publish(d: Deployment) -> None:
    """The snekmate minting entry points are not exported: ``publish`` is the only way to mint (``permit`` only
    approves; see test_catalog_interfaces.py)."""
    for name in ("safe_mint", "burn", "set_minter", "transfer_ownership"):
        assert not hasattr(d.catalog, name), name


# --- access control -----------------------------------------------------------------------------------------


def test_grant_role_by_admin(d: Deployment) -> None:
    role = d.catalog.ATTESTER_ROLE()
    with d.env.prank(d.platform.address):
        d.catalog.grantRole(role, d.bob.address)
    assert_event(d.catalog, "RoleGranted", role=role, account=d.bob.address, sender=d.platform.address)
    assert d.catalog.hasRole(role, d.bob.address)


@pytest.mark.parametrize("who", ["alice", "mallory", "supervisor"])
def test_grant_role_rejects_non_admin(d: Deployment, who: str) -> None:
    account = getattr(d, who)
    with d.env.prank(account.address), boa.reverts("access_control: account is missing role"):
        d.catalog.grantRole(d.catalog.ATTESTER_ROLE(), account.address)


def test_attester_cannot_grant_attester_role(d: Deployment) -> None:
    role = d.catalog.ATTESTER_ROLE()
    with d.env.prank(d.platform.address):
        d.catalog.grantRole(role, d.bob.address)
    with d.env.prank(d.bob.address), boa.reverts("access_control: account is missing role"):
        d.catalog.grantRole(role, d.mallory.address)


def test_revoke_role_by_admin(d: Deployment) -> None:
    role = d.catalog.ATTESTER_ROLE()
    with d.env.prank(d.platform.address):
        d.catalog.revokeRole(role, d.platform.address)
    assert_event(d.catalog, "RoleRevoked", role=role, account=d.platform.address, sender=d.platform.address)
    assert not d.catalog.hasRole(role, d.platform.address)


def test_revoke_role_rejects_non_admin(d: Deployment) -> None:
    with d.env.prank(d.mallory.address), boa.reverts("access_control: account is missing role"):
        d.catalog.revokeRole(d.catalog.ATTESTER_ROLE(), d.platform.address)


def test_renounce_role_only_for_oneself(d: Deployment) -> None:
    role = d.catalog.ATTESTER_ROLE()
    with d.env.prank(d.mallory.address), boa.reverts("access_control: can only renounce roles for itself"):
        d.catalog.renounceRole(role, d.platform.address)
    with d.env.prank(d.platform.address):
        d.catalog.renounceRole(role, d.platform.address)
    assert not d.catalog.hasRole(role, d.platform.address)


# --- views --------------------------------------------------------------------------------------------------


def test_views_of_unknown_dataset(d: Deployment) -> None:
    assert d.catalog.content_of(1) == ZERO_BYTES32
    assert tuple(d.catalog.dataset_record(1)) == (ZERO_BYTES32, ZERO_ADDRESS, 0)
    assert d.catalog.token_of_content(CONTENT) == 0
    with boa.reverts("erc721: invalid token ID"):
        d.catalog.ownerOf(1)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    domain=st.text(max_size=64).filter(lambda s: len(s.encode()) <= 64),
    name=st.text(max_size=128).filter(lambda s: len(s.encode()) <= 128),
    attributes=st.text(max_size=300),
    size=st.integers(min_value=0, max_value=2**256 - 1),
    content=st.binary(min_size=32, max_size=32).filter(lambda b: b != ZERO_BYTES32),
)
def test_publish_fuzz(d: Deployment, domain: str, name: str, attributes: str, size: int, content: bytes) -> None:
    """Any description publishes; the logged description hash commits to exactly what the event carries."""
    with d.env.anchor():
        args = publish_args(
            d,
            d.alice,
            sign_content_hash=content,
            sign_domain=domain,
            sign_name=name,
            sign_attributes=attributes,
            sign_size=size,
        )
        token_id = call_publish(d, d.alice, args)
        (event,) = events(d.catalog, "DatasetPublished")
        assert (event.domain, event.name, event.attributes, event.size) == (domain, name, attributes, size)
        expected = keccak(
            encode(
                ["address", "string", "string", "string", "uint256", "bytes32"],
                [d.alice.address, domain, name, attributes, size, content],
            )
        )
        assert event.description_hash == expected
        assert d.catalog.content_of(token_id) == content
        assert d.catalog.token_of_content(content) == token_id


# --- retire -------------------------------------------------------------------------------------------------


def retire(d: Deployment, who: Any, token_id: int) -> None:
    with d.env.prank(who.address):
        d.catalog.retire(token_id)


def test_retire_burns_the_token_and_keeps_the_record(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    record = tuple(d.catalog.dataset_record(token_id))
    assert record[1] == d.alice.address
    assert not d.catalog.retired(token_id)
    retire(d, d.alice, token_id)
    assert_event(d.catalog, "Retired", token_id=token_id, owner=d.alice.address, content_hash=record[0])
    assert_event(d.catalog, "Transfer", sender=d.alice.address, receiver=ZERO_ADDRESS, token_id=token_id)
    assert d.catalog.retired(token_id)
    with boa.reverts("erc721: invalid token ID"):
        d.catalog.ownerOf(token_id)
    assert d.catalog.balanceOf(d.alice.address) == 0
    # the content hash and the block of publication stay for the audit trail; the holder is gone
    assert tuple(d.catalog.dataset_record(token_id)) == (record[0], ZERO_ADDRESS, record[2])
    assert d.catalog.token_of_content(record[0]) == token_id
    assert d.catalog.dataset_count() == 1


def test_retired_is_false_for_unknown_and_live_datasets(d: Deployment) -> None:
    assert not d.catalog.retired(0)
    assert not d.catalog.retired(1)
    token_id = d.publish(d.alice)
    assert not d.catalog.retired(token_id)
    listing_id = d.list_token(d.alice, token_id)  # in the Market's custody: still live
    assert d.catalog.ownerOf(token_id) == d.market.address and not d.catalog.retired(token_id)
    assert listing_id > 0


def test_retire_leaves_other_datasets_alone(d: Deployment) -> None:
    first, second, third = d.publish(d.alice), d.publish(d.alice), d.publish(d.bob)
    retire(d, d.alice, first)
    assert [d.catalog.retired(t) for t in (first, second, third)] == [True, False, False]
    assert d.catalog.balanceOf(d.alice.address) == 1
    assert d.catalog.ownerOf(second) == d.alice.address and d.catalog.ownerOf(third) == d.bob.address


def test_retire_rejects_unknown_dataset(d: Deployment) -> None:
    for token_id in (0, 1, 2**256 - 1):
        with boa.reverts("catalog: unknown dataset"):
            retire(d, d.alice, token_id)


def test_retire_rejects_a_dataset_retired_already(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    retire(d, d.alice, token_id)
    with boa.reverts("catalog: dataset retired"):
        retire(d, d.alice, token_id)
    with boa.reverts("catalog: dataset retired"):
        retire(d, d.mallory, token_id)


@pytest.mark.parametrize("who", ["bob", "carol", "mallory", "platform", "supervisor"])
def test_retire_rejects_anyone_but_the_holder(d: Deployment, who: str) -> None:
    """Not another member of the owner's organisation (carol), nor the platform or the supervisor."""
    token_id = d.publish(d.alice)
    with boa.reverts("catalog: not dataset owner"):
        retire(d, getattr(d, who), token_id)
    assert d.catalog.ownerOf(token_id) == d.alice.address


def test_retire_rejects_approved_operators(d: Deployment) -> None:
    """ERC-721 approvals move a token; they do not let anyone destroy it."""
    token_id = d.publish(d.alice)  # the Market is approved for all of alice's tokens
    with d.env.prank(d.alice.address):
        d.catalog.approve(d.bob.address, token_id)
    with boa.reverts("catalog: not dataset owner"):
        retire(d, d.bob, token_id)
    with boa.reverts("catalog: not dataset owner"):
        retire(d, d.market, token_id)


def test_retire_works_for_a_suspended_owner(d: Deployment) -> None:
    """Taking data off the market never depends on the owner's audit status."""
    token_id = d.publish(d.alice)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    retire(d, d.alice, token_id)
    assert d.catalog.retired(token_id)


def test_retired_content_cannot_be_published_again(d: Deployment) -> None:
    args = publish_args(d, d.alice)
    token_id = call_publish(d, d.alice, args)
    retire(d, d.alice, token_id)
    with boa.reverts("catalog: content already published"):
        call_publish(d, d.alice, publish_args(d, d.alice))


def test_retire_waits_for_an_ownership_listing_and_its_paid_order(d: Deployment) -> None:
    """While a sale holds the token the seller cannot retire it; the paid order completes, then the new owner
    (not the seller) may retire it."""
    token_id, listing_id, order_id = d.sale(d.alice, d.bob)
    with boa.reverts("catalog: not dataset owner"):
        retire(d, d.alice, token_id)
    d.deliver(order_id)
    d.confirm(order_id)
    assert d.catalog.ownerOf(token_id) == d.bob.address
    with boa.reverts("catalog: not dataset owner"):
        retire(d, d.alice, token_id)
    retire(d, d.bob, token_id)
    assert d.catalog.retired(token_id) and listing_id > 0


def test_retire_after_cancelling_an_open_listing_then_listing_is_refused(d: Deployment) -> None:
    token_id, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    retire(d, d.alice, token_id)
    with boa.reverts("erc721: invalid token ID"):
        d.list_token(d.alice, token_id)
    with d.env.prank(d.alice.address), boa.reverts("erc721: invalid token ID"):
        d.use_rights.list_use_right(
            token_id, 10**16, 10, 86_400, ZERO_ADDRESS, digest("policy"), value=int(d.use_rights.management_fee())
        )


def test_retire_stops_use_right_sales_and_prepaid_credit_still_refunds(d: Deployment) -> None:
    """An open use-right listing sells nothing once the dataset is retired; a prepaid order is never stuck: the
    unused credit goes back to the buyer when its usage window ends."""
    from dataclasses import replace

    u = replace(d, market=d.use_rights)
    token_id = u.publish(d.alice)
    listing_id = u.list_use_right(d.alice, token_id, price_per_query=10**16, usage_window=86_400)
    order_id = u.buy_queries(d.bob, listing_id, 3)
    retire(d, d.alice, token_id)
    with boa.reverts("erc721: invalid token ID"):
        u.buy_queries(d.bob, listing_id, 1)
    d.env.time_travel(seconds=86_401)
    with d.env.prank(d.mallory.address):
        d.use_rights.expire(order_id)
    assert u.pending(d.bob) == 3 * 10**16


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["alice", "bob", "carol", "mallory"]), st.integers(min_value=0, max_value=4)),
        min_size=1,
        max_size=8,
    )
)
def test_retire_fuzz(d: Deployment, steps: list[tuple[str, int]]) -> None:
    """Random callers retire random ids: exactly the holder of a live token succeeds, with its event; ``retired``
    and the holders' balances always agree with what happened."""
    with d.env.anchor():
        holders = {d.publish(d.alice): "alice", d.publish(d.bob): "bob", d.publish(d.alice): "alice"}
        contents = {t: d.catalog.content_of(t) for t in holders}
        gone: set[int] = set()
        for who, token_id in steps:
            caller = getattr(d, who)
            if token_id not in holders:
                with boa.reverts("catalog: unknown dataset"):
                    retire(d, caller, token_id)
            elif token_id in gone:
                with boa.reverts("catalog: dataset retired"):
                    retire(d, caller, token_id)
            elif holders[token_id] != who:
                with boa.reverts("catalog: not dataset owner"):
                    retire(d, caller, token_id)
            else:
                retire(d, caller, token_id)
                assert_event(
                    d.catalog, "Retired", token_id=token_id, owner=caller.address, content_hash=contents[token_id]
                )
                gone.add(token_id)
            assert [d.catalog.retired(t) for t in range(5)] == [t in gone for t in range(5)]
            live = [t for t in holders if t not in gone]
            assert d.catalog.balanceOf(d.alice.address) == sum(holders[t] == "alice" for t in live)
            assert d.catalog.balanceOf(d.bob.address) == sum(holders[t] == "bob" for t in live)
