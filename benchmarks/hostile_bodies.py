"""Memory of a node receiving 200 MiB request bodies from an anonymous caller.

By default starts ONE plain node, ``datagora serve -a node`` (not ``--dev``), on Anvil: a keystore, funded, the
contracts deployed by it (``datagora account new`` / ``account fund`` / ``deploy``), then the node with its event
index. ``--dev`` starts ``datagora serve --dev`` instead (four nodes in one process on the embedded chain; paths
under ``/nodes/acme``). Then sends, without signing in, 200 MiB to:

1. ``POST /auth/login`` declared with ``Content-Length`` (refused 413 before a byte is read);
2. the same sent chunked, without a length (cut off at the 1 MiB JSON limit, 413);
3. ``POST /datasets`` as a chunked multipart upload (refused 401 before the body is read).

Printed per case: the answer, the bytes the client managed to send, the node's resident memory before
(``VmRSS`` in ``/proc/<pid>/status``) and its absolute peak while the request ran (``VmHWM``, the kernel's
high-water mark, reset before each case through ``/proc/<pid>/clear_refs``; also sampled every 10 ms where the
reset is not allowed), in MiB. Target: the peak stays under 150 MiB (before the limits, 200 MiB of JSON raised the
node's RSS by ~800 MiB). The node's peak at start is printed apart: unlocking its keystore runs scrypt with
eth-account's default work factor (N = 2^18, r = 8), which alone holds 256 MiB for the second it runs.

    python benchmarks/hostile_bodies.py [--mib 200] [--dev]
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


def status_mib(pid: int, field: str) -> float:
    """A memory field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mib(pid: int) -> float:
    return status_mib(pid, "VmRSS")


def reset_peak(pid: int) -> bool:
    """Reset the kernel's resident high-water mark (``VmHWM``) of ``pid`` to its current RSS (Linux >= 4.0:
    ``echo 5 > /proc/<pid>/clear_refs``). False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


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


def start_node(home: Path, port: int, dev: bool, stack: contextlib.ExitStack) -> tuple[subprocess.Popen[bytes], str]:
    """Start the node (plain on Anvil, or ``--dev``); returns the process and the URL prefix of its routes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env.update(DATAGORA_LOG_LEVEL="warning", DATAGORA_PASSWORD="benchmark password")
    base = [sys.executable, "-m", "datagora"]
    if dev:
        cmd = [*base, "serve", "--dev", "--home", str(home), "--port", str(port)]
        prefix = "/nodes/acme"
    else:
        from datagora.chain.devnode import AnvilNode

        url = stack.enter_context(AnvilNode()).url
        where = ["--home", str(home), "--rpc-url", url]
        for step in (
            ["account", "new", "node"],
            ["account", "fund", "node", "--ether", "10"],
            ["deploy", "--supervisor", "node", "--platform", "node"],
        ):
            subprocess.run([*base, *step, *where], env=env, check=True, stdout=subprocess.DEVNULL)
        cmd = [*base, "serve", "-a", "node", *where, "--port", str(port)]
        prefix = ""
    log = home / "node.log"
    node = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        assert node.poll() is None, f"{' '.join(cmd[2:4])} exited: {log.read_text()[-2000:]}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}{prefix}/health", timeout=1).status_code == 200:
                break
        assert time.monotonic() < deadline, "the node did not start"
        time.sleep(0.2)
    time.sleep(1)
    return node, prefix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200, help="body size in MiB")
    parser.add_argument("--dev", action="store_true", help="serve --dev (four nodes, embedded chain) instead")
    args = parser.parse_args()
    total = args.mib * MiB
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="datagora-bench-"))
    with contextlib.ExitStack() as stack:
        node, prefix = start_node(home, port, args.dev, stack)
        stack.callback(stop, node)
        host = f"Host: 127.0.0.1:{port}\r\n"
        boundary = "bench"
        cases = [
            (
                "login, Content-Length declared",
                f"POST {prefix}/auth/login HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                f"Content-Length: {total}\r\n\r\n",
                False,
                b"",
                b"",
            ),
            (
                "login, chunked",
                f"POST {prefix}/auth/login HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
                True,
                b'{"message": "',
                b'", "signature": "0x00"}',
            ),
            (
                "publish without a session, chunked",
                f"POST {prefix}/datasets HTTP/1.1\r\n{host}"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n",
                True,
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\n\r\n'.encode(),
                f"\r\n--{boundary}--\r\n".encode(),
            ),
        ]
        kind = "serve --dev (four nodes, embedded chain)" if args.dev else "one plain serve node on Anvil"
        print(f"{kind}: pid {node.pid}, {args.mib} MiB bodies; memory in MiB")
        print(
            f"peak at start (VmHWM) {status_mib(node.pid, 'VmHWM'):.1f} (includes the keystore's scrypt), "
            f"idle (VmRSS) {rss_mib(node.pid):.1f}"
        )
        print(f"{'case':<36} {'answer':<34} {'sent MiB':>9} {'before':>8} {'peak':>8} {'growth':>8}")
        worst = 0.0
        for name, head, chunked, prefix_bytes, suffix in cases:
            before = rss_mib(node.pid)
            kernel = reset_peak(node.pid)
            with Sampler(node.pid) as sampler:
                status, sent = send(port, head, total, chunked=chunked, prefix=prefix_bytes, suffix=suffix)
            peak = max(sampler.peak, status_mib(node.pid, "VmHWM") if kernel else 0.0)
            worst = max(worst, peak)
            print(f"{name:<36} {status:<34} {sent / MiB:>9.1f} {before:>8.1f} {peak:>8.1f} {peak - before:>8.1f}")
        print(f"largest peak RSS of the node while receiving a body: {worst:.1f} MiB (target: under 150 MiB)")


def stop(node: subprocess.Popen[bytes]) -> None:
    node.terminate()
    try:
        node.wait(timeout=20)
    except subprocess.TimeoutExpired:
        node.kill()


if __name__ == "__main__":
    main()
