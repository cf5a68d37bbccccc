"""``datagora anchor`` and ``datagora verify``: many records (readings, stream items, dataset versions) committed
on chain in one transaction per batch, and any one of them checked later with its proof."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from datagora.cli.app import DatagoraTyper, check_input_file, check_output_file, console, print_done, session
from datagora.domain.errors import DatagoraError, ValidationError

PANEL = "Anchoring records"

app = DatagoraTyper()


def _read_records(files: list[Path], lines: bool) -> list[bytes]:
    records: list[bytes] = []
    for path in files:
        data = check_input_file(path, "record file").read_bytes()
        if lines:
            records.extend(line for line in data.splitlines() if line.strip())
        else:
            records.append(data)
    if not records:
        raise ValidationError("no records to anchor: the files hold no non-empty line")
    return records


@app.command(rich_help_panel=PANEL)
def anchor(
    files: Annotated[list[Path], typer.Argument(help="Record files (each file one record, or see --lines).")],
    label: Annotated[str, typer.Option(help="What the records are, for people reading the chain (64 bytes at most).")],
    lines: Annotated[bool, typer.Option("--lines", help="Each non-empty line of each file is one record.")] = False,
    batch_size: Annotated[
        int, typer.Option(help="Records per batch: one transaction and one Merkle root each.", min=1)
    ] = 10_000,
) -> None:
    """Anchor records on chain: one transaction per batch of records, each record then checkable on its own
    with `datagora verify`. Only the records' hashes leave this machine.

    Example: datagora anchor readings.jsonl --lines --label "sensor 12, December" -a seller"""
    from datagora.services import anchoring
    from datagora.storage.anchoring import AnchorStore

    records = _read_records(files, lines)
    anchoring.check_label(label)
    s = session()
    contracts = s.contracts()
    me = s.participant()
    store = AnchorStore(me.paths.anchors)
    try:
        batches = anchoring.anchor_records(
            contracts, me.account, records, label=label, store=store, batch_size=batch_size
        )
    finally:
        store.close()
    ids = ", ".join(f"#{b.batch_id}" for b in batches[:5]) + (" …" if len(batches) > 5 else "")
    noun = "batch" if len(batches) == 1 else "batches"
    print_done(f"anchored {len(records):,} record{'s' if len(records) != 1 else ''} in {len(batches):,} {noun} ({ids})")
    if len(records) == 1:
        console.print(f"record id {anchoring.record_id(records[0])}", highlight=False)


@app.command(rich_help_panel=PANEL, signs=False)
def verify(
    record: Annotated[str, typer.Argument(help="A record file, or a record id (0x and 64 hexadecimal digits).")],
    proof: Annotated[
        Path | None, typer.Option(help="A proof file (from --save-proof) to check instead of this node's own.")
    ] = None,
    save_proof: Annotated[
        Path | None, typer.Option(help="Write the record's proof to this file, for anyone to check.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the proof file if it exists.")] = False,
) -> None:
    """Check that a record was anchored and is unchanged: its proof must lead to the batch's root on chain.

    Example: datagora verify reading-17.json -a seller"""
    from datagora.crypto import merkle
    from datagora.services import anchoring
    from datagora.storage.anchoring import AnchorStore

    path = Path(record)
    if path.exists():
        leaf = merkle.leaf_hash(check_input_file(path, "record file").read_bytes())
        shown = escape(str(path))
    else:
        try:
            leaf = anchoring.parse_record_id(record)
        except ValidationError:
            raise ValidationError(f"no such file, and not a record id: {record}") from None
        shown = "record " + record[:12] + "…"
    given = None
    if proof is not None:
        try:
            doc = json.loads(check_input_file(proof, "proof file").read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{proof} is not a proof file (JSON): {exc}") from None
        given = anchoring.parse_proof_document(doc)
    if save_proof is not None:
        check_output_file(save_proof, force)
    s = session()
    contracts = s.contracts()
    if given is not None:
        result = anchoring.verify(contracts, leaf, given)
    else:
        store = AnchorStore(s.home.participant(s.account_name()).anchors)
        try:
            result = anchoring.verify_record(contracts, store, leaf)
        finally:
            store.close()
    where = f"batch {result.proof.batch_id} (record {result.proof.index + 1:,} of {result.batch.size:,})"
    if not result.ok:
        raise DatagoraError(f"{shown} does not match {where}: it was changed, or it is not in that batch")
    stamp = datetime.fromtimestamp(result.batch.anchored_at, UTC)
    when = f"{stamp.day} {stamp:%b %Y %H:%M} UTC"
    print_done(f"{shown} anchored in {where} on {when}, proof checked against the chain")
    if save_proof is not None:
        save_proof.write_text(json.dumps(anchoring.proof_document(contracts, result.proof), indent=1) + "\n")
        console.print(f"proof written to {escape(str(save_proof))}", highlight=False)
