"""The compute desk: jobs that requesters sent to run on the node's data (Wang and Liu, EntDSM), for the node's
operator. Each job shows its model, the columns it reads and the outputs it wants; the operator checks waiting jobs
against the dataset's policy (a job breaking a rule is refused with the rule, one inside it is accepted when the
policy approves automatically), approves or refuses the ones waiting for review and runs accepted ones. The page
is ``/desk/compute``: the API owns ``/compute/...``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from datagora.domain.compute import JobState
from datagora.services import compute
from datagora.services.node import Node
from datagora.web.deps import ContextDep, NavItem, OperatorDep, operator
from datagora.web.render import redirect, render

router = APIRouter(tags=["pages"], include_in_schema=False)
NAV: list[NavItem] = [NavItem("Compute jobs", "/desk/compute", operator)]
DESK = "/desk/compute"


def _exchange(node: Node) -> compute.DirectoryExchange:
    return compute.DirectoryExchange(node.participant.home / "exchange")


def _locate(node: Node) -> compute.SpecLocator:
    """Job specs' addresses from the node's event index."""
    return compute.index_spec_locator(node.engine, node.sync_index)


@router.get(DESK)
def desk(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """The jobs on the node's data, newest first, with what can be done next."""
    node = ctx.node
    jobs = compute.jobs_for(node.contracts, node.address, limit=100)
    return render(request, "compute/desk.html", {"jobs": jobs, "JobState": JobState})


@router.post(DESK + "/{job_id}/review")
def review(request: Request, ctx: ContextDep, user: OperatorDep, job_id: int) -> Response:
    """Check a waiting job against the dataset's policy and act on it."""
    node = ctx.node
    with node.acting():
        decision = compute.decide(node.contracts, node.participant, job_id, _exchange(node), _locate(node))
    if decision.outcome == "rejected":
        return redirect(request, DESK, f"Job {job_id} refused: {decision.reason}. The requester is refunded.", "info")
    if decision.outcome == "accepted":
        return redirect(request, DESK, f"Job {job_id} is inside your policy and was accepted: run it when ready.")
    return redirect(request, DESK, f"Job {job_id} is inside your policy and waits for your approval.", "info")


@router.post(DESK + "/{job_id}/approve")
def approve(request: Request, ctx: ContextDep, user: OperatorDep, job_id: int) -> Response:
    """Accept a job waiting for review."""
    node = ctx.node
    with node.acting():
        compute.approve_job(node.contracts, node.participant, job_id, _exchange(node), _locate(node))
    return redirect(request, DESK, f"Job {job_id} accepted: run it when ready.")


@router.post(DESK + "/{job_id}/reject")
def reject(
    request: Request, ctx: ContextDep, user: OperatorDep, job_id: int, reason: Annotated[str, Form(max_length=256)]
) -> Response:
    """Refuse a job with a reason; the requester is refunded."""
    node = ctx.node
    with node.acting():
        compute.reject_job(node.contracts, node.participant, job_id, reason)
    return redirect(request, DESK, f"Job {job_id} refused. The requester is refunded.", "info")


@router.post(DESK + "/{job_id}/run")
def run(request: Request, ctx: ContextDep, user: OperatorDep, job_id: int) -> Response:
    """Run an accepted job on the node's own copy of the data."""
    node = ctx.node
    pool_for = ctx.extra.get("compute_sandbox_pool")  # the API's warm sandbox pool, when served with the API
    with node.acting():
        pool = pool_for(job_id) if pool_for is not None else None
        outcome = compute.run_job(
            node.contracts, node.participant, job_id, _exchange(node), locate=_locate(node), sandbox_pool=pool
        )
    if outcome.ok:
        return redirect(
            request, DESK, f"Job {job_id} ran in {outcome.seconds:.1f} s; the result waits for the requester."
        )
    return redirect(request, DESK, f"Job {job_id} failed and was refunded: {outcome.reason}", "info")
