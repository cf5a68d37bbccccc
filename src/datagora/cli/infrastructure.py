"""``datagora infra``: a collaboration's workload on the data owner's machine. Put a workload spec on chain for
a DAO, start and stop it here with Ansible, see how it runs, render it for Kubernetes and Terraform, and watch
the chain: start what this node hosts, pass its heartbeats on, end members whose machines went silent."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from datagora.cli.app import DatagoraTyper, check_input_file, console, print_done, session

if TYPE_CHECKING:
    from datagora.cli.app import Session
    from datagora.infra.spec import WorkloadSpec
    from datagora.services.infrastructure import CollaborationPort, WorkloadStatus

PANEL = "Collaborations"

app = DatagoraTyper()
infra_app = DatagoraTyper(
    help="Run a collaboration's workload on the data owner's machine and report its heartbeats to the chain. "
    "Example: `datagora infra up 1 workload.json`."
)
app.add_typer(infra_app, name="infra", rich_help_panel=PANEL)

Dao = Annotated[int, typer.Argument(help="The collaboration's number (1, 2, ...).", min=1)]
SpecFile = Annotated[Path, typer.Argument(help="The workload spec, a JSON file (see docs/infrastructure.md).")]


def _spec(path: Path) -> WorkloadSpec:
    from datagora.infra.spec import parse_spec

    return parse_spec(check_input_file(path, "workload spec").read_bytes())


def _collaboration(s: Session) -> CollaborationPort:
    """The deployment's Collaboration contract (``DeploymentError`` naming ``datagora deploy --add`` when absent)."""
    return s.contracts().collaboration


def _when(unix: float | None) -> str:
    return "never" if unix is None else datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M:%S")


def _show(status: WorkloadStatus) -> None:
    pid = f"PID {status.pid}" if status.pid is not None else "no process"
    console.print(
        f"{status.name} (collaboration #{status.dao_id}): {status.state}, {pid}, {status.beats} heartbeats, "
        f"last {_when(status.last_beat)}",
        highlight=False,
    )
    if status.error:
        console.print(f"  reason: {status.error}", highlight=False)
    if status.result is not None:
        columns = status.result.get("columns", [])
        rows = status.result.get("rows", [])
        table = Table(*columns, title=f"result over {status.result.get('rows_in', '?')} rows (aggregates only)")
        for row in rows:
            table.add_row(*(f"{v:,.4g}" if isinstance(v, float) else str(v) for v in row))
        console.print(table)


@infra_app.command()
def request(dao: Dao, spec_file: SpecFile) -> None:
    """Put a workload spec on chain for a collaboration (members only); the data owner's node starts it.

    Example: datagora infra request 1 workload.json -a vp"""
    from datagora.services import infrastructure

    spec = _spec(spec_file)
    s = session()
    tx = infrastructure.request(_collaboration(s), s.participant().account, dao, spec)
    print_done(f"workload {spec.name} requested for collaboration #{dao}", tx)


@infra_app.command()
def up(dao: Dao, spec_file: SpecFile) -> None:
    """Start a workload on this machine with Ansible (the acting account must own the data it computes on).

    Example: datagora infra up 1 workload.json -a dsp"""
    from datagora.services.infrastructure import Workloads

    spec = _spec(spec_file)
    host = session().participant()
    with console.status(f"starting {spec.name} with Ansible…"):
        status = Workloads.of(host).up(host, dao, spec)
    print_done(f"{spec.name} is running as PID {status.pid}")
    _show(status)


@infra_app.command()
def down(dao: Dao, name: Annotated[str, typer.Argument(help="The workload's name, as in its spec.")]) -> None:
    """Stop a workload this machine runs, with Ansible.

    Example: datagora infra down 1 tumour-averages -a dsp"""
    from datagora.services.infrastructure import Workloads

    s = session()
    workloads = Workloads(s.home.participant(s.account_name()).infrastructure)
    with console.status(f"stopping {name} with Ansible…"):
        status = workloads.down(dao, name)
    print_done(f"{name} stopped after {status.beats} heartbeats")


@infra_app.command()
def status(
    dao: Annotated[int | None, typer.Option("--dao", help="Only this collaboration's workloads.", min=1)] = None,
) -> None:
    """Show the workloads this machine runs for the acting account: state, heartbeats and result.

    Example: datagora infra status -a dsp"""
    from datagora.services.infrastructure import Workloads

    s = session()
    found = Workloads(s.home.participant(s.account_name()).infrastructure).status(dao)
    if not found:
        console.print("no workloads on this machine", highlight=False)
    for item in found:
        _show(item)


@infra_app.command()
def render(
    spec_file: SpecFile,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the manifests to.")] = Path("."),
) -> None:
    """Write the workload as Kubernetes manifests and a Terraform configuration, both checked offline.

    Example: datagora infra render workload.json --out deploy/"""
    from datagora.infra.manifests import render_kubernetes, render_terraform, validate_kubernetes, validate_terraform

    spec = _spec(spec_file)
    documents = render_kubernetes(spec)
    validate_kubernetes(documents)
    terraform = render_terraform(spec)
    validate_terraform(terraform, spec)
    out.mkdir(parents=True, exist_ok=True)
    k8s = out / f"{spec.name}.k8s.json"
    tf = out / f"{spec.name}.tf.json"
    k8s.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2) + "\n")
    tf.write_text(json.dumps(terraform, indent=2) + "\n")
    print_done(f"{k8s} (ConfigMap, Deployment, Service: checked against the Kubernetes client's models)")
    print_done(f"{tf} (Terraform JSON: structure and references checked; provider schema not checked)")


@infra_app.command()
def watch(
    dao: Annotated[list[int], typer.Option("--dao", help="Collaborations to watch for silent members.", min=1)],
    every: Annotated[float, typer.Option(help="Seconds between passes.", min=0.5)] = 5.0,
    passes: Annotated[int, typer.Option(help="Stop after this many passes (0: run until Ctrl-C).", min=0)] = 0,
) -> None:
    """Act on the chain: start the workloads this machine hosts, report their heartbeats, and end members of the
    given collaborations whose heartbeats are overdue.

    Example: datagora infra watch --dao 1 -a dsp"""
    from datagora.services.infrastructure import InfrastructureNode

    s = session()
    contracts = s.contracts()
    node = InfrastructureNode.open(
        _collaboration(s),
        s.participant(),
        contracts.chain,
        lambda start: contracts.events(from_block=max(start, contracts.deployment.block)),
        dao,
    )
    done = 0
    while passes == 0 or done < passes:
        step = node.step()
        for outcome in step.requests:
            console.print(
                f"request of collaboration #{outcome.dao_id}: {outcome.action}, {outcome.reason}", highlight=False
            )
        for item, _tx in step.heartbeats:
            console.print(f"heartbeat of {item.name} sent for collaboration #{item.dao_id}", highlight=False)
        for late, _tx in step.terminations:
            console.print(
                f"terminated {late.member} in collaboration #{late.dao_id}: silent for over {late.timeout} s",
                highlight=False,
            )
        done += 1
        if passes == 0 or done < passes:
            time.sleep(every)
