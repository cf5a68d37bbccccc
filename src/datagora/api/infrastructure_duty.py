"""The infrastructure duty of a served node (``datagora serve --infra``): what ``datagora infra watch`` does in a
terminal, run in the background of the node's server instead. Every ``infra_interval`` seconds the node starts the
collaboration workloads it hosts when a request for them appears on chain, sends their heartbeats, and ends the
membership of members of the ``infra_dao`` collaborations whose heartbeats are overdue (see
``services.infrastructure``)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from datagora.api.settings import Settings
    from datagora.services.infrastructure import InfrastructureNode, Pass
    from datagora.services.node import Node

log = logging.getLogger(__name__)


def open_duty(node: Node, settings: Settings) -> InfrastructureNode:
    """The node's infrastructure duty over its own deployment. Raises ``DeploymentError`` when the deployment has
    no Collaboration contract (``datagora deploy --add Collaboration``)."""
    from datagora.services.infrastructure import InfrastructureNode

    contracts = node.contracts
    start = contracts.deployment.block
    return InfrastructureNode.open(
        contracts.collaboration,
        node.participant,
        contracts.chain,
        lambda since: contracts.events(from_block=max(since, start)),
        settings.infra_dao,
    )


def _report(done: Pass) -> None:
    for outcome in done.requests:
        log.info("workload request of collaboration #%s: %s %s", outcome.dao_id, outcome.action, outcome.reason)
    for status, tx in done.heartbeats:
        log.info("heartbeat of %s sent for collaboration #%s (%s)", status.name, status.dao_id, tx.tx_hash)
    for late, tx in done.terminations:
        log.info("member %s of collaboration #%s terminated, silent (%s)", late.member, late.dao_id, tx.tx_hash)


async def run_forever(
    node: Node,
    settings: Settings,
    *,
    duty: InfrastructureNode | None = None,
    on_pass: asyncio.Queue[Pass] | None = None,
) -> None:
    """One pass of the duty every ``settings.infra_interval`` seconds until cancelled. A failed pass (chain
    unreachable, a reverted heartbeat) is logged and the next pass tries again; signing holds ``node.acting()``
    so the duty's transactions never race the API's for a nonce. When cancelled it waits for the pass in flight,
    so nothing is sent after the server stops. ``duty`` is the one :func:`open_duty` made, if
    made already; ``on_pass`` (tests) receives each pass."""
    try:
        if duty is None:  # not opened already (``datagora serve`` opens it to refuse a bad deployment before serving)
            duty = await run_in_threadpool(open_duty, node, settings)
    except Exception:  # e.g. no Collaboration in the deployment: said once, the node keeps serving the rest
        log.exception("infrastructure duty not started")
        return

    def one_pass() -> Pass:
        with node.acting():
            return duty.step()

    while True:
        running = asyncio.ensure_future(run_in_threadpool(one_pass))
        try:
            done = await asyncio.shield(running)
        except asyncio.CancelledError:
            # The server is stopping: a pass in flight runs in a thread that cancelling cannot stop, so wait for it;
            # nothing of the duty is sent once this returns.
            await asyncio.gather(running, return_exceptions=True)
            raise
        except Exception:  # keep serving; the next pass tries again
            log.exception("infrastructure pass failed")
        else:
            _report(done)
            if on_pass is not None:
                await on_pass.put(done)
        await asyncio.sleep(settings.infra_interval)
