"""The points paper's secure computations, timed side by side (Hu, Xin, Deng, Qian; issue 14's targets).

    python benchmarks/points_mpc.py [--runs 20] [--members 10000] [--he-sample 200] [--json out.json]

Rows:
- F(A, B) and the tier with three MPyC parties, each its own process on 127.0.0.1, with and without TLS:
  protocol time per evaluation (inputs shared to output opened, connections already made; median over
  ``--runs`` evaluations in one session, slowest party) and the session's wall time (process start, handshakes);
  target <= 30 ms per evaluation.
- Two-party 32-bit comparison over TCP on 127.0.0.1: the paper's Lin-Tzeng with Paillier (2048-bit) and DGK
  (2048-bit, t = 160): median of ``--runs`` single comparisons, key generation excluded (shown apart); target
  <= 40 ms.
- Batched, for ``--members`` members: the whole tier computation for every member in one MPyC session (secure
  arrays), and batches of comparisons per second for both two-party protocols (measured on ``--he-sample`` pairs,
  one message each way, and projected to ``--members``: their cost is linear in the batch).

Timings vary a lot with other load on the machine: the script prints the load average next to its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

from datagora.mpc.comparison import DGK, LinTzeng, compare
from datagora.mpc.points import plain_result
from datagora.mpc.session import run_batch, run_session


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--he-sample", type=int, default=200, help="pairs per batched two-party measurement")
    parser.add_argument("--lin-tzeng-runs", type=int, default=5, help="single Lin-Tzeng comparisons (slow)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: dict[str, object] = {"load_average_start": os.getloadavg()}
    rng = random.Random(14)

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("\nF(A, B) and tier, 3 MPyC processes on 127.0.0.1 (target <= 30 ms per evaluation)")
    for tls in (True, False):
        session = run_session(2600, 3200, repeat=args.runs, tls=tls, timeout=300)
        per_eval = [max(p.seconds[i] for p in session.parties) for i in range(args.runs)]
        label = "TLS" if tls else "TCP"
        rows[f"f_{label.lower()}_median_s"] = statistics.median(per_eval)
        rows[f"f_{label.lower()}_session_s"] = session.seconds
        cpu = [sum(p.cpu_seconds[i] for p in session.parties) for i in range(args.runs)]
        rows[f"f_{label.lower()}_cpu_median_s"] = statistics.median(cpu)
        print(
            f"  {label}: {_ms(statistics.median(per_eval))} per evaluation (min {_ms(min(per_eval))}; "
            f"CPU of the three parties together {_ms(statistics.median(cpu))}), "
            f"session {session.seconds:.2f} s for {args.runs} with process start; "
            f"{session.parties[0].bytes_sent / args.runs:,.0f} bytes sent per party per evaluation"
        )

    print("\nTwo-party 32-bit comparison over TCP on 127.0.0.1 (target <= 40 ms)")
    protocols = []
    for cls in (LinTzeng, DGK):
        t = time.perf_counter()
        protocol = cls()
        keygen = time.perf_counter() - t
        runs = args.lin_tzeng_runs if cls is LinTzeng else args.runs
        times = []
        for _ in range(runs):
            x, y = rng.getrandbits(32), rng.getrandbits(32)
            run = compare(protocol, [x], [y])
            assert run.greater == [x > y]
            times.append(run.seconds)
        rows[f"{cls.__name__.lower()}_median_s"] = statistics.median(times)
        rows[f"{cls.__name__.lower()}_keygen_s"] = keygen
        print(
            f"  {protocol.name:<22} {_ms(statistics.median(times)):>12} per comparison (median of {runs}), "
            f"{run.bytes:,} bytes; key generation {keygen:.2f} s"
        )
        protocols.append(protocol)

    print(f"\nBatched, {args.members:,} members")
    brand = [rng.randint(0, 12_000) for _ in range(args.members)]
    platform = [rng.randint(0, 4_000) for _ in range(args.members)]
    results, seconds = run_batch(brand, platform, timeout=3600)
    assert results == [plain_result(a, b) for a, b in zip(brand, platform, strict=True)]
    comparisons = 4 * args.members  # 1 for F, 3 for the tier
    rows["mpc_batch_s"] = seconds
    print(
        f"  MPyC tier + F, 3 parties (TLS): {seconds:.1f} s for {args.members:,} members = "
        f"{args.members / seconds:,.0f} members/s, {comparisons / seconds:,.0f} secure comparisons/s"
    )
    for protocol in protocols:
        sample = min(args.he_sample, args.members) if isinstance(protocol, DGK) else min(10, args.members)
        xs, ys = [rng.getrandbits(32) for _ in range(sample)], [rng.getrandbits(32) for _ in range(sample)]
        run = compare(protocol, xs, ys)
        assert run.greater == [x > y for x, y in zip(xs, ys, strict=True)]
        rate = sample / run.seconds
        rows[f"{type(protocol).__name__.lower()}_batch_per_s"] = rate
        print(
            f"  {protocol.name:<22} {rate:,.1f} comparisons/s (batch of {sample}), "
            f"{args.members / rate:,.0f} s projected for {args.members:,}"
        )
    rows["load_average_end"] = os.getloadavg()
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
