"""The compute desk page (no browser): the owner's operator sees the jobs sent for its data, checks one against its
policy (a raw-row job is refused with the rule, in words on the page), and a job inside the policy is accepted and
run from the page. Strangers are not shown the desk."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest

from datagora.compute.spec import JobSpec
from datagora.domain.compute import JobState
from datagora.services import compute
from datagora.services.sample_data import write_diabetes_csv
from tests.kits.node_fixtures import EMBEDDED, Net, net  # noqa: F401  (the fixture)
from tests.web.desk_kit import sign_in

PRICE = 10**16


@pytest.mark.slow
@EMBEDDED
def test_the_owner_reviews_and_runs_jobs_from_the_desk(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    token_id = net.client("seller").publish(write_diabetes_csv(tmp_path / "d.csv"), name="Diabetes")["token_id"]
    exchange = compute.DirectoryExchange(net.nodes["seller"].participant.home / "exchange")
    asked = {"token_id": token_id, "features": ("age", "bmi"), "label": "progression"}
    raw = compute.submit_job(
        w.contracts, w.buyer, JobSpec(estimator="Ridge", outputs=("predictions",), **asked), PRICE, exchange
    )
    fine = compute.submit_job(w.contracts, w.buyer, JobSpec(estimator="LinearRegression", **asked), PRICE, exchange)

    owner = sign_in(net, "seller")
    desk = unescape(owner.get("/desk/compute").text)
    assert "Compute jobs on your data" in desk and desk.count("Check against my policy") == 2

    refused = unescape(owner.post(f"/desk/compute/{raw.job_id}/review").text)
    assert f"Job {raw.job_id} refused: raw rows: the output predictions gives one value per row" in refused
    accepted = unescape(owner.post(f"/desk/compute/{fine.job_id}/review").text)
    assert f"Job {fine.job_id} is inside your policy and was accepted" in accepted
    ran = unescape(owner.post(f"/desk/compute/{fine.job_id}/run").text)
    assert f"Job {fine.job_id} ran in" in ran
    assert w.contracts.compute_jobs.job(fine.job_id).state == JobState.RESULT_POSTED
    assert w.contracts.compute_jobs.job(raw.job_id).state == JobState.REJECTED

    stranger = sign_in(net, "seller", as_="buyer")
    assert "Compute jobs on your data" not in unescape(stranger.get("/desk/compute").text)


@pytest.mark.slow  # starts a sandbox process (numpy and pandas imported) besides the network of nodes
@EMBEDDED
def test_a_python_job_run_from_the_desk_uses_the_nodes_warm_sandbox_pool(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    token_id = net.client("seller").publish(write_diabetes_csv(tmp_path / "d.csv"), name="Diabetes")["token_id"]
    policy = compute.default_policy(
        w.seller.address, token_id, w.contracts.chain.chain_id, allowed_algorithms=frozenset({"python"})
    )
    compute.set_compute_policy(net.participant("seller"), token_id, policy)
    exchange = compute.DirectoryExchange(net.nodes["seller"].participant.home / "exchange")
    code = "def run(t):\n    return {'mean_bmi': round(float(t['bmi'].mean()), 2)}\n"
    spec = JobSpec(token_id=token_id, estimator="python", features=("bmi",), code=code)
    job = compute.submit_job(w.contracts, w.buyer, spec, PRICE, exchange)
    owner = sign_in(net, "seller")
    assert f"Job {job.job_id} is inside your policy" in unescape(owner.post(f"/desk/compute/{job.job_id}/review").text)
    app = net.apps["seller"]
    assert getattr(app.state, "compute_sandbox_pool", None) is None
    ran = unescape(owner.post(f"/desk/compute/{job.job_id}/run").text)
    pool = app.state.compute_sandbox_pool  # the API's pool, started by the page's run
    try:
        assert f"Job {job.job_id} ran in" in ran
        assert w.contracts.compute_jobs.job(job.job_id).state == JobState.RESULT_POSTED
        assert pool.size == 1  # a fresh process already waits for the next job, the API's or the page's
        result = compute.fetch_result(w.contracts, w.buyer, job.job_id, exchange)["result"]
        assert result["output"] == {"mean_bmi": 26.38} and result["sandbox"]["network_isolated"]
    finally:
        pool.close()
        app.state.compute_sandbox_pool = None
