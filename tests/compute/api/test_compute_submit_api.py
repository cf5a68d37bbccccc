"""The requester's node submits a compute job over its own API: ``POST /compute/jobs`` signs the spec with the
node's key, encrypts it to the owner and leaves it in the owner's node's exchange, then submits the job with its
payment; ``GET /compute/requested`` lists the node's own jobs with their specs; ``GET /compute/jobs/{id}/result``
fetches the result from the owner's node, checks it against the hash on chain and decrypts it. Bad bodies get a
problem document, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from datagora.api.client import RemoteError
from datagora.crypto.envelope import decrypt_bytes
from datagora.services import compute
from datagora.services.sample_data import write_diabetes_csv
from tests.kits.node_fixtures import EMBEDDED, Net, base_url

pytestmark = EMBEDDED

PRICE = 10**16
FEATURES = ["age", "bmi", "bp", "s5"]


def _job(token_id: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token_id": token_id,
        "estimator": "Ridge",
        "features": FEATURES,
        "label": "progression",
        "params": {"alpha": 0.5},
        "amount_wei": PRICE,
        "owner_node": base_url("seller"),
    }
    return body | extra


def test_the_requesters_node_submits_lists_and_reads_the_result(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller_api, buyer_api = net.client("seller"), net.client("buyer")
    token_id = seller_api.publish(write_diabetes_csv(tmp_path / "diabetes.csv"), name="Diabetes")["token_id"]
    escrow_before = w.contracts.compute_jobs.escrowed()

    submitted = buyer_api.json("POST", "/compute/jobs", json=_job(token_id))
    job_id = submitted["job_id"]
    on_chain = w.contracts.compute_jobs.job(job_id)
    assert (on_chain.requester, on_chain.amount) == (w.buyer.address, PRICE)
    assert "0x" + on_chain.spec_hash.hex() == submitted["spec_hash"]
    assert w.contracts.compute_jobs.escrowed() == escrow_before + PRICE
    # The spec sits in the owner's node's exchange, readable only with the owner's key.
    blob = net.client("seller", as_="buyer").request("GET", f"/compute/blobs/{submitted['spec_uri'][9:]}").content
    assert b'"Ridge"' in decrypt_bytes(blob, w.seller.private_key)
    with pytest.raises(Exception):  # noqa: B017 - any decryption error: the requester cannot open it
        decrypt_bytes(blob, w.buyer.private_key)

    with pytest.raises(RemoteError) as early:
        buyer_api.json("GET", f"/compute/jobs/{job_id}/result")
    assert early.value.status == 422 and "has no result" in early.value.detail

    assert seller_api.json("POST", f"/compute/jobs/{job_id}/review")["outcome"] == "accepted"
    assert seller_api.json("POST", f"/compute/jobs/{job_id}/run")["ok"]

    mine = buyer_api.json("GET", "/compute/requested")
    assert [m["job"]["job_id"] for m in mine] == [job_id]
    assert mine[0]["spec"]["params"] == {"alpha": 0.5} and mine[0]["owner_node"] == base_url("seller")
    assert mine[0]["job"]["state"] == "result_posted"
    assert net.client("seller").json("GET", "/compute/requested") == []

    got = buyer_api.json("GET", f"/compute/jobs/{job_id}/result")
    assert got["result_hash"] == "0x" + w.contracts.compute_jobs.job(job_id).result_hash.hex()
    result = got["result"]["result"]
    assert result["estimator"] == "Ridge" and len(result["parameters"]["coef"]) == len(FEATURES)
    assert result["params"] == {"alpha": 0.5}

    with pytest.raises(RemoteError) as foreign:  # the seller's node did not request it
        seller_api.json("GET", f"/compute/jobs/{job_id}/result")
    assert foreign.value.status == 403
    with pytest.raises(RemoteError) as not_operator:  # only the node's operator submits with its key
        net.client("buyer", as_="seller").json("POST", "/compute/jobs", json=_job(token_id))
    assert not_operator.value.status == 403


@pytest.mark.slow  # starts a sandbox process (numpy and pandas imported) besides the network of nodes
def test_python_code_runs_in_the_owners_warm_sandbox_pool(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller_api, buyer_api = net.client("seller"), net.client("buyer")
    token_id = seller_api.publish(write_diabetes_csv(tmp_path / "diabetes.csv"), name="Diabetes")["token_id"]
    allowed = frozenset({"Ridge", "python"})
    policy = compute.default_policy(w.seller.address, token_id, w.contracts.chain.chain_id, allowed_algorithms=allowed)
    compute.set_compute_policy(net.participant("seller"), token_id, policy)
    assert getattr(net.apps["seller"].state, "compute_sandbox_pool", None) is None
    code = "def run(t):\n    return {'mean_bmi': round(float(t['bmi'].mean()), 2)}\n"
    body = _job(token_id, estimator="python", features=["bmi"], label=None, params={}, code=code)
    job_id = buyer_api.json("POST", "/compute/jobs", json=body)["job_id"]
    assert seller_api.json("POST", f"/compute/jobs/{job_id}/review")["outcome"] == "accepted"
    ran = seller_api.json("POST", f"/compute/jobs/{job_id}/run")
    pool = net.apps["seller"].state.compute_sandbox_pool
    try:
        assert ran["ok"], ran["reason"]
        got = buyer_api.json("GET", f"/compute/jobs/{job_id}/result")["result"]["result"]
        assert got["output"] == {"mean_bmi": 26.38} and got["sandbox"]["network_isolated"]
        assert pool.size == 1  # a fresh process already waits for the next job
    finally:
        pool.close()


@pytest.mark.slow  # starts sandbox processes besides the network of nodes
def test_review_with_run_accepts_and_runs_a_job_at_once(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller_api, buyer_api = net.client("seller"), net.client("buyer")
    token_id = seller_api.publish(write_diabetes_csv(tmp_path / "diabetes.csv"), name="Diabetes")["token_id"]
    policy = compute.default_policy(
        w.seller.address, token_id, w.contracts.chain.chain_id, allowed_algorithms=frozenset({"python"})
    )
    compute.set_compute_policy(net.participant("seller"), token_id, policy)
    code = "def run(t):\n    return {'mean_bmi': round(float(t['bmi'].mean()), 2)}\n"
    body = _job(token_id, estimator="python", features=["bmi"], label=None, params={}, code=code)
    job_id = buyer_api.json("POST", "/compute/jobs", json=body)["job_id"]
    try:
        decided = seller_api.json("POST", f"/compute/jobs/{job_id}/review?run=true")
        assert decided["outcome"] == "accepted" and decided["run"]["ok"], decided
        assert decided["run"]["tx"]["block_number"] > decided["tx"]["block_number"]  # posted after the accept
        got = buyer_api.json("GET", f"/compute/jobs/{job_id}/result")["result"]["result"]
        assert got["output"] == {"mean_bmi": 26.38}
        assert net.apps["seller"].state.compute_sandbox_pool.size == 1  # warm for the next Python job
    finally:
        pool = getattr(net.apps["seller"].state, "compute_sandbox_pool", None)
        if pool is not None:
            pool.close()
            net.apps["seller"].state.compute_sandbox_pool = None


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("unknown estimator", {"estimator": "SVC"}),
    ("label is a feature", {"label": "age"}),
    ("python without code", {"estimator": "python", "label": None}),
    ("code on an estimator", {"code": "def run(t):\n    return 1\n"}),
    ("negative epsilon", {"epsilon": -1}),
    ("no features", {"features": []}),
    ("unknown output", {"outputs": ["rows"]}),
    ("repeated output", {"outputs": ["metrics", "metrics"]}),
    ("unknown field", {"colour": "red"}),
    ("price as text", {"amount_wei": "lots"}),
    ("negative price", {"amount_wei": -1}),
    ("unknown dataset", {"token_id": 987_654}),
    ("huge token id", {"token_id": 2**70}),
    ("not a URL", {"owner_node": "seller"}),
    ("parameter out of bounds", {"params": {"alpha": -3}}),
    ("unknown parameter", {"params": {"solver": "magic"}}),
]


def test_bad_bodies_get_a_problem_document_and_never_a_500(net: Net) -> None:
    buyer = net.http["buyer"]
    token = net.client("buyer").token()
    headers = {"Authorization": f"Bearer {token}"}
    for name, change in BAD_BODIES:
        body = _job(1) | change
        reply = buyer.post("/compute/jobs", json=body, headers=headers)
        assert 400 <= reply.status_code < 500, (name, reply.status_code, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json"), name
        assert reply.json()["detail"], name
    for raw in (b"not json", b"[]", b"{}", b'{"token_id": 1}'):
        reply = buyer.post("/compute/jobs", content=raw, headers=headers | {"Content-Type": "application/json"})
        assert 400 <= reply.status_code < 500, (raw, reply.status_code)
    assert buyer.get("/compute/jobs/0/result", headers=headers).status_code == 422
    assert buyer.get("/compute/jobs/42/result", headers=headers).status_code == 404


def test_the_servers_sandbox_pool_ends_with_the_server(net: Net) -> None:
    from fastapi.testclient import TestClient

    from datagora.api import create_app
    from datagora.api.settings import Settings
    from datagora.compute.sandbox import SandboxPool

    app = create_app(net.nodes["seller"], settings=Settings(siwe_domain="pool.test"), sync_in_background=False)
    with TestClient(app, base_url="http://pool.test"):
        pool = app.state.compute_sandbox_pool = SandboxPool(size=2)  # as the first Python job starts it
        waiting = [psutil.Process(p.pid) for p in pool._waiting]
        assert len(waiting) == 2 and all(p.is_running() for p in waiting)
    for proc in waiting:  # the server stopped: every waiting sandbox process has ended
        assert not psutil.pid_exists(proc.pid) or proc.status() == psutil.STATUS_ZOMBIE
