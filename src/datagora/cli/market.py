"""The market: listing a dataset (fixed price, negotiation, auction), buying, delivering, receiving, confirming,
withdrawing; offers and bids; the account's orders with the next step; the platform's market parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import (
    DatagoraTyper,
    ForceOption,
    check_input_file,
    check_output_file,
    console,
    err,
    print_done,
    session,
)
from datagora.domain.errors import DatagoraError, ValidationError
from datagora.domain.models import ETHER, Pricing, SaleKind

SELL = "Selling data"
BUY = "Buying data"
START = "Start here"
PLATFORM = "Platform"

app = DatagoraTyper()
market_app = DatagoraTyper(help="The market's fees and dispute window, set by the platform.")
app.add_typer(market_app, name="market", rich_help_panel=PLATFORM)

AMOUNT_HELP = "Ether (0.5) or the smallest unit with a suffix (500000wei); an ERC-20 listing counts in its units."
Amount = Annotated[str, typer.Argument(help="Ether (0.5) or the smallest unit with a suffix (500000wei).")]
_PRICING_WORDS = {
    Pricing.FIXED: "for",
    Pricing.NEGOTIATED: "for negotiation, asking",
    Pricing.AUCTION: "at auction, reserve",
}


def token_option(text: str | None) -> str:
    """An ERC-20 address from ``--token`` (EIP-55), or the ether marker (the zero address) when absent.
    ``ValueError`` when it is not an address."""
    if text is None:
        return ETHER
    from eth_utils.address import is_address, to_checksum_address

    if not is_address(text):
        raise ValueError(f"not an address: {text!r}")
    return str(to_checksum_address(text))


# -- listing -------------------------------------------------------------------------------------------------


@app.command("list", rich_help_panel=SELL)
def list_(
    token_id: Annotated[int, typer.Argument(help="The dataset's id (from `datagora publish` or `datagora search`).")],
    price: Annotated[
        str | None,
        typer.Option(
            help="Fixed price; the asking price with --negotiable; the reserve with --auction. " + AMOUNT_HELP
        ),
    ] = None,
    collateral: Annotated[
        str | None, typer.Option(help="Deposit each party posts (default: 100 % of the price). " + AMOUNT_HELP)
    ] = None,
    token: Annotated[str | None, typer.Option(help="ERC-20 to be paid in (default: ether).")] = None,
    negotiable: Annotated[bool, typer.Option("--negotiable", help="Take offers instead of a fixed price.")] = False,
    auction: Annotated[bool, typer.Option("--auction", help="Sell by English auction.")] = False,
    reserve: Annotated[str | None, typer.Option(help="Auction: lowest acceptable bid. " + AMOUNT_HELP)] = None,
    min_increment: Annotated[
        str | None, typer.Option(help="Auction: smallest raise over the highest bid. " + AMOUNT_HELP)
    ] = None,
    duration: Annotated[int, typer.Option(help="Auction: seconds it runs.")] = 86_400,
    delivery_window: Annotated[int, typer.Option(help="Seconds to deliver after payment.")] = 86_400,
    confirm_window: Annotated[int, typer.Option(help="Seconds to confirm after delivery.")] = 86_400,
    use_right: Annotated[
        bool, typer.Option("--use-right", help="Sell use-rights per query instead (the seller keeps the dataset).")
    ] = False,
    price_per_query: Annotated[
        str | None, typer.Option(help="Use-right: price of one query (or --price). " + AMOUNT_HELP)
    ] = None,
    max_queries: Annotated[int, typer.Option(help="Use-right: most queries one order may buy.")] = 100,
    usage_window: Annotated[int, typer.Option(help="Use-right: seconds an order's queries stay usable.")] = 30 * 86_400,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Use-right: W3C ODRL policy (JSON-LD file) the node enforces; default: aggregates only (count, sum, "
            "avg) over groups of at least 5 rows, no raw rows, differentially private answers."
        ),
    ] = None,
    exact_answers: Annotated[
        bool,
        typer.Option(
            "--exact-answers",
            help="Use-right, default policy: answer exactly instead of with differential privacy (a buyer can then "
            "work out single people's values).",
        ),
    ] = False,
) -> None:
    """Offer the ownership of dataset TOKEN_ID: at a fixed price, for negotiation (--negotiable) or by English
    auction (--auction). The seller posts its collateral with the listing. With --use-right, sell queries on it
    instead: buyers prepay queries the seller's node answers under a usage policy whose hash goes on chain.

    Example: datagora list 1 --price 0.5 -a seller"""
    from datagora.services import market

    if use_right:
        if negotiable or auction or collateral is not None or reserve is not None or min_increment is not None:
            raise ValidationError("--use-right sells queries at a fixed price per query, without collateral")
        if (price is None) == (price_per_query is None):
            raise ValidationError("give the price of one query once: --price-per-query (or --price)")
        from datagora.cli.use_rights import list_use_right

        list_use_right(
            token_id,
            units.parse_amount(str(price_per_query or price)),
            max_queries=max_queries,
            usage_window=usage_window,
            policy_file=policy,
            token=token,
            exact_answers=exact_answers,
        )
        return
    if price_per_query is not None or policy is not None or exact_answers:
        raise ValidationError("--price-per-query, --policy and --exact-answers are for --use-right")
    if negotiable and auction:
        raise ValidationError("choose one of --negotiable and --auction")
    if not auction and (reserve is not None or min_increment is not None):
        raise ValidationError("--reserve and --min-increment are for --auction")
    if auction:
        if reserve is not None and price is not None:
            raise ValidationError("give the auction's reserve once: --reserve or --price")
        if reserve is None and price is None:
            raise ValidationError("give the auction's reserve: --reserve")
        if min_increment is None:
            raise ValidationError("--auction needs --min-increment")  # the rest: market.OwnershipTerms
    elif price is None:
        raise ValidationError("give the price: --price")
    terms = market.OwnershipTerms(
        Pricing.AUCTION if auction else Pricing.NEGOTIATED if negotiable else Pricing.FIXED,
        units.parse_amount(str(reserve if auction and reserve is not None else price)),
        delivery_window=delivery_window,
        confirm_window=confirm_window,
        collateral=None if collateral is None else units.parse_amount(collateral),
        payment_token=token_option(token),
        min_increment=units.parse_amount(str(min_increment)) if auction and min_increment is not None else None,
        duration=duration if auction else None,
    )
    s = session()
    contracts = s.contracts()
    _check_listing_funds(contracts, s.address(), token_id, terms.price, terms.collateral, terms.payment_token)
    listing_id, txs = market.list_ownership(contracts, s.participant(), token_id, terms)
    listing = contracts.market.listing(listing_id)
    how = _PRICING_WORDS[listing.pricing]
    for tx in txs[:-1]:
        nft = any(e.name == "ApprovalForAll" for e in tx.events)
        print_done("approved the market for data NFTs" if nft else "approved the market to take the collateral", tx)
    print_done(
        f"listing #{listing_id}: dataset #{token_id} {how} "
        f"{units.money(contracts, listing.price, listing.payment_token)}, "
        f"collateral {units.money(contracts, listing.collateral, listing.payment_token)}",
        txs[-1],
    )


def _check_listing_funds(
    contracts: Any, address: str, token_id: int, price: int, collateral: int | None, payment_token: str
) -> None:
    """The seller pays the management fee in ether and posts the collateral (default: the price)."""
    from datagora.services import accounts, market

    deposit = price * market.DEFAULT_COLLATERAL_BPS // 10_000 if collateral is None else collateral
    fee = contracts.market.management_fee()
    if int(payment_token, 16) == 0:
        parts = f"{units.ether(deposit)} collateral" + (f" + {units.ether(fee)} management fee" if fee else "")
        accounts.required_funds(contracts, address, deposit + fee, f"listing dataset {token_id}", parts)
    else:
        if fee:
            accounts.required_funds(contracts, address, fee, f"listing dataset {token_id}", "management fee")
        accounts.required_funds(contracts, address, deposit, f"listing dataset {token_id}", "collateral", payment_token)


# -- buying and settling -------------------------------------------------------------------------------------


@app.command(rich_help_panel=BUY)
def buy(
    listing_id: Annotated[int, typer.Argument(help="The listing's id (see `datagora search`).")],
    value: Annotated[
        str | None, typer.Option(help="Ether to send (default: the price plus the collateral; 0 for an ERC-20).")
    ] = None,
) -> None:
    """Pay the price and the buyer's collateral into escrow for a fixed-price listing (an ERC-20 listing's token
    is approved first). The collateral comes back when the sale completes.

    Example: datagora buy 1 -a buyer"""
    from datagora.services import accounts, market

    sent = None if value is None else units.parse_amount(value)
    s = session()
    contracts = s.contracts()
    listing = contracts.market.listing(listing_id)
    if sent is None and listing.kind == SaleKind.OWNERSHIP:

        def money(n: int) -> str:
            return units.money(contracts, n, listing.payment_token)

        accounts.required_funds(
            contracts,
            s.address(),
            listing.price + listing.collateral,
            f"buying listing {listing_id}",
            f"{money(listing.price)} price + {money(listing.collateral)} collateral",
            listing.payment_token,
        )
    order_id, tx = market.buy(contracts, s.participant(), listing_id, sent)
    order = contracts.market.order(order_id)
    print_done(
        f"order #{order_id} paid into escrow: {units.money(contracts, order.amount, listing.payment_token)} plus "
        f"{units.money(contracts, listing.collateral, listing.payment_token)} collateral; the seller delivers by "
        f"{units.when(order.deadline)}",
        tx,
    )


@app.command(rich_help_panel=SELL)
def deliver(
    order_id: Annotated[int, typer.Argument(help="The paid order to deliver.")],
    out: Annotated[Path, typer.Option(help="Folder to write the ciphertext for the buyer into.")] = Path("."),
    force: ForceOption = False,
) -> None:
    """Encrypt the dataset to the buyer's key, write it as ORDER-ID's ciphertext for the buyer and commit its
    hash on chain.

    Example: datagora deliver 1 --out outbox -a seller"""
    from datagora.services import market

    s = session()
    s.require_rpc_url()
    check_output_file(out / f"order-{order_id}.dge", force)
    contracts = s.contracts()
    delivery = market.deliver(contracts, s.participant(), order_id, out_dir=out)
    print_done(f"delivered order #{order_id}: {delivery.path}", delivery.tx)


@app.command(rich_help_panel=BUY)
def receive(
    order_id: Annotated[int, typer.Argument(help="The delivered order.")],
    ciphertext: Annotated[Path, typer.Argument(help="The file the seller delivered (order-N.dge).")],
    out: Annotated[Path, typer.Option(help="Where to write the decrypted dataset.")],
    force: ForceOption = False,
) -> None:
    """Check a delivered ciphertext against the hash on chain and decrypt it (then `datagora confirm`).

    Example: datagora receive 1 outbox/order-1.dge --out data.csv -a buyer"""
    from datagora.services import market

    s = session()
    s.require_rpc_url()
    check_input_file(ciphertext, "ciphertext")
    check_output_file(out, force)
    contracts = s.contracts()
    rec = market.receive(contracts, s.participant(), order_id, ciphertext, out)
    print_done(f"{rec.path} ({units.size(rec.size)}), sha256 {rec.content_hash.hex()} matches Catalog")


@app.command(rich_help_panel=BUY)
def fetch(
    order_id: Annotated[int, typer.Argument(help="The delivered order.")],
    node_url: Annotated[
        str, typer.Option("--from", help="URL of the seller's node (or the platform's, with --relay).")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the decrypted dataset.")],
    relay: Annotated[bool, typer.Option(help="Download from the platform's relay instead of the seller.")] = False,
    force: ForceOption = False,
) -> None:
    """Download a delivered ciphertext from a node over HTTP (signed in as the buyer), with a progress bar; an
    interrupted download resumes where it stopped. Then check and decrypt it like `receive`.

    Example: datagora fetch 1 --from http://127.0.0.1:8701 --out data.csv -a buyer"""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from datagora.api.client import NodeClient, RemoteError
    from datagora.services import market

    s = session()
    s.require_rpc_url()
    check_output_file(out, force)
    contracts = s.contracts()
    buyer = s.participant()
    with (
        NodeClient(node_url, buyer.account) as client,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,  # a bar only for a person watching
        ) as bar,
    ):
        task = bar.add_task(f"order #{order_id}", total=None)

        def show(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            rec = market.fetch_and_receive(contracts, buyer, order_id, client, out, from_relay=relay, progress=show)
        except RemoteError as exc:
            if exc.status == 0:
                raise
            raise DatagoraError(f"download failed ({exc}); run the same command again to resume") from exc
    print_done(f"{rec.path} ({units.size(rec.size)}), sha256 {rec.content_hash.hex()} matches Catalog")


_ORDER_ACTIONS = {
    "confirm": (
        BUY,
        "Confirm receipt: the seller and the platform are paid, the dataset's token moves to the buyer and both "
        "collaterals become withdrawable.\n\nExample: datagora confirm 1 -a buyer",
    ),
    "refund": (
        "Disputes and deadlines",
        "Refund an order the seller did not deliver by its deadline.\n\nExample: datagora refund 1 -a buyer",
    ),
    "release": (
        "Disputes and deadlines",
        "Release to the seller an order the buyer did not confirm by its deadline.\n\n"
        "Example: datagora release 1 -a seller",
    ),
}


def _order_action(action: str) -> Any:
    def command(order_id: Annotated[int, typer.Argument(help="The order.")]) -> None:
        from datagora.services import market

        s = session()
        contracts = s.contracts()
        tx = getattr(market, action)(contracts, s.participant(), order_id)
        print_done(f"{action} order #{order_id}", tx)

    command.__doc__ = _ORDER_ACTIONS[action][1]
    command.__name__ = action
    return command


for _action, (_panel, _doc) in _ORDER_ACTIONS.items():
    app.command(_action, rich_help_panel=_panel)(_order_action(_action))


@app.command(rich_help_panel=BUY)
def rate(
    order_id: Annotated[int, typer.Argument(help="A completed order of yours.")],
    score: Annotated[int, typer.Argument(help="1 (worst) to 5 (best).")],
) -> None:
    """Rate the other party of a completed order (the buyer rates the seller and the other way round); not after
    a refund, nor within one organisation.

    Example: datagora rate 1 5 -a buyer"""
    from datagora.services import reputation

    s = session()
    rated, tx = reputation.rate_counterparty(s.contracts(), s.participant(), order_id, score)
    print_done(f"rated order #{order_id} {score}/5 (the other party, {rated})", tx)


@app.command("reputation", rich_help_panel=BUY, account=False)
def reputation_show(
    address: Annotated[str, typer.Argument(help="Account address (0x…) whose ratings to show.")],
) -> None:
    """Show an account's average rating beside the number of rated orders it rests on. No password needed.

    Example: datagora reputation 0x1234…abcd"""
    from datagora.services import reputation

    average, count = reputation.reputation_of(session().contracts(), address)
    if average is None:
        console.print(f"{address}: never rated", highlight=False)
    else:
        rated = "order" if count == 1 else "orders"
        console.print(f"{address}: {average:.2f}/5 over {count} rated {rated}", highlight=False)


@app.command(rich_help_panel=START)
def withdraw(
    token: Annotated[str | None, typer.Option(help="ERC-20 to withdraw (default: ether).")] = None,
) -> None:
    """Withdraw everything the market owes the account (sales, returned collateral, refunds, queries answered),
    in ether or an ERC-20: one transaction per sale contract that owes something. `datagora balance` shows what
    is withdrawable.

    Example: datagora withdraw -a seller"""
    from datagora.services import market

    payment_token = token_option(token)
    s = session()
    contracts = s.contracts()
    if market.owed_to(contracts, s.address(), payment_token) == 0:
        raise ValidationError(f"nothing to withdraw for {s.address()}")
    amount, txs = market.withdraw_all(contracts, s.participant(), payment_token)
    for tx in txs[:-1]:
        print_done("claimed", tx)
    print_done(f"withdrew {units.money(contracts, amount, payment_token, exact=True)}", txs[-1])


@app.command(rich_help_panel=START, signs=False)
def orders(
    show_all: Annotated[bool, typer.Option("--all", help="Also list completed and refunded orders.")] = False,
    limit: Annotated[int, typer.Option(help="Read back at most this many orders, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per order.")] = False,
) -> None:
    """The account's orders, as buyer and as seller: their state, the amount, the deadline and the next step to
    take (with the command). Reads the chain only: no password.

    Example: datagora orders -a buyer"""
    from datagora.services import accounts

    s = session()
    contracts = s.contracts()
    address = s.address()
    found = accounts.orders_of(contracts, address, limit=limit)
    shown = [o for o in found if show_all or not o.done]
    if as_json:
        for o in shown:
            typer.echo(
                json.dumps(
                    {
                        "order_id": o.order.id,
                        "listing_id": o.listing.id,
                        "dataset": o.listing.token_id,
                        "role": o.role,
                        "state": o.order.state.name,
                        "amount": str(o.order.amount),
                        "collateral": str(o.collateral),
                        "payment_token": o.listing.payment_token,
                        "deadline": o.order.deadline,
                        "next_step": o.next_step,
                        "command": o.command,
                    }
                )
            )
        return
    if not shown:
        hidden = len(found) - len(shown)
        console.print(
            f"no open orders for {s.account_name()} {address}"
            + (f" ({hidden} completed or refunded: --all shows them)" if hidden else ""),
            highlight=False,
        )
        return
    now = contracts.chain.now()
    table = Table("order", "as", "dataset", "state", "amount", "deadline", "next step")
    for o in shown:
        step = o.next_step + (f"\n[bold]{escape(o.command)}[/]" if o.command else "")
        table.add_row(
            f"#{o.order.id}",
            o.role,
            f"#{o.listing.token_id}" + (" (queries)" if o.listing.kind == SaleKind.USE_RIGHT else ""),
            o.order.state.name.lower(),
            units.money(contracts, o.order.amount, o.listing.payment_token),
            "-" if o.done else units.when(o.order.deadline, now),
            step,
        )
    console.print(table)


# -- negotiation and auctions ------------------------------------------------------------------------------------


def _escrow_check(contracts: Any, address: str, listing_id: int, amount: int, what: str) -> Any:
    from datagora.services import accounts

    listing = contracts.market.listing(listing_id)

    def money(n: int) -> str:
        return units.money(contracts, n, listing.payment_token)

    accounts.required_funds(
        contracts,
        address,
        amount + listing.collateral,
        what,
        f"{money(amount)} + {money(listing.collateral)} collateral",
        listing.payment_token,
    )
    return listing


@app.command(rich_help_panel=BUY)
def offer(
    listing_id: Annotated[int, typer.Argument(help="A negotiable listing.")],
    amount: Amount,
    valid_for: Annotated[int, typer.Option(help="Seconds the offer stays open.")] = 86_400,
) -> None:
    """Offer AMOUNT for a negotiable listing; the amount and the buyer's collateral are held in escrow until the
    offer is accepted, rejected or withdrawn.

    Example: datagora offer 1 0.4 -a buyer"""
    from datagora.services import market

    value = units.parse_amount(amount)
    s = session()
    contracts = s.contracts()
    listing = _escrow_check(contracts, s.address(), listing_id, value, f"offering {amount} on listing {listing_id}")
    offer_id, tx = market.make_offer(contracts, s.participant(), listing_id, value, valid_for=valid_for)
    made = contracts.market.offer(offer_id)
    print_done(
        f"offer #{offer_id} on listing #{listing_id}: {units.money(contracts, made.amount, listing.payment_token)} "
        f"(plus {units.money(contracts, listing.collateral, listing.payment_token)} collateral) held in escrow, open "
        f"for {units.duration(valid_for)}",
        tx,
    )


@app.command(rich_help_panel=SELL)
def counter(offer_id: Annotated[int, typer.Argument(help="The buyer's offer.")], amount: Amount) -> None:
    """Answer offer OFFER_ID with a counter price the buyer may accept until the offer expires.

    Example: datagora counter 1 0.45 -a seller"""
    from datagora.services import market

    value = units.parse_amount(amount)
    s = session()
    contracts = s.contracts()
    tx = market.counter_offer(contracts, s.participant(), offer_id, value)
    made = contracts.market.offer(offer_id)
    token = contracts.market.listing(made.listing_id).payment_token
    print_done(f"countered offer #{offer_id} with {units.money(contracts, made.counter, token)}", tx)


@app.command(rich_help_panel=SELL)
def accept(offer_id: Annotated[int, typer.Argument(help="The buyer's offer.")]) -> None:
    """Accept offer OFFER_ID at the buyer's amount: it becomes a paid order to deliver.

    Example: datagora accept 1 -a seller"""
    from datagora.services import market

    s = session()
    order_id, tx = market.accept_offer(s.contracts(), s.participant(), offer_id)
    print_done(f"accepted offer #{offer_id}: order #{order_id} paid into escrow", tx)


@app.command("accept-counter", rich_help_panel=BUY)
def accept_counter(
    offer_id: Annotated[int, typer.Argument(help="Your offer the seller countered.")],
    counter: Annotated[
        str,
        typer.Option(
            "--counter",
            help="The counter price you accept, ether (0.5) or with a suffix (500000wei); refused if the seller "
            "has changed it since.",
        ),
    ],
) -> None:
    """Accept the seller's counter on offer OFFER_ID (a higher price is topped up now, a lower one leaves the
    difference to withdraw): it becomes an order. Naming the counter you read protects you from a seller who
    raises it just before your acceptance.

    Example: datagora accept-counter 1 --counter 0.6 -a buyer"""
    from datagora.services import market

    price = units.parse_amount(counter)
    s = session()
    order_id, tx = market.accept_counter(s.contracts(), s.participant(), offer_id, price)
    print_done(f"accepted the counter on offer #{offer_id}: order #{order_id} paid into escrow", tx)


@app.command(rich_help_panel=SELL)
def reject(offer_id: Annotated[int, typer.Argument(help="The buyer's offer.")]) -> None:
    """Reject offer OFFER_ID; the buyer's escrow is owed back to it.

    Example: datagora reject 1 -a seller"""
    from datagora.services import market

    s = session()
    tx = market.reject_offer(s.contracts(), s.participant(), offer_id)
    print_done(f"rejected offer #{offer_id}: the buyer's escrow is owed back to it", tx)


@app.command("withdraw-offer", rich_help_panel=BUY)
def withdraw_offer(offer_id: Annotated[int, typer.Argument(help="Your offer.")]) -> None:
    """Take offer OFFER_ID back (anyone may once it expired); then `datagora withdraw` pays the escrow out.

    Example: datagora withdraw-offer 1 -a buyer"""
    from datagora.services import market

    s = session()
    tx = market.withdraw_offer(s.contracts(), s.participant(), offer_id)
    print_done(f"withdrew offer #{offer_id}: the escrow is owed back to the buyer", tx)


@app.command(rich_help_panel=BUY)
def bid(listing_id: Annotated[int, typer.Argument(help="An auction listing.")], amount: Amount) -> None:
    """Bid AMOUNT in the English auction of LISTING_ID; the bid and the bidder's collateral are held in escrow
    (an outbid bidder withdraws its own).

    Example: datagora bid 1 0.5 -a buyer"""
    from datagora.services import market

    value = units.parse_amount(amount)
    s = session()
    contracts = s.contracts()
    listing = _escrow_check(contracts, s.address(), listing_id, value, f"bidding {amount} on listing {listing_id}")
    tx = market.bid(contracts, s.participant(), listing_id, value)
    auction = contracts.market.auction(listing_id)
    print_done(
        f"bid {units.money(contracts, value, listing.payment_token)} on listing #{listing_id} "
        f"(the auction ends {units.when(auction.end_time, contracts.chain.now())})",
        tx,
    )


@app.command(rich_help_panel=SELL)
def settle(listing_id: Annotated[int, typer.Argument(help="An auction listing past its end.")]) -> None:
    """After its end, settle the auction of LISTING_ID: the highest bid becomes an order (without bids the
    dataset and the collateral return to the seller).

    Example: datagora settle 1 -a seller"""
    from datagora.services import market

    s = session()
    order_id, tx = market.settle_auction(s.contracts(), s.participant(), listing_id)
    if order_id:
        print_done(f"settled the auction of listing #{listing_id}: order #{order_id} for the highest bidder", tx)
    else:
        print_done(f"settled the auction of listing #{listing_id} without bids: the dataset returns to the seller", tx)


# -- the platform's parameters -----------------------------------------------------------------------------------


@market_app.command("params", signs=False)
def market_params(
    fee_bps: Annotated[int | None, typer.Option(help="Brokerage fee in basis points (1/100 %) of each sale.")] = None,
    management_fee: Annotated[str | None, typer.Option(help="Paid by each new listing. " + AMOUNT_HELP)] = None,
    dispute_window: Annotated[int | None, typer.Option(help="Seconds the platform has to resolve a dispute.")] = None,
) -> None:
    """Show the market's parameters; with options, the platform changes them (the others are kept).

    Example: datagora market params --fee-bps 100 -a platform"""
    from datagora.services import platform

    s = session()
    contracts = s.contracts()
    if fee_bps is None and management_fee is None and dispute_window is None:
        params = platform.market_parameters(contracts)
    else:
        if not s.account:
            raise ValidationError("changing the parameters needs the platform's account: --account")
        fee = None if management_fee is None else units.parse_amount(management_fee)
        params, tx = platform.set_market_parameters(
            contracts, s.participant(), fee_bps=fee_bps, management_fee=fee, dispute_window=dispute_window
        )
        print_done("changed the Market's parameters", tx)
    console.print(
        f"brokerage fee {params.fee_bps} bps, management fee {units.money(contracts, params.management_fee)} per "
        f"listing, dispute window {units.duration(params.dispute_window)}",
        highlight=False,
    )
