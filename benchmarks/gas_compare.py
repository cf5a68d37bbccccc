"""Compare two gas snapshots (``gas_snapshot.json`` or ``gas_scenarios_snapshot.json``) operation by operation and
flag every operation that costs more than the allowed rise (the house rule: + 2 %).

    python benchmarks/gas_compare.py OLD.json NEW.json [--limit 2.0] [--all]

Take the old side from a commit, e.g. ``git show ee41227:benchmarks/gas_scenarios_snapshot.json > /tmp/old.json``.
Exit status 1 when an operation present in both rose above the limit. Operations present on one side only are
listed apart (a renamed or new step is not compared).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def flatten(snapshot: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """``{"scenario / step": gas}`` for a scenario snapshot, ``{"operation": gas}`` for a flat one."""
    out: dict[str, float] = {}
    for key, value in snapshot.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name} / "))
        elif isinstance(value, int | float):
            out[name] = float(value)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--limit", type=float, default=2.0, help="allowed rise in percent (default 2)")
    ap.add_argument("--all", action="store_true", help="print every operation, not only those that changed")
    args = ap.parse_args()
    old, new = flatten(json.loads(args.old.read_text())), flatten(json.loads(args.new.read_text()))
    over = []
    print(f"{'operation':<58} {'old':>11} {'new':>11} {'change':>8}")
    for name in sorted(old.keys() & new.keys()):
        before, after = old[name], new[name]
        change = (after - before) / before * 100 if before else 0.0
        flag = " OVER" if change > args.limit else ""
        if flag:
            over.append(name)
        if args.all or after != before:
            print(f"{name:<58} {before:>11,.0f} {after:>11,.0f} {change:>+7.1f}%{flag}")
    for label, names in (("only in old", old.keys() - new.keys()), ("only in new", new.keys() - old.keys())):
        if names:
            print(f"{label}: {', '.join(sorted(names))}")
    print(f"{len(over)} operation(s) above + {args.limit:g} %" + (f": {', '.join(over)}" if over else ""))
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
