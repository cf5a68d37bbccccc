"""Time from starting ``datagora serve --dev`` to the first useful page: a participant's landing page that shows
the catalogue (the demo seller's sample dataset listed in it) answering 200, as a person opening the browser sees
it. Each run is a fresh process on a free port with a fresh home; the times are printed per run and as median.

    python benchmarks/web_first_page.py [--runs 3] [--node acme]
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


def one_run(node: str, timeout: float) -> tuple[float, float]:
    """(seconds to the first 200 of any kind from the server, seconds to the useful landing page)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        env["DATAGORA_LOG_LEVEL"] = "warning"
        cmd = [sys.executable, "-m", "datagora", "serve", "--dev", "--home", home, "--port", str(port)]
        start = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = None
        try:
            url = f"http://127.0.0.1:{port}/nodes/{node}/"
            while time.perf_counter() - start < timeout:
                if process.poll() is not None:
                    raise RuntimeError(f"serve --dev exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                try:
                    request = urllib.request.Request(url, headers={"Accept": "text/html"})
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        body = answer.read().decode()
                        if first is None:
                            first = time.perf_counter() - start
                        if answer.status == 200 and EXPECTED in body:
                            return first, time.perf_counter() - start
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--node", default="acme", help="the participant whose landing page is timed")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    useful = []
    for run in range(1, args.runs + 1):
        first, page = one_run(args.node, args.timeout)
        useful.append(page)
        print(f"run {run}: first answer after {first:.2f} s, landing page with the catalogue after {page:.2f} s")
    print(
        f"time to first useful page (datagora serve --dev, /nodes/{args.node}/): "
        f"median {statistics.median(useful):.2f} s over {len(useful)} runs "
        f"(min {min(useful):.2f} s, max {max(useful):.2f} s)"
    )


if __name__ == "__main__":
    main()
