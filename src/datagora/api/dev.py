"""``datagora serve --dev``: a whole Datagora network in one process on the embedded chain.

Four participants, each with its own node (own account, blob store, index), mounted under one server:

| path | participant | roles |
| --- | --- | --- |
| ``/nodes/supervisor`` | the regulator | Registry supervisor |
| ``/nodes/platform`` | ``Datagora Platform`` (audited) | platform: attestations, fees |
| ``/nodes/acme`` | ``Acme Data Ltd`` (audited) | seller; one sample dataset published and listed |
| ``/nodes/bluelab`` | ``Blue Research Lab`` (audited) | buyer |

``GET /`` lists them. The throw-away accounts' keys are written to ``<home>/dev/accounts.json`` (mode 0600) so a
developer can sign in as any of them with ``NodeClient``; the chain and everything under ``<home>/dev`` are
recreated at each start. Seller and buyer nodes use the platform node's attestor in process.

:func:`start_dev_network` answers at once and builds the network in a background thread: until it is ready a
browser asking for ``/`` or any ``/nodes/...`` page sees a progress page (steps done and to do, following the build
by itself), programs get ``503`` with an RFC 9457 problem document and ``Retry-After``, and ``GET /progress``
reports the steps as JSON. A failed build is shown on that page in words. :func:`build_dev_network` builds before
returning (tests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from datagora.api.settings import Settings
from datagora.home import Home

if TYPE_CHECKING:
    from datagora.chain.client import EmbeddedChain
    from datagora.chain.contracts import Contracts
    from datagora.services.node import Node

# The server must answer within seconds of ``serve --dev``: what the build needs (web3, the chain, the node's app)
# is imported by the build, in the background, not here.

ETHER = 10**18
ORGANISATIONS = {"platform": "Datagora Platform", "acme": "Acme Data Ltd", "bluelab": "Blue Research Lab"}
BUILD_GAS = 12_000_000
"""Gas limit of every transaction while the network is built (no estimates; the largest deployment needs less)."""
RETRY_AFTER = 2
"""Seconds a client is asked to wait (``Retry-After``) while the network is being built."""
log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class BuildProgress:
    """Where the build of the network stands: ``steps`` (plain-language titles), ``done`` of them finished, the
    ``failure`` in words if one step failed. Written by the building thread, read by request handlers."""

    steps: list[str]
    done: int = 0
    failure: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ready(self) -> bool:
        return self.failure is None and self.done == len(self.steps)

    @property
    def state(self) -> str:
        """``"building"``, ``"ready"`` or ``"failed"``."""
        return "failed" if self.failure is not None else "ready" if self.ready else "building"

    def advance(self) -> None:
        with self._lock:
            self.done += 1

    def fail(self, message: str) -> None:
        with self._lock:
            self.failure = message

    def step_states(self) -> list[str]:
        """Each step's state: ``done``, ``in progress``, ``failed`` or ``to do``."""
        current = "failed" if self.failure is not None else "in progress"
        return ["done" if i < self.done else current if i == self.done else "to do" for i in range(len(self.steps))]

    def summary(self) -> str:
        """One sentence for a person: what is happening now, or what failed."""
        total = len(self.steps)
        if self.failure is not None:
            return (
                f"Building the demo network failed at step {self.done + 1} of {total} ({self.steps[self.done]}):"
                f" {self.failure}"
            )
        if self.ready:
            return "The demo network is ready."
        return f"Step {self.done + 1} of {total}: {self.steps[self.done]}."

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "done": self.done,
            "total": len(self.steps),
            "summary": self.summary(),
            "steps": [{"title": t, "state": st} for t, st in zip(self.steps, self.step_states(), strict=True)],
            "error": self.failure,
        }


def build_steps(sample_data: bool) -> list[str]:
    steps = [
        "Start the embedded chain and fund the participants",
        "Deploy the contracts",
        "Register and audit the organisations",
        "Open the participants' nodes",
    ]
    if sample_data:
        steps.append("Publish and list the sample dataset")
    return [*steps, "Start the nodes' pages and APIs"]


