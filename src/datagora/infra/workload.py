"""The collaboration's workload: ``python -m datagora.infra.workload RUN_DIR/workload.json``, started by the
``start.yml`` playbook on the node of the data's owner.

It computes the value provider's aggregate (``spec.task``) on the owner's dataset without the plaintext ever
leaving the owner's machine or touching its disk: the encrypted copy is read from the owner's blob store and
decrypted in memory with the dataset's data key (AES-256-GCM; the key of that one envelope only, never the
owner's account key), loaded into DuckDB from an in-memory file, and only the aggregate rows of groups of at least
``spec.min_group_size`` rows are kept (:class:`~datagora.query.QueryRunner`, aggregates-only policy). The result
goes to ``result.json``; then, every ``spec.heartbeat_interval`` seconds until SIGTERM, the workload writes its
heartbeat to ``heartbeat.json`` (state, PID, count, Unix time), which the node relays to the chain
(:class:`datagora.services.infrastructure.HeartbeatRelay`). A workload that crashes writes no more heartbeats.

Run configuration (JSON, written by the node; paths absolute)::

    {"spec": {…WorkloadSpec…}, "blob_dir": "…/blobs", "blob": "<blob address>", "suffix": ".csv",
     "data_key_file": "…/data.key", "result_file": "…/result.json", "beacon_file": "…/heartbeat.json"}

``data_key_file`` (mode 0600, 32 bytes hex) is read and deleted at start.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from datagora.domain.errors import DatagoraError
from datagora.fsutil import atomic_write_json
from datagora.infra.spec import WorkloadSpec, parse_spec

REQUIRED = ("spec", "blob_dir", "blob", "data_key_file", "result_file", "beacon_file")


def load_config(path: Path) -> dict[str, Any]:
    """The run configuration at ``path``; ``ValueError`` naming what is missing."""
    doc = json.loads(path.read_text())
    missing = [key for key in REQUIRED if key not in doc]
    if missing:
        raise ValueError(f"run configuration {path} lacks {', '.join(missing)}")
    return dict(doc)


def compute(spec: WorkloadSpec, blob_dir: Path, blob: str, data_key: bytes, suffix: str = ".csv") -> dict[str, Any]:
    """Decrypt the blob in memory and run ``spec.task`` on it; returns the result as
    :meth:`~datagora.query.QueryResult.to_dict` plus ``result_hash`` (Keccak-256, 0x-hex) and ``rows_in``: the
    number of rows the aggregate ran over."""
    import io

    from datagora.crypto.envelope import decrypt_stream_with_data_key
    from datagora.query import QueryRunner, UsagePolicy
    from datagora.query.spec import AGGREGATE_FUNCTIONS
    from datagora.storage.blobstore import BlobStore

    plain = io.BytesIO()
    with BlobStore(blob_dir).open(blob) as src:
        decrypt_stream_with_data_key(src, plain, data_key)
    policy = UsagePolicy(
        uid=f"urn:datagora:workload:{spec.name}",
        assigner=f"did:pkh:eip155:1:{spec.data.owner}",
        target=f"urn:datagora:dataset:{spec.data.content_hash}",
        allowed_aggregates=frozenset(AGGREGATE_FUNCTIONS),
        min_group_size=spec.min_group_size,
        raw_rows=False,
        exact_answers=True,
    )
    # DuckDB reads files only: the plaintext goes to a memory-backed file (memfd) that never reaches a disk.
    fd = os.memfd_create(f"datagora-{spec.name}", 0)
    try:
        view = plain.getbuffer()
        written = 0
        while written < len(view):  # os.write may write less than asked
            written += os.write(fd, view[written:])
        view.release()
        plain.close()
        with QueryRunner(f"/proc/self/fd/{fd}", format="parquet" if suffix == ".parquet" else "csv") as runner:
            result = runner.run(spec.query, policy)
            rows_in = runner.row_count
    finally:
        os.close(fd)
    return {**result.to_dict(), "result_hash": "0x" + result.result_hash().hex(), "rows_in": rows_in}


def run(config_path: Path) -> int:
    """Compute, then heartbeat until SIGTERM / SIGINT. Exit code 0 after a requested stop, 1 when the computation
    fails (the beacon then says ``failed`` with the reason)."""
    config = load_config(config_path)
    beacon = Path(config["beacon_file"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        spec = parse_spec(config["spec"])
        key_file = Path(config["data_key_file"])
        data_key = bytes.fromhex(key_file.read_text().strip())
        key_file.unlink()
        result = compute(spec, Path(config["blob_dir"]), str(config["blob"]), data_key, config.get("suffix", ".csv"))
        atomic_write_json(Path(config["result_file"]), result)
    except (DatagoraError, OSError, ValueError) as exc:
        atomic_write_json(beacon, {"state": "failed", "pid": os.getpid(), "error": str(exc), "at": time.time()})
        print(f"workload failed: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"workload {spec.name}: result {result['result_hash']} over {result['rows_in']} rows", flush=True)
    beats = 0
    while not stop.is_set():
        beats += 1
        atomic_write_json(
            beacon,
            {
                "state": "running",
                "pid": os.getpid(),
                "beats": beats,
                "at": time.time(),
                "result_hash": result["result_hash"],
            },
        )
        stop.wait(spec.heartbeat_interval)
    atomic_write_json(beacon, {"state": "stopped", "pid": os.getpid(), "beats": beats, "at": time.time()})
    print(f"workload {spec.name}: stopped after {beats} heartbeats", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - process entry point, exercised by the tests
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m datagora.infra.workload RUN_DIR/workload.json", file=sys.stderr)
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
