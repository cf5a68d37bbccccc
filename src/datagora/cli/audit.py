"""The audit trail read back from contract events (who shared what, with whom, when), and the check of the
event index against the chain."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, console, err, session
from datagora.domain.errors import DatagoraError, ValidationError

if TYPE_CHECKING:
    from datagora.chain.contracts import Contracts
    from datagora.index import EventIndexer

PANEL = "Supervisor"

app = DatagoraTyper()
audit_app = DatagoraTyper(no_args_is_help=False)
app.add_typer(audit_app, name="audit", rich_help_panel=PANEL)

IndexUrl = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        envvar="DATAGORA_INDEX_URL",
        help="Event index to use (default: the SQLite file in --home that the account's node builds).",
    ),
]
IndexAccount = Annotated[
    str | None,
    typer.Option(
        "--account",
        "-a",
        envvar="DATAGORA_ACCOUNT",
        help="Keystore name of the node whose event index to read (the one `serve -a NAME` builds; default: the "
        "profile's); without one, an index of its own in --home.",
    ),
]


def _event_index(
    contracts: Contracts, account: str | None, index_url: str | None, confirmations: int = 0
) -> tuple[EventIndexer, str]:
    """The event index the audit commands read, and where it is (password hidden): ``index_url``, else the
    file the node of ``account`` (default: the session's) builds under the home (``serve`` uses the same), else
    the account-less one. The keystore's address is read without decrypting it."""
    from sqlalchemy.engine import make_url

    from datagora.index import EventIndexer, open_engine

    s = session()
    if index_url is None:
        name = account or s.account
        address = s.address(name) if name else None
        s.home.index_dir.mkdir(parents=True, exist_ok=True)
        index_url = s.home.index_url(contracts.chain.chain_id, address)
    shown = make_url(index_url).render_as_string(hide_password=True)
    try:
        return EventIndexer(contracts, open_engine(index_url), confirmations=confirmations), shown
    except ValueError as exc:
        raise ValidationError(f"event index {shown}: {exc}") from None


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (header row first) instead of a table.")] = False,
    organisation: Annotated[int | None, typer.Option(help="Only this organisation id.")] = None,
    dataset: Annotated[int | None, typer.Option(help="Only this dataset (token id).")] = None,
    subject: Annotated[str | None, typer.Option(help="Only records involving this account address.")] = None,
    account: IndexAccount = None,
    index_url: IndexUrl = None,
) -> None:
    """The audit trail: who shared what, with whom, when, with the transaction of each record (filters:
    organisation, dataset, account). No password needed.

    Example: datagora audit --dataset 1 --json"""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from datagora.services.audit import audit_trail

    indexer, where = _event_index(session().contracts(), account, index_url)
    try:
        trail = audit_trail(indexer, organisation_id=organisation, token_id=dataset, account=subject)
    finally:
        indexer.engine.dispose()
    if as_json:
        for rec in trail:
            typer.echo(json.dumps(asdict(rec)))
        return
    if as_csv:
        import csv
        import io
        from dataclasses import fields

        from datagora.services.audit import AuditRecord

        buf = io.StringIO()
        writer = csv.DictWriter(buf, [f.name for f in fields(AuditRecord)], lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(rec) for rec in trail)
        typer.echo(buf.getvalue(), nl=False)
        return
    table = Table(caption=f"event index: {where}")
    for name, wrap in (("block", False), ("when", False), ("actor", False), ("event", False), ("what", True)):
        table.add_column(name, no_wrap=not wrap, overflow="fold")
    table.add_column("tx", no_wrap=True)
    for rec in trail:
        table.add_row(
            str(rec.block_number),
            units.when(rec.timestamp) if rec.timestamp else "-",
            units.short(rec.actor),
            rec.action,
            escape(rec.detail),
            units.short(rec.tx_hash),
        )
    console.print(table)


@audit_app.command("verify", account=False)
def audit_verify(
    account: IndexAccount = None,
    index_url: IndexUrl = None,
    confirmations: Annotated[int, typer.Option(help="Blocks to wait before indexing a block.")] = 0,
) -> None:
    """Bring the event index up to date, then re-read every indexed row from the chain and report any
    difference (exit code 1 when there is one). With an account, the index that account's node builds.

    Example: datagora audit verify -a platform"""
    indexer, where = _event_index(session().contracts(), account, index_url, confirmations)
    try:
        report = indexer.sync()
        verified = indexer.verify()
    finally:
        indexer.engine.dispose()
    console.print(f"event index: {where}", highlight=False)
    console.print(
        f"indexed blocks {report.from_block}..{report.to_block} (+{report.events} events"
        + (f", reorg of {report.reorg_depth} blocks rolled back" if report.reorg_depth else "")
        + f"); verified {verified.checked} rows against the chain",
        highlight=False,
    )
    if not verified.ok:
        for d in verified.differences:
            err.print(f"row {d.event_id} tx {d.tx_hash} log {d.log_index}: {d.kind} {d.detail}", highlight=False)
        raise DatagoraError(f"{len(verified.differences)} indexed rows differ from the chain")
    console.print("[green]✓[/] the index matches the chain")


@audit_app.command("searches", signs=False)
def audit_searches(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    subject: Annotated[str | None, typer.Option(help="Only the searches of this account address.")] = None,
) -> None:
    """The platform's log of searches by sample: when, who, what kind of sample and how many rows, the outcome
    and the datasets answered. Run it on the platform's machine with the platform's account; it also checks that
    no line of the log was edited or removed. No password needed.

    Example: datagora audit searches -a platform"""
    from dataclasses import asdict

    from datagora.services.attestation import SAMPLE_SEARCH_LOG
    from datagora.services.sample_search import SearchLog

    s = session()
    path = s.home.participant(s.account_name()).data_contract.with_name(SAMPLE_SEARCH_LOG)
    log = SearchLog(path)
    checked = log.verify()  # IntegrityError names the first line that does not follow
    records = log.records(subject)
    if as_json:
        for rec in records:
            typer.echo(json.dumps(asdict(rec)))
        return
    table = Table(caption=f"{path} ({checked} searches, hash chain intact)")
    for name in ("when", "account", "sample", "outcome", "datasets"):
        table.add_column(name, overflow="fold")
    for rec in records:
        rows = f"{rec.rows:,} row{'' if rec.rows == 1 else 's'}"
        sample = f"table, {rows}" if rec.kind == "table" else (rec.kind or "-")
        table.add_row(
            units.when(rec.at),
            units.short(rec.account),
            sample,
            rec.outcome,
            ", ".join(f"#{i}" for i in rec.matches) or "-",
        )
    console.print(table)
