"""Gas of every state-changing function of the Collaboration contract, from transaction receipts on the embedded
EVM, over one fixed scenario: a DAO formed after two negotiation rounds, a newcomer seated on the lead member's
offer, another on its own offer, revenue paid and withdrawn, a channel key and a post, heartbeats, a termination,
the DAO closed and its members rated.

    python benchmarks/collaboration_gas.py [--snapshot benchmarks/collaboration_gas_snapshot.json]
    python benchmarks/collaboration_gas.py --hardfork london   # on Anvil, with the London artifacts

Participants' keys are fixed, so calldata (and gas) is the same on every run of the same contract; compare two
runs with ``python benchmarks/gas_compare.py OLD.json NEW.json``. With ``--hardfork`` the scenario runs on an
Anvil node started with that hardfork, which deploys the artifact set built for it (London for London).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from eth_account import Account

from datagora.chain.artifacts import load_artifact
from datagora.chain.client import Chain, EmbeddedChain, RpcChain
from datagora.chain.contracts import Contracts
from datagora.chain.devnode import AnvilNode
from datagora.crypto.hashing import keccak256
from datagora.domain.collaboration import Role
from datagora.domain.models import OrgStatus
from datagora.services import registry
from datagora.services.participant import Participant

ETHER = 10**18
HOUR = 3_600
NAMES = ("supervisor", "platform", "dsp", "vp1", "vp2", "vp3", "anyone")


def operations(chain: Chain, work: Path) -> dict[str, int]:
    """``{"operation": gasUsed}`` of the scenario on ``chain`` (a fresh deployment of Registry and Collaboration
    only)."""
    people = {
        name: Participant(name, Account.from_key(keccak256(f"collaboration gas {name}".encode())), work / name)
        for name in NAMES
    }
    for p in people.values():
        chain.fund(p.address, 100 * ETHER)
    contracts = Contracts.deploy(
        chain, people["supervisor"].account, people["platform"].account, only=["Registry", "Collaboration"]
    )
    for name in ("dsp", "vp1", "vp2", "vp3"):
        org, _ = registry.register_organisation(contracts, people[name], f"{name} org")
        registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
    artifact = load_artifact("Collaboration", chain.evm_version)
    registry_address = contracts.deployment.addresses["Registry"]
    deployed = chain.deploy(people["platform"].account, artifact.abi, artifact.bytecode, registry_address)
    out: dict[str, int] = {"deploy": int(deployed["gasUsed"])}
    c = contracts.collaboration
    dsp, vp1, vp2, vp3, anyone = (people[n] for n in ("dsp", "vp1", "vp2", "vp3", "anyone"))
    terms = '{"@type": "odrl:Offer", "target": "tumour table"}'
    terms_hash = keccak256(terms.encode())
    expiry = chain.now() + 30 * 86_400

    offer, tx = c.post_offer(
        dsp.account, dao_id=0, role=Role.DSP, terms_hash=terms_hash, stake_bps=3_000, heartbeat_timeout=HOUR,
        expiry=expiry, terms=terms,
    )  # fmt: skip
    out["post_offer (new DAO)"] = tx.gas_used
    out["counter (counterparty)"] = c.counter(vp1.account, offer, vp1.address, terms_hash, 3_500, terms).gas_used
    out["counter (poster)"] = c.counter(dsp.account, offer, vp1.address, terms_hash, 3_200, terms).gas_used
    dao_id, tx = c.accept(vp1.account, offer, vp1.address, 2)
    out["accept (form DAO)"] = tx.gas_used

    offer, tx = c.post_offer(
        dsp.account, dao_id=dao_id, role=Role.DSP, terms_hash=terms_hash, stake_bps=2_000, heartbeat_timeout=0,
        expiry=expiry, terms=terms,
    )  # fmt: skip
    out["post_offer (lead seeks newcomer)"] = tx.gas_used
    out["accept (join, 3rd member)"] = c.accept(vp2.account, offer, vp2.address, 0)[1].gas_used
    offer, tx = c.post_offer(
        vp3.account, dao_id=dao_id, role=Role.VP, terms_hash=terms_hash, stake_bps=1_000, heartbeat_timeout=0,
        expiry=expiry, terms=terms,
    )  # fmt: skip
    out["post_offer (newcomer asks)"] = tx.gas_used
    out["accept (join, 4th member)"] = c.accept(dsp.account, offer, dsp.address, 0)[1].gas_used
    offer, _ = c.post_offer(
        dsp.account, dao_id=0, role=Role.DSP, terms_hash=terms_hash, stake_bps=4_000, heartbeat_timeout=HOUR,
        expiry=expiry, terms=terms,
    )  # fmt: skip
    out["withdraw_offer"] = c.withdraw_offer(dsp.account, offer).gas_used

    out["pay (first)"] = c.pay(anyone.account, dao_id, ETHER + 1_234).gas_used
    out["pay"] = c.pay(anyone.account, dao_id, 2 * ETHER).gas_used
    out["withdraw (DAO share)"] = c.withdraw(vp1.account, dao_id).gas_used
    out["withdraw (credit only)"] = c.withdraw(dsp.account, 0).gas_used

    out["request_infrastructure"] = c.request_infrastructure(dsp.account, dao_id, '{"name": "avg"}').gas_used
    chain.advance_time(60)  # a heartbeat in the second of joining would rewrite the same timestamp (cheaper)
    out["heartbeat"] = c.heartbeat(vp1.account, dao_id).gas_used
    out["publish_channel_key"] = c.publish_channel_key(dsp.account, dao_id, 1, keccak256(b"envelope")).gas_used
    out["post"] = c.post(dsp.account, dao_id, 1, keccak256(b"content"), "blob://post-1")[1].gas_used

    chain.advance_time(HOUR // 2)
    for p in (dsp, vp1, vp2):
        c.heartbeat(p.account, dao_id)
    chain.advance_time(HOUR // 2 + 60)
    out["terminate (member)"] = c.terminate(anyone.account, dao_id, vp3.address).gas_used
    out["close"] = c.close(dsp.account, dao_id).gas_used
    out["rate (first)"] = c.rate(dsp.account, dao_id, vp1.address, 5).gas_used
    out["rate"] = c.rate(vp1.account, dao_id, vp2.address, 4).gas_used
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snapshot", type=Path, help="write the figures to this JSON file")
    ap.add_argument("--hardfork", help="run on Anvil started with this hardfork (e.g. london) instead of in process")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.hardfork:
            with AnvilNode("--hardfork", args.hardfork) as node:
                out = operations(RpcChain(node.url), Path(work))
        else:
            out = operations(EmbeddedChain(), Path(work))
    for op, gas in out.items():
        print(f"{op:<36} {gas:>9,}")
    if args.snapshot:
        args.snapshot.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
