"""The data-centric marketplace paper's story (Mehdi, Mazlin, Sbai, Azghiou) on chain: a data service provider
(a hospital holding the diabetes table) invests its data with two value providers instead of selling it.

1. The hospital posts an offer in the services explorer (DCAT description of its data, ODRL terms, 30 % for the
   value provider); an analytics firm counters at 40 %, the hospital at 35 %, the firm accepts: a DAO is formed
   and channel 1 = {hospital, analytics} opens.
2. The hospital asks for infrastructure (a JSON spec in an event the members' event handlers turn into a
   workload: see ``on_infrastructure``); the workload's members post heartbeats.
3. A visualisation firm asks to join at 20 %; the hospital accepts: channel 2 = {hospital, analytics,
   visualisation} opens and every older stake is scaled to 80 % of what it was (the profit tree).
4. The hospital computes a summary on its own data and posts it encrypted to channel 1 (the visualisation firm,
   not a member of channel 1, cannot read it) and to channel 2.
5. A customer pays revenue; it is split by stake, rounding to the hospital.
6. The analytics firm stops sending heartbeats: past the timeout the visualisation firm terminates it; its stake is
   shared pro rata among the others and later channel content is sealed from it.
7. More revenue, everyone withdraws (the contract ends empty), the hospital closes the DAO and members rate each
   other.

:func:`run` plays it on ``chain`` with fresh accounts and contracts. No printing: every step is a
:class:`~datagora.scenarios.records.Step` passed to ``on_step``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.collaboration import BPS, Role
from datagora.domain.models import OrgStatus, TxResult
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import collaboration as service
from datagora.services import registry
from datagora.services.participant import Participant
from datagora.services.sample_data import write_diabetes_csv

StepHook = Callable[[Step], None]

HEARTBEAT_TIMEOUT = 600
"""Seconds without a heartbeat before a member may be terminated, in this story."""
FIRST_REVENUE = WEI + 7
"""Wei the customer pays first (the 7 wei do not divide by 10,000: they go to the hospital)."""
SECOND_REVENUE = WEI // 2
"""Wei paid after the termination."""


@dataclass(frozen=True)
class InfrastructureRequest:
    """What the hook for the infrastructure step receives: the contracts, the DAO, the JSON spec emitted in
    ``InfrastructureRequested``, the members' accounts by role label and the DSP's dataset path."""

    contracts: Contracts
    dao_id: int
    spec: dict[str, object]
    accounts: dict[str, LocalAccount]
    dataset: Path


InfrastructureHook = Callable[[InfrastructureRequest], str]
"""Starts the workload for the request and returns one line saying what ran (the lead plugs the Ansible workload
of the infrastructure capability in here)."""


@dataclass
class CollaborationDemo:
    """A run: its record, the contracts, the DAO id, the members' addresses by label, the participants (their
    keys and stores) and the channel store the members shared."""

    scenario: ScenarioResult
    contracts: Contracts
    dao_id: int
    members: dict[str, str]
    participants: dict[str, Participant]
    store: service.ChannelStore

    @property
    def ok(self) -> bool:
        return self.scenario.ok


def summarise(path: Path) -> dict[str, object]:
    """What the hospital computes on its own data for the channel: rows, mean disease progression by sex."""
    by_sex: dict[str, list[float]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_sex.setdefault(row["sex"], []).append(float(row["progression"]))
    return {
        "rows": sum(len(v) for v in by_sex.values()),
        "mean_progression_by_sex": {k: round(statistics.fmean(v), 2) for k, v in sorted(by_sex.items())},
    }


def run(
    chain: Chain,
    workdir: Path,
    *,
    fund_wei: int = 10 * WEI,
    on_step: StepHook = lambda s: None,
    on_infrastructure: InfrastructureHook | None = None,
) -> CollaborationDemo:
    """Play the story on ``chain`` (needs a chain whose time can be moved: the built-in one or Anvil) with files
    under ``workdir``. Raises ``ChainError`` / ``TransactionReverted`` on chain failures."""
    result = ScenarioResult("dao", "Data invested in a DAO with two value providers", "EMPTY")

    def step(actor: str, name: str, action: str, *txs: TxResult) -> None:
        record = Step(actor, name, action, tuple(txs))
        result.steps.append(record)
        on_step(record)

    labels = ("supervisor", "platform", "hospital", "analytics", "dashboards", "customer")
    people = {n: Participant(n, Account.create(), workdir / n) for n in labels}
    for p in people.values():
        chain.fund(p.address, fund_wei)
    hospital, analytics, visual = people["hospital"], people["analytics"], people["dashboards"]
    contracts = Contracts.deploy(
        chain, people["supervisor"].account, people["platform"].account, only=["Registry", "Collaboration"]
    )
    step("platform", "deploy", f"deployed the Registry and Collaboration ({contracts.collaboration.address})")
    for label, org in (("hospital", "Oujda Hospital"), ("analytics", "Atlas Analytics"), ("dashboards", "Rif Viz")):
        org_ref, _ = registry.register_organisation(contracts, people[label], org)
        registry.set_status(contracts, people["supervisor"].account, org_ref.id, OrgStatus.AUDITED)
    step("supervisor", "audit", "registered and audited the hospital, the analytics firm and the visualisation firm")

    dataset = write_diabetes_csv(hospital.home / "diabetes.csv")
    digest = hashlib.sha256(dataset.read_bytes()).hexdigest()
    terms = service.build_terms(
        role=Role.DSP,
        title="Diabetes progression, 442 patients",
        data=f"Ten baseline measurements and disease progression after one year (CSV, sha256 {digest[:16]}…)",
        service="Predictive analytics on the data, computed where the data lives",
        stake_bps=3_000,
    )
    offer_id, tx = service.post_offer(
        contracts, hospital.account, terms=terms, role=Role.DSP, stake_bps=3_000, heartbeat_timeout=HEARTBEAT_TIMEOUT
    )
    step("hospital", "offer", f"posted offer #{offer_id}: its diabetes table for analytics, 30 % to the partner", tx)
    tx = service.counter(contracts, analytics.account, offer_id, terms=terms, stake_bps=4_000)
    step("analytics", "counter", "asked for 40 %", tx)
    tx = service.counter(
        contracts, hospital.account, offer_id, terms=terms, stake_bps=3_500, counterparty=analytics.address
    )
    step("hospital", "counter 2", "offered 35 %", tx)
    dao_id, tx = service.accept(contracts, analytics.account, offer_id)
    step("analytics", "agree", f"accepted 35 %: DAO #{dao_id} formed, channel 1 = hospital + analytics", tx)

    spec = {
        "dao_id": dao_id,
        "workload": "progression-summary",
        "hosts": ["localhost"],
        "dataset_sha256": digest,
        "heartbeat_seconds": HEARTBEAT_TIMEOUT // 4,
    }
    tx = contracts.collaboration.request_infrastructure(hospital.account, dao_id, json.dumps(spec, sort_keys=True))
    step("hospital", "infrastructure", "asked for the workload's infrastructure (a JSON spec in an event)", tx)
    if on_infrastructure is not None:
        accounts = {n: people[n].account for n in ("hospital", "analytics", "dashboards")}
        line = on_infrastructure(InfrastructureRequest(contracts, dao_id, spec, accounts, dataset))
        step("infrastructure", "workload", line)

    join_terms = service.build_terms(
        role=Role.VP,
        title="Dashboards on the diabetes collaboration",
        data="The DAO's results (never the raw data)",
        service="Interactive dashboards for clinicians",
        stake_bps=2_000,
    )
    join_id, tx = service.post_offer(
        contracts, visual.account, terms=join_terms, role=Role.VP, stake_bps=2_000, dao_id=dao_id
    )
    step("dashboards", "ask to join", f"asked to join DAO #{dao_id} for 20 % (offer #{join_id})", tx)
    _, tx = service.accept(contracts, hospital.account, join_id)
    stakes = {m.account: m.stake_bps for m in contracts.collaboration.members(dao_id)}
    step(
        "hospital",
        "accept join",
        "accepted: channel 2 = hospital + analytics + visualisation; stakes now "
        f"{stakes[hospital.address] / 100:.2f} / {stakes[analytics.address] / 100:.2f} / "
        f"{stakes[visual.address] / 100:.2f} %",
        tx,
    )

    store = service.ChannelStore(workdir / "channels")
    summary = json.dumps(summarise(dataset), sort_keys=True).encode()
    ch1_post, txs = service.post_to_channel(contracts, store, hospital.account, dao_id, 1, summary)
    step("hospital", "post channel 1", "computed a summary on its own data and posted it encrypted to channel 1", *txs)
    ch2_post, txs = service.post_to_channel(
        contracts, store, hospital.account, dao_id, 2, b"Dashboard brief: progression by sex, no raw rows."
    )
    step("hospital", "post channel 2", "posted the dashboard brief encrypted to channel 2", *txs)
    visual_ch1 = service.read_channel(contracts, store, visual.private_key, dao_id, 1)
    analytics_ch1 = service.read_channel(contracts, store, analytics.private_key, dao_id, 1)
    step(
        "dashboards",
        "read channel 1",
        "sees channel 1's metadata but cannot decrypt it (not a member)"
        if visual_ch1 and visual_ch1[0].content is None
        else "READ channel 1 content it should not",
    )

    tx = service.pay(contracts, people["customer"].account, dao_id, FIRST_REVENUE)
    step("customer", "pay", f"paid {amount(FIRST_REVENUE)} (+7 wei of rounding to the hospital) to DAO #{dao_id}", tx)

    for label in ("hospital", "dashboards"):
        tx = contracts.collaboration.heartbeat(people[label].account, dao_id)
        step(label, f"heartbeat {label}", "its machine reported alive", tx)
    chain.advance_time(HEARTBEAT_TIMEOUT // 2)
    for label in ("hospital", "dashboards"):
        tx = contracts.collaboration.heartbeat(people[label].account, dao_id)
        step(label, f"heartbeat 2 {label}", "its machine reported alive again", tx)
    chain.advance_time(HEARTBEAT_TIMEOUT // 2 + 1)
    overdue = [m.account for m in service.overdue_members(contracts, dao_id)]
    tx = contracts.collaboration.terminate(visual.account, dao_id, analytics.address)
    step(
        "dashboards",
        "terminate",
        f"terminated the analytics firm: no heartbeat for more than {HEARTBEAT_TIMEOUT} s; its stake shared pro rata",
        tx,
    )
    late_post, txs = service.post_to_channel(
        contracts, store, hospital.account, dao_id, 2, b"Next quarter's plan, after the analytics firm left."
    )
    step("hospital", "post after leave", "posted to channel 2 under a fresh key the analytics firm never got", *txs)
    analytics_ch2 = {p.post_id: p for p in service.read_channel(contracts, store, analytics.private_key, dao_id, 2)}

    tx = service.pay(contracts, people["customer"].account, dao_id, SECOND_REVENUE)
    step("customer", "pay 2", f"paid {amount(SECOND_REVENUE)} more", tx)
    paid_out = 0
    for label in ("hospital", "analytics", "dashboards"):
        wei, tx = service.withdraw(contracts, people[label].account, dao_id)
        paid_out += wei
        step(label, f"withdraw {label}", f"withdrew {amount(wei)}", tx)
    tx = contracts.collaboration.close(hospital.account, dao_id)
    step("hospital", "close", f"closed DAO #{dao_id}", tx)
    tx = contracts.collaboration.rate(hospital.account, dao_id, analytics.address, 1)
    step("hospital", "rate", "rated the analytics firm 1/5 (abandoned the job)", tx)
    tx = contracts.collaboration.rate(visual.account, dao_id, hospital.address, 5)
    step("dashboards", "rate 2", "rated the hospital 5/5", tx)

    view = service.overview(contracts, dao_id)
    balance = chain.balance(contracts.collaboration.address)
    result.outcome = "EMPTY" if balance == 0 else f"{balance} wei left"
    result.checks += [
        Check("the analytics firm was the member overdue", overdue == [analytics.address]),
        Check("the remaining stakes sum to 10,000 basis points", sum(m.stake_bps for m in view.active) == BPS),
        Check("every wei paid in was withdrawn", paid_out == FIRST_REVENUE + SECOND_REVENUE),
        Check(
            "the analytics firm read channel 1",
            bool(analytics_ch1) and analytics_ch1[0].content == summary and analytics_ch1[0].post_id == ch1_post,
        ),
        Check("the visualisation firm could not read channel 1", bool(visual_ch1) and visual_ch1[0].content is None),
        Check(
            "the analytics firm still reads what was posted while it was a member",
            analytics_ch2[ch2_post].content is not None,
        ),
        Check("the analytics firm cannot read what was posted after it left", analytics_ch2[late_post].content is None),
    ]
    result.ids = {"dao": dao_id, "offer": offer_id}
    members = {n: people[n].address for n in ("hospital", "analytics", "dashboards", "customer")}
    return CollaborationDemo(result, contracts, dao_id, members, people, store)
