"""``datagora serve --dev``: a demo network of nodes mounted under one app, answering (progress page, 503 with
Retry-After) while the network is built in the background; and ``serve``'s own error handling."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from datagora.api import dev as dev_module
from datagora.api.client import NodeClient
from datagora.api.dev import BuildProgress, DevNetwork, build_dev_network, start_dev_network
from datagora.api.settings import Settings
from datagora.api.signin_message import siwe_message
from datagora.chain.devnode import free_port
from datagora.cli.serve import serve
from datagora.domain.errors import DeploymentError
from datagora.services.sample_data import write_breast_cancer_csv

SRC = Path(__file__).resolve().parents[3] / "src"


def test_dev_network_trades_across_mounted_nodes(tmp_path: Path) -> None:
    network = build_dev_network(Settings(home=tmp_path, siwe_domain="testserver", index_interval=0))
    keys = json.loads(network.accounts_file.read_text())
    assert stat.S_IMODE(network.accounts_file.stat().st_mode) == 0o600
    with TestClient(network.app) as http:
        directory = http.get("/").json()
        assert [n["name"] for n in directory["nodes"]] == ["supervisor", "platform", "acme", "bluelab"]
        assert http.get("/nodes/acme/openapi.json").json()["openapi"].startswith("3.1")

        def client(name: str, as_: str | None = None) -> NodeClient:
            account = Account.from_key(keys[as_ or name]["private_key"])
            return NodeClient(f"http://testserver/nodes/{name}", account, http=http)

        buyer, seller = client("bluelab"), client("acme")
        assert buyer.me()["operator"] is True and seller.me()["address"] == keys["acme"]["address"]
        hit = buyer.search(q="cancer")["hits"][0]
        order_id = buyer.buy(hit["listing_id"])["order"]["order_id"]
        seller.order_action(order_id, "deliver")
        downloaded = client("acme", as_="bluelab").download_delivery(order_id, tmp_path / "order.dge")
        assert downloaded.stat().st_size > 100_000
        assert buyer.order_action(order_id, "confirm")["order"]["state"] == "completed"
        assert client("supervisor").audit(token_id=hit["token_id"])["count"] == 5
        # a session opened at one node is unknown to the others
        token = buyer.token()
        assert http.get("/nodes/acme/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        # the nodes share a domain, but a message signed for acme (naming acme's URI) does not open a session at
        # bluelab, even with bluelab's own nonce
        challenge = http.get("/nodes/bluelab/auth/nonce").json()
        assert challenge["uri"] == "http://testserver/nodes/bluelab"
        operator = Account.from_key(keys["bluelab"]["private_key"])
        message = siwe_message(
            domain=challenge["domain"],
            address=operator.address,
            uri="http://testserver/nodes/acme",
            chain_id=challenge["chain_id"],
            nonce=challenge["nonce"],
            issued_at=datetime.now(UTC),
        )
        signature = "0x" + bytes(operator.sign_message(encode_defunct(text=message)).signature).hex()
        relayed = http.post("/nodes/bluelab/auth/login", json={"message": message, "signature": signature})
        assert relayed.status_code == 401 and "another node" in relayed.json()["detail"]
    for node in network.nodes.values():
        node.close()


def test_serve_reports_configuration_errors_in_one_line(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(serve)
    app.command("other")(lambda: None)  # a group, as in datagora.cli.main
    runner = CliRunner()
    env = {"DATAGORA_RPC_URL": None, "DATAGORA_ACCOUNT": None, "DATAGORA_PASSWORD": None}
    missing = runner.invoke(app, ["serve", "--home", str(tmp_path)], env=env)
    assert missing.exit_code == 1 and "error: serve needs a running chain" in missing.stderr
    unreachable = runner.invoke(
        app, ["serve", "--home", str(tmp_path), "--rpc-url", "http://127.0.0.1:9", "-a", "op"], env=env
    )
    assert unreachable.exit_code == 1 and "cannot reach the chain node" in unreachable.stderr
    bad = runner.invoke(app, ["serve", "--home", str(tmp_path), "--platform-url", "not a url"], env=env)
    assert bad.exit_code == 1 and "platform_url" in bad.stderr


# -- the server answers while the network is built ---------------------------------------------------------------


@pytest.fixture
def held_build(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The network's build waits for the returned event before it starts (then runs for real)."""
    release = threading.Event()
    real = dev_module._build

    def held(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(timeout=120), "the test never released the build"
        return real(*args, **kwargs)

    monkeypatch.setattr(dev_module, "_build", held)
    return release


def wait_for(http: TestClient, state: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (report := http.get("/progress").json())["state"] != state:
        assert time.monotonic() < deadline, f"the build did not reach {state!r}: {report}"
        time.sleep(0.1)
    return report


def test_the_server_answers_before_the_network_is_built(tmp_path: Path, held_build: threading.Event) -> None:
    ready: list[DevNetwork] = []
    settings = Settings(home=tmp_path, siwe_domain="testserver", index_interval=0)
    network = start_dev_network(settings, sample_data=False, on_ready=ready.append)
    with TestClient(network.app) as http:
        report = http.get("/progress").json()
        assert report["state"] == "building" and report["done"] == 0 and report["total"] == len(report["steps"])
        assert [s["state"] for s in report["steps"]] == ["in progress"] + ["to do"] * (report["total"] - 1)
        # a browser sees the progress page, at the directory and at any node's page
        page = http.get("/nodes/acme/", headers={"Accept": "text/html"})
        assert page.status_code == 503 and page.headers["retry-after"] == "2"
        assert page.headers["content-type"].startswith("text/html")
        assert "Step 1 of" in page.text and "(to do)" in page.text and 'role="status"' in page.text
        assert "<progress" in page.text and 'fetch("/progress"' in page.text
        assert http.get("/", headers={"Accept": "text/html"}).status_code == 200
        # a program gets a problem document with Retry-After
        for answer in (
            http.get("/nodes/acme/datasets"),
            http.post("/nodes/bluelab/auth/login", json={}),
            http.get("/"),
        ):
            assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["status"] == 503 and "still being built" in problem["detail"]
            assert problem["build"]["state"] == "building"
        assert not network.nodes and not ready
        held_build.set()
        report = wait_for(http, "ready")
        assert all(s["state"] == "done" for s in report["steps"]) and ready == [network]
        assert set(network.nodes) == {"supervisor", "platform", "acme", "bluelab"}
        assert http.get("/nodes/acme/openapi.json").status_code == 200
        assert "Acme Data Ltd" in http.get("/nodes/acme/", headers={"Accept": "text/html"}).text
        assert [n["name"] for n in http.get("/").json()["nodes"]] == list(network.nodes)
    for node in network.nodes.values():
        node.close()


def test_a_failed_build_is_shown_in_words_and_never_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: Settings, sample_data: bool, progress: BuildProgress, base_url: str) -> Any:
        progress.advance()
        raise DeploymentError("the Registry contract's artifact is missing")

    monkeypatch.setattr(dev_module, "_build", broken)
    network = start_dev_network(Settings(home=tmp_path, index_interval=0))
    with TestClient(network.app) as http:
        report = wait_for(http, "failed", timeout=30)
        assert report["error"] == "the Registry contract's artifact is missing"
        assert [s["state"] for s in report["steps"][:3]] == ["done", "failed", "to do"]
        page = http.get("/", headers={"Accept": "text/html"})
        assert "Building the demo network failed at step 2 of" in page.text and "artifact is missing" in page.text
        assert 'role="alert"' in page.text and "<script>" not in page.text  # nothing left to follow
        answer = http.get("/nodes/acme/datasets")
        assert answer.status_code == 503 and "retry-after" not in answer.headers  # retrying cannot help
        assert "artifact is missing" in answer.json()["detail"]


def test_the_sample_csv_is_scikit_learns_breast_cancer_data(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow([*bunch.feature_names, "diagnosis"])
    for row, label in zip(bunch.data, bunch.target, strict=True):
        writer.writerow([*(f"{v:.6g}" for v in row), bunch.target_names[label]])
    written = write_breast_cancer_csv(tmp_path / "tumours.csv")
    assert written.read_bytes().decode() == expected.getvalue()


def test_serve_dev_shows_the_progress_page_within_seconds(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "datagora", "serve", "--dev", "--home", str(tmp_path), "--port", str(port)]
    start = time.monotonic()
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/nodes/acme/", headers={"Accept": "text/html"})
        while True:
            assert server.poll() is None, "serve --dev exited"
            assert time.monotonic() - start < 60, "serve --dev did not answer within 60 s"
            try:
                urllib.request.urlopen(request, timeout=2)
            except urllib.error.HTTPError as answer:  # 503: the progress page
                status, body = answer.code, answer.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert status == 503 and "Starting the Datagora demo network" in body
    finally:
        server.terminate()
        server.wait(timeout=30)
