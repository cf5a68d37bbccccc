"""CPU time of the three MPyC party processes per evaluation of F(A, B) and the tier (issue 14).

    python benchmarks/points_mpc_cpu.py [--runs 40]

Wall time on a shared machine is mostly waiting for a CPU; the CPU the parties use is steadier. This runs a
session of one evaluation and one of ``--runs + 1`` (same inputs, TLS and plain TCP), reads the CPU time of the
finished child processes (``getrusage(RUSAGE_CHILDREN)``: user + system) and prints the difference per extra
evaluation, so process start, imports and handshakes cancel out.
"""

from __future__ import annotations

import argparse
import os
import resource

from datagora.mpc.session import run_session


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for tls in (True, False):
        start = _children_cpu()
        run_session(2600, 3200, repeat=1, tls=tls, timeout=600)
        one = _children_cpu()
        run_session(2600, 3200, repeat=args.runs + 1, tls=tls, timeout=600)
        many = _children_cpu()
        per_evaluation = ((many - one) - (one - start)) / args.runs
        print(
            f"{'TLS' if tls else 'TCP'}: {per_evaluation * 1000:.1f} ms of CPU per evaluation, three parties "
            f"together; {one - start:.2f} s of CPU for a session of one (process start, imports, handshakes)"
        )


if __name__ == "__main__":
    main()
