"""The shop's routes (``/store``) fuzzed from the OpenAPI document (schemathesis as a subprocess, every check,
the settings of tests/node/api/schemathesis.toml; no stateful phase: the routes declare no OpenAPI links) against
a shop node served by uvicorn, signed in as a customer: no input gets a server error or an undocumented answer.
Slow: a minute or more on a shared machine."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from eth_account import Account

from datagora.api import create_app
from datagora.api.client import NodeClient
from datagora.api.settings import Settings
from datagora.chain.devnode import free_port
from datagora.services import shop
from datagora.services.node import open_node
from tests.kits.node_fixtures import EMBEDDED
from tests.world import ETHER, World

pytestmark = [pytest.mark.slow, EMBEDDED]
TOML = Path(__file__).parents[2] / "node" / "api" / "schemathesis.toml"


def test_store_routes_conform_to_the_openapi_document(world: World, tmp_path: Path) -> None:
    node = open_node(world.contracts, world.seller, f"sqlite:///{tmp_path / 'shop.db'}")
    node.shop = shop.open_shop_service(node, shop.shipped_catalogue())
    shop.open_shop(world.contracts, world.seller.account, bond=ETHER)
    port = free_port()
    app = create_app(node, settings=Settings(siwe_domain=f"127.0.0.1:{port}", index_interval=0, index_max_age=5))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        url = f"http://127.0.0.1:{port}"
        customer = Account.create()
        world.chain.fund(customer.address, ETHER)
        token = NodeClient(url, customer).token()
        exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
        cmd = [
            exe, "--config-file", str(TOML), "run", f"{url}/openapi.json", "--checks", "all",
            "--phases", "examples,coverage,fuzzing", "--max-examples", "10", "--workers", "1",
            "--seed", "20261203", "--header", f"Authorization: Bearer {token}", "--generation-database", "none",
            "--generation-with-security-parameters", "false", "--include-path-regex", "^/store",
            "--no-color", "--report-dir", str(tmp_path / "report"),
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        node.close()
