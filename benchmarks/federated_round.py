"""Time of a federated round with 3 owners: Flower's deployment engine on this machine (a SuperLink and one
SuperNode per owner as processes on 127.0.0.1, over TLS with SuperNode authentication), FedAvg over a logistic
regression on the Breast Cancer Wisconsin rows split across the owners as in `datagora demo federated` (which adds
the chain: one ``record_round`` transaction per round).

    python benchmarks/federated_round.py [--rounds 5] [--epochs 10] [--cold]

Printed: the time to start the processes (SuperLink, registering the owners' node keys, SuperNodes) and submit
the run, the time to the first aggregate (ServerApp start, identifying the owners, the first round), then each
further round's time (median, min, max) and the whole run. By default each SuperNode runs its ClientApp tasks as
forks of a warm process (Datagora's warm SuperExec); ``--cold`` uses Flower's own SuperExec, a fresh
``flwr-clientapp`` process per task, whose start (Python, Flower and scikit-learn imports) dominates a round.
Training itself takes milliseconds; a loaded machine stretches everything several times (the load average is
printed).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from datagora.federated import federation
from datagora.federated.environment import ensure
from datagora.scenarios import federated as story
from datagora.services.sample_data import write_breast_cancer_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cold", action="store_true", help="a fresh ClientApp process per task (Flower's default)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    env = ensure(on_progress=lambda line: print(line, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="federated-bench-") as tmp:
        root = Path(tmp)
        files = story.split_rows(write_breast_cancer_csv(root / "source.csv"), root / "data")
        owners = [federation.Owner(f"0x{i:040x}", files[h]) for i, h in enumerate(story.HOSPITALS, start=1)]
        began = time.monotonic()

        def progress(line: str) -> None:
            print(f"  [{time.monotonic() - began:6.1f} s] {line}", file=sys.stderr)

        result = federation.run(
            owners,
            [o.address for o in owners],
            root / "run",
            rounds=args.rounds,
            local_epochs=args.epochs,
            positive_label="malignant",
            warm=not args.cold,
            env=env,
            on_progress=progress,
        )
        total = time.monotonic() - began
    at = [r.seconds for r in result.rounds]
    per_round = [b - a for a, b in itertools.pairwise(at)]
    mode = "fresh ClientApp process per task" if args.cold else "warm ClientApp processes (forked)"
    print(f"federated rounds, 3 owners, Flower deployment engine, {args.rounds} rounds x {args.epochs} epochs")
    print(f"  TLS + SuperNode authentication, {mode}; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"  start SuperLink + 3 SuperNodes, submit   {result.startup_seconds:7.1f} s")
    print(f"  first aggregate (incl. ServerApp start)  {at[0]:7.1f} s")
    if per_round:
        print(
            f"  each further round                       {statistics.median(per_round):7.1f} s median "
            f"({min(per_round):.1f}-{max(per_round):.1f})"
        )
    print(f"  whole run (start to last process stopped){total:7.1f} s")
    print(f"  training accuracy on the owners' rows     {result.metrics[len(at)].get('train-accuracy', 0):.1%}")


if __name__ == "__main__":
    main()
