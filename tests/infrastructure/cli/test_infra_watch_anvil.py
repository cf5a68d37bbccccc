"""``datagora infra request`` and ``datagora infra watch`` against Anvil: a value provider's request on chain is
picked up by the data owner's watcher, which starts the workload with Ansible and sends its heartbeat; status
shows the result; down stops it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256
from datagora.crypto.keys import load_keystore
from datagora.domain.collaboration import Role
from datagora.domain.models import OrgStatus
from datagora.home import Home
from datagora.services import registry
from datagora.services.participant import Participant
from datagora.services.publishing import prepare
from tests.infrastructure.kit import spec_doc, write_table
from tests.kits.cli_fixtures import PASSWORD, invoke, make_keystores, ok

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_request_and_watch_start_the_workload_and_send_heartbeats(anvil_url: str, tmp_path: Path) -> None:
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    names = ("supervisor", "platform", "dsp", "vp1")
    make_keystores(tmp_path, *names)
    home = Home(tmp_path)
    people = {n: Participant(n, load_keystore(home.keystore(n), PASSWORD), home.participant(n).root) for n in names}

    def run(*args: object) -> str:
        return ok(invoke([*map(str, args), "--home", tmp_path, "--rpc-url", anvil_url]))

    try:
        for p in people.values():
            chain.fund(p.address, 10 * 10**18)
        contracts = Contracts.deploy(
            chain, people["supervisor"].account, people["platform"].account, only=["Registry", "Collaboration"]
        )
        contracts.deployment.save(home.deployments)
        for label in ("dsp", "vp1"):
            org, _ = registry.register_organisation(contracts, people[label], f"{label} org")
            registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
        c = contracts.collaboration
        offer, _ = c.post_offer(
            people["dsp"].account, dao_id=0, role=Role.DSP, terms_hash=keccak256(b"terms"), stake_bps=4000,
            heartbeat_timeout=600, expiry=chain.now() + 3600, terms="terms",
        )  # fmt: skip
        dao_id, _ = c.accept(people["vp1"].account, offer, people["vp1"].address, 0)
        write_table(tmp_path / "tumours.csv")
        prepared = prepare(people["dsp"], tmp_path / "tumours.csv")
        spec_file = tmp_path / "workload.json"
        content_hash = "0x" + prepared.description.content_hash.hex()
        spec_file.write_text(json.dumps(spec_doc(people["dsp"].address, content_hash)))

        out = run("infra", "request", dao_id, spec_file, "-a", "vp1")
        assert f"workload tumour-averages requested for collaboration #{dao_id}" in out
        out = run("infra", "watch", "--dao", dao_id, "--passes", "1", "-a", "vp1")
        assert f"request of collaboration #{dao_id}: skipped, workload 'tumour-averages' runs on the node of" in out
        out = run("infra", "watch", "--dao", dao_id, "--passes", "1", "-a", "dsp")
        assert f"request of collaboration #{dao_id}: started, workload 'tumour-averages' running as PID" in out
        assert f"heartbeat of tumour-averages sent for collaboration #{dao_id}" in out
        beat = [e for e in contracts.events() if e.name == "Heartbeat"]
        assert [e.args["member"] for e in beat] == [people["dsp"].address]
        out = run("infra", "status", "-a", "dsp")
        assert "tumour-averages (collaboration" in out and ": running, PID" in out and "benign" in out
        # A second pass does not start it again.
        assert "started" not in run("infra", "watch", "--dao", dao_id, "--passes", "1", "-a", "dsp")
    finally:
        invoke(["infra", "down", "1", "tumour-averages", "--home", tmp_path, "-a", "dsp"])
        chain.revert(snap)
    assert "stopped, no process" in ok(invoke(["infra", "status", "--home", tmp_path, "-a", "dsp"]))
