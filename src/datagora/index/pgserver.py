"""A private, throw-away PostgreSQL server (Debian's ``postgresql`` package) on a free 127.0.0.1 port, for tests
and benchmarks of the PostgreSQL-backed index. Production points ``--index-url`` at its own server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from datagora.chain.devnode import free_port
from datagora.domain.errors import DatagoraError


def find_pg_bindir() -> Path | None:
    """Directory with ``initdb`` and ``postgres``: ``$DATAGORA_PG_BINDIR`` or the newest Debian install."""
    env = os.environ.get("DATAGORA_PG_BINDIR")
    if env and (Path(env) / "initdb").is_file():
        return Path(env)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


class PostgresServer:
    """``with PostgresServer() as pg: pg.url`` — initdb into a temp dir (trust auth, fsync off), start on a free
    port, drop everything on exit. As root, the server runs as the ``postgres`` system user (PostgreSQL refuses
    to run as root). Raises :class:`DatagoraError` when PostgreSQL is not installed."""

    def __init__(self) -> None:
        bindir = find_pg_bindir()
        if bindir is None:
            raise DatagoraError("PostgreSQL not installed: apt-get install postgresql (or set DATAGORA_PG_BINDIR)")
        self.bindir = bindir
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="datagora-pg-"))
        self.process: subprocess.Popen[bytes] | None = None

    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            return ["runuser", "-u", "postgres", "--", *args]
        return args

    def start(self) -> PostgresServer:
        data = self.dir / "data"
        subprocess.run(
            self._as_owner(
                [str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.process = subprocess.Popen(
            self._as_owner(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "shared_buffers=256MB",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import psycopg

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres").close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None:
                    raise DatagoraError(f"PostgreSQL exited with code {self.process.returncode}") from None
                time.sleep(0.1)
        self.stop()
        raise DatagoraError("PostgreSQL did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
