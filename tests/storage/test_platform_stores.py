"""The platform's SQLite tables as adapters: the send-receive board (datagora.storage.send_receive) and the
data-contract table (datagora.storage.data_contract). Rows in, the same rows out, across reopening the file."""

from __future__ import annotations

import threading
from pathlib import Path

from datagora.storage.data_contract import DataContractRow, DataContractTable
from datagora.storage.evidence import EvidenceFiles
from datagora.storage.send_receive import RelayedCiphertext, SendReceiveStore, StoredNotice

SELLER = "0x" + "11" * 20
BUYER = "0x" + "22" * 20


def notice(
    order_id: int, signature: bytes, *, received: bool = False, fingerprint_hash: bytes = bytes(32)
) -> StoredNotice:
    return StoredNotice(
        0, order_id, SELLER, BUYER, b"\x0d" * 32, 1_700_000_000, received, signature, 1_700_000_005, fingerprint_hash
    )


def test_relayed_ciphertexts_are_kept_per_order(tmp_path: Path) -> None:
    store = SendReceiveStore(tmp_path / "board" / "board.sqlite")  # the directory is created
    assert store.relayed(1) is None
    first = RelayedCiphertext(1, "ab" * 32, 1_000, SELLER, 10)
    store.put_relayed(first)
    store.put_relayed(RelayedCiphertext(2, "cd" * 32, 5, SELLER, 11))
    again = RelayedCiphertext(1, "ef" * 32, 2_000, SELLER, 12)
    store.put_relayed(again)  # a new upload for the same order replaces the last
    reopened = SendReceiveStore(tmp_path / "board" / "board.sqlite")
    assert reopened.relayed(1) == again and reopened.relayed(2) == RelayedCiphertext(2, "cd" * 32, 5, SELLER, 11)


def test_notices_in_arrival_order_once_per_signature(tmp_path: Path) -> None:
    store = SendReceiveStore(tmp_path / "board.sqlite")
    sent = store.add_notice(notice(7, b"\x01" * 65))
    other = store.add_notice(notice(8, b"\x02" * 65))
    got = store.add_notice(notice(7, b"\x03" * 65, received=True, fingerprint_hash=b"\xff" * 32), b"fingerprint f_B")
    assert (sent.entry_id, other.entry_id, got.entry_id) == (1, 2, 3)
    later = StoredNotice(0, 7, SELLER, BUYER, b"\x0d" * 32, 1_700_000_000, False, b"\x01" * 65, 1_800_000_000)
    assert store.add_notice(later) == sent  # the same signature: the first row, with its first recording time
    rows = SendReceiveStore(tmp_path / "board.sqlite").notices(7)
    assert rows == [sent, got]
    assert [r.received for r in rows] == [False, True] and rows[1].fingerprint_hash == b"\xff" * 32
    assert rows[0].fingerprint_hash == bytes(32)  # none came with the seller's notice
    assert store.fingerprint(b"\x03" * 65) == b"fingerprint f_B" and store.fingerprint(b"\x01" * 65) is None
    assert store.notices(9) == []


def test_concurrent_notices_get_distinct_entries(tmp_path: Path) -> None:
    store = SendReceiveStore(tmp_path / "board.sqlite")

    def post(i: int) -> None:
        store.add_notice(notice(1, i.to_bytes(65, "big")))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(1, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.entry_id for r in store.notices(1)) == list(range(1, 21))


def test_data_contract_rows_from_attestation_to_minted_dataset(tmp_path: Path) -> None:
    table = DataContractTable(tmp_path / "dc.sqlite")
    assert table.row(b"fp") is None and table.rows() == [] and table.fingerprint_of(1) is None
    table.record_attested(b"fp", SELLER, b"\xaa" * 32, attested_at=100, expiry=3_700)
    assert table.row(b"fp") == DataContractRow(b"fp", SELLER, b"\xaa" * 32, None, 100, 3_700)
    table.bind(b"fp", 42)
    table.bind(b"unknown", 43)  # no attestation: nothing happens
    table.close()
    reopened = DataContractTable(tmp_path / "dc.sqlite")
    assert reopened.row(b"fp") == DataContractRow(b"fp", SELLER, b"\xaa" * 32, 42, 100, 3_700)
    assert reopened.fingerprint_of(42) == b"fp" and reopened.fingerprint_of(43) is None
    reopened.record_attested(b"fp2", BUYER, b"\xbb" * 32, attested_at=5, expiry=6)
    assert sorted(r.publisher for r in reopened.rows()) == sorted([SELLER, BUYER])
    memory = DataContractTable(":memory:")
    memory.record_attested(b"x", SELLER, b"\x00" * 32, attested_at=1, expiry=2)
    assert [r.fingerprint for r in memory.rows()] == [b"x"]


def test_evidence_files_per_order(tmp_path: Path) -> None:
    files = EvidenceFiles(tmp_path / "arbitration")
    assert files.read(3) == {} and files.ciphertext(3) is None
    with files.editing(3) as doc:
        doc["reupload"] = {"sha256": "ab", "size": 2}
    with files.editing(3) as doc:
        doc["disclosure"] = {"encrypted_key": "cd"}
    assert EvidenceFiles(tmp_path / "arbitration").read(3) == {
        "reupload": {"sha256": "ab", "size": 2},
        "disclosure": {"encrypted_key": "cd"},
    }
    try:
        with files.editing(3) as doc:
            doc.clear()
            raise RuntimeError("interrupted")
    except RuntimeError:
        pass
    assert "reupload" in files.read(3)  # an edit that raised wrote nothing
    staged = tmp_path / "arbitration" / "upload.part"
    staged.write_bytes(b"E_PkP(D')")
    kept = files.keep_ciphertext(3, staged)
    assert not staged.exists() and files.ciphertext(3) == kept and kept.read_bytes() == b"E_PkP(D')"
    again = tmp_path / "arbitration" / "again.part"
    again.write_bytes(b"newer")
    files.keep_ciphertext(3, again)
    assert kept.read_bytes() == b"newer" and files.ciphertext(4) is None
    files.record_path(5).write_text("[1, 2]")  # not a record
    assert files.read(5) == {}
