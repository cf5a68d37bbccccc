"""The collaboration story end to end on the embedded chain (scenarios/collaboration.py): negotiation, a DAO of a
hospital and two value providers, nested encrypted channels, revenue split, termination of the member that
stopped its heartbeats, withdrawals leaving the contract empty, ratings."""

from __future__ import annotations

import pytest

from datagora.chain.client import EmbeddedChain
from datagora.domain.collaboration import DaoState
from datagora.scenarios import collaboration as scenario
from datagora.scenarios.collaboration import CollaborationDemo, InfrastructureRequest
from datagora.services import collaboration as service


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[CollaborationDemo, list[InfrastructureRequest]]:
    requests: list[InfrastructureRequest] = []

    def hook(request: InfrastructureRequest) -> str:
        requests.append(request)
        return "started"

    chain = EmbeddedChain()
    return scenario.run(chain, tmp_path_factory.mktemp("dao"), on_infrastructure=hook), requests


def test_the_story_ends_as_expected(demo: tuple[CollaborationDemo, list[InfrastructureRequest]]) -> None:
    run, _ = demo
    failed = run.scenario.failed_checks()
    assert run.ok, (run.scenario.outcome, failed)
    assert run.scenario.outcome == "EMPTY"


def test_the_dao_on_chain(demo: tuple[CollaborationDemo, list[InfrastructureRequest]]) -> None:
    run, _ = demo
    view = service.overview(run.contracts, run.dao_id)
    assert view.dao.state == DaoState.CLOSED
    assert [m.account for m in view.members] == [run.members[n] for n in ("hospital", "analytics", "dashboards")]
    assert [m.active for m in view.members] == [True, False, True]
    assert view.tree.share_bps == 10_000
    assert run.contracts.collaboration.reputation(run.members["analytics"]) == (1, 1)
    assert all(v == 0 for v in view.claimable.values())


def test_the_infrastructure_hook_gets_the_request(demo: tuple[CollaborationDemo, list[InfrastructureRequest]]) -> None:
    run, requests = demo
    assert len(requests) == 1
    assert requests[0].dao_id == run.dao_id
    assert requests[0].spec["workload"] == "progression-summary"
    assert requests[0].dataset.exists()
    assert "workload" in {s.name for s in run.scenario.steps}


def test_channel_visibility(demo: tuple[CollaborationDemo, list[InfrastructureRequest]]) -> None:
    """A member of channel 2 cannot decrypt channel 1; a terminated member cannot decrypt what was written after
    it left, yet still reads what was written while it was a member; a stranger sees metadata only."""
    run, _ = demo
    c, store, dao = run.contracts, run.store, run.dao_id

    def read(label: str, channel: int) -> list[bytes | None]:
        key = run.participants[label].private_key
        return [p.content for p in service.read_channel(c, store, key, dao, channel)]

    assert read("hospital", 1) != [None] and read("analytics", 1) == read("hospital", 1)
    assert read("dashboards", 1) == [None]
    hospital_ch2 = read("hospital", 2)
    assert len(hospital_ch2) == 2 and None not in hospital_ch2
    assert read("analytics", 2) == [hospital_ch2[0], None]
    assert read("dashboards", 2) == hospital_ch2
    assert read("customer", 1) == [None] and read("customer", 2) == [None, None]
    posts = service.read_channel(c, store, run.participants["customer"].private_key, dao, 2)
    assert [p.author for p in posts] == [run.members["hospital"]] * 2
    assert posts[0].epoch < posts[1].epoch
    assert "not a member of channel 2" in posts[0].sealed_reason
