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
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from eth_account import Account
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from datagora.api.app import background_sync, create_app
from datagora.api.settings import Settings
from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.domain.models import OrgStatus
from datagora.home import Home
from datagora.services import market, publishing, registry
from datagora.services.node import Node, open_node
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv

ETHER = 10**18
ORGANISATIONS = {"platform": "Datagora Platform", "acme": "Acme Data Ltd", "bluelab": "Blue Research Lab"}


@dataclass
class DevNetwork:
    app: FastAPI
    nodes: dict[str, Node]
    accounts_file: Path
    base_url: str

    def url(self, name: str) -> str:
        return f"{self.base_url}/nodes/{name}"


def build_dev_network(settings: Settings, *, sample_data: bool = True) -> DevNetwork:
    """Deploy the contracts on a fresh embedded chain, register and audit the organisations, start a node per
    participant and mount their apps under ``/nodes/<name>`` of one FastAPI app."""
    dev = Home(settings.home).dev
    shutil.rmtree(dev.root, ignore_errors=True)
    dev.root.mkdir(parents=True)
    chain = EmbeddedChain()
    people = {
        name: Participant(name, Account.create(), dev.participant(name).root)
        for name in ("supervisor", "platform", "acme", "bluelab")
    }
    for person in people.values():
        chain.fund(person.address, 1_000 * ETHER)
    contracts = Contracts.deploy(chain, people["supervisor"].account, people["platform"].account)
    for name, org_name in ORGANISATIONS.items():
        org, _ = registry.register_organisation(contracts, people[name], org_name)
        registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)

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
    if sample_data:
        acme = people["acme"]
        path = write_breast_cancer_csv(dev.samples / "breast_cancer_wisconsin.csv")
        prepared = publishing.prepare(acme, path, name="Breast Cancer Wisconsin diagnostic", domain="health")
        assert platform.platform is not None
        token_id, _, _ = publishing.publish(contracts, acme, prepared, platform.platform)
        market.list_dataset(contracts, acme, token_id, ETHER // 2)

    accounts_file = dev.accounts
    secrets_doc = {n: {"address": p.address, "private_key": "0x" + p.private_key.hex()} for n, p in people.items()}
    fd = os.open(accounts_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(secrets_doc, fh, indent=1)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with background_sync(list(nodes.values()), settings.index_interval):
            yield

    base_url = f"http://{settings.domain}"
    app = FastAPI(
        title="Datagora development network",
        summary="Several participants' nodes on one embedded chain; each node's API is under /nodes/<name>/.",
        lifespan=lifespan,
    )
    for name, node in nodes.items():
        # each node signs in for its own base URI: a message signed for one is refused by the others
        own = settings.model_copy(update={"public_url": f"{base_url}/nodes/{name}"})
        app.mount(f"/nodes/{name}", create_app(node, settings=own, sync_in_background=False, demo_signin=True))

    @app.get("/", tags=["dev"], response_model=None)
    def directory(request: Request) -> dict[str, Any] | HTMLResponse:
        """The participants' nodes: name, account, API base URL, roles (a page of links for a browser)."""
        if "text/html" in request.headers.get("accept", ""):
            links = "".join(
                f'<li><a href="/nodes/{name}/">{escape(name)}</a>: {escape(ORGANISATIONS.get(name, "the supervisor"))}'
                f" <code>{node.address}</code></li>"
                for name, node in nodes.items()
            )
            return HTMLResponse(
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Datagora demo network</title>'
                '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
                "<h1>Datagora demo network</h1><p>Four participants on one embedded chain; each has its own node"
                f" and pages:</p><ul>{links}</ul></body></html>"
            )
        return {
            "chain_id": chain.chain_id,
            "contracts": contracts.addresses,
            "nodes": [
                {
                    "name": name,
                    "address": node.address,
                    "url": f"{base_url}/nodes/{name}",
                    "docs": f"{base_url}/nodes/{name}/docs",
                    "platform": node.platform is not None,
                    "supervisor": name == "supervisor",
                }
                for name, node in nodes.items()
            ],
        }

    return DevNetwork(app, nodes, accounts_file, base_url)
