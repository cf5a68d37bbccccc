"""Who may do what: only the node's operator makes it act; reads need a member of an Audited organisation (or
the supervisor); the audit trail and status changes need the Registry supervisor; attestations exist only on
the platform's node and only for the caller's own datasets. Every refusal is 403 (404 for a missing role of the
node itself) and leaves the chain untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.api.client import NodeClient, RemoteError
from datagora.crypto.ecies import encrypt_to
from datagora.services import publishing
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import write_table

pytestmark = EMBEDDED


def _status(call: object) -> int:
    try:
        assert callable(call)
        call()
    except RemoteError as exc:
        return exc.status
    return 200


def _forbidden(client: NodeClient, calls: dict[str, object], fragment: str) -> None:
    for label, call in calls.items():
        with pytest.raises(RemoteError) as refused:
            assert callable(call)
            call()
        assert refused.value.status == 403, (label, refused.value)
        assert fragment in refused.value.detail, (label, refused.value.detail)


def test_only_the_operator_makes_a_node_act(net: Net, tmp_path: Path) -> None:
    chain = net.world.chain
    before = chain.block_number()
    data = write_table(tmp_path / "x.csv")
    for intruder in ("buyer", "supervisor", "platform"):
        at_seller = net.client("seller", as_=intruder)
        _forbidden(
            at_seller,
            {
                "register": lambda c=at_seller: c.register_organisation("Intruders"),
                "publish": lambda c=at_seller: c.publish(data),
                "list": lambda c=at_seller: c.list_offer(1, 10**18),
                "list use-right": lambda c=at_seller: c.list_use_right(1, 10**16),
                "ask": lambda c=at_seller: c.ask_query(1, {"select": ["a"]}, "http://buyer.test"),
                "buy": lambda c=at_seller: c.buy(1),
                "deliver": lambda c=at_seller: c.order_action(1, "deliver"),
                "receive": lambda c=at_seller: c.order_action(1, "receive", {"seller_url": "http://buyer.test"}),
                "confirm": lambda c=at_seller: c.order_action(1, "confirm"),
                "refund": lambda c=at_seller: c.order_action(1, "refund"),
                "release": lambda c=at_seller: c.order_action(1, "release"),
                "withdraw": lambda c=at_seller: c.withdraw(),
                "status": lambda c=at_seller: c.set_status(1, "suspended"),
            },
            "operator",
        )
    assert chain.block_number() == before


def test_reads_need_an_audited_organisation(net: Net) -> None:
    outsider = net.client("seller", as_="outsider")  # its organisation is still to audit
    _forbidden(
        outsider,
        {
            "search": lambda: outsider.search(q="x"),
            "dataset": lambda: outsider.dataset(1),
            "offer": lambda: outsider.offer(1),
            "order": lambda: outsider.order(1),
        },
        "not a member of an Audited organisation",
    )
    # the Registry is public: an applicant follows its own audit
    assert outsider.organisation(net.world.orgs["outsider"])["status"] == "to-audit"
    assert outsider.organisation("Outsider Org")["id"] == net.world.orgs["outsider"]

    # the supervisor audits the organisation from its own node; from then on its member may search
    audited = net.client("supervisor").set_status(net.world.orgs["outsider"], "audited")
    assert audited["organisation"]["status"] == "audited"
    assert outsider.search()["total"] == 0
    # the supervisor reads everything without being a member of any organisation
    assert net.client("seller", as_="supervisor").search()["total"] == 0


def test_audit_and_status_need_the_supervisor(net: Net) -> None:
    for node, who in (("seller", "seller"), ("supervisor", "platform"), ("supervisor", "buyer")):
        client = net.client(node, as_=who)
        _forbidden(
            client, {"audit": lambda c=client: c.audit(), "csv": lambda c=client: c.audit(format="csv")}, "supervisor"
        )
    # the seller's node holds no supervisor key: its operator cannot set a status through it
    seller = net.client("seller")
    _forbidden(seller, {"status": lambda: seller.set_status(net.world.orgs["buyer"], "suspended")}, "supervisor")
    # while the supervisor, on its node, can; a suspended member loses read access
    assert net.client("supervisor").set_status(net.world.orgs["buyer"], "suspended")["organisation"]["status"] == (
        "suspended"
    )
    buyer = net.client("buyer")
    _forbidden(buyer, {"search": lambda: buyer.search()}, "Audited")
    assert net.client("supervisor").audit(organisation_id=net.world.orgs["buyer"])["count"] >= 3


def test_attestations_only_on_the_platform_node_for_ones_own_data(net: Net, tmp_path: Path) -> None:
    w = net.world
    prepared = publishing.prepare(w.seller, write_table(tmp_path / "a.csv"))
    _, dcat_hash = publishing.dcat_for(
        prepared, w.seller.address, chain_id=w.contracts.chain.chain_id, market=w.contracts.addresses["Market"]
    )
    request = publishing.attestation_request(
        w.seller, prepared, w.contracts.registry.public_key(w.platform.address), dcat_hash
    )

    assert _status(lambda: net.client("seller").attest(request)) == 404  # not the platform
    assert _status(lambda: net.client("platform", as_="outsider").attest(request)) == 403  # not audited
    with pytest.raises(RemoteError) as other:  # the buyer asks for an attestation in the seller's name
        net.client("platform", as_="buyer").attest(request)
    assert other.value.status == 403 and w.seller.address in other.value.detail
    attestation = net.client("platform", as_="seller").attest(request)
    assert attestation["publisher"] == w.seller.address and attestation["signature"].startswith("0x")
    assert len(attestation["signature"]) == 2 + 65 * 2

    # a seller cannot bind the fingerprint to someone else's dataset
    other_data = publishing.prepare(w.seller, write_table(tmp_path / "b.csv"))
    assert w.attestor is not None
    token_id, _, _ = publishing.publish(w.contracts, w.seller, other_data, w.attestor)
    with pytest.raises(RemoteError) as wrong:
        net.client("platform", as_="seller").record_published(prepared.fingerprint, token_id)
    assert wrong.value.status == 422

    # garbage is a client error, not a server one
    garbage = encrypt_to(w.contracts.registry.public_key(w.platform.address), b"not json")
    assert _status(lambda: net.client("platform", as_="seller").attest(garbage)) == 422
    assert _status(lambda: net.client("platform", as_="seller").attest(b"\x00" * 200)) == 400
