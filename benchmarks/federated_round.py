"""Time of a federated round with 3 owners: Flower's deployment engine on this machine (a SuperLink and one
SuperNode per owner as processes on 127.0.0.1), FedAvg over a logistic regression on the Breast Cancer Wisconsin
rows split across the owners as in `datagora demo federated` (which adds the chain: 3 ``record_round``
transactions per round).

    python benchmarks/federated_round.py [--rounds 5] [--epochs 10]

Printed: the time to start the processes and submit the run, the time to the first aggregate (ServerApp start,
identifying the owners, the first round), then each further round's time (median, min, max) and the whole run.
Each ClientApp call is a fresh process in Flower's subprocess isolation, so a round is dominated by process
start (Python, Flower and scikit-learn imports), not by training; a loaded machine stretches it several times.
"""

from __future__ import annotations

import argparse
import itertools
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
    args = parser.parse_args()
    env = ensure(on_progress=lambda line: print(line, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="federated-bench-") as tmp:
        root = Path(tmp)
        files = story.split_rows(write_breast_cancer_csv(root / "source.csv"), root / "data")
        owners = [federation.Owner(f"0x{i:040x}", files[h]) for i, h in enumerate(story.HOSPITALS, start=1)]
        began = time.monotonic()
        result = federation.run(
            owners,
            [o.address for o in owners],
            root / "run",
            rounds=args.rounds,
            local_epochs=args.epochs,
            positive_label="malignant",
            env=env,
        )
        total = time.monotonic() - began
    at = [r.seconds for r in result.rounds]
    per_round = [b - a for a, b in itertools.pairwise(at)]
    print(f"federated rounds, 3 owners, Flower deployment engine, {args.rounds} rounds x {args.epochs} epochs")
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
