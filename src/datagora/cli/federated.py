"""``datagora federated``: train one model across several data owners without their rows leaving them. The
requester submits a job per owner's dataset, each owner reviews it against its terms, the requester runs the
rounds (Flower, on this machine) and every round's model hash goes on chain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datagora.cli.app import DatagoraTyper, check_input_file, console, print_done, session
from datagora.cli.units import ether, parse_ether
from datagora.domain.errors import ValidationError

if TYPE_CHECKING:
    from datagora.services.federated import FederatedSpec

PANEL = "Learning across owners"
NODE_KEY_NAME = "supernode"
"""File name (without suffix) of an owner's node key files: ``.key`` (private), ``.pub`` and ``.sig``."""

app = DatagoraTyper()
federated_app = DatagoraTyper(
    help="Train one model across several data owners: their rows never leave them, only model updates do, and "
    "every round is recorded on chain. Example: `datagora federated status 4 5 6`."
)
app.add_typer(federated_app, name="federated", rich_help_panel=PANEL)

Label = Annotated[str, typer.Option(help="The column to predict.")]
Positive = Annotated[
    str, typer.Option(help="The label value counted as the positive class (empty: the column holds 0 and 1).")
]
Rounds = Annotated[int, typer.Option(help="Rounds of federated averaging.", min=1, max=50)]
Epochs = Annotated[int, typer.Option(help="Training passes on each owner per round.", min=1, max=1000)]
Secure = Annotated[
    bool,
    typer.Option(
        "--secure-aggregation",
        help="Mask each owner's update so the coordinator only learns their sum (slower: four exchanges a round).",
    ),
]


def _spec(label: str, positive: str, rounds: int, epochs: int, secure: bool) -> FederatedSpec:
    from datagora.services.federated import FederatedSpec

    return FederatedSpec(
        label=label, positive_label=positive, rounds=rounds, local_epochs=epochs, secure_aggregation=secure
    )


@federated_app.command()
def submit(
    datasets: Annotated[list[int], typer.Argument(help="The owners' dataset numbers, one job each.")],
    pay: Annotated[str, typer.Option(help="What each owner is paid, in ETH (held in escrow until you confirm).")],
    label: Label = "diagnosis",
    positive: Positive = "",
    rounds: Rounds = 5,
    epochs: Epochs = 10,
    secure: Secure = False,
) -> None:
    """Ask the owners of several datasets to train a logistic regression together, paying each into escrow.

    Example: datagora federated submit 1 2 3 --pay 0.05 --positive malignant -a lab"""
    from datagora.services import federated

    s = session()
    spec = _spec(label, positive, rounds, epochs, secure)
    jobs, txs = federated.submit(s.contracts(), s.participant().account, datasets, spec, parse_ether(pay))
    for token_id, job_id in jobs.items():
        console.print(f"dataset #{token_id}: job #{job_id}", highlight=False)
    print_done(f"submitted {len(jobs)} federated jobs, {ether(parse_ether(pay))} each in escrow", txs[-1])


@federated_app.command()
def review(
    job: Annotated[int, typer.Argument(help="The job number.", min=1)],
    data: Annotated[Path, typer.Option(help="Your rows (CSV) the job would train on.")],
    label: Label = "diagnosis",
    positive: Positive = "",
    rounds: Rounds = 5,
    epochs: Epochs = 10,
    secure: Secure = False,
    policy: Annotated[
        Path | None,
        typer.Option(help="Your compute policy (W3C ODRL JSON-LD); default: 50 rows at least, no raw rows."),
    ] = None,
    min_rows: Annotated[int, typer.Option(help="Without --policy: refuse when your data has fewer rows.", min=1)] = 50,
    max_rounds: Annotated[int, typer.Option(help="Refuse more rounds than this.", min=1)] = 50,
) -> None:
    """As an owner, check a federated job against your compute policy and accept it, or reject it saying which
    rule it broke (the requester is refunded). The job's settings must be the ones it was submitted with.

    Example: datagora federated review 4 --data my-patients.csv --positive malignant -a hospital"""
    from datagora.compute.policy import ComputePolicy
    from datagora.services import federated

    check_input_file(data, "data file")
    if policy is not None:
        check_input_file(policy, "policy file")
    s = session()
    contracts = s.contracts()
    me = s.participant().account
    if policy is not None:
        terms = federated.OwnerTerms(ComputePolicy.from_json(policy.read_bytes()), max_rounds)
    else:
        token_id = contracts.compute_jobs.job(job).token_id
        terms = federated.default_terms(
            me.address, token_id, contracts.chain.chain_id, max_rounds=max_rounds, min_rows=min_rows
        )
    decision = federated.review(contracts, me, job, _spec(label, positive, rounds, epochs, secure), data, terms)
    if decision.accepted:
        print_done(f"accepted job #{job}", decision.tx)
    else:
        print_done(f"rejected job #{job}: {decision.reason}", decision.tx)


@federated_app.command("node-key")
def node_key(
    job: Annotated[int, typer.Argument(help="The job number your node takes part in.", min=1)],
    out: Annotated[Path, typer.Option(help="The folder to write your node's key into.")] = Path("federated-node"),
) -> None:
    """As an owner, make your node's key for a federated job and sign it with your account, so the requester's
    coordinator lets your node in (the requester's `datagora federated run --node-key JOB=FOLDER` checks the
    signature against the job's owner on chain).

    Example: datagora federated node-key 4 --out my-node -a hospital"""
    from datagora.federated.credentials import write_node_key
    from datagora.services import federated

    s = session()
    contracts = s.contracts()
    me = s.participant().account
    owner = contracts.compute_jobs.job(job).owner
    if owner.lower() != me.address.lower():
        raise ValidationError(f"job #{job} is for the owner {owner}, not for you ({me.address})")
    key = write_node_key(out, NODE_KEY_NAME)
    signature = federated.sign_node_key(contracts, me, job, key)
    key.public_key.with_suffix(".sig").write_text("0x" + signature.hex() + "\n")
    console.print(
        f"[bold green]Done[/]: your node's key for job #{job} is in {out} "
        f"({key.public_key.name} and {key.public_key.with_suffix('.sig').name} for the requester).",
        highlight=False,
    )


