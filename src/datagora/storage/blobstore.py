"""Content-addressed store of blobs (encrypted envelopes) in a local directory.

A blob's address is the lower-case hex SHA-256 (FIPS 180-4) of its bytes, 64 characters. Layout::

    root/
      tmp/                      blobs being written (put-*.tmp), each exclusively flock()ed by its writer
      ab/cd/abcd...<64 hex>     a stored blob, sharded by the address's first two byte pairs

Writes go to a temporary file under ``root/tmp``, which is hashed while written, fsync()ed and then renamed into
place with ``os.replace`` (atomic on POSIX), after which the shard directory is fsync()ed. A blob is therefore only
ever visible under its address complete, also when the writer is killed (SIGKILL, power loss); a killed writer leaves
at most a temporary file, which :meth:`BlobStore.gc_temp` removes. A writer holds an exclusive ``flock`` on its
temporary file, and ``gc_temp`` skips locked files, so several processes can share one store safely. POSIX only.

Reads check the content against the address and raise :class:`IntegrityError` on a mismatch (bit rot, tampering).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from datagora.domain.errors import IntegrityError, NotFoundError, StorageError, ValidationError
from datagora.fsutil import fsync_dir as _fsync_dir
from datagora.fsutil import write_all as _write_all

__all__ = ["BlobStore", "is_blob_address"]

BUFFER_SIZE = 1 << 20
"""Bytes read or written per step when streaming (1 MiB)."""

TEMP_DIR = "tmp"
_TEMP_PREFIX = "put-"
_TEMP_SUFFIX = ".tmp"
_ADDRESS = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")


def is_blob_address(value: object) -> bool:
    """Tell whether ``value`` is a well-formed blob address: 64 lower-case hex digits (a SHA-256)."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


