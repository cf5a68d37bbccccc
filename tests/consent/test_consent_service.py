"""The consent service end to end on the embedded chain (the shopping-cart paper's story, played once per module by
:mod:`datagora.scenarios.consent`): a consented access pays the customer and delivers data the partner checks
against the chain; another purpose, a revoked consent, an expired one and erased data are each refused on chain
with their own sentence and nothing is delivered; after erasure no transaction input, event or index row holds a
customer's name, e-mail or postal address."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select

from datagora.chain.client import EmbeddedChain
from datagora.domain.errors import AccessDenied, IntegrityError, NotFoundError, ValidationError
from datagora.domain.models import AccessRefusal
from datagora.domain.refusals import access_refusal_sentence
from datagora.index import EventIndexer, open_engine
from datagora.scenarios import consent as scenario
from datagora.services import consent, streams

DAY = 86_400


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> scenario.ConsentDemo:
    chain = EmbeddedChain()
    chain.fixed_gas = 8_000_000  # no gas estimation: the story takes ~40 transactions
    return scenario.run(chain, tmp_path_factory.mktemp("consent"))


@pytest.fixture
def index(demo: scenario.ConsentDemo) -> EventIndexer:
    engine = open_engine(demo.index_url)
    indexer = EventIndexer(demo.contracts, engine)
    indexer.sync()
    return indexer


def test_the_story_ends_as_the_paper_says(demo: scenario.ConsentDemo) -> None:
    failed = [c.description for c in demo.scenario.checks if not c.passed]
    assert not failed
    assert demo.scenario.outcome == "ERASED"
    alice = demo.customers[0]
    assert demo.contracts.consent.pending(alice.address) == scenario.REWARD
    assert demo.contracts.consent.deposit_of(demo.partner.address) == scenario.DEPOSIT - 2 * scenario.REWARD


def test_the_timeline_says_who_what_when_why_and_under_which_consent(
    demo: scenario.ConsentDemo, index: EventIndexer
) -> None:
    alice = demo.customers[0]
    timeline = consent.history(index.engine, subject=alice.address)
    access, other, revoked = timeline
    assert (access.kind, access.consumer, access.item_id, access.consent_id) == (
        "access",
        demo.partner.address,
        demo.scenario.ids["item"],
        demo.scenario.ids["consent"],
    )
    assert (access.category, access.purpose_label, access.reward) == ("purchase-history", "Marketing", scenario.REWARD)
    assert other.refusal == access_refusal_sentence(AccessRefusal.WRONG_PURPOSE)
    assert other.purpose == scenario.RESEARCH and other.reward == 0
    assert revoked.refusal == access_refusal_sentence(AccessRefusal.REVOKED)
    assert access.at <= other.at <= revoked.at and all(e.tx_hash.startswith("0x") for e in timeline)
    assert consent.rewards_over_time(timeline) == [(access.at, scenario.REWARD)]
    rows = consent.consents_of(index.engine, alice.address)
    assert [(r.consent_id, r.status(demo.contracts.chain.now())) for r in rows] == [(1, "revoked")]
    by_partner = consent.history(index.engine, consumer=demo.partner.address)
    assert len(by_partner) == 5 and sum(e.reward for e in by_partner) == 2 * scenario.REWARD


def test_no_personal_data_in_any_transaction_event_or_index_row(
    demo: scenario.ConsentDemo, index: EventIndexer, tmp_path: Path
) -> None:
    needles: list[str] = []
    for profile in demo.profiles:
        contact = profile["contact"]
        needles += [contact["name"], contact["email"], contact["address"]["streetAddress"]]
    assert len(needles) == 3 * len(demo.customers)
    w3 = demo.contracts.chain.w3
    haystacks: list[str] = []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            data = bytes(tx.get("input", tx.get("data", b"")))
            haystacks.append(data.decode("latin-1"))
            haystacks.append(data.hex())
    assert len(haystacks) > 2 * 30
    haystacks += [json.dumps(e.args, default=str) for e in demo.contracts.events()]
    rows = 0
    engine = create_engine(demo.index_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                haystacks.append(" ".join(str(v) for v in row))
                rows += 1
    engine.dispose()
    assert rows > 40
    # the scan does see what is there: each customer's pseudonymous key is in the inputs, events and rows
    assert any(demo.customers[0].address.lower() in h for h in haystacks)
    for needle in needles:
        for variant in (needle, needle.encode().hex()):
            assert not any(variant in h for h in haystacks), f"{needle!r} found on chain or in the index"


def test_erased_data_is_gone_and_never_delivered(demo: scenario.ConsentDemo, index: EventIndexer) -> None:
    bob = demo.customers[1]
    erased_item = demo.scenario.ids["erased_item"]
    assert demo.contracts.streams.item(erased_item).erased
    assert streams.data_key_of(demo.shop, bob.address, streams.PURCHASE_HISTORY) is None
    assert streams.indexed_item(index.engine, erased_item).erased
    paid_before = next(
        e for e in consent.history(index.engine, subject=bob.address) if e.kind == "access"
    )  # accessed before the erasure
    with pytest.raises(AccessDenied, match="erased this data"):
        consent.deliver(demo.contracts, demo.shop, paid_before.tx_hash)
    # his other categories are untouched
    assert streams.data_key_of(demo.shop, bob.address, streams.CONTACT) is not None
    # erasing again changes nothing on chain
    again = consent.erase(demo.contracts, demo.shop, bob.address, streams.PURCHASE_HISTORY)
    assert again.txs == [] and not again.key_destroyed and again.item_ids == [erased_item]


def test_a_refused_request_delivers_nothing(demo: scenario.ConsentDemo, index: EventIndexer) -> None:
    refused = consent.request(
        demo.contracts, index.engine, demo.partner.account, demo.scenario.ids["item"], scenario.MARKETING
    )
    assert refused.refusal is AccessRefusal.REVOKED and refused.reward == 0
    assert [e.name for e in refused.tx.events] == ["AccessRefused"]
    with pytest.raises(AccessDenied, match="withdrawn this consent"):
        consent.deliver(demo.contracts, demo.shop, refused.tx.tx_hash)
    first_access = consent.history(index.engine, subject=demo.customers[0].address)[0].tx_hash
    with pytest.raises(NotFoundError, match="published by another node"):
        consent.deliver(demo.contracts, demo.partner, first_access)  # the partner's node holds no item
    with pytest.raises(NotFoundError, match="no transaction"):
        consent.deliver(demo.contracts, demo.shop, "0x" + "00" * 32)


def test_expired_consent_is_refused_and_tampered_delivery_is_caught(
    demo: scenario.ConsentDemo, index: EventIndexer
) -> None:
    chain, c = demo.contracts.chain, demo.contracts
    carol = demo.customers[2]
    org = c.registry.organisation_of(demo.partner.address)
    snap = chain.snapshot()
    try:
        consent.grant(c, carol.account, streams.DEMOGRAPHICS, org, "dpv:Marketing", chain.now() + DAY, 10**18)
        index.sync()
        item = streams.items(index.engine, key=streams.item_key(carol.address, streams.DEMOGRAPHICS))[-1]
        ok = consent.request(c, index.engine, demo.partner.account, item.item_id, "Marketing")
        delivery = consent.deliver(c, demo.shop, ok.tx.tx_hash)
        document = json.loads(consent.receive(c, demo.partner, delivery))
        assert document["@type"] == "Person" and document["identifier"] == carol.address
        assert "jobTitle" in document and "email" not in document
        forged = dataclasses.replace(delivery, envelope=delivery.envelope[:-1] + bytes([delivery.envelope[-1] ^ 1]))
        with pytest.raises(IntegrityError, match="hash differs from the chain"):
            consent.receive(c, demo.partner, forged)
        chain.advance_time(2 * DAY)
        late = consent.request(c, index.engine, demo.partner.account, item.item_id, "Marketing")
        assert late.refusal is AccessRefusal.EXPIRED
        assert late.sentence == "This consent has expired: nothing was shared. The customer may give a new one."
    finally:
        chain.revert(snap)


def test_grant_refuses_bad_terms_before_any_transaction(demo: scenario.ConsentDemo) -> None:
    c, carol = demo.contracts, demo.customers[2]
    org = c.registry.organisation_of(demo.partner.address)
    later = c.chain.now() + DAY
    with pytest.raises(ValidationError, match="unknown purpose 'selling my soul'"):
        consent.grant(c, carol.account, streams.CONTACT, org, "selling my soul", later, 0)
    with pytest.raises(ValidationError, match="unknown data category 'dreams'"):
        consent.grant(c, carol.account, "dreams", org, "Marketing", later, 0)
    with pytest.raises(ValidationError, match="expiry must be in the future"):
        consent.grant(c, carol.account, streams.CONTACT, org, "Marketing", c.chain.now() - 1, 0)
    assert c.consent.latest_consent(carol.address, streams.CONTACT, org, scenario.MARKETING) == 0


def test_purposes_are_dpv_terms_with_plain_labels() -> None:
    listed = consent.purposes()
    assert len(listed) >= 10 and all(p.iri.startswith("https://w3id.org/dpv#") for p in listed)
    assert consent.check_purpose("dpv:Marketing") == consent.check_purpose("marketing") == scenario.MARKETING
    assert consent.purpose_label(scenario.RESEARCH) == "Research and development"
