"""Property-based tests of the whole API from its OpenAPI 3.1 schema (schemathesis, as a subprocess against a
uvicorn server on a free 127.0.0.1 port), signed in as the platform node's operator so that requests reach the
handlers. Every check (``--checks all``: no server error, status codes, content types and bodies as documented,
invalid data rejected, valid data accepted, 405 with ``Allow`` for undocumented methods, authentication
enforced) in every phase (examples, coverage, fuzzing, stateful) must pass; settings in ``schemathesis.toml``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from datagora.api import create_app
from datagora.api.client import NodeClient
from datagora.api.settings import Settings
from datagora.services import market, publishing
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import ETHER, write_table

pytestmark = [EMBEDDED, pytest.mark.slow]  # about 75 s: in the slow run (CI runs it)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(net: Net, tmp_path: Path) -> Iterator[str]:
    """The platform node's API on a real socket, with one published and listed dataset to find."""
    world = net.world
    assert world.attestor is not None
    prepared = publishing.prepare(world.platform, write_table(tmp_path / "seed.csv"), name="Seed survey")
    token_id, _, _ = publishing.publish(world.contracts, world.platform, prepared, world.attestor)
    market.list_dataset(world.contracts, world.platform, token_id, ETHER)
    port = _free_port()
    # reads sync the index at most every 5 s here: the point is the handlers, not freshness
    settings = Settings(siwe_domain=f"127.0.0.1:{port}", index_interval=0, index_max_age=5, max_upload_bytes=1 << 20)
    app = create_app(net.nodes["platform"], settings=settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_api_conforms_to_its_openapi_document(served: str, net: Net, tmp_path: Path) -> None:
    token = NodeClient(served, net.world.platform.account).token()
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    cmd = [
        exe,
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{served}/openapi.json",
        "--checks",
        "all",
        "--phases",  # boundary values of every parameter, random ones, then sequences of calls (stateful)
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "5",
        "--workers",  # one: several workers trip a CPython 3.11 thread-safety bug in ast.parse (hypothesis)
        "1",
        "--seed",
        "20260101",
        "--header",
        f"Authorization: Bearer {token}",
        "--generation-database",
        "none",
        "--generation-with-security-parameters",
        "false",
        "--exclude-path",
        "/auth/logout",
        "--exclude-path",  # a proxy: it calls the shop node at the URL given, and 502 is its answer when none is there
        "/consent/erasures/forward",
        "--no-color",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    (tmp_path / "schemathesis.log").write_text(done.stdout + done.stderr)
    print(done.stdout[-6000:], done.stderr[-3000:], f"\n{time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
