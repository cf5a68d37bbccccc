"""Three MPyC parties of the points computation, each its own OS process on 127.0.0.1 (Hu, Xin, Deng, Qian,
case study steps 5-8).

Party 0 is the brand (input A), party 1 the e-commerce platform (input B), party 2 the MPC platform with no input.
With three parties MPyC shares every value with Shamir's scheme at threshold t = 1, so no single party holds a
value in the clear (two parties would mean t = 0: no secret sharing at all). The parties talk over TCP with
mutual TLS (MPyC's ``--ssl``; certificates from a throw-away CA per session, :mod:`datagora.mpc.tls`). Each
party's input goes to its own process on standard input and nothing else leaves a process but the output.

A party that fails, exits or stops answering fails the whole session within ``timeout`` seconds: every process is
stopped and :class:`~datagora.domain.errors.ComputationFailed` is raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagora.domain.errors import ComputationFailed, ValidationError
from datagora.mpc.party import ROLE_NAMES
from datagora.mpc.points import PointsResult, check_points
from datagora.mpc.tls import write_session_certificates

PARTIES = 3
DEFAULT_TIMEOUT = 30.0
"""Seconds a whole session may take, process start and TLS handshakes included."""


@dataclass(frozen=True)
class PartyOutput:
    """What one party's process reported: its index, the output it computed, the protocol's ``seconds`` per
        evaluation (from the inputs to the opened output, connections already made) and ``cpu_seconds`` of its own
    process in each, ``bytes_sent`` to its peers,
        and, when recording, every payload it ``received`` as ``(peer index, program counter, hex)``."""

    pid: int
    result: PointsResult
    seconds: list[float]
    bytes_sent: int
    modulus: int
    byte_length: int
    received: list[tuple[int, int, str]] | None = None
    cpu_seconds: tuple[float, ...] = ()


@dataclass(frozen=True)
class SessionResult:
    """A finished session: the agreed ``result``, each party's report (``parties``, by index), the session's
    wall-clock ``seconds`` (process start, TLS handshakes, protocol) and whether TLS was on."""

    result: PointsResult
    parties: list[PartyOutput] = field(default_factory=list)
    seconds: float = 0.0
    tls: bool = True


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for p in processes:
        if p.poll() is None:
            p.kill()
    for p in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=5)
        for stream in (p.stdin, p.stdout, p.stderr):
            if stream is not None:
                stream.close()


def run_session(
    brand_points: int,
    platform_points: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    tls: bool = True,
    repeat: int = 1,
    record: bool = False,
    fail_party: int | None = None,
) -> SessionResult:
    """Compute F(A, B) and the tier with three MPyC processes on 127.0.0.1 and return the agreed result.

    Args:
        brand_points: A, the brand's points (0..10,000,000).
        platform_points: B, the platform's points (0..10,000,000).
        timeout: seconds the whole session may take.
        tls: mutual TLS between the parties (on by default).
        repeat: evaluate the circuit this many times over the same connections (benchmarks, privacy tests).
        record: each party records every payload it receives (privacy tests).
        fail_party: this party exits right after the inputs are shared (tests of a party vanishing
            mid-protocol).

    Raises:
        ValidationError: an input is out of range (checked before any process starts).
        ComputationFailed: a party failed, disconnected, disagreed or the session exceeded ``timeout``.
    """
    inputs: list[int | None] = [check_points(brand_points, "brand"), check_points(platform_points, "platform"), None]
    if not 1 <= repeat <= 10_000:
        raise ValidationError(f"repeat must be 1..10000, got {repeat}")
    started = time.perf_counter()
    requests = [
        {"input": inputs[pid], "repeat": repeat, "record": record, "fail_after_input": fail_party == pid}
        for pid in range(PARTIES)
    ]
    raw = _run_parties(requests, tls=tls, timeout=timeout)
    outputs = []
    for pid, out in enumerate(raw):
        received = None if out.get("received") is None else [(int(p), int(c), str(h)) for p, c, h in out["received"]]
        outputs.append(
            PartyOutput(
                pid,
                PointsResult(int(out["score"]), int(out["tier"])),
                [float(s) for s in out["seconds"]],
                int(out["bytes_sent"]),
                int(out["modulus"]),
                int(out["byte_length"]),
                received,
                tuple(float(s) for s in out.get("cpu_seconds", ())),
            )
        )
    results = {o.result for o in outputs}
    if len(results) != 1:
        raise ComputationFailed("the parties computed different results; nothing is reported")
    return SessionResult(outputs[0].result, outputs, time.perf_counter() - started, tls)


def run_batch(
    brand_points: list[int], platform_points: list[int], *, timeout: float = 600.0, tls: bool = True
) -> tuple[list[PointsResult], float]:
    """F(A, B) and the tier of many members in one session (every comparison in parallel, one round trip per
    protocol step for all of them). Returns the results in input order and the protocol's seconds (slowest
    party, connections made). Raises as :func:`run_session`."""
    if len(brand_points) != len(platform_points) or not brand_points:
        raise ValidationError("a batch needs as many brand as platform inputs, at least one")
    brand = [check_points(v, "brand") for v in brand_points]
    platform = [check_points(v, "platform") for v in platform_points]
    size = len(brand)
    requests: list[dict[str, Any]] = [
        {"input": brand, "batch_size": size},
        {"input": platform, "batch_size": size},
        {"input": None, "batch_size": size},
    ]
    raw = _run_parties(requests, tls=tls, timeout=timeout)
    lists = {(tuple(o["scores"]), tuple(o["tiers"])) for o in raw}
    if len(lists) != 1:
        raise ComputationFailed("the parties computed different results; nothing is reported")
    scores, tiers = raw[0]["scores"], raw[0]["tiers"]
    results = [PointsResult(int(s), int(t)) for s, t in zip(scores, tiers, strict=True)]
    return results, max(float(o["seconds"][0]) for o in raw)


def _run_parties(requests: list[dict[str, Any]], *, tls: bool, timeout: float) -> list[dict[str, Any]]:
    """Start one process per request (party i gets request i on standard input), wait for all, return their
    JSON outputs; every process is stopped on the way out."""
    started = time.perf_counter()
    ports = _free_ports(len(requests))
    processes: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="datagora-mpc-") as tmp:
        if tls:
            write_session_certificates(Path(tmp), len(requests))
        addresses = [arg for port in ports for arg in ("-P", f"127.0.0.1:{port}")]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
        try:
            for pid, request in enumerate(requests):
                cmd = [sys.executable, "-m", "datagora.mpc.party", *addresses, "-I", str(pid)]
                if tls:
                    cmd.append("--ssl")
                # output goes to files, not pipes: a recording party writes megabytes, which would fill a pipe
                # nobody reads until the end and block the party
                with (Path(tmp) / f"out-{pid}").open("w") as out, (Path(tmp) / f"err-{pid}").open("w") as err:
                    proc = subprocess.Popen(
                        cmd, cwd=tmp, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True
                    )
                processes.append(proc)
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.close()
            return _collect(processes, Path(tmp), started + timeout)
        finally:
            _stop(processes)


def _collect(processes: list[subprocess.Popen[str]], tmp: Path, deadline: float) -> list[dict[str, Any]]:
    """Wait for every party until ``deadline`` (perf_counter seconds); fail fast when one exits badly."""
    pending = set(range(len(processes)))
    while pending:
        for pid in sorted(pending):
            code = processes[pid].poll()
            if code is None:
                continue
            pending.discard(pid)
            if code != 0:
                reason = (tmp / f"err-{pid}").read_text().strip().splitlines()[-1:] or [f"exit status {code}"]
                raise ComputationFailed(f"the {ROLE_NAMES[pid]} party stopped: {reason[0]}")
        if pending and time.perf_counter() > deadline:
            names = ", ".join(ROLE_NAMES[p] for p in sorted(pending))
            raise ComputationFailed(f"the computation timed out waiting for: {names}")
        if pending:
            time.sleep(0.005)
    outputs = []
    for pid in range(len(processes)):
        line = (tmp / f"out-{pid}").read_text().strip().splitlines()
        if not line:
            raise ComputationFailed(f"the {ROLE_NAMES[pid]} party gave no output")
        outputs.append(json.loads(line[-1]))
    return outputs
