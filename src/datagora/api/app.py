"""The node's HTTP API: ``create_app(node)`` returns the FastAPI application serving one participant's node
(OpenAPI 3.1 at ``/openapi.json``, interactive docs at ``/docs``). See docs/api.md for the routes and the
sign-in and role rules."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

import datagora
from datagora.api import errors, infrastructure_duty, openapi
from datagora.api.auth import AuthStore
from datagora.api.client import http_client
from datagora.api.deps import PeerHttp, Peers
from datagora.api.limits import BodyLimit
from datagora.api.methods import MethodCheck, route_table
from datagora.api.routers import (
    anchoring,
    attestations,
    auctions,
    audit,
    auth,
    collaboration,
    compute,
    consent,
    datasets,
    deliveries,
    disputes,
    negotiation,
    node_info,
    offers,
    orders,
    organisations,
    platform_desk,
    points,
    ratings,
    relay,
    shop,
    supervisor_desk,
    tier_computations,
    withdrawals,
)
from datagora.api.settings import Settings
from datagora.home import Home
from datagora.services import publishing, shop_history
from datagora.services.arbitration import ArbitrationInbox
from datagora.services.node import Node
from datagora.services.points import points_discount
from datagora.services.relay import SendReceiveBoard
from datagora.web.app import create_web_app

if TYPE_CHECKING:
    from datagora.services.infrastructure import InfrastructureNode

log = logging.getLogger(__name__)

ROUTERS = (
    node_info.router,
    auth.router,
    organisations.router,
    datasets.router,
    attestations.router,
    offers.router,
    orders.router,
    negotiation.router,
    auctions.router,
    ratings.router,
    points.router,
    compute.router,
    collaboration.router,
    anchoring.router,
    tier_computations.router,
    consent.router,
    withdrawals.router,
    deliveries.router,
    relay.router,
    disputes.router,
    audit.router,
    platform_desk.router,
    supervisor_desk.router,
    shop.router,
)


async def _sync_forever(node: Node, interval: float) -> None:
    while True:
        try:
            await run_in_threadpool(node.sync_index, force=True)
            await run_in_threadpool(shop_history.after_sync, node)  # a shop's paid orders join purchase histories
        except Exception:  # keep serving; reads sync again and surface the error to their caller
            log.exception("index sync failed for %s", node.address)
        await asyncio.sleep(interval)


@asynccontextmanager
async def background_sync(nodes: Sequence[Node], interval: float) -> AsyncIterator[None]:
    """Sync each node's index every ``interval`` seconds while the context is open (nothing when 0)."""
    tasks = [asyncio.create_task(_sync_forever(n, interval)) for n in nodes] if interval > 0 else []
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _sweep(app: FastAPI) -> None:
    """Delete what the platform no longer needs to keep: relayed ciphertexts and dispute evidence of orders
    settled more than the dispute window ago."""
    for keeper in (app.state.board, app.state.inbox):
        try:
            await run_in_threadpool(keeper.sweep)
        except Exception:  # keep serving; the next sweep tries again
            log.exception("retention sweep failed")