def _node_key(text: str) -> tuple[int, Path]:
    job, sep, path = text.partition("=")
    if not sep or not job.strip().isdigit():
        raise ValidationError(f"--node-key takes JOB=FOLDER (e.g. 4=my-node), not {text!r}")
    folder = Path(path)
    for suffix in (".key", ".pub", ".sig"):
        check_input_file(folder / f"{NODE_KEY_NAME}{suffix}", "node key file")
    return int(job), folder


def _invitation(text: str) -> tuple[int, Path]:
    job, sep, path = text.partition("=")
    if not sep or not job.strip().isdigit():
        raise ValidationError(f"--node takes JOB=FILE (e.g. 4=st-marys.csv), not {text!r}")
    return int(job), check_input_file(Path(path), "data file")


@federated_app.command()
def run(
    nodes: Annotated[
        list[str],
        typer.Option(
            "--node",
            help="JOB=FILE: start the owner's node of this job on this machine, reading the owner's rows from FILE "
            "(repeat per owner).",
        ),
    ],
    node_keys: Annotated[
        list[str] | None,
        typer.Option(
            "--node-key",
            help="JOB=FOLDER: the owner's own node key for this job, made with `datagora federated node-key` "
            "(default: a key is made for the run on this machine).",
        ),
    ] = None,
    label: Label = "diagnosis",
    positive: Positive = "",
    rounds: Rounds = 5,
    epochs: Epochs = 10,
    secure: Secure = False,
    workdir: Annotated[Path, typer.Option(help="Where the run's logs and model files go.")] = Path("federated-run"),
    timeout: Annotated[float, typer.Option(help="Seconds the whole run may take.", min=10)] = 600.0,
) -> None:
    """Run a federated training on this machine: one coordinator and one node per owner, connected over TLS; only
    the nodes of owners who accepted their job on chain are let in, and each round's model hash is recorded on
    chain once for the run (on the first accepted job; `datagora federated status` shows it for every job).

    Example: datagora federated run --node 4=st-marys.csv --node 5=northside.csv --positive malignant -a lab"""
    from datagora.federated.credentials import NodeKey
    from datagora.services import federated

    parsed = [_invitation(text) for text in nodes]
    keys = dict(_node_key(text) for text in node_keys or [])
    unknown = sorted(set(keys) - {job_id for job_id, _ in parsed})
    if unknown:
        raise ValidationError(f"--node-key names job #{unknown[0]}, which has no --node")
    s = session()
    contracts = s.contracts()
    spec = _spec(label, positive, rounds, epochs, secure)
    invitations = []
    for job_id, path in parsed:
        owner = contracts.compute_jobs.job(job_id).owner
        if job_id in keys:
            folder = keys[job_id]
            key = NodeKey(folder / f"{NODE_KEY_NAME}.key", folder / f"{NODE_KEY_NAME}.pub")
            signature = _signature((folder / f"{NODE_KEY_NAME}.sig").read_text())
            invitations.append(federated.Invitation(job_id, owner, path, key, signature))
        else:
            invitations.append(federated.Invitation(job_id, owner, path))
    requester = s.participant().account
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rounds"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting Flower", total=rounds)

        def on_round(r: federated.RecordedRound) -> None:
            progress.update(task, completed=r.number, description=f"round {r.number} recorded")
            progress.console.print(
                f"round {r.number}: model hash 0x{r.hash.hex()} recorded on job #{r.job_id} ({r.seconds:.0f} s)",
                highlight=False,
            )

        result = federated.run(
            contracts,
            requester,
            invitations,
            spec,
            workdir.resolve(),
            timeout=timeout,
            on_round=on_round,
            on_progress=lambda line: progress.update(task, description=line),
        )
    model = workdir / "model.params"
    model.write_bytes(result.model.encode())
    refused = f"; refused: {', '.join(result.refused)}" if result.refused else ""
    console.print(
        f"[bold green]Done[/]: {len(result.jobs)} owner{'s' if len(result.jobs) != 1 else ''} trained "
        f"{len(result.rounds)} rounds{refused}. "
        f"Model in {model} (hash 0x{result.model.hash.hex()}).",
        highlight=False,
    )


def _signature(text: str) -> bytes:
    try:
        signature = bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        signature = b""
    if len(signature) != 65:
        raise ValidationError("a node key's .sig file holds a 65-byte signature in hex (0x...)")
    return signature


@federated_app.command()
def status(jobs: Annotated[list[int], typer.Argument(help="Job numbers of a federated run.", min=1)]) -> None:
    """Show the jobs of a federated run and every round recorded on chain.

    Example: datagora federated status 4 5 6"""
    from datagora.services import federated

    s = session()
    table = Table(title="Federated jobs")
    for col in ("job", "owner", "dataset", "state", "payment", "rounds", "last model hash"):
        table.add_column(col)
    for job, rounds in federated.status(s.contracts(), jobs):
        last = f"0x{rounds[-1][1].hex()[:16]}…" if rounds else "-"
        table.add_row(
            f"#{job.job_id}",
            job.owner,
            f"#{job.token_id}",
            job.state.name.lower().replace("_", " "),
            ether(job.amount),
            str(len(rounds)),
            last,
        )
    console.print(table)
