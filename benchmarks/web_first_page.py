"""Time from starting ``datagora serve --dev`` to (1) the first page answering at a participant's landing page
(the progress page while the network is being built, or the landing page itself) and (2) the first useful page:
that landing page answering 200 with the catalogue (the demo seller's sample dataset listed in it), as a person
opening the browser sees it. Each run is a fresh process on a free port with a fresh home; the times are printed
per run and as medians. With ``--before-src`` the same is measured for another source tree (e.g. the code before a
change: ``git archive <commit> src | tar -x -C /tmp/before``) and both are printed side by side.

    python benchmarks/web_first_page.py [--runs 3] [--node acme] [--before-src /tmp/before/src]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
EXPECTED = "Breast Cancer Wisconsin"
"""The demo seller's dataset: the landing page is useful once the catalogue shows it."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run(src: Path, node: str, timeout: float) -> tuple[float, float]:
    """(seconds to the first page answering, of any status, seconds to the useful landing page) for ``src``."""
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
        env["PYTHONPATH"] = f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
        env["DATAGORA_LOG_LEVEL"] = "warning"
        cmd = [sys.executable, "-m", "datagora", "serve", "--dev", "--home", home, "--port", str(port)]
        start = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = None
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/nodes/{node}/", headers={"Accept": "text/html"})
            while time.perf_counter() - start < timeout:
                if process.poll() is not None:
                    raise RuntimeError(f"serve --dev exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                try:
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        body = answer.read().decode()
                        first = first if first is not None else time.perf_counter() - start
                        if answer.status == 200 and EXPECTED in body:
                            return first, time.perf_counter() - start
                except urllib.error.HTTPError as answer:  # 503 while building: the progress page is a page
                    if "text/html" in answer.headers.get("content-type", ""):
                        first = first if first is not None else time.perf_counter() - start
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                time.sleep(0.05)
            raise RuntimeError(f"no useful page within {timeout:.0f} s")
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure(label: str, src: Path, runs: int, node: str, timeout: float) -> tuple[list[float], list[float]]:
    firsts, useful = [], []
    for run in range(1, runs + 1):
        first, page = one_run(src, node, timeout)
        firsts.append(first)
        useful.append(page)
        print(
            f"{label} run {run}: first page answering after {first:.2f} s,"
            f" landing page with the catalogue after {page:.2f} s"
        )
    return firsts, useful


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--node", default="acme", help="the participant whose landing page is timed")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--before-src", type=Path, help="another source tree (its src/) to measure first")
    args = parser.parse_args()
    trees = ([("before", args.before_src.resolve())] if args.before_src else []) + [
        ("after" if args.before_src else "this tree", SRC)
    ]
    results = {label: measure(label, src, args.runs, args.node, args.timeout) for label, src in trees}
    print(f"\ndatagora serve --dev, /nodes/{args.node}/, median (min-max) over {args.runs} runs:")
    print(f"{'':<10} {'first page answering':>26} {'first useful page':>26}")
    for label, (firsts, useful) in results.items():
        cells = [f"{statistics.median(x):.2f} s ({min(x):.2f}-{max(x):.2f})" for x in (firsts, useful)]
        print(f"{label:<10} {cells[0]:>26} {cells[1]:>26}")


if __name__ == "__main__":
    main()
