"""Market scenarios where someone cheats or walks away, each caught with the outcome Wu et al. state (section
IV.A): fabricated data, a lying buyer, the wrong file sent, no delivery, no confirmation, an illegal resale; and
the final settle-up after which the Market must hold nothing."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

from datagora.domain.errors import AccessDenied, NoveltyRefused, TamperedError, TransactionReverted
from datagora.domain.models import ETHER, OrderState, Outcome
from datagora.scenarios.market.stage import DAY, MarketStage, scenario
from datagora.scenarios.records import WEI, amount
from datagora.services import disputes, market, publishing
from datagora.services.misconduct import deliver_other_file, list_on_chain, open_unchecked, seal_for
from datagora.services.sample_data import write_photo, write_pirated_copy

REFUSED = "REFUSED"
ESCROW_EMPTY = "ESCROW EMPTY"


@scenario("fabricated", "The seller sends fake data", Outcome.FOR_BUYER.name)
def fabricated(stage: MarketStage) -> str:
    """mallory delivers another photo and, in the dispute, "re-uploads" it again: the platform finds it is not
    the dataset, refunds the buyer and gives it mallory's collateral."""
    mallory, buyer, plat = stage.p("mallory"), stage.p("buyer"), stage.p("platform")
    listing_id = stage.list_fixed("mallory", "rocket", WEI // 5)
    order_id = stage.buy("buyer", listing_id)
    owed_before = stage.owed("buyer")
    fake = write_photo(mallory.home / "fake" / "moon.png", "moon")
    _, tx = deliver_other_file(stage.c, mallory, order_id, fake, mallory.home / "fake")
    stage.step("mallory", "deliver", "sent a different photo (the Moon) to the buyer and recorded its hash", tx)
    stage.relay_sent("mallory", order_id)
    got = stage.download("buyer", order_id)
    out = buyer.paths.received / f"order-{order_id}.png"
    try:
        market.receive(stage.c, buyer, order_id, got, out)
        note = "the data matched the published hash?!"
    except TamperedError as exc:
        note = str(exc)
    open_unchecked(buyer, got, out)
    stage.step("buyer", "receive", f"downloaded and decrypted the delivery: {note}")
    stage.relay_received("buyer", order_id, _sha256(got), publishing.fingerprint_of(out), " of what it got")
    checked = stage.platform_check(order_id)
    if checked.action != "dispute":
        return f"the platform's check said {checked.action}"
    reupload = seal_for(stage.c, plat.address, fake, mallory.home / "fake" / f"reupload-{order_id}.dge")
    stage.step("mallory", "re-upload", "re-uploaded 'its data' for the platform to judge: the Moon again")
    stage.check(
        "the platform found the fingerprints far apart",
        checked.similarity is not None and checked.similarity < 0.5,
    )
    ruling = disputes.arbitrate(stage.c, plat, stage.attestor, stage.board, order_id, reupload)
    stage.check(
        "the platform judged the seller dishonest: the re-upload is not the dataset",
        (ruling.seller_honest, ruling.content_match) == (False, False),
    )
    stage.step(
        "platform",
        "arbitrate",
        f"the re-upload is not the published dataset (similarity {ruling.similarity:.2f}): the buyer is refunded "
        "and gets the seller's collateral",
        ruling.tx,
    )
    listing = stage.c.market.listing(listing_id)
    stage.check(
        f"the buyer is owed the price and both collaterals ({amount(listing.price + 2 * listing.collateral)})",
        stage.owed("buyer") - owed_before == listing.price + 2 * listing.collateral,
    )
    stage.check(f"dataset #{listing.token_id} back with mallory", stage.owns("mallory", listing.token_id))
    return stage.outcome_of(ruling.tx)


def _sha256(path: Path) -> bytes:
    """SHA-256 of the ciphertext a buyer received (what its 'received' note commits to)."""
    return hashlib.sha256(path.read_bytes()).digest()


@scenario("lying_buyer", "The buyer lies about what it got", Outcome.FOR_SELLER.name)
def lying_buyer(stage: MarketStage) -> str:
    """dave receives the real data but reports another photo's fingerprint: the seller's re-upload matches the
    dataset, so the sale completes and dave loses its collateral to the seller."""
    seller, dave, plat = stage.p("seller"), stage.p("dave"), stage.p("platform")
    listing_id = stage.list_fixed("seller", "ihc", WEI // 10)
    order_id = stage.buy("dave", listing_id)
    owed_before = stage.owed("seller")
    delivery = stage.deliver("seller", order_id)
    stage.relay_sent("seller", order_id)
    stage.receive("dave", order_id, "ihc")
    decoy = write_photo(dave.home / "decoy" / "camera.png", "camera")
    stage.relay_received(
        "dave", order_id, delivery.delivery_hash, publishing.fingerprint_of(decoy), " of another photo (a lie)"
    )
    checked = stage.platform_check(order_id)
    if checked.action != "dispute":
        return f"the platform's check said {checked.action}"
    reupload = disputes.reupload_for_arbitration(stage.c, seller, order_id, seller.paths.outbox / "reupload.dge")
    stage.step("seller", "re-upload", "re-uploaded its data for the platform to judge")
    ruling = disputes.arbitrate(stage.c, plat, stage.attestor, stage.board, order_id, reupload)
    stage.check(
        "the platform judged the seller honest: the re-upload is the dataset",
        (ruling.seller_honest, ruling.content_match) == (True, True),
    )
    stage.step(
        "platform",
        "arbitrate",
        "the re-upload is the published dataset: the sale completes, the platform passes the data to the buyer "
        "and the buyer's collateral goes to the seller",
        ruling.tx,
    )
    listing = stage.c.market.listing(listing_id)
    fee = listing.price * stage.c.market.order(order_id).fee_bps // 10_000
    stage.check(
        "the seller is owed the price less the fee, and both collaterals",
        stage.owed("seller") - owed_before == listing.price - fee + 2 * listing.collateral,
    )
    stage.check(f"dataset #{listing.token_id} now owned by dave", stage.owns("dave", listing.token_id))
    stage.check_platform_copy("dave", ruling, listing.token_id)
    return stage.outcome_of(ruling.tx)


@scenario("wrong_file", "The seller sends the wrong file", Outcome.REDELIVERED.name)
def wrong_file(stage: MarketStage) -> str:
    """The seller sends another photo by mistake but holds the real one: the buyer shows the platform what it got
    (it discloses the delivery's data key); the platform passes on the real data, the seller is paid and its
    collateral goes to the buyer."""
    seller, buyer, plat = stage.p("seller"), stage.p("buyer"), stage.p("platform")
    listing_id = stage.list_fixed("seller", "camera", WEI // 10)
    order_id = stage.buy("buyer", listing_id)
    owed_before = stage.owed("buyer")
    wrong = write_photo(seller.home / "mixup" / "moon.png", "moon")
    _, tx = deliver_other_file(stage.c, seller, order_id, wrong, seller.home / "mixup")
    stage.step("seller", "deliver", "sent the wrong photo (the Moon) by mistake and recorded its hash", tx)
    stage.relay_sent("seller", order_id)
    got = stage.download("buyer", order_id)
    out = open_unchecked(buyer, got, buyer.paths.received / f"order-{order_id}-wrong.png")
    stage.relay_received("buyer", order_id, _sha256(got), publishing.fingerprint_of(out), " of what it got")
    checked = stage.platform_check(order_id)
    if checked.action != "dispute":
        return f"the platform's check said {checked.action}"
    reupload = disputes.reupload_for_arbitration(stage.c, seller, order_id, seller.paths.outbox / "fix.dge")
    stage.step("seller", "re-upload", "re-uploaded its copy of the dataset for the platform to judge")
    key = disputes.disclose_received_key(stage.c, buyer, order_id, got)
    stage.step("buyer", "disclose key", "showed the platform the key of what it received (it opens that delivery only)")
    stage.check(
        "the platform found the fingerprints far apart",
        checked.similarity is not None and checked.similarity < 0.5,
    )
    ruling = disputes.arbitrate(stage.c, plat, stage.attestor, stage.board, order_id, reupload, disclosed_key=key)
    stage.check(
        "the platform found the seller holds the dataset but sent something else",
        (ruling.content_match, ruling.similarity, ruling.transmitted_ok) == (True, 1.0, False),
    )
    stage.step(
        "platform",
        "arbitrate",
        "the seller holds the real dataset but sent something else: the platform passes the real data to the "
        "buyer, the seller is paid and its collateral goes to the buyer",
        ruling.tx,
    )
    listing = stage.c.market.listing(listing_id)
    stage.check(
        f"the buyer is owed both collaterals ({amount(2 * listing.collateral)})",
        stage.owed("buyer") - owed_before == 2 * listing.collateral,
    )
    stage.check_platform_copy("buyer", ruling, listing.token_id)
    return stage.outcome_of(ruling.tx)


@scenario("no_delivery", "The seller never delivers", Outcome.NOT_DELIVERED.name)
def no_delivery(stage: MarketStage) -> str:
    """mallory is paid and stays silent: after the delivery deadline the platform's periodic check refunds carol
    with mallory's collateral."""
    listing_id = stage.list_fixed("mallory", "iris", WEI // 20)
    order_id = stage.buy("carol", listing_id)
    owed_before = stage.owed("carol")
    stage.step("mallory", "silence", "never delivers")
    view = stage.board.check(order_id)
    stage.check(
        "the platform sees a payment and no transfer",
        (view.order.state, view.relayed, view.entries) == (OrderState.PAID, None, []),
    )
    stage.check(
        "nothing to enforce before the deadline",
        all(
            a.order_id != order_id
            for a in disputes.enforce_deadlines(stage.c, stage.p("platform"), first_order=order_id)
        ),
    )
    stage.chain.advance_time(DAY + 1)
    stage.step("chain", "time", "one day passes: the delivery deadline is over")
    actions = disputes.enforce_deadlines(stage.c, stage.p("platform"), first_order=order_id)
    done = [a for a in actions if a.order_id == order_id]
    if not done:
        return "no action"
    stage.step("platform", "refund", "its periodic check found the order paid but not delivered: refunded", done[0].tx)
    listing = stage.c.market.listing(listing_id)
    stage.check(
        f"carol is owed the price and both collaterals ({amount(listing.price + 2 * listing.collateral)})",
        stage.owed("carol") - owed_before == listing.price + 2 * listing.collateral,
    )
    return stage.outcome_of(done[0].tx)


@scenario("no_confirm", "The buyer never confirms", Outcome.RELEASED.name)
def no_confirm(stage: MarketStage) -> str:
    """dave gets the data and stays silent: after the confirmation deadline the platform's periodic check pays
    the seller, with dave's collateral."""
    listing_id = stage.list_fixed("seller", "diabetes", WEI // 20)
    order_id = stage.buy("dave", listing_id)
    owed_before = stage.owed("seller")
    stage.deliver("seller", order_id)
    stage.relay_sent("seller", order_id)
    stage.receive("dave", order_id, "diabetes")
    stage.step("dave", "silence", "keeps the data and never confirms")
    stage.refused(
        "seller",
        "release early",
        "the seller tried to take the payment before the deadline",
        partial(market.release, stage.c, stage.p("seller"), order_id),
        "market: confirm deadline not passed",
    )
    stage.check(
        "nothing to enforce before the deadline",
        all(
            a.order_id != order_id
            for a in disputes.enforce_deadlines(stage.c, stage.p("platform"), first_order=order_id)
        ),
    )
    stage.chain.advance_time(DAY + 1)
    stage.step("chain", "time", "one day passes: the confirmation deadline is over")
    actions = disputes.enforce_deadlines(stage.c, stage.p("platform"), first_order=order_id)
    done = [a for a in actions if a.order_id == order_id]
    if not done:
        return "no action"
    stage.step(
        "platform",
        "release",
        "its periodic check found the order delivered but not confirmed: paid the seller",
        done[0].tx,
    )
    listing = stage.c.market.listing(listing_id)
    fee = listing.price * stage.c.market.order(order_id).fee_bps // 10_000
    stage.check(
        "the seller is owed the price less the fee, and both collaterals",
        stage.owed("seller") - owed_before == listing.price - fee + 2 * listing.collateral,
    )
    stage.check(f"dataset #{listing.token_id} now owned by dave", stage.owns("dave", listing.token_id))
    return stage.outcome_of(done[0].tx)


@scenario("resale", "Selling what was sold", REFUSED)
def resale(stage: MarketStage) -> str:
    """After the broker sale the seller tries to sell the photo again three ways: through its node, straight to
    the Market contract, and as an edited copy. All three are refused."""
    seller = stage.p("seller")
    token_id = stage.tokens["astronaut"]
    stage.current.ids["token"] = token_id
    refusals = 0
    try:
        market.list_dataset(stage.c, seller, token_id, WEI)
        stage.step("seller", "relist", f"listed dataset #{token_id} again?!")
    except AccessDenied as exc:
        refusals += 1
        stage.step("seller", "relist", f"tried to sell dataset #{token_id} again after selling it: refused ({exc})")
    try:
        list_on_chain(stage.c, seller, token_id, WEI, DAY)
        stage.step("seller", "relist on chain", "the Market accepted the listing?!")
    except TransactionReverted as exc:
        refusals += 1
        stage.step("seller", "relist on chain", f"tried the Market contract directly: refused ({exc.reason})")
    (seller.home / "pirated").mkdir(parents=True, exist_ok=True)
    pirated = write_pirated_copy(stage.files["astronaut"], seller.home / "pirated" / "portrait.jpg")
    try:
        publishing.publish(stage.c, seller, publishing.prepare(seller, pirated, name="New portrait"), stage.attestor)
        stage.step("seller", "publish copy", "published an edited copy?!")
    except NoveltyRefused as exc:
        refusals += 1
        stage.step("platform", "refuse copy", f"refused to accept a cropped, brightened copy as new data ({exc})")
    return REFUSED if refusals == 3 else f"{refusals} of 3 refused"


@scenario("settle_up", "Everyone withdraws", ESCROW_EMPTY)
def settle_up(stage: MarketStage) -> str:
    """Everyone withdraws what the Market still owes it, in ether and DGD; the Market must then hold nothing."""
    for token in (ETHER, stage.token):
        for label in stage.people:
            if stage.owed(label, token) > 0:
                stage.withdraw(label, token)
    held = market.sale_contracts(stage.c)
    escrow = (
        market.held_in_escrow(stage.c, ETHER),
        market.held_in_escrow(stage.c, stage.token),
        sum(stage.chain.balance(b.address) for b in held),
        sum(stage.c.tokens.balance(stage.token, b.address) for b in held),
    )
    e_eth, e_tok, b_eth, b_tok = escrow
    stage.step(
        "market",
        "escrow",
        f"holds {amount(e_eth)} and {amount(e_tok, 'DGD')} in escrow; its balance is {b_eth} wei and {b_tok} DGD units",
    )
    return ESCROW_EMPTY if escrow == (0, 0, 0, 0) else "ESCROW NOT EMPTY"
