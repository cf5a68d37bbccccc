"""Overhead of compute-to-data against running the same estimator locally, side by side.

    python benchmarks/compute_overhead.py [--runs 5] [--json out.json]

For each job (a logistic regression and a random forest on scikit-learn's breast cancer table, a ridge regression
on its diabetes table, and a Python job in the sandbox computing column means):

- **local**: what a requester holding the data would run: read the CSV, split off the hold-out rows, fit,
  measure (``datagora.compute.runner.run_estimator``; for the Python job, the same function called in-process);
- **compute-to-data**: the whole round trip on the chain (embedded by default, or ``--rpc-url``): the requester
  signs the spec, encrypts it to the owner and submits the job with its payment (one transaction); the owner's
  node brings its event index up to date, finds the spec's address there, decrypts and verifies it, checks the
  policy, decrypts its own copy and accepts the job (one transaction, sent while the job runs), runs the job
  (Python code in a sandbox process taken from the node's warm pool), encrypts the result to the requester and,
  once the accept is mined, posts its hash (one transaction); the requester fetches, checks and decrypts the
  result (``services.compute.handle_job``). The job's transactions go out with known gas limits and a local
  nonce, in one round trip each where the node has ``eth_sendRawTransactionSync``.

Imports (scikit-learn, OpenDP) are warmed up before timing; each figure is the median of ``--runs`` runs. The
target is compute-to-data <= 1.2 x local + 200 ms. ``--profile FILE`` writes a cProfile of the compute-to-data
runs (read it with ``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account

from datagora.chain.client import connect
from datagora.compute.runner import load_table, run_estimator
from datagora.compute.sandbox import SandboxPool
from datagora.compute.spec import JobSpec
from datagora.domain.models import OrgStatus
from datagora.index import EventIndexer, open_engine
from datagora.services import compute, deployment, publishing, registry
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv, write_diabetes_csv

WEI = 10**18
MEANS = "def run(t):\n    return {c: float(t[c].mean()) for c in t}\n"


def _median_ms(fn: Callable[[], Any], runs: int, node: Any = None) -> tuple[float, float, float]:
    """Median wall-clock milliseconds, median CPU milliseconds of this process (the requester's and the owner's
    node, and the embedded chain when there is no ``--rpc-url``), and mean CPU milliseconds per run of the chain
    node's process ``node`` (a ``psutil.Process``, whose CPU clock ticks in 10 ms steps: summed over the runs;
    0 without one). CPU figures leave out the sandbox process and show what a busy machine does not slow down."""
    times, cpu = [], []
    node_start = sum(node.cpu_times()[:2]) if node is not None else 0.0
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    node_cpu = (sum(node.cpu_times()[:2]) - node_start) * 1000 / runs if node is not None else 0.0
    return statistics.median(times), statistics.median(cpu), node_cpu


def _node_process(rpc_url: str | None) -> Any:
    """The process listening on ``rpc_url``'s port on this machine (psutil), or None (embedded chain, a remote
    node, or not allowed to see it)."""
    if not rpc_url:
        return None
    from urllib.parse import urlparse

    import psutil

    port = urlparse(rpc_url).port
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return psutil.Process(conn.pid)
    except (psutil.AccessDenied, OSError):
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--rpc-url", default=None, help="A JSON-RPC node (e.g. Anvil) instead of the embedded chain.")
    parser.add_argument("--profile", type=Path, default=None, help="Write a cProfile of the compute-to-data runs.")
    parser.add_argument(
        "--spec-from",
        choices=("index", "chain"),
        default="index",
        help="Where the owner's node finds a job's spec address: its event index (synced first) or the chain's "
        "logs (searched back from the head).",
    )
    parser.add_argument(
        "--only",
        choices=("logistic", "forest", "ridge", "python"),
        action="append",
        default=None,
        help="Run only these jobs (repeatable); all four by default.",
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="compute-bench-"))
    chain = connect(args.rpc_url)
    people = {n: Participant(n, Account.create(), work / n) for n in ("supervisor", "platform", "owner", "requester")}
    for p in people.values():
        chain.fund(p.address, 1000 * WEI)
    contracts = deployment.deploy(chain, people["supervisor"].account, people["platform"].account)
    for label in ("platform", "owner", "requester"):
        org, _ = registry.register_organisation(contracts, people[label], f"{label} org")
        registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
    attestor = NoveltyAttestor(contracts, people["platform"].account, work / "dc.sqlite")
    owner, requester = people["owner"], people["requester"]
    exchange = compute.DirectoryExchange(work / "exchange")
    # The owner's node: its event index (where it finds each job's spec) and its warm sandbox pool.
    owner_index = EventIndexer(contracts, open_engine(f"sqlite:///{work / 'owner-index.sqlite'}"))
    locate = compute.index_spec_locator(owner_index.engine, owner_index.sync) if args.spec_from == "index" else None
    pool = SandboxPool(size=2)  # two warm processes: jobs arriving back to back each find one ready

    tables = {
        "tumours": write_breast_cancer_csv(work / "tumours.csv"),
        "diabetes": write_diabetes_csv(work / "diabetes.csv"),
    }
    tokens = {}
    for name, path in tables.items():
        prepared = publishing.prepare(owner, path, name=name, domain="health")
        tokens[name], _, _ = publishing.publish(contracts, owner, prepared, attestor)
    mean_features = tuple(c for c in load_table(tables["tumours"]).columns if c.startswith("mean"))
    diabetes_features = tuple(c for c in load_table(tables["diabetes"]).columns if c != "progression")
    compute.set_compute_policy(
        owner,
        tokens["tumours"],
        compute.default_policy(
            owner.address,
            tokens["tumours"],
            chain.chain_id,
            allowed_algorithms=frozenset({"LogisticRegression", "RandomForestClassifier", "python"}),
        ),
    )

    jobs: list[tuple[str, str, Callable[[], JobSpec]]] = [
        (
            "LogisticRegression, 569 x 10",
            "tumours",
            lambda: JobSpec(
                token_id=tokens["tumours"],
                estimator="LogisticRegression",
                features=mean_features,
                label="diagnosis",
                params={"max_iter": 2000},
            ),
        ),
        (
            "RandomForestClassifier(100), 569 x 10",
            "tumours",
            lambda: JobSpec(
                token_id=tokens["tumours"],
                estimator="RandomForestClassifier",
                features=mean_features,
                label="diagnosis",
                params={"n_estimators": 100},
            ),
        ),
        (
            "Ridge, 442 x 10",
            "diabetes",
            lambda: JobSpec(
                token_id=tokens["diabetes"],
                estimator="Ridge",
                features=diabetes_features,
                label="progression",
            ),
        ),
        (
            "Python in the sandbox: column means",
            "tumours",
            lambda: JobSpec(token_id=tokens["tumours"], estimator="python", features=mean_features, code=MEANS),
        ),
    ]

    keys = ("logistic", "forest", "ridge", "python")
    jobs = [job for key, job in zip(keys, jobs, strict=True) if args.only is None or key in args.only]

    def local(spec: JobSpec, table: Path) -> None:
        loaded = load_table(table)
        if spec.estimator == "python":
            scope: dict[str, Any] = {}
            exec(compile(spec.code or "", "<job>", "exec"), scope)
            import numpy as np

            scope["run"]({c: np.asarray(loaded.data[c]) for c in spec.features})
        else:
            run_estimator(spec, loaded)

    def remote(spec: JobSpec) -> None:
        job = compute.submit_job(contracts, requester, spec, WEI // 100, exchange)
        decision, ran = compute.handle_job(contracts, owner, job.job_id, exchange, locate, sandbox_pool=pool)
        assert decision.outcome == "accepted", decision.reason
        assert ran is not None and ran.ok, ran
        compute.fetch_result(contracts, requester, job.job_id, exchange)

    node = _node_process(args.rpc_url)
    profiler = cProfile.Profile() if args.profile else None
    rows = []
    for label, table, make in jobs:
        local(make(), tables[table])  # warm-up: imports and caches
        remote(make())
        local_ms, local_cpu, _ = _median_ms(lambda make=make, table=table: local(make(), tables[table]), args.runs)
        if profiler is not None:
            profiler.enable()
        remote_ms, remote_cpu, remote_node_cpu = _median_ms(lambda make=make: remote(make()), args.runs, node)
        if profiler is not None:
            profiler.disable()
        target = 1.2 * local_ms + 200
        rows.append(
            {
                "job": label,
                "local_ms": round(local_ms, 1),
                "compute_to_data_ms": round(remote_ms, 1),
                "local_cpu_ms": round(local_cpu, 1),
                "compute_to_data_cpu_ms": round(remote_cpu, 1),
                "chain_node_cpu_ms": round(remote_node_cpu, 1),
                "ratio": round(remote_ms / local_ms, 2),
                "target_ms": round(target, 1),
                "within_target": remote_ms <= target,
            }
        )

    print(
        f"Compute-to-data against local, {chain.kind} chain, spec from the {args.spec_from}, median of {args.runs} runs"
    )
    print(
        f"{'job':<40} {'local':>10} {'c2d':>10} {'ratio':>7} {'target':>10}  ok  {'cpu local':>10} {'cpu c2d':>10}"
        f" {'cpu node':>10}"
    )
    for r in rows:
        print(
            f"{r['job']:<40} {r['local_ms']:>8.1f}ms {r['compute_to_data_ms']:>8.1f}ms {r['ratio']:>6.2f}x "
            f"{r['target_ms']:>8.1f}ms  {'yes' if r['within_target'] else 'NO ':<3} "
            f"{r['local_cpu_ms']:>8.1f}ms {r['compute_to_data_cpu_ms']:>8.1f}ms {r['chain_node_cpu_ms']:>8.1f}ms"
        )
    met = sum(r["within_target"] for r in rows)
    print(f"target: compute-to-data <= 1.2 x local + 200 ms; met for {met} of {len(rows)} jobs")
    print(
        "cpu c2d: this process (requester, owner's node"
        + (", embedded chain" if node is None and not args.rpc_url else "")
        + "); cpu node: the chain node's process"
        + ("" if node is not None else " (not measured)")
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if profiler is not None:
        profiler.dump_stats(args.profile)
    pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
