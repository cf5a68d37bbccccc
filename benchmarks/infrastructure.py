"""The chain driving real infrastructure, timed (issue 15, item 4).

    PYTHONPATH=. python benchmarks/infrastructure.py [--runs 3] [--rows 10000]   (uses the tests' kit)

Rows (median of ``--runs``; the load average is printed beside them, since the machine is shared):
- ``ansible start``: the ``start.yml`` playbook run with ansible-runner (local connection) until the workload's
  first heartbeat, the workload's decryption and aggregate over a ``--rows`` row table included;
- ``ansible stop``: the ``stop.yml`` playbook run (SIGTERM, the process gone);
- ``request → running``: from ``request_infrastructure`` mined to the workload running on the owner's node
  (:class:`~datagora.services.infrastructure.InfrastructureNode` step on the embedded chain);
- gas of ``request_infrastructure`` (with the spec used), ``heartbeat`` and ``terminate``, from the receipts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.infrastructure.kit import deploy_collab, make_owner, make_spec, write_table

from datagora.services.infrastructure import InfrastructureNode, TerminationWatcher, Workloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="datagora-infra-bench-"))
    (root / "data").mkdir()
    world = deploy_collab(root / "chain")
    owner = make_owner(root / "data", world.dsp)
    write_table(root / "big.csv", rows=args.rows)
    from datagora.services.publishing import prepare

    big = prepare(owner.participant, root / "big.csv")
    owner.content_hash = "0x" + big.description.content_hash.hex()
    workloads = Workloads.of(owner.participant)
    c = world.collaboration
    starts, stops, e2e, request_gas, beat_gas = [], [], [], [], []
    for run in range(args.runs):
        dao_id = world.form(60)
        spec = make_spec(owner, name=f"bench-{run}")
        t = time.perf_counter()
        workloads.up(owner.participant, dao_id, spec)
        starts.append(time.perf_counter() - t)
        t = time.perf_counter()
        workloads.down(dao_id, spec.name)
        stops.append(time.perf_counter() - t)
        spec = make_spec(owner, name=f"bench-e2e-{run}")
        tx = c.request_infrastructure(world.vp1.account, dao_id, spec.to_json())
        request_gas.append(tx.gas_used)
        node = InfrastructureNode.open(
            c, owner.participant, world.chain, lambda start: world.contracts.events(from_block=start), []
        )
        t = time.perf_counter()
        step = node.step()
        e2e.append(time.perf_counter() - t)
        assert step.requests and step.requests[0].action == "started", step
        beat_gas += [h.gas_used for _, h in step.heartbeats]
        workloads.down(dao_id, spec.name)
    world.chain.advance_time(61)
    c.heartbeat(world.dsp.account, dao_id)
    c.heartbeat(world.vp1.account, dao_id)
    terminated = TerminationWatcher(c, world.chain).sweep(world.anyone, [dao_id])
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {args.runs} runs; table of {args.rows:,} rows")
    print(
        f"ansible start (to first heartbeat)   median {statistics.median(starts):6.2f} s  (all: "
        + ", ".join(f"{s:.2f}" for s in starts)
        + ")"
    )
    print(f"ansible stop                         median {statistics.median(stops):6.2f} s")
    print(f"request mined -> workload running    median {statistics.median(e2e):6.2f} s")
    print(f"gas request_infrastructure ({len(spec.to_json())} B spec)  {statistics.median(request_gas):,}")
    print(f"gas heartbeat                         {statistics.median(beat_gas):,}")
    print(f"gas terminate                         {terminated[0][1].gas_used:,}")


if __name__ == "__main__":
    main()
