"""``datagora serve --infra``: the served node does what ``datagora infra watch`` does, in the background of its
server. A workload requested on chain for the node's own data is started with Ansible and heart-beats on chain
while the API keeps answering; a deployment without the Collaboration contract is refused before serving.

Slow where Ansible runs (~4 s of start-up per playbook on a quiet machine)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from datagora.api import create_app
from datagora.api.infrastructure_duty import open_duty
from datagora.api.settings import Settings
from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import DeploymentError
from datagora.services.infrastructure import Workloads
from datagora.services.node import open_node
from datagora.services.participant import Participant
from tests.infrastructure.kit import deploy_collab, make_owner, spec_doc


def test_a_deployment_without_collaboration_is_refused_before_serving(tmp_path: Path) -> None:
    from eth_account import Account

    chain = EmbeddedChain()
    supervisor, platform = Account.create(), Account.create()
    for account in (supervisor, platform):
        chain.fund(account.address, 10**18)
    contracts = Contracts.deploy(chain, supervisor, platform, only=["Registry"])
    node = open_node(contracts, Participant("dsp", Account.create(), tmp_path / "dsp"), f"sqlite:///{tmp_path}/i.db")
    with pytest.raises(DeploymentError, match="Collaboration"):
        open_duty(node, Settings(home=tmp_path, infra=True))


def test_settings_refuse_a_bad_collaboration_number(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="infra_dao"):
        Settings(home=tmp_path, infra=True, infra_dao=[0])
    with pytest.raises(ValidationError, match="infra_interval"):
        Settings(home=tmp_path, infra=True, infra_interval=0)


@pytest.mark.slow
@pytest.mark.parametrize("opened_first", [True, False], ids=["opened-by-serve", "opened-when-serving"])
def test_the_served_node_starts_a_requested_workload_and_heart_beats(tmp_path: Path, opened_first: bool) -> None:
    owner = make_owner(tmp_path)
    collab = deploy_collab(tmp_path, dsp=owner.participant)
    dao_id = collab.form(3600)
    node = open_node(collab.contracts, owner.participant, f"sqlite:///{tmp_path}/index.db")
    settings = Settings(home=tmp_path, infra=True, infra_dao=[dao_id], infra_interval=0.3, index_interval=0)
    # ``datagora serve`` opens the duty before serving (a bad deployment is refused first) and hands it over
    duty = open_duty(node, settings) if opened_first else None
    app = create_app(node, settings=settings, sync_in_background=False, infra_duty=duty)
    spec = json.dumps(spec_doc(owner.participant.address, owner.content_hash))

    def heartbeats() -> list[str]:
        return [e.args["member"] for e in collab.contracts.events() if e.name == "Heartbeat"]

    try:
        with TestClient(app) as client:
            collab.collaboration.request_infrastructure(collab.vp1.account, dao_id, spec)
            deadline = time.monotonic() + 90
            while not heartbeats() and time.monotonic() < deadline:
                assert client.get("/node").status_code == 200  # the API keeps answering meanwhile
                time.sleep(0.3)
            assert heartbeats() and set(heartbeats()) == {owner.participant.address}
            [status] = Workloads.of(owner.participant).status(dao_id)
            assert status.name == "tumour-averages" and status.state == "running"
        # Stopping the server stops the duty: no heartbeat is sent after it (the workload itself keeps running
        # until `datagora infra down`, as with `datagora infra watch`).
        sent = len(heartbeats())
        time.sleep(1.0)
        assert len(heartbeats()) == sent
    finally:
        Workloads.of(owner.participant).down(dao_id, "tumour-averages")
