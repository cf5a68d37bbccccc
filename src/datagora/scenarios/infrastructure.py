"""The collaboration's workload, as a story (Mehdi et al.: the chain drives and monitors the infrastructure): a
member requests the workload on chain, the data owner's node starts it with Ansible, it computes an aggregate on
the owner's encrypted data and heart-beats to the chain, a value provider's machine goes silent and another
member terminates it once the DAO's timeout has passed, and the workload is stopped. No printing: ``datagora demo``
shows it, the tests check it.

Needs a development chain (it moves the chain's clock past the DAO's heartbeat timeout).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from datagora.chain.contracts import Contracts
from datagora.domain.models import TxResult
from datagora.infra.errors import InfrastructureError
from datagora.infra.spec import WorkloadSpec
from datagora.scenarios.collaboration import InfrastructureRequest
from datagora.services.infrastructure import HandledRequest, InfrastructureNode, Overdue, Workloads, WorkloadStatus
from datagora.services.participant import Participant


@dataclass(frozen=True)
class WorkloadStory:
    """What happened: the request's transaction, how the owner's node handled it, the aggregate result (columns,
    rows, result hash), the heartbeats relayed to the chain, the silent member's termination (with its
    transaction) and the workload's final status."""

    request: TxResult
    started: HandledRequest
    result: dict[str, Any]
    heartbeats: list[TxResult]
    terminated: Overdue
    termination: TxResult
    stopped: WorkloadStatus


def workload_story(
    contracts: Contracts,
    dao_id: int,
    owner: Participant,
    requester: Participant,
    spec: WorkloadSpec,
    silent: Participant,
    others: list[Participant] | None = None,
) -> WorkloadStory:
    """Run the story on DAO ``dao_id``: ``requester`` (a member) puts ``spec`` on chain; ``owner`` (the member
    named in ``spec.data.owner``, holding the dataset) hosts the workload; ``others`` (every other member)
    keep heart-beating from their machines; ``silent`` stops and is terminated by ``requester``'s node. Raises
    :class:`~datagora.infra.errors.InfrastructureError` when a step does not happen as told (the
    owner's node does not start the workload, nobody is terminated)."""
    c = contracts.collaboration
    chain = contracts.chain
    timeout = c.heartbeat_timeout(dao_id)
    start_block = chain.block_number()

    def events(block: int) -> Any:
        return contracts.events(from_block=max(block, start_block))

    request = c.request_infrastructure(requester.account, dao_id, spec.to_json())
    host_node = InfrastructureNode.open(c, owner, chain, events, [])
    watcher_node = InfrastructureNode.open(c, requester, chain, events, [dao_id])
    first = host_node.step()
    started = next((r for r in first.requests if r.action == "started"), None)
    if started is None or started.workload is None or started.workload.result is None:
        reasons = "; ".join(r.reason for r in first.requests) or "no request seen"
        raise InfrastructureError(f"the owner's node did not start the workload: {reasons}")
    heartbeats = [tx for _, tx in first.heartbeats]
    workloads = Workloads.of(owner)
    chain.advance_time(timeout - 1)
    beats = started.workload.beats
    deadline = time.monotonic() + 3 * spec.heartbeat_interval + 5
    while workloads.status_of(started.workload.run_dir).beats <= beats and time.monotonic() < deadline:
        time.sleep(0.2)
    heartbeats += [tx for _, tx in host_node.step().heartbeats]
    for member in others or []:
        heartbeats.append(c.heartbeat(member.account, dao_id))
    if requester.address.lower() != owner.address.lower():
        heartbeats.append(c.heartbeat(requester.account, dao_id))
    chain.advance_time(2)
    done = [(late, tx) for late, tx in watcher_node.step().terminations if late.member == silent.address]
    if not done:
        raise InfrastructureError(f"{silent.address} was not terminated")
    stopped = workloads.down(dao_id, spec.name)
    return WorkloadStory(request, started, started.workload.result, heartbeats, done[0][0], done[0][1], stopped)


def ansible_workload_hook(request: InfrastructureRequest) -> str:
    """The infrastructure step of the collaboration story (:func:`datagora.scenarios.collaboration.run`'s
    ``on_infrastructure``): the hospital's encrypted copy of its table goes into its own store, a workload spec
    (mean disease progression by sex, groups of at least 5) is put on chain, the hospital's node turns the event
    into an Ansible run that starts the workload, relays its first heartbeat, and stops it. Returns the line the
    demo shows. Raises :class:`InfrastructureError` when the workload does not start."""
    from datagora.infra.spec import parse_spec
    from datagora.services.publishing import prepare

    contracts, dao_id = request.contracts, request.dao_id
    host = Participant("hospital", request.accounts["hospital"], request.dataset.parent)
    prepared = prepare(host, request.dataset)
    spec = parse_spec(
        {
            "name": f"progression-by-sex-{dao_id}",
            "data": {"owner": host.address, "content_hash": "0x" + prepared.description.content_hash.hex()},
            "task": {
                "select": ["sex", {"aggregate": "count", "as": "patients"},
                           {"aggregate": "avg", "column": "progression", "as": "mean_progression"}],
                "group_by": ["sex"],
            },
            "heartbeat_interval": 1,
        }
    )  # fmt: skip
    start_block = contracts.chain.block_number() + 1
    contracts.collaboration.request_infrastructure(host.account, dao_id, spec.to_json())
    node = InfrastructureNode.open(
        contracts.collaboration,
        host,
        contracts.chain,
        lambda block: contracts.events(from_block=max(block, start_block)),
        [],
    )
    step = node.step()
    started = next((r for r in step.requests if r.action == "started"), None)
    if started is None or started.workload is None or started.workload.result is None:
        reasons = "; ".join(r.reason for r in step.requests) or "no request seen"
        raise InfrastructureError(f"the hospital's node did not start the workload: {reasons}")
    result = started.workload.result
    means = ", ".join(f"sex {row[0]}: {row[2]:.1f} over {row[1]} patients" for row in result["rows"])
    Workloads.of(host).down(dao_id, spec.name)
    return (
        f"Ansible started {spec.name} on the hospital's machine (PID {started.workload.pid}); it computed the mean "
        f"progression on the encrypted table ({means}), sent {len(step.heartbeats)} heartbeat to the chain, "
        "and was stopped"
    )
