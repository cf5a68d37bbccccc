"""The contract facade: per-contract bindings, the deployment manifest (contracts added later keep the others),
events decoded per contract, and ``eth_getLogs`` paged in bounded block ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import Chain, connect
from datagora.chain.contracts import MANIFEST, Contracts, Deployment
from datagora.domain.errors import DeploymentError, ValidationError

ETHER = 10**18


@pytest.fixture(scope="module")
def setup() -> tuple[Chain, LocalAccount, LocalAccount]:
    chain = connect(None)
    supervisor, platform = Account.create(), Account.create()
    for who in (supervisor, platform):
        chain.fund(who.address, 10 * ETHER)
    return chain, supervisor, platform


def test_manifest_lists_each_contract_once_after_what_it_needs() -> None:
    names = [d.name for d in MANIFEST]
    assert len(names) == len(set(names))
    for i, spec in enumerate(MANIFEST):
        assert set(spec.needs) <= set(names[:i]), spec.name
        assert spec.name == spec.binding.NAME


def test_a_contract_added_later_keeps_the_others(
    setup: tuple[Chain, LocalAccount, LocalAccount], tmp_path: Path
) -> None:
    chain, supervisor, platform = setup
    partial = Contracts.deploy(chain, supervisor, platform, only=["Registry", "Catalog", "Market", "UseRights"])
    with pytest.raises(DeploymentError, match="datagora deploy --add Reputation"):
        partial.reputation.average_x100(platform.address)
    path = partial.deployment.save(tmp_path)
    before = json.loads(path.read_text())["contracts"]

    loaded = Deployment.load(tmp_path, chain.chain_id)
    grown = Contracts.add(chain, loaded, "Reputation", {"platform": platform}, fee_bps=250)
    grown.deployment.save(tmp_path)
    after = json.loads(path.read_text())["contracts"]
    assert {k: after[k] for k in before} == before  # untouched
    assert after["Reputation"]["block"] > before["Market"]["block"]
    attached = Contracts.attach(chain, tmp_path)
    assert attached.reputation.average_x100(platform.address) == 0
    assert attached.market.fee_bps() == 250 and attached.registry.supervisor() == supervisor.address

    with pytest.raises(DeploymentError, match="already deployed"):
        Contracts.add(chain, grown.deployment, "Reputation", {"platform": platform}, fee_bps=250)
    with pytest.raises(DeploymentError, match="unknown contract"):
        Contracts.add(chain, grown.deployment, "Nope", {"platform": platform}, fee_bps=250)
    empty = Deployment(chain.chain_id, {}, 0)
    with pytest.raises(DeploymentError, match="needs Registry"):
        Contracts.add(chain, empty, "Catalog", {"platform": platform}, fee_bps=250)
    with pytest.raises(DeploymentError, match="deployed by the supervisor"):
        Contracts.add(chain, empty, "Registry", {"platform": platform}, fee_bps=250)


def test_manifest_files_old_and_new_and_broken(tmp_path: Path) -> None:
    old = {"chain_id": 7, "addresses": {"Registry": "0x" + "11" * 20}, "block": 3}
    (tmp_path / "7.json").write_text(json.dumps(old))
    d = Deployment.load(tmp_path, 7)
    assert d.addresses == old["addresses"] and d.blocks == {"Registry": 3}
    d.save(tmp_path)
    assert Deployment.load(tmp_path, 7) == d
    for broken in ("{", '{"chain_id": 7}', '{"chain_id": 7, "contracts": {"Registry": {}}}', "[]"):
        (tmp_path / "7.json").write_text(broken)
        with pytest.raises(DeploymentError):
            Deployment.load(tmp_path, 7)
    (tmp_path / "8.json").write_text(json.dumps({**old, "chain_id": 9}))
    with pytest.raises(DeploymentError, match="for chain 9"):
        Deployment.load(tmp_path, 8)
    with pytest.raises(DeploymentError, match="run `datagora deploy`"):
        Deployment.load(tmp_path, 10)


def test_events_are_decoded_per_contract_and_paged(setup: tuple[Chain, LocalAccount, LocalAccount]) -> None:
    chain, supervisor, platform = setup
    contracts = Contracts.deploy(chain, supervisor, platform)
    owners = {(e.contract, e.args["new_owner"]) for e in contracts.events() if e.name == "OwnershipTransferred"}
    # the same event signature from three contracts is attributed to the contract that emitted it
    assert ("Registry", supervisor.address) in owners and ("Market", platform.address) in owners
    assert ("Market", supervisor.address) not in owners

    whole = [(e.block_number, e.log_index) for e in contracts.events()]
    paged = Contracts(chain, contracts.deployment, log_page_blocks=1)
    requests: list[tuple[int, int]] = []
    real = chain.w3.eth.get_logs

    def spy(query):  # type: ignore[no-untyped-def]
        requests.append((query["fromBlock"], query["toBlock"]))
        return real(query)

    chain.w3.eth.get_logs = spy  # type: ignore[method-assign]
    try:
        assert [(e.block_number, e.log_index) for e in paged.events()] == whole
    finally:
        chain.w3.eth.get_logs = real  # type: ignore[method-assign]
    assert requests and all(hi - lo == 0 for lo, hi in requests)
    assert len(requests) == chain.block_number() - contracts.deployment.block + 1
    with pytest.raises(ValidationError):
        paged.get_logs([contracts.market.address], None, 10, 5)


def test_deployment_service_deploys_adds_and_mints(
    setup: tuple[Chain, LocalAccount, LocalAccount], tmp_path: Path
) -> None:
    """``services.deployment``, which ``datagora deploy`` and the scenarios use: the set without Reputation,
    Reputation added from the saved manifest (the others keep their addresses), a demo ERC-20 minted to two
    holders, and a negative mint refused before any transaction."""
    from datagora.services import deployment

    chain, supervisor, platform = setup
    without = [d.name for d in MANIFEST if d.name != "Reputation"]
    partial = Contracts.deploy(chain, supervisor, platform, only=without)
    partial.deployment.save(tmp_path)
    whole = deployment.add(chain, tmp_path, "Reputation", {"supervisor": supervisor, "platform": platform})
    assert {k: v for k, v in whole.addresses.items() if k != "Reputation"} == partial.addresses
    assert "Reputation" in whole.addresses
    fresh = deployment.deploy(chain, supervisor, platform, fee_bps=100)
    assert fresh.market.fee_bps() == fresh.use_rights.fee_bps() == 100
    holders = [(Account.create().address, 5 * ETHER), (Account.create().address, 7)]
    token, mints = deployment.demo_token(fresh, platform, holders)
    assert len(mints) == 2
    assert [fresh.tokens.balance(token, a) for a, _ in holders] == [5 * ETHER, 7]
    with pytest.raises(ValidationError, match="mint amount"):
        deployment.demo_token(fresh, platform, [(holders[0][0], -1)])