@dataclass
class DevNetwork:
    """The demo network's server: ``app`` (ASGI) answers at once; ``nodes`` is filled when ``progress`` is ready."""

    app: FastAPI
    nodes: dict[str, Node]
    accounts_file: Path
    base_url: str
    progress: BuildProgress

    def url(self, name: str) -> str:
        return f"{self.base_url}/nodes/{name}"


@dataclass
class _Built:
    chain: EmbeddedChain
    contracts: Contracts
    nodes: dict[str, Node]
    apps: dict[str, FastAPI]


def _build(settings: Settings, sample_data: bool, progress: BuildProgress, base_url: str) -> _Built:
    """Deploy the contracts on a fresh embedded chain, register and audit the organisations, open a node per
    participant, publish the sample dataset and make each node's app; ``progress`` advances after each step."""
    from eth_account import Account

    from datagora.api.app import create_app
    from datagora.chain.client import EmbeddedChain
    from datagora.chain.contracts import Contracts
    from datagora.domain.models import OrgStatus
    from datagora.services import market, publishing, registry
    from datagora.services.node import open_node
    from datagora.services.participant import Participant
    from datagora.services.sample_data import write_breast_cancer_csv

    dev = Home(settings.home).dev
    shutil.rmtree(dev.root, ignore_errors=True)
    dev.root.mkdir(parents=True)
    chain = EmbeddedChain()
    chain.fixed_gas = BUILD_GAS
    people = {
        name: Participant(name, Account.create(), dev.participant(name).root)
        for name in ("supervisor", "platform", "acme", "bluelab")
    }
    for person in people.values():
        chain.fund(person.address, 1_000 * ETHER)
    secrets_doc = {n: {"address": p.address, "private_key": "0x" + p.private_key.hex()} for n, p in people.items()}
    fd = os.open(dev.accounts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(secrets_doc, fh, indent=1)
    progress.advance()
    contracts = Contracts.deploy(chain, people["supervisor"].account, people["platform"].account)
    progress.advance()
    for name, org_name in ORGANISATIONS.items():
        org, _ = registry.register_organisation(contracts, people[name], org_name)
        registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
    progress.advance()

    def index(name: str) -> str:
        dev.index_dir.mkdir(parents=True, exist_ok=True)
        return dev.index_url(chain.chain_id, people[name].address)

    platform = open_node(contracts, people["platform"], index("platform"), platform=True)
    nodes = {
        name: platform
        if name == "platform"
        else open_node(contracts, people[name], index(name), attestor=platform.platform)
        for name in people
    }
    progress.advance()
    if sample_data:
        acme = people["acme"]
        path = write_breast_cancer_csv(dev.samples / "breast_cancer_wisconsin.csv")
        prepared = publishing.prepare(acme, path, name="Breast Cancer Wisconsin diagnostic", domain="health")
        assert platform.platform is not None
        token_id, _, _ = publishing.publish(contracts, acme, prepared, platform.platform)
        market.list_dataset(contracts, acme, token_id, ETHER // 2)
        progress.advance()
    chain.fixed_gas = None  # the participants' own transactions are estimated: a revert is refused unmined
    apps = {}
    for name, node in nodes.items():
        # each node signs in for its own base URI: a message signed for one is refused by the others
        own = settings.model_copy(update={"public_url": f"{base_url}/nodes/{name}"})
        apps[name] = create_app(node, settings=own, sync_in_background=False, demo_signin=True)
    return _Built(chain, contracts, nodes, apps)


PAGE_SCRIPT = """
const summary = document.getElementById("summary"), bar = document.getElementById("bar");
const steps = document.getElementById("steps");
async function follow() {
  let report;
  try {
    const answer = await fetch("/progress", {headers: {Accept: "application/json"}, cache: "no-store"});
    report = await answer.json();
  } catch (error) {
    summary.textContent = "The server does not answer; is datagora serve --dev still running?";
    return;
  }
  if (report.state === "ready") { window.location.reload(); return; }
  summary.textContent = report.summary;
  bar.value = report.done;
  report.steps.forEach((step, i) => {
    const item = steps.children[i];
    item.dataset.state = step.state;
    item.querySelector(".state").textContent = "(" + step.state + ")";
  });
  if (report.state === "building") setTimeout(follow, 1000);
}
setTimeout(follow, 1000);
"""


def progress_page(progress: BuildProgress, *, status: int = 200) -> HTMLResponse:
    """The page a browser sees while the network is built: the steps with their state in words, a progress bar
    and a live region the script updates from ``GET /progress``; it reloads itself when the network is ready."""
    items = "".join(
        f'<li data-state="{st}">{escape(title)} <span class="state">({st})</span></li>'
        for title, st in zip(progress.steps, progress.step_states(), strict=True)
    )
    failed = progress.failure is not None
    note = (
        "<p>Stop the server, fix the cause above and start <code>datagora serve --dev</code> again.</p>"
        if failed
        else "<p>This page follows the build by itself and opens when the network is ready."
        "<noscript> Reload it to see the progress.</noscript></p>"
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Starting the Datagora demo network</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
        "progress{width:100%;height:1.2rem}li[data-state=done]{color:#215732}li[data-state=failed]{color:#a4000f}"
        "</style></head><body><main><h1>Starting the Datagora demo network</h1>"
        f'<p id="summary" role="{"alert" if failed else "status"}" aria-live="polite">'
        f"{escape(progress.summary())}</p>"
        f'<progress id="bar" max="{len(progress.steps)}" value="{progress.done}" aria-label="Steps done">'
        f"{progress.done} of {len(progress.steps)} steps done</progress>"
        f'<ol id="steps">{items}</ol>{note}</main>'
        + ("" if failed else f"<script>{PAGE_SCRIPT}</script>")
        + "</body></html>"
    )
    headers = {"Cache-Control": "no-store"}
    if status == 503 and not failed:
        headers["Retry-After"] = str(RETRY_AFTER)
    return HTMLResponse(html, status_code=status, headers=headers)


def not_ready(progress: BuildProgress) -> JSONResponse:
    """``503`` problem document for a program calling a node's API before the network is ready: ``Retry-After``
    while it is being built, none once the build failed (retrying cannot help)."""
    failed = progress.failure is not None
    detail = (
        progress.summary()
        if failed
        else f"The demo network is still being built ({progress.summary()}); try again in a few seconds."
    )
    headers = {"Cache-Control": "no-store"} | ({} if failed else {"Retry-After": str(RETRY_AFTER)})
    body = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail}
    body["build"] = progress.as_json()  # an RFC 9457 extension member
    return JSONResponse(body, status_code=503, headers=headers, media_type="application/problem+json")


def _wants_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k == b"accept" and b"text/html" in v for k, v in headers)


