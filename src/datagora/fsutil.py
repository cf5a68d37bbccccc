"""File-system helpers shared by the adapters (crypto keystores and envelopes, the blob store, deployments):
durable renames and complete writes. No Datagora imports."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (a rename, a new file) to disk; ignored where the platform cannot."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(dst: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` (raw streams may accept only part of it per call)."""
    view = memoryview(data)
    while view:
        written = dst.write(view)
        if written is None or written >= len(view):
            return
        view = view[written:]


def atomic_write_json(target: Path, doc: Any) -> Path:
    """Write ``doc`` as indented, key-sorted JSON to ``target`` through a temporary file in the same directory
    and a rename, so readers see the old or the new file, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return target