class BlobStore:
    """Content-addressed blob store rooted at a local directory.

    Args:
        root: Directory of the store; created (with parents) if missing. Leftover temporary files of killed writers
            are removed on construction (:meth:`gc_temp`).

    Raises:
        StorageError: ``root`` cannot be created or is not a directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / TEMP_DIR
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create blob store at {self.root}: {exc.strerror or exc}") from None
        self.gc_temp()

    def __repr__(self) -> str:
        return f"BlobStore({str(self.root)!r})"

    # --- writing -------------------------------------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        """Store ``data``; storing the same bytes again is a no-op that returns the same address.

        Returns:
            The address: lower-case hex SHA-256 of ``data`` (64 characters).

        Raises:
            StorageError: the blob cannot be written (disk full, permissions).
        """
        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: Path) -> str:
        """Store the content of the file ``path`` (streamed; memory stays bounded).

        Returns:
            The blob's address.

        Raises:
            NotFoundError: ``path`` does not exist.
            StorageError: the file cannot be read or the blob cannot be written.
        """
        path = Path(path)
        try:
            src = path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"{path} does not exist") from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
        with src:
            return self.put_stream(src)

    def put_stream(self, src: BinaryIO) -> str:
        """Store everything ``src`` yields, streaming it through a temporary file under ``root/tmp``.

        The temporary file is hashed while written, fsync()ed, renamed to its address (``os.replace``, atomic) and
        the directory fsync()ed; see the module docstring for crash safety.

        Args:
            src: Read to its end in :data:`BUFFER_SIZE` pieces.

        Returns:
            The blob's address.

        Raises:
            StorageError: the blob cannot be written.
        """
        fd, tmp = self._new_temp()
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                while True:
                    piece = src.read(BUFFER_SIZE)
                    if not piece:
                        break
                    digest.update(piece)
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
                address = digest.hexdigest()
                target = self._path(address)
                self._make_shard_dirs(target.parent)
                os.replace(tmp, target)  # still holding the lock: gc_temp cannot remove tmp before this
            _fsync_dir(target.parent)
            return address
        except OSError as exc:
            raise StorageError(f"cannot write blob into {self.root}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    # --- reading -------------------------------------------------------------------------------------------------

    def has(self, address: str) -> bool:
        """Tell whether a blob with ``address`` is stored (without verifying it).

        Raises:
            ValidationError: ``address`` is malformed.
        """
        return self._path(address).is_file()

    def __contains__(self, address: object) -> bool:
        return is_blob_address(address) and self.has(str(address))

    def size(self, address: str) -> int:
        """Return the blob's length (bytes).

        Raises:
            ValidationError: ``address`` is malformed.
            NotFoundError: no blob has this address.
        """
        path = self._path(address)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"blob {address} not found") from None

    def get(self, address: str) -> bytes:
        """Return the blob's bytes, verified against the address (the whole blob is held in memory).

        Raises:
            ValidationError: ``address`` is malformed.
            NotFoundError: no blob has this address.
            IntegrityError: the stored bytes do not hash to ``address``.
            StorageError: the blob cannot be read.
        """
        with self._open_raw(address) as src:
            try:
                data = src.read()
            except OSError as exc:
                raise StorageError(f"cannot read blob {address}: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != address:
            raise IntegrityError(f"blob {address} is corrupt: its content does not hash to its address")
        return data

    def open(self, address: str) -> BinaryIO:
        """Open the blob for reading after verifying it, in one pass over the file (memory stays bounded).

        The returned handle is the one that was verified, so a concurrent ``put`` replacing the file does not affect
        it; a process writing into the file in place could, which no code of this store does.

        Returns:
            A binary file object positioned at offset 0; close it (``with store.open(a) as f:``).

        Raises:
            ValidationError: ``address`` is malformed.
            NotFoundError: no blob has this address.
            IntegrityError: the stored bytes do not hash to ``address``.
            StorageError: the blob cannot be read.
        """
        src = self._open_raw(address)
        try:
            digest = hashlib.sha256()
            while piece := src.read(BUFFER_SIZE):
                digest.update(piece)
            if digest.hexdigest() != address:
                raise IntegrityError(f"blob {address} is corrupt: its content does not hash to its address")
            src.seek(0)
        except OSError as exc:
            src.close()
            raise StorageError(f"cannot read blob {address}: {exc.strerror or exc}") from None
        except BaseException:
            src.close()
            raise
        return src

    def copy_to(self, address: str, dst: BinaryIO) -> int:
        """Stream the blob into ``dst`` in one pass, verifying it as it goes.

        The check completes at the end of the blob: when this raises IntegrityError, ``dst`` has already received
        the (corrupt) bytes and must be discarded. Blobs are DGE1 envelopes, which authenticate themselves again on
        decryption.

        Returns:
            Bytes copied.

        Raises:
            ValidationError: ``address`` is malformed.
            NotFoundError: no blob has this address.
            IntegrityError: the stored bytes do not hash to ``address``.
            StorageError: the blob cannot be read.
        """
        copied = 0
        digest = hashlib.sha256()
        with self._open_raw(address) as src:
            while True:
                try:
                    piece = src.read(BUFFER_SIZE)
                except OSError as exc:
                    raise StorageError(f"cannot read blob {address}: {exc.strerror or exc}") from None
                if not piece:
                    break
                digest.update(piece)
                _write_all(dst, piece)
                copied += len(piece)
        if digest.hexdigest() != address:
            raise IntegrityError(f"blob {address} is corrupt: its content does not hash to its address")
        return copied

    def __iter__(self) -> Iterator[str]:
        """Iterate over the addresses of stored blobs (shard order, not sorted; temporary files never appear)."""
        for first in sorted(self._subdirs(self.root)):
            for second in sorted(self._subdirs(self.root / first)):
                try:
                    entries = sorted(os.scandir(self.root / first / second), key=lambda e: e.name)
                except FileNotFoundError:
                    continue
                for entry in entries:
                    name = entry.name
                    if is_blob_address(name) and name[0:2] == first and name[2:4] == second and entry.is_file():
                        yield name

    # --- removing ------------------------------------------------------------------------------------------------

    def delete(self, address: str) -> None:
        """Remove the blob.

        Raises:
            ValidationError: ``address`` is malformed.
            NotFoundError: no blob has this address.
            StorageError: the blob cannot be removed.
        """
        path = self._path(address)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFoundError(f"blob {address} not found") from None
        except OSError as exc:
            raise StorageError(f"cannot delete blob {address}: {exc.strerror or exc}") from None
        _fsync_dir(path.parent)

    def gc_temp(self) -> int:
        """Remove temporary files left by writers that died mid-write; files of live writers (locked) are kept.

        Returns:
            Number of files removed.
        """
        removed = 0
        try:
            entries = list(os.scandir(self._tmp))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer holds it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
            finally:
                os.close(fd)
        return removed

    # --- internals -----------------------------------------------------------------------------------------------

    def _path(self, address: str) -> Path:
        if not is_blob_address(address):
            raise ValidationError(f"malformed blob address {address!r}: expected 64 lower-case hex digits (SHA-256)")
        return self.root / address[0:2] / address[2:4] / address

    def _open_raw(self, address: str) -> BinaryIO:
        path = self._path(address)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {address} not found") from None
        except OSError as exc:
            raise StorageError(f"cannot open blob {address}: {exc.strerror or exc}") from None

    def _new_temp(self) -> tuple[int, Path]:
        """Create and exclusively lock a fresh temporary file; retry if gc_temp removed it before it was locked."""
        for _ in range(100):
            try:
                self._tmp.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(dir=self._tmp, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
            except OSError as exc:
                raise StorageError(f"cannot create a temporary file in {self._tmp}: {exc.strerror or exc}") from None
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                still_there = os.stat(name).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                still_there = False
            if still_there:
                return fd, Path(name)
            os.close(fd)
        raise StorageError(f"cannot keep a temporary file in {self._tmp}")  # pragma: no cover - pathological

    def _make_shard_dirs(self, shard: Path) -> None:
        if shard.is_dir():
            return
        shard.mkdir(parents=True, exist_ok=True)
        _fsync_dir(shard.parent)
        _fsync_dir(self.root)

    @staticmethod
    def _subdirs(directory: Path) -> list[str]:
        try:
            return [e.name for e in os.scandir(directory) if _SHARD.fullmatch(e.name) and e.is_dir()]
        except FileNotFoundError:
            return []
