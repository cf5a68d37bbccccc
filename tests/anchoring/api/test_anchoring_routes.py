"""``/anchoring`` through the nodes' HTTP APIs: the seller's node anchors readings, a buyer reads the batch and a
record's proof and verifies records; a changed record and one outside the batch come back ``ok: false``; a
session that is not the operator (403), bad input (422), unknown records and batches (404) and what the contract
refuses (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from datagora.api.client import RemoteError
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = EMBEDDED

READINGS = [f'{{"sensor": 7, "seq": {i}, "kwh": {i * 3 % 11}.5}}' for i in range(12)]


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def test_anchor_read_prove_verify_and_refuse(net: Net) -> None:
    seller, buyer = net.client("seller"), net.client("buyer")
    out = seller.json("POST", "/anchoring/batches", json={"records": READINGS, "label": "meter 7", "batch_size": 5})
    assert [b["size"] for b in out["batches"]] == [5, 5, 2]
    assert len(out["record_ids"]) == 12
    second = out["batches"][1]
    batch = buyer.json("GET", f"/anchoring/batches/{second['batch_id']}")
    assert (batch["root"], batch["size"]) == (second["root"], 5)
    assert batch["organisation_id"] == net.world.orgs["seller"]

    verdict = seller.json("POST", "/anchoring/verify", json={"record": READINGS[7]})
    assert verdict["ok"] and verdict["index"] == 2 and verdict["batch"]["batch_id"] == second["batch_id"]
    assert seller.json("POST", "/anchoring/verify", json={"record_id": out["record_ids"][11]})["ok"]

    (proof,) = seller.json("GET", f"/anchoring/records/{out['record_ids'][7]}/proofs")
    body = {k: proof[k] for k in ("batch_id", "index", "size", "path")}
    # The buyer's node anchored nothing: it checks the seller's record with the proof alone.
    assert buyer.json("POST", "/anchoring/verify", json={"record": READINGS[7], "proof": body})["ok"]
    changed = buyer.json("POST", "/anchoring/verify", json={"record": READINGS[7] + " ", "proof": body})
    assert (changed["ok"], changed["in_python"], changed["by_pymerkle"], changed["on_chain"]) == (
        False,
        False,
        False,
        False,
    )
    outsider = buyer.json("POST", "/anchoring/verify", json={"record": READINGS[3], "proof": body})
    assert not outsider["ok"]

    # What the routes refuse (one test: the network of nodes is costly to build).
    body = {"records": READINGS[:2], "label": "meter 7"}
    assert refused(lambda: net.client("seller", as_="buyer").json("POST", "/anchoring/batches", json=body))[0] == 403
    assert refused(lambda: net.client("outsider").json("POST", "/anchoring/batches", json=body)) == (
        409,
        "anchors: not audited",
    )
    assert refused(lambda: seller.json("POST", "/anchoring/batches", json={**body, "records": []}))[0] == 422
    assert refused(lambda: seller.json("POST", "/anchoring/batches", json={**body, "label": ""}))[0] == 422
    assert refused(lambda: seller.json("POST", "/anchoring/verify", json={}))[0] == 422
    assert (
        refused(lambda: seller.json("POST", "/anchoring/verify", json={"record": "x", "record_id": "0x" + "1" * 64}))[0]
        == 422
    )
    status, detail = refused(lambda: seller.json("POST", "/anchoring/verify", json={"record": "never anchored"}))
    assert status == 404 and "in no batch this node anchored" in detail
    assert refused(lambda: buyer.json("GET", "/anchoring/batches/42"))[0] == 404
    assert refused(lambda: buyer.json("GET", "/anchoring/records/0x12/proofs"))[0] == 422