async def _sweep_forever(app: FastAPI, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await _sweep(app)


def create_app(
    node: Node,
    *,
    settings: Settings | None = None,
    peer_http: PeerHttp | None = None,
    clock: Callable[[], float] = time.time,
    sync_in_background: bool = True,
    demo_signin: bool = False,
    infra_duty: InfrastructureNode | None = None,
) -> FastAPI:
    """The API of ``node``. ``settings`` default to the environment (``DATAGORA_*``), read once here.
    ``peer_http`` makes the ``httpx.Client`` used to reach another node (tests route to apps in process);
    ``clock`` (Unix seconds) drives nonce and session expiry. The index is synced before each read and, when
    ``sync_in_background`` and ``settings.index_interval`` > 0, every ``index_interval`` seconds. ``demo_signin``
    (``serve --dev`` only) lets the pages' visitors sign in as the node's throw-away operator with one click.
    ``infra_duty``: the infrastructure duty already opened for ``settings.infra`` (else opened when serving)."""
    settings = settings if settings is not None else Settings()
    timeout = settings.peer_timeout

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = None
        if app.state.board is not None:  # the platform's node: a retention sweep at start and periodically
            await _sweep(app)
            if settings.relay_sweep_interval > 0:
                sweeper = asyncio.create_task(_sweep_forever(app, settings.relay_sweep_interval))
        duty = None
        if settings.infra:  # the collaboration workloads this node hosts (``serve --infra``)
            duty = asyncio.create_task(infrastructure_duty.run_forever(node, settings, duty=infra_duty))
        async with background_sync([node], settings.index_interval if sync_in_background else 0):
            yield
        for task in (sweeper, duty):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        app.state.peers.close()
        pool = getattr(app.state, "compute_sandbox_pool", None)  # started with the first Python job, if any
        if pool is not None:
            await run_in_threadpool(pool.close)  # no waiting sandbox process outlives the server

    app = FastAPI(
        title="Datagora node",
        version=datagora.__version__,
        summary="One participant's node: publish, search, trade and audit data on the Datagora contracts.",
        description=(
            "Sign in with Ethereum (EIP-4361): `GET /auth/nonce`, sign the message, `POST /auth/login`, then "
            "send `Authorization: Bearer <token>`. Routes that make the node act need the node's own account; "
            "reads need a member of an Audited organisation; `/audit` needs the Registry supervisor."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by the web pages from packaged assets (no CDN)
        redoc_url=None,
    )
    app.state.node = node
    app.state.settings = settings
    # The platform's node relays deliveries and keeps the send-receive board (Wu et al. steps 13-22).
    app.state.board = (
        SendReceiveBoard(
            node.contracts,
            node.participant.store,
            node.participant.paths.board,
            operator=node.address,
            platform_key=node.participant.private_key,
            clock=clock,
        )
        if node.platform is not None
        else None
    )
    # ... and holds the evidence of disputes it arbitrates (section IV.A.3).
    app.state.inbox = (
        ArbitrationInbox.of_platform(app.state.board, node.participant) if app.state.board is not None else None
    )
    app.state.auth = AuthStore(nonce_ttl=settings.nonce_ttl, session_ttl=settings.session_ttl, clock=clock)
    if peer_http is None:
        app.state.peers = Peers(node, lambda _url: http_client(timeout))
    else:
        app.state.peers = Peers(node, peer_http, owns_http=False)
    app.state.tiers = tier_computations.make_coordinator(node, app.state.peers, settings)  # points across nodes
    if settings.shop_points_brand is not None:  # the shop's checkout takes the brand's loyalty points
        app.state.shop_discount = points_discount(node.contracts, settings.shop_points_brand, node.address)
    # a clear upload a killed node left behind is deleted before the node accepts new ones
    publishing.wipe_staging(node.participant)
    errors.install(app)
    app.add_middleware(
        BodyLimit, limits=lambda: (app.state.settings.max_json_bytes, app.state.settings.max_upload_bytes)
    )
    app.add_middleware(MethodCheck)  # outermost: a method no route serves is answered before anything is read
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app)
    route_table(app)  # built now, not by the first request
    # the pages (and /docs, /redoc) answer every path the API does not serve
    keystore = Home(settings.home).keystore(settings.account) if settings.account else None
    web = create_web_app(
        node,
        settings=settings,
        auth=app.state.auth,
        keystore=keystore,
        peer=app.state.peers.client,
        demo_signin=demo_signin,
    )
    web.state.web.extra["inbox"] = app.state.inbox  # the platform's desk rules on the evidence the API received
    web.state.web.extra["tiers"] = app.state.tiers  # the loyalty page starts and follows tier computations
    # the compute desk runs a Python job in the API's warm sandbox pool: job id -> the pool, or None
    web.state.web.extra["compute_sandbox_pool"] = functools.partial(compute.sandbox_pool_for, app, node)
    app.mount("/", web)
    return app
