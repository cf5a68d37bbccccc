"""``datagora compute``: compute-to-data. A requester sends a model to a dataset's owner, who runs it on its own data
and sends back only the result; every step is on chain and the payment waits in escrow."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from datagora.cli.app import DatagoraTyper, console, print_done, session
from datagora.cli.units import ether, parse_ether
from datagora.domain.errors import ValidationError

PANEL = "Compute on data"

app = DatagoraTyper()
compute_app = DatagoraTyper(
    help="Run a model on someone else's data without seeing the data: only the result comes back. "
    "Example: `datagora compute submit 1 --estimator Ridge --features age,bmi --label progression --price 0.05`."
)
app.add_typer(compute_app, name="compute", rich_help_panel=PANEL)

Job = Annotated[int, typer.Argument(help="The job's number.", min=1)]
ExchangeDir = Annotated[
    Path,
    typer.Option(
        "--exchange",
        envvar="DATAGORA_EXCHANGE",
        help="Folder shared with the other party, where encrypted job specs and results are left.",
    ),
]
DEFAULT_EXCHANGE = Path("exchange")


def _exchange(path: Path) -> Any:
    from datagora.services.compute import DirectoryExchange

    return DirectoryExchange(path)


def _params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValidationError(f"write each parameter as name=value, got {item!r}")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


@compute_app.command()
def submit(
    dataset: Annotated[int, typer.Argument(help="The dataset's number (its token id).", min=1)],
    price: Annotated[str, typer.Option(help="What you pay the owner, in ETH (held in escrow until you confirm).")],
    estimator: Annotated[str, typer.Option(help="The model: LogisticRegression, Ridge, KMeans ... or python.")] = "",
    features: Annotated[str, typer.Option(help="Input columns, separated by commas.")] = "",
    label: Annotated[str | None, typer.Option(help="The column to predict (not for KMeans or python).")] = None,
    param: Annotated[list[str] | None, typer.Option(help="A model setting as name=value; repeat for more.")] = None,
    output: Annotated[
        list[str] | None, typer.Option(help="What you want back: parameters, metrics, aggregates; repeat for more.")
    ] = None,
    epsilon: Annotated[float | None, typer.Option(help="Ask for a differentially private run spending this.")] = None,
    code: Annotated[Path | None, typer.Option(help="A Python file defining run(table) (estimator python).")] = None,
    spec: Annotated[Path | None, typer.Option(help="The whole job as a JSON file instead of the options.")] = None,
    hours: Annotated[int, typer.Option(help="Hours the owner has to run it.", min=1)] = 24,
    exchange: ExchangeDir = DEFAULT_EXCHANGE,
) -> None:
    """Send a job to a dataset's owner: it is signed, encrypted to the owner, and paid into escrow.

    Example: datagora compute submit 1 --estimator LogisticRegression --features "mean radius,mean area"
    --label diagnosis --output parameters --output metrics --price 0.05 -a buyer"""
    from datagora.compute.spec import JobSpec
    from datagora.services import compute

    if spec is not None:
        doc = json.loads(spec.read_text())
        doc["token_id"] = dataset
        job_spec = JobSpec.from_dict(doc)
    else:
        if not estimator or not features:
            raise ValidationError("give --estimator and --features (or --spec FILE)")
        job_spec = JobSpec(
            token_id=dataset,
            estimator=estimator,
            features=tuple(f.strip() for f in features.split(",") if f.strip()),
            label=label,
            params=_params(param or []),
            outputs=tuple(output or ["parameters", "metrics"]),
            epsilon=epsilon,
            code=code.read_text() if code else None,
        )
    s = session()
    amount = parse_ether(price)
    job = compute.submit_job(
        s.contracts(), s.participant(), job_spec, amount, _exchange(exchange), run_window=hours * 3600
    )
    print_done(f"submitted job {job.job_id} on dataset {dataset}, {ether(amount)} in escrow", job.tx)


@compute_app.command()
def review(
    job: Annotated[int | None, typer.Argument(help="One job (default: every job waiting on your data).")] = None,
    exchange: ExchangeDir = DEFAULT_EXCHANGE,
    run: Annotated[
        bool, typer.Option("--run", help="Also run each job your policy accepts, at once (no separate `run`).")
    ] = False,
) -> None:
    """Check waiting jobs on your data against your policy: jobs breaking a rule are refused (and refunded),
    jobs inside it are accepted when your policy approves automatically, the others wait for you.

    Example: datagora compute review --run -a seller"""
    from datagora.domain.compute import JobState
    from datagora.services import compute

    s = session()
    contracts, owner = s.contracts(), s.participant()
    ids = (
        [job]
        if job
        else [j.job_id for j in compute.jobs_for(contracts, owner.address) if j.state == JobState.SUBMITTED]
    )
    if not ids:
        console.print("No job is waiting on your data.")
        return
    for job_id in ids:
        ran = None
        if run:
            decision, ran = compute.handle_job(contracts, owner, job_id, _exchange(exchange))
        else:
            decision = compute.decide(contracts, owner, job_id, _exchange(exchange))
        spec = decision.review.spec
        what = f"job {job_id}: {spec.estimator} on {', '.join(spec.columns)} for {', '.join(spec.outputs)}"
        if decision.outcome == "rejected":
            console.print(f"{what}: refused ({decision.reason})", highlight=False)
        elif ran is not None and ran.ok:
            console.print(
                f"{what}: inside your policy, accepted and run in {ran.seconds:.1f} s; its result is "
                "waiting for the requester"
            )
        elif ran is not None:
            console.print(
                f"{what}: accepted, then failed and the requester was refunded: {ran.reason}", highlight=False
            )
        elif decision.outcome == "accepted":
            console.print(f"{what}: inside your policy, accepted; run it with `datagora compute run {job_id}`")
        else:
            console.print(f"{what}: inside your policy, waiting for `datagora compute approve {job_id}`")


@compute_app.command()
def approve(job: Job, exchange: ExchangeDir = DEFAULT_EXCHANGE) -> None:
    """Accept a job that waits for your review (it must be inside your policy).

    Example: datagora compute approve 3 -a seller"""
    from datagora.services import compute

    s = session()
    tx = compute.approve_job(s.contracts(), s.participant(), job, _exchange(exchange))
    print_done(f"accepted job {job}", tx)


@compute_app.command()
def reject(
    job: Job, reason: Annotated[str, typer.Option(help="Why, in plain words (the requester reads it).")]
) -> None:
    """Refuse a job; the requester gets its payment back.

    Example: datagora compute reject 3 --reason "we do not share this column" -a seller"""
    from datagora.services import compute

    s = session()
    tx = compute.reject_job(s.contracts(), s.participant(), job, reason)
    print_done(f"refused job {job}", tx)


@compute_app.command()
def run(job: Job, exchange: ExchangeDir = DEFAULT_EXCHANGE) -> None:
    """Run an accepted job on your own copy of the data and send back the result, encrypted to the requester.

    Example: datagora compute run 3 -a seller"""
    s = session()
    # Python code runs in a sandbox process that needs ~0.3 s to start Python and import numpy and pandas: for a
    # job this account reviewed as code, it starts now and warms up while the chain libraries load, the key is
    # decrypted and the chain is read (a one-shot command has nothing to keep warm for a later job).
    pool = _warm_sandbox(s.home.participant(s.account_name()).record("compute-jobs", str(job)))
    try:
        from datagora.services import compute

        with console.status(f"running job {job} on your data"):
            outcome = compute.run_job(s.contracts(), s.participant(), job, _exchange(exchange), sandbox_pool=pool)
    finally:
        if pool is not None:
            pool.close()
    if outcome.ok:
        print_done(f"job {job} ran in {outcome.seconds:.1f} s; its result is waiting for the requester", outcome.tx)
    else:
        print_done(f"job {job} failed and the requester was refunded: {outcome.reason}", outcome.tx)


def _warm_sandbox(record: Path) -> Any:
    """A one-process :class:`~datagora.compute.sandbox.SandboxPool` (started at once, never refilled) when the
    owner's record of the job says it is Python code; None otherwise (an estimator runs in this process).
    ``DATAGORA_WARM_SANDBOX=0`` turns it off (the process is then started when the job runs), e.g. to measure
    what it saves."""
    if os.environ.get("DATAGORA_WARM_SANDBOX", "1") == "0":
        return None
    try:
        doc = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict) or doc.get("role") != "owner" or spec.get("estimator") != "python":
        return None
    from datagora.compute.sandbox import SandboxPool

    return SandboxPool(size=1, refill=False)


@compute_app.command()
def result(
    job: Job,
    out: Annotated[Path | None, typer.Option(help="Also save the result as JSON here.")] = None,
    confirm: Annotated[bool, typer.Option(help="Confirm the result: the owner is paid.")] = False,
    exchange: ExchangeDir = DEFAULT_EXCHANGE,
) -> None:
    """Fetch a job's result, check it against the hash on chain, show it and (with --confirm) pay the owner.

    Example: datagora compute result 3 --confirm -a buyer"""
    from datagora.services import compute

    s = session()
    contracts, me = s.contracts(), s.participant()
    doc = compute.fetch_result(contracts, me, job, _exchange(exchange))
    text = json.dumps(doc["result"], indent=2)
    if out is not None:
        out.write_text(text)
    console.print(text, highlight=False, soft_wrap=True)
    if confirm:
        print_done(f"confirmed job {job}: the owner is paid", compute.confirm_result(contracts, me, job))