class NodesGate:
    """ASGI middleware: ``/nodes/...`` answers the progress page (browsers) or a ``503`` problem (programs) until
    the network is ready; then every request goes through."""

    def __init__(self, app: ASGIApp, progress: BuildProgress) -> None:
        self.app = app
        self.progress = progress

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not self.progress.ready and (path == "/nodes" or path.startswith("/nodes/")):
            if _wants_html(scope.get("headers", [])):
                response: HTMLResponse | JSONResponse = progress_page(self.progress, status=503)
            else:
                response = not_ready(self.progress)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _shell(settings: Settings, sample_data: bool) -> tuple[DevNetwork, Callable[[_Built], None]]:
    """The server's app before the network exists, and the function that mounts a built network into it."""
    base_url = f"http://{settings.domain}"
    progress = BuildProgress(build_steps(sample_data))
    built: list[_Built] = []
    app = FastAPI(
        title="Datagora development network",
        summary="Several participants' nodes on one embedded chain; each node's API is under /nodes/<name>/.",
    )
    app.add_middleware(NodesGate, progress=progress)
    network = DevNetwork(app, {}, Home(settings.home).dev.accounts, base_url, progress)

    def mount(done: _Built) -> None:
        for name, node_app in done.apps.items():
            app.mount(f"/nodes/{name}", node_app)
        network.nodes.update(done.nodes)
        built.append(done)
        progress.advance()

    @app.get("/progress", tags=["dev"])
    def build_progress() -> dict[str, Any]:
        """Where the build of the network stands: ``state`` (building, ready, failed), ``done`` of ``total``
        steps, each step's title and state, ``summary`` and ``error`` in words."""
        return progress.as_json()

    @app.get("/", tags=["dev"], response_model=None)
    def directory(request: Request) -> dict[str, Any] | HTMLResponse | JSONResponse:
        """The participants' nodes: name, account, API base URL, roles (a page of links for a browser); while the
        network is built, the progress page (browser) or 503 (programs)."""
        html = "text/html" in request.headers.get("accept", "")
        if not built:
            return progress_page(progress) if html else not_ready(progress)
        done = built[0]
        if html:
            links = "".join(
                f'<li><a href="/nodes/{name}/">{escape(name)}</a>: {escape(ORGANISATIONS.get(name, "the supervisor"))}'
                f" <code>{node.address}</code></li>"
                for name, node in done.nodes.items()
            )
            return HTMLResponse(
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Datagora demo network</title>'
                '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
                "<h1>Datagora demo network</h1><p>Four participants on one embedded chain; each has its own node"
                f" and pages:</p><ul>{links}</ul></body></html>"
            )
        return {
            "chain_id": done.chain.chain_id,
            "contracts": done.contracts.addresses,
            "nodes": [
                {
                    "name": name,
                    "address": node.address,
                    "url": f"{base_url}/nodes/{name}",
                    "docs": f"{base_url}/nodes/{name}/docs",
                    "platform": node.platform is not None,
                    "supervisor": name == "supervisor",
                }
                for name, node in done.nodes.items()
            ],
        }

    return network, mount


