"""A member's tier computed by three real ``datagora serve`` processes on Anvil, driven only through their HTTP
APIs: the brand's operator proposes with A, the e-commerce platform's operator accepts with B, the MPC platform's
node accepts by its policy; each node starts its own MPyC party process (TLS between them), signs the result with
its own key, and the brand's node posts the tier with the three signatures. Then the e-commerce platform's node is
killed mid-protocol: the computation fails on the others within the timeout and nothing is posted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from datagora.api.client import NodeClient
from datagora.mpc.points import plain_result
from tests.multinode.conftest import PASSWORD
from tests.points.multinode.conftest import MPC_TIMEOUT_S, PointsNetwork

pytestmark = [pytest.mark.anvil, pytest.mark.slow]  # three node processes and their MPyC parties: about a minute


def status(client: NodeClient, cid: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.json("GET", f"/points/computations/{cid}")
    return answer


def wait_for(client: NodeClient, cid: str, statuses: set[str], timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        c = status(client, cid)
        if c["status"] in statuses or time.monotonic() > deadline:
            return c
        time.sleep(0.05)


def cli(net: PointsNetwork, node: str, *args: str) -> str:
    """``datagora points <args> --node <node's url>`` as the node's operator; returns what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env["DATAGORA_PASSWORD"] = PASSWORD
    home = str(net.nodes[node].home)
    cmd = [sys.executable, "-m", "datagora", "--home", home, "-a", node, "points", *args, "--node", net.nodes[node].url]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def propose_and_accept(net: PointsNetwork, member: str, a: int, b: int) -> str:
    proposed = net.operator("brand").json(
        "POST", f"/points/{net.brand}/computations", json={"member": member, "parties": net.urls, "points": a}
    )
    cid = str(proposed["id"])
    assert wait_for(net.operator("commerce"), cid, {"invited"})["status"] == "invited"
    assert wait_for(net.operator("mpc"), cid, {"accepted"})["status"] == "accepted"  # its policy accepts
    net.operator("commerce").json("POST", f"/points/computations/{cid}/accept", json={"points": b})
    return cid


def test_three_nodes_compute_and_post_a_tier(points_network: PointsNetwork) -> None:
    net = points_network
    mallory = "0x" + "4d" * 20
    started = time.monotonic()
    cid = propose_and_accept(net, mallory, 2600, 3200)
    running = wait_for(net.operator("brand"), cid, {"running", "signed", "posted", "failed"})
    assert running["status"] in ("running", "signed"), running  # progress is visible while the parties compute
    done = wait_for(net.operator("brand"), cid, {"posted", "failed"})
    elapsed = time.monotonic() - started
    expected = plain_result(2600, 3200)
    assert done["status"] == "posted", done
    assert (done["score"], done["tier"]) == (expected.score, expected.tier)
    tier = net.contracts.points.member_tier(net.brand, mallory)
    assert (tier.tier, tier.score, tier.nonce) == (expected.tier, expected.score, 1)
    for node in ("commerce", "mpc"):
        assert wait_for(net.operator(node), cid, {"posted", "failed"})["tx_hash"] == done["tx_hash"]
    shown = " ".join(cli(net, "commerce", "progress", cid).split())
    assert f"computation {cid}: posted, tier 2 (gold), score 150,000" in shown
    assert elapsed < 60, f"the whole computation took {elapsed:.1f} s"


def test_a_node_going_away_mid_protocol_fails_cleanly_and_posts_nothing(points_network: PointsNetwork) -> None:
    net = points_network
    member = "0x" + "5e" * 20
    # this time the operators use the CLI
    urls = ",".join(net.urls)
    proposed = cli(net, "brand", "propose", str(net.brand), member, "--points", "9000", "--nodes", urls)
    found = re.search(r"computation ([0-9a-f]{32}): accepted", proposed)
    assert found, proposed
    cid = found.group(1)
    commerce = net.operator("commerce")
    assert wait_for(commerce, cid, {"invited"})["status"] == "invited"
    assert wait_for(net.operator("mpc"), cid, {"accepted"})["status"] == "accepted"
    cli(net, "commerce", "accept", cid, "--points", "100")
    assert wait_for(commerce, cid, {"running", "failed"})["status"] == "running"
    time.sleep(1.0)  # its party is holding after the inputs were shared (DATAGORA_MPC_TEST_PAUSE)
    net.nodes["commerce"].kill()
    killed = time.monotonic()
    brand = wait_for(net.operator("brand"), cid, {"posted", "failed"}, timeout=MPC_TIMEOUT_S + 30)
    took = time.monotonic() - killed
    assert brand["status"] == "failed", brand
    assert brand["error"] and brand["tx_hash"] is None
    assert took < MPC_TIMEOUT_S + 25, f"failing took {took:.1f} s"
    mpc = wait_for(net.operator("mpc"), cid, {"posted", "failed"}, timeout=MPC_TIMEOUT_S + 30)
    assert mpc["status"] == "failed"
    tier = net.contracts.points.member_tier(net.brand, member)
    assert (tier.tier, tier.score, tier.nonce) == (0, 0, 0)  # nothing was posted
