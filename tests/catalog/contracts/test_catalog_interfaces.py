"""Catalog.vy: every ERC-165 interface it claims is one it implements, and ERC-4494 ``permit`` works.

An interface id is the XOR of the 4-byte selectors of the interface's functions (ERC-165). For every well-known
id the Catalog answers true for, the test recomputes the id from the function signatures and checks that each
function is in the Catalog's ABI with the interface's outputs, so a claim can never again outrun the code.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import boa
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagora.chain.artifacts import load_artifact
from tests.kits.contract_kit import EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION, Deployment, assert_event

# name -> (ERC-165 id, {function signature: output types}); events-only interfaces have no functions.
INTERFACES: dict[str, tuple[int, dict[str, tuple[str, ...]]]] = {
    "ERC-165": (0x01FFC9A7, {"supportsInterface(bytes4)": ("bool",)}),
    "ERC-721": (
        0x80AC58CD,
        {
            "balanceOf(address)": ("uint256",),
            "ownerOf(uint256)": ("address",),
            "safeTransferFrom(address,address,uint256,bytes)": (),
            "safeTransferFrom(address,address,uint256)": (),
            "transferFrom(address,address,uint256)": (),
            "approve(address,uint256)": (),
            "setApprovalForAll(address,bool)": (),
            "getApproved(uint256)": ("address",),
            "isApprovedForAll(address,address)": ("bool",),
        },
    ),
    "ERC-721 Metadata": (
        0x5B5E139F,
        {"name()": ("string",), "symbol()": ("string",), "tokenURI(uint256)": ("string",)},
    ),
    "ERC-721 Enumerable": (
        0x780E9D63,
        {
            "totalSupply()": ("uint256",),
            "tokenByIndex(uint256)": ("uint256",),
            "tokenOfOwnerByIndex(address,uint256)": ("uint256",),
        },
    ),
    # ERC-4494 as implemented by snekmate: permit with v, r, s (the EIP's earlier layout, id 0x589c5ce2).
    "ERC-4494 (v, r, s)": (
        0x589C5CE2,
        {
            "permit(address,uint256,uint256,uint8,bytes32,bytes32)": (),
            "nonces(uint256)": ("uint256",),
            "DOMAIN_SEPARATOR()": ("bytes32",),
        },
    ),
    # ERC-4494 final: permit with one bytes signature.
    "ERC-4494": (
        0x5604E225,
        {
            "permit(address,uint256,uint256,bytes)": (),
            "nonces(uint256)": ("uint256",),
            "DOMAIN_SEPARATOR()": ("bytes32",),
        },
    ),
    "ERC-5267": (
        0x84B0196E,
        {"eip712Domain()": ("bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]")},
    ),
    "ERC-2981": (0x2A55205A, {"royaltyInfo(uint256,uint256)": ("address", "uint256")}),
}
# Interfaces defined by events only: their ids are fixed constants and a contract claiming them must emit the
# events whenever the metadata changes; the Catalog's metadata never changes, so it must not claim them.
EVENT_ONLY = {"ERC-4906": 0x49064906}

EXPECTED_TRUE = {"ERC-165", "ERC-721", "ERC-4494 (v, r, s)"}
PERMIT_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Permit": [
        {"name": "spender", "type": "address"},
        {"name": "tokenId", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


def selector(signature: str) -> int:
    return int.from_bytes(keccak(text=signature)[:4], "big")


def abi_functions() -> dict[str, tuple[str, ...]]:
    """``{signature: output types}`` of every function in the Catalog's ABI."""
    out = {}
    for entry in load_artifact("Catalog").abi:
        if entry.get("type") == "function":
            signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
            out[signature] = tuple(o["type"] for o in entry["outputs"])
    return out


def claims(d: Deployment, interface_id: int) -> bool:
    return bool(d.catalog.supportsInterface(interface_id.to_bytes(4, "big")))


@pytest.mark.parametrize("name", sorted(INTERFACES))
def test_interface_ids_are_the_xor_of_their_selectors(name: str) -> None:
    interface_id, functions = INTERFACES[name]
    assert reduce(lambda a, b: a ^ b, (selector(f) for f in functions)) == interface_id


@pytest.mark.parametrize("name", sorted(INTERFACES))
def test_every_claimed_interface_is_in_the_abi(d: Deployment, name: str) -> None:
    interface_id, functions = INTERFACES[name]
    abi = abi_functions()
    if claims(d, interface_id):
        missing = {f: outputs for f, outputs in functions.items() if abi.get(f) != outputs}
        assert not missing, f"Catalog claims {name} but lacks {sorted(missing)}"
    assert claims(d, interface_id) == (name in EXPECTED_TRUE)