def build_dev_network(settings: Settings, *, sample_data: bool = True) -> DevNetwork:
    """Build the whole network now (deploy, register, publish; ~10 s), then return its server's app."""
    network, mount = _shell(settings, sample_data)
    mount(_build(settings, sample_data, network.progress, network.base_url))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from datagora.api.app import background_sync

        async with background_sync(list(network.nodes.values()), settings.index_interval):
            yield

    network.app.router.lifespan_context = lifespan
    return network


def start_dev_network(
    settings: Settings, *, sample_data: bool = True, on_ready: Callable[[DevNetwork], None] | None = None
) -> DevNetwork:
    """The network's server app, answering at once; the network is built in a background thread started with the
    app (its lifespan) and mounted when done, then ``on_ready`` is called. A failure is kept in ``progress`` (shown
    on the progress page and in the 503 answers) and logged."""
    network, mount = _shell(settings, sample_data)
    progress = network.progress

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_Built] = loop.create_future()

        def work() -> None:
            try:
                result = _build(settings, sample_data, progress, network.base_url)
            except BaseException as exc:  # shown on the page: never a hang
                log.exception("building the demo network failed")
                progress.fail(" ".join(str(exc).split()) or type(exc).__name__)
                return

            def deliver() -> None:
                if not done.done():  # the server may be stopping
                    done.set_result(result)

            with suppress(RuntimeError):  # the server stopped (its event loop is closed) before the build ended
                loop.call_soon_threadsafe(deliver)

        # a daemon thread: stopping the server during the build does not wait for it
        threading.Thread(target=work, name="dev-network-build", daemon=True).start()

        async def serve_when_built() -> None:
            mount(await done)
            from datagora.api.app import background_sync

            if on_ready is not None:
                on_ready(network)
            async with background_sync(list(network.nodes.values()), settings.index_interval):
                await asyncio.Event().wait()

        task = asyncio.create_task(serve_when_built())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    network.app.router.lifespan_context = lifespan
    return network
