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
