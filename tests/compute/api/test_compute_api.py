"""Compute-to-data through the nodes' HTTP APIs: the requester leaves its spec, encrypted to the owner, in the
owner's node's exchange (``PUT /compute/blobs``) and submits the job on chain; the owner's operator applies the
policy (``POST /compute/jobs/{id}/review``) and runs the job (``.../run``); the requester fetches the encrypted
result (``GET /compute/blobs/{digest}``) and checks it against the hash on chain. Only the operator may review
or run; a job outside the policy is refused with its rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagora.api.client import RemoteError
from datagora.api.routers.compute import NodeExchange
from datagora.compute.spec import JobSpec
from datagora.crypto.envelope import decrypt_bytes
from datagora.crypto.hashing import keccak256
from datagora.services import compute
from datagora.services.sample_data import write_diabetes_csv
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = EMBEDDED

PRICE = 10**16
FEATURES = ["age", "bmi", "bp", "s5"]


def test_a_job_travels_to_the_owners_node_and_only_its_result_comes_back(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller_api = net.client("seller")
    token_id = seller_api.publish(write_diabetes_csv(tmp_path / "diabetes.csv"), name="Diabetes")["token_id"]
    to_seller = NodeExchange(net.client("seller", as_="buyer"))
    spec = JobSpec(token_id=token_id, estimator="LinearRegression", features=tuple(FEATURES), label="progression")
    job = compute.submit_job(w.contracts, w.buyer, spec, PRICE, to_seller)

    with pytest.raises(RemoteError) as refused:
        net.client("seller", as_="buyer").json("POST", f"/compute/jobs/{job.job_id}/review")
    assert refused.value.status == 403

    decided = seller_api.json("POST", f"/compute/jobs/{job.job_id}/review")
    assert (decided["outcome"], decided["reason"]) == ("accepted", "")
    ran = seller_api.json("POST", f"/compute/jobs/{job.job_id}/run")
    assert ran["ok"], ran["reason"]
    listed = net.client("seller", as_="buyer").json("GET", "/compute/jobs")
    assert [j["job_id"] for j in listed["requested"]] == []  # the seller's node lists its own account's jobs
    on_chain = seller_api.json("GET", f"/compute/jobs/{job.job_id}")
    assert on_chain["state"] == "result_posted" and on_chain["result_hash"] == ran["result_hash"]

    blob = to_seller.get("exchange:" + ran["result_hash"])
    assert "0x" + keccak256(blob).hex() == ran["result_hash"]
    result = json.loads(decrypt_bytes(blob, w.buyer.private_key))["result"]
    assert set(result["parameters"]) == {"coef", "intercept", "features"} and result["rows_held_out"] == 111


def test_a_job_outside_the_policy_is_refused_over_http(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller_api = net.client("seller")
    token_id = seller_api.publish(write_diabetes_csv(tmp_path / "diabetes.csv"), name="Diabetes")["token_id"]
    spec = JobSpec(token_id=token_id, estimator="python", features=("age",), code="def run(t):\n    return {}\n")
    job = compute.submit_job(w.contracts, w.buyer, spec, PRICE, NodeExchange(net.client("seller", as_="buyer")))
    decided = seller_api.json("POST", f"/compute/jobs/{job.job_id}/review")
    assert decided["outcome"] == "rejected"
    assert decided["reason"].startswith("algorithm: this dataset does not run arbitrary Python code")
    with pytest.raises(RemoteError) as missing:
        seller_api.json("GET", "/compute/jobs/999")
    assert missing.value.status == 404
