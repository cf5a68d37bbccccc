"""Memory of a node receiving 200 MiB request bodies from an anonymous caller.

Starts ``datagora serve --dev`` (four nodes in one process on the embedded chain) on a free port, then sends,
without signing in, 200 MiB to:

1. ``POST /nodes/acme/auth/login`` declared with ``Content-Length`` (refused 413 before a byte is read);
2. the same sent chunked, without a length (cut off at the 1 MiB JSON limit, 413);
3. ``POST /nodes/acme/datasets`` as a chunked multipart upload (refused 401 before the body is read).

While each request runs, the node's resident memory (``VmRSS`` in ``/proc/<pid>/status``) is sampled every
10 ms. Printed per case: the answer, the bytes the client managed to send, the node's RSS before and its peak during
the request, and the growth, in MiB. The growth is what a body costs the node (target: under 150 MiB; before the
limits, 200 MiB of JSON raised it by ~800 MiB); the RSS before includes the dev network's own chain, four nodes and
sample data.

    python benchmarks/hostile_bodies.py [--mib 200]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

CHUNK = 256 * 1024
MiB = 1 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """Samples a process's RSS every 10 ms in a thread; ``peak`` in MiB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_mib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # let the node settle before the last samples
        self._stop.set()
        self._thread.join()


def send(
    port: int, head: str, total: int, *, chunked: bool, prefix: bytes = b"", suffix: bytes = b""
) -> tuple[str, int]:
    """Send a request with a ``total``-byte body of zeros (plus ``prefix``/``suffix``) until the node answers;
    returns the status line and the body bytes sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head.encode())
        piece = b"0" * CHUNK
        answered = False

        def write(data: bytes) -> bool:
            nonlocal sent, answered
            if chunked:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            try:
                sock.sendall(data)
            except OSError:
                return False
            sent += len(data)
            readable, _, _ = select.select([sock], [], [], 0)
            answered = bool(readable)
            return not answered

        ok = write(prefix) if prefix else True
        remaining = total
        while ok and remaining > 0:
            n = min(CHUNK, remaining)
            ok = write(piece[:n])
            remaining -= n
        if ok and suffix:
            write(suffix)
        if chunked and ok:
            with contextlib.suppress(OSError):
                sock.sendall(b"0\r\n\r\n")
        reply = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in reply:
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
    return reply.split(b"\r\n", 1)[0].decode(errors="replace") or "(connection closed)", sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200, help="body size in MiB")
    args = parser.parse_args()
    total = args.mib * MiB
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="datagora-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    cmd = [sys.executable, "-m", "datagora", "serve", "--dev", "--home", str(home), "--port", str(port)]
    env["DATAGORA_LOG_LEVEL"] = "warning"
    node = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert node.poll() is None, "serve --dev exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/nodes/acme/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "serve --dev did not start"
            time.sleep(0.2)
        time.sleep(1)
        host = f"Host: 127.0.0.1:{port}\r\n"
        boundary = "bench"
        cases = [
            (
                "login, Content-Length declared",
                f"POST /nodes/acme/auth/login HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                f"Content-Length: {total}\r\n\r\n",
                False,
                b"",
                b"",
            ),
            (
                "login, chunked",
                f"POST /nodes/acme/auth/login HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
                True,
                b'{"message": "',
                b'", "signature": "0x00"}',
            ),
            (
                "publish without a session, chunked",
                f"POST /nodes/acme/datasets HTTP/1.1\r\n{host}"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n",
                True,
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\n\r\n'.encode(),
                f"\r\n--{boundary}--\r\n".encode(),
            ),
        ]
        print(f"node pid {node.pid}, {args.mib} MiB bodies; RSS in MiB")
        print(f"{'case':<36} {'answer':<34} {'sent MiB':>9} {'before':>8} {'peak':>8} {'growth':>8}")
        worst = 0.0
        for name, head, chunked, prefix, suffix in cases:
            before = rss_mib(node.pid)
            with Sampler(node.pid) as sampler:
                status, sent = send(port, head, total, chunked=chunked, prefix=prefix, suffix=suffix)
            growth = sampler.peak - before
            worst = max(worst, growth)
            print(f"{name:<36} {status:<34} {sent / MiB:>9.1f} {before:>8.1f} {sampler.peak:>8.1f} {growth:>8.1f}")
        print(f"largest growth of the node's RSS while receiving a body: {worst:.1f} MiB (target: under 150 MiB)")
    finally:
        node.terminate()
        try:
            node.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.kill()


if __name__ == "__main__":
    main()
