"""Content-addressed blob store (datagora.storage.blobstore)."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from datagora.domain.errors import IntegrityError, NotFoundError, StorageError, ValidationError
from datagora.storage import BlobStore, is_blob_address
from tests import REPO_ROOT

SRC = REPO_ROOT / "src"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def blob_files(root: Path) -> list[Path]:
    """Files outside root/tmp: what readers could see."""
    return [p for p in files_under(root) if p.relative_to(root).parts[0] != "tmp"]


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def test_put_get_round_trip_and_layout(store: BlobStore) -> None:
    data = b"ciphertext bytes"
    address = store.put(data)
    assert address == sha(data)
    assert is_blob_address(address)
    assert store.get(address) == data
    assert (store.root / address[:2] / address[2:4] / address).read_bytes() == data
    assert blob_files(store.root) == [store.root / address[:2] / address[2:4] / address]


def test_empty_blob(store: BlobStore) -> None:
    address = store.put(b"")
    assert address == sha(b"")
    assert store.get(address) == b""
    assert store.size(address) == 0


def test_same_content_is_stored_once(store: BlobStore) -> None:
    assert store.put(b"dup") == store.put(b"dup")
    assert len(blob_files(store.root)) == 1
    assert list(store) == [sha(b"dup")]


def test_put_stream_of_several_megabytes(store: BlobStore) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    address = store.put_stream(io.BytesIO(data))
    assert address == sha(data)
    assert store.size(address) == len(data)
    out = io.BytesIO()
    assert store.copy_to(address, out) == len(data)
    assert out.getvalue() == data


def test_put_file(store: BlobStore, tmp_path: Path) -> None:
    path = tmp_path / "envelope.dge"
    path.write_bytes(b"from a file")
    assert store.get(store.put_file(path)) == b"from a file"
    with pytest.raises(NotFoundError):
        store.put_file(tmp_path / "missing")


def test_open_returns_verified_handle_at_start(store: BlobStore) -> None:
    data = os.urandom(3000)
    address = store.put(data)
    with store.open(address) as handle:
        assert handle.read() == data


def test_has_contains_size_delete(store: BlobStore) -> None:
    address = store.put(b"12345")
    assert store.has(address) and address in store
    assert store.size(address) == 5
    assert "not an address" not in store
    assert 42 not in store
    store.delete(address)
    assert not store.has(address) and address not in store
    with pytest.raises(NotFoundError):
        store.delete(address)


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    missing = sha(b"never stored")
    assert not store.has(missing)
    for call in (store.get, store.open, store.size, store.delete, lambda a: store.copy_to(a, io.BytesIO())):
        with pytest.raises(NotFoundError, match=missing):
            call(missing)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "abc",
        "A" * 64,  # upper case
        "g" * 64,
        "0x" + "a" * 62,
        "a" * 65,
        "../../../../etc/passwd",
        "../" + "a" * 61,
    ],
)
def test_malformed_address_is_validation_error(store: BlobStore, bad: str) -> None:
    for call in (store.get, store.open, store.size, store.delete, store.has, lambda a: store.copy_to(a, io.BytesIO())):
        with pytest.raises(ValidationError, match="malformed blob address"):
            call(bad)


def test_flipped_byte_on_disk_is_integrity_error(store: BlobStore) -> None:
    data = os.urandom(5000)
    address = store.put(data)
    path = store.root / address[:2] / address[2:4] / address
    corrupt = bytearray(path.read_bytes())
    corrupt[1234] ^= 0x40
    path.write_bytes(bytes(corrupt))

    assert store.has(address)  # has() does not read the content
    with pytest.raises(IntegrityError, match=address):
        store.get(address)
    with pytest.raises(IntegrityError, match=address):
        store.open(address)
    with pytest.raises(IntegrityError, match=address):
        store.copy_to(address, io.BytesIO())
    assert issubclass(IntegrityError, StorageError)


def test_storing_again_repairs_a_corrupt_blob(store: BlobStore) -> None:
    address = store.put(b"original")
    path = store.root / address[:2] / address[2:4] / address
    path.write_bytes(b"originaL")
    store.put(b"original")
    assert store.get(address) == b"original"


def test_iteration_lists_blobs_only(store: BlobStore) -> None:
    addresses = {store.put(bytes([i]) * i) for i in range(20)}
    (store.root / "tmp" / "put-leftover.tmp").write_bytes(b"partial")
    (store.root / "README").write_text("not a blob")
    (store.root / "ab" / "cd").mkdir(parents=True, exist_ok=True)
    (store.root / "ab" / "cd" / ("ab" + "0" * 62)).write_bytes(b"in the wrong shard")
    assert set(store) == addresses
    assert len(list(store)) == 20


def test_failed_source_leaves_nothing(store: BlobStore) -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise OSError("network gone")
            return b"x" * 1000

    with pytest.raises(StorageError, match="network gone"):
        store.put_stream(Failing())  # type: ignore[arg-type]
    assert files_under(store.root) == []


def test_failed_rename_leaves_nothing(store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(StorageError, match="No space"):
        store.put(b"data")
    assert files_under(store.root) == []


def test_gc_temp_removes_leftovers_on_construction(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    BlobStore(root)
    leftover = root / "tmp" / "put-dead.tmp"
    leftover.write_bytes(b"half a blob")
    BlobStore(root)
    assert not leftover.exists()


def test_gc_temp_keeps_files_of_live_writers(store: BlobStore) -> None:
    live = store.root / "tmp" / "put-live.tmp"
    dead = store.root / "tmp" / "put-dead.tmp"
    live.write_bytes(b"being written")
    dead.write_bytes(b"abandoned")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert store.gc_temp() == 1
        assert live.exists() and not dead.exists()
    finally:
        os.close(fd)
    assert store.gc_temp() == 1
    assert not live.exists()


def test_concurrent_gc_does_not_break_a_put(store: BlobStore) -> None:
    """A second store on the same root (another process) must not delete an in-progress write."""

    class GcWhileReading(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls == 2:
                assert BlobStore(store.root).gc_temp() == 0
                assert len(list((store.root / "tmp").iterdir())) == 1
            return b"y" * 100 if self.calls <= 3 else b""

    address = store.put_stream(GcWhileReading())  # type: ignore[arg-type]
    assert store.get(address) == b"y" * 300


def test_root_that_is_a_file_is_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError):
        BlobStore(tmp_path / "file")


KILLED_WRITER = textwrap.dedent(
    """
    import io, sys, time
    from pathlib import Path
    from datagora.storage import BlobStore

    class Slow(io.RawIOBase):
        def readable(self):
            return True
        def read(self, size=-1):
            time.sleep(0.005)
            return b"z" * 65536  # never ends: about 12 MB/s until killed

    BlobStore(Path(sys.argv[1])).put_stream(Slow())
    """
)


def test_writer_killed_mid_write_leaves_no_visible_blob(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(root)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            temps = list((root / "tmp").glob("*")) if (root / "tmp").is_dir() else []
            if temps and temps[0].stat().st_size > (1 << 20):
                break
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail("the writer never got going")
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(timeout=10)
        if writer.stderr:
            writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL

    assert blob_files(root) == []  # nothing under any address
    leftovers = files_under(root / "tmp")
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > (1 << 20)

    reopened = BlobStore(root)
    assert files_under(root) == []
    assert list(reopened) == []