@pytest.mark.parametrize("name", sorted(EVENT_ONLY))
def test_event_only_interfaces_are_not_claimed(d: Deployment, name: str) -> None:
    assert not claims(d, EVENT_ONLY[name])


def test_invalid_interface_id_is_not_claimed(d: Deployment) -> None:
    """ERC-165: ``0xffffffff`` must answer false."""
    assert not claims(d, 0xFFFFFFFF)


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(interface_id=st.integers(min_value=0, max_value=2**32 - 1))
def test_unknown_interface_ids_are_not_claimed(d: Deployment, interface_id: int) -> None:
    claimed = {INTERFACES[n][0] for n in EXPECTED_TRUE}
    assert claims(d, interface_id) == (interface_id in claimed)


# --- ERC-4494 permit ----------------------------------------------------------------------------------------


def permit_signature(d: Deployment, owner: Any, spender: str, token_id: int, nonce: int, deadline: int) -> Any:
    message = {
        "types": PERMIT_TYPES,
        "primaryType": "Permit",
        "domain": {
            "name": EIP712_DOMAIN_NAME,
            "version": EIP712_DOMAIN_VERSION,
            "chainId": d.chain_id,
            "verifyingContract": d.catalog.address,
        },
        "message": {"spender": spender, "tokenId": token_id, "nonce": nonce, "deadline": deadline},
    }
    return Account.sign_message(encode_typed_data(full_message=message), owner.key)


def call_permit(d: Deployment, spender: str, token_id: int, deadline: int, signed: Any) -> None:
    d.catalog.permit(spender, token_id, deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def test_permit_approves_spender_and_bumps_nonce(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    deadline = d.env.timestamp + 600
    assert d.catalog.nonces(token_id) == 0
    signed = permit_signature(d, d.alice, d.bob.address, token_id, 0, deadline)
    with d.env.prank(d.mallory.address):  # anyone may submit the owner's signed permit
        call_permit(d, d.bob.address, token_id, deadline, signed)
    assert_event(d.catalog, "Approval", owner=d.alice.address, approved=d.bob.address, token_id=token_id)
    assert d.catalog.getApproved(token_id) == d.bob.address
    assert d.catalog.nonces(token_id) == 1
    with d.env.prank(d.bob.address):
        d.catalog.transferFrom(d.alice.address, d.bob.address, token_id)
    assert d.catalog.ownerOf(token_id) == d.bob.address


def test_permit_rejects_expired_deadline(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    deadline = d.env.timestamp - 1
    signed = permit_signature(d, d.alice, d.bob.address, token_id, 0, deadline)
    with boa.reverts("erc721: expired deadline"):
        call_permit(d, d.bob.address, token_id, deadline, signed)


@pytest.mark.parametrize("fault", ["not-owner", "replayed", "other-spender"])
def test_permit_rejects_invalid_signature(d: Deployment, fault: str) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    deadline = d.env.timestamp + 600
    signer = d.bob if fault == "not-owner" else d.alice
    signed = permit_signature(d, signer, d.bob.address, token_id, 0, deadline)
    if fault == "replayed":
        call_permit(d, d.bob.address, token_id, deadline, signed)
    spender = d.carol.address if fault == "other-spender" else d.bob.address
    with boa.reverts("erc721: invalid signature"):
        call_permit(d, spender, token_id, deadline, signed)


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(permits=st.lists(st.tuples(st.sampled_from(["bob", "carol", "mallory"]), st.booleans()), min_size=1, max_size=4))
def test_permit_fuzz(d: Deployment, permits: list[tuple[str, bool]]) -> None:
    """Any sequence of permits, valid or signed by a stranger: the nonce counts the valid ones, the approval is
    the last valid spender, and a stranger's signature never approves anyone."""
    with d.env.anchor():
        token_id = d.publish(d.alice, approve_market=False)
        deadline = d.env.timestamp + 600
        nonce, approved = 0, "0x0000000000000000000000000000000000000000"
        for spender_name, by_owner in permits:
            spender = getattr(d, spender_name).address
            signer = d.alice if by_owner else d.mallory
            signed = permit_signature(d, signer, spender, token_id, nonce, deadline)
            if by_owner:
                call_permit(d, spender, token_id, deadline, signed)
                nonce, approved = nonce + 1, spender
            else:
                with boa.reverts("erc721: invalid signature"):
                    call_permit(d, spender, token_id, deadline, signed)
            assert d.catalog.nonces(token_id) == nonce
            assert d.catalog.getApproved(token_id) == approved
