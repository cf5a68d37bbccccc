"""``datagora serve --dev``: a demo network of nodes mounted under one app; and ``serve``'s own error handling."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import typer
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from datagora.api.client import NodeClient, siwe_message
from datagora.api.dev import build_dev_network
from datagora.api.settings import Settings
from datagora.cli.serve import serve


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
