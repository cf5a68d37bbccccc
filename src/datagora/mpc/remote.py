"""One party of a points computation whose three parties run on separate nodes (Hu, Xin, Deng, Qian, case study
steps 5-8, the way operators run it).

Each node starts only its own MPyC party process (:mod:`datagora.mpc.party`): the brand's node party 0 with input
A, the e-commerce platform's node party 1 with input B, the MPC platform's node party 2 without input. The parties
find each other at the ``host:port`` each node announced and talk over mutual TLS: every node makes its own
certificate authority, allowed to vouch for its own party's name only (:func:`datagora.mpc.tls.write_party_identity`),
and trusts the three authorities of the session. The node's input reaches the process on standard input only;
the process exits as soon as the node that started it goes away (its standard input closes).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from datagora.domain.errors import ComputationFailed, ValidationError
from datagora.mpc.party import HELPER, ROLE_NAMES
from datagora.mpc.points import PointsResult, check_points
from datagora.mpc.session import PARTIES
from datagora.mpc.tls import write_party_identity, write_trusted_cas

__all__ = ["PARTIES", "PartyPlan", "free_port", "prepare_party", "run_party"]


@dataclass(frozen=True)
class PartyPlan:
    """Where one node's party of a session runs: ``index`` (0 brand, 1 platform, 2 MPC platform), ``workdir`` (a
    directory private to the node, holding its TLS key), ``port`` it listens on and its CA certificate
    ``ca_pem`` for the other parties."""

    index: int
    workdir: Path
    port: int
    ca_pem: str


def free_port(host: str = "") -> int:
    """A TCP port free on ``host`` (default: every interface, where MPyC listens) right now; the party binds it
    a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def prepare_party(index: int, workdir: Path) -> PartyPlan:
    """Make this node's TLS identity for party ``index`` under ``workdir`` and pick its port. Raises
    :class:`ValidationError` for an index outside 0..2."""
    if not 0 <= index < PARTIES:
        raise ValidationError(f"a party index is 0 to {PARTIES - 1}, got {index}")
    workdir.mkdir(parents=True, exist_ok=True)
    return PartyPlan(index, workdir, free_port(), write_party_identity(workdir, index))


def run_party(
    plan: PartyPlan,
    endpoints: list[str],
    ca_pems: list[str],
    points: int | None,
    *,
    timeout: float,
    pause_after_input: float = 0.0,
) -> PointsResult:
    """Run this node's party until the three parties agree on the output, and return it.

    Args:
        plan: this node's party (from :func:`prepare_party`).
        endpoints: ``host:port`` of every party, by index.
        ca_pems: every party's CA certificate (PEM), by index.
        points: this party's input (A for the brand, B for the platform; None for the MPC platform).
        timeout: seconds the party may take, connections included.
        pause_after_input: seconds to wait once the inputs are shared (tests stop a node in that window).

    Raises:
        ValidationError: a missing, extra or out-of-range input, or not three endpoints.
        ComputationFailed: the party stopped (a peer went away or refused the TLS handshake) or timed out.
    """
    if len(endpoints) != PARTIES or len(ca_pems) != PARTIES:
        raise ValidationError(f"a session has {PARTIES} parties")
    if plan.index == HELPER:
        if points is not None:
            raise ValidationError("the MPC platform has no input")
    else:
        points = check_points(points, ROLE_NAMES[plan.index])
    write_trusted_cas(plan.workdir, ca_pems)
    request = {"input": points, "watch_parent": True, "pause_after_input": pause_after_input}
    addresses = [arg for endpoint in endpoints for arg in ("-P", endpoint)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "datagora.mpc.party", *addresses, "-I", str(plan.index), "--ssl"]
    out_path, err_path = plan.workdir / "party.out", plan.workdir / "party.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            cmd, cwd=plan.workdir, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True
        )
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()  # kept open: the party exits when it closes (this node went away)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise ComputationFailed(f"timed out after {timeout:.0f} s waiting for the other parties")
            time.sleep(0.01)
        if proc.returncode != 0:
            lines = err_path.read_text(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {proc.returncode}"
            raise ComputationFailed(f"the {ROLE_NAMES[plan.index]} party stopped: {reason}")
        lines = out_path.read_text().strip().splitlines()
        if not lines:
            raise ComputationFailed(f"the {ROLE_NAMES[plan.index]} party gave no output")
        report = json.loads(lines[-1])
        return PointsResult(int(report["score"]), int(report["tier"]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdin.close()
