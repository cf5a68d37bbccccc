"""Disputes and deadlines: the buyer disputes a delivery, the seller re-uploads its data for the platform, the
buyer may disclose the key of what it received, the platform checks deliveries, rules, and enforces deadlines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, check_input_file, console, print_done, session
from datagora.domain.errors import ValidationError

PANEL = "Disputes and deadlines"
PLATFORM = "Platform"

app = DatagoraTyper()

PlatformNode = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="URL of the platform's node: ask it over HTTP (signed in as the account, its operator) instead of "
        "acting here with the platform's home.",
    ),
]


def _platform_board(contracts: Any, platform: Any) -> Any:
    """The platform's send-receive board, in the file its node keeps (``Participant.paths.board``)."""
    from datagora.services.relay import SendReceiveBoard

    return SendReceiveBoard(
        contracts,
        platform.store,
        platform.paths.board,
        operator=platform.address,
        platform_key=platform.private_key,
    )


@app.command(rich_help_panel=PANEL)
def dispute(
    order_id: Annotated[int, typer.Argument(help="A delivered order.")],
    reason: Annotated[str, typer.Option(help="Why (kept off chain; only its hash goes on chain).")],
) -> None:
    """Dispute a delivered order before its confirmation deadline (the buyer, or the platform); the platform
    then rules on it.

    Example: datagora dispute 1 --reason "rows differ from the description" -a buyer"""
    from datagora.services import market

    if not reason.strip():
        raise ValidationError("give a reason: --reason TEXT")
    s = session()
    contracts = s.contracts()
    tx = market.dispute(contracts, s.participant(), order_id, reason)
    deadline = contracts.market.order(order_id).deadline
    print_done(f"disputed order #{order_id}: the platform rules by {units.when(deadline)}", tx)


@app.command(rich_help_panel=PANEL)
def reupload(
    order_id: Annotated[int, typer.Argument(help="Your disputed order (as seller).")],
    platform_url: Annotated[str, typer.Option("--to", help="URL of the platform's node.")],
) -> None:
    """As the seller of a disputed order, re-upload the data encrypted to the platform, for it to compare with
    what it checked at publication.

    Example: datagora reupload 3 --to http://127.0.0.1:8700 -a seller"""
    from datagora.api.client import NodeClient
    from datagora.services import disputes

    s = session()
    contracts = s.contracts()
    seller = s.participant()
    with NodeClient(platform_url, seller.account) as client:
        held = disputes.reupload_to(contracts, seller, order_id, client)
    print_done(
        f"re-uploaded the data of order #{order_id}, encrypted to the platform ({units.size(held.size)}, "
        f"sha256 {units.short(held.sha256)}); the platform rules next"
    )


@app.command(rich_help_panel=PANEL)
def disclose(
    order_id: Annotated[int, typer.Argument(help="Your disputed order (as buyer).")],
    platform_url: Annotated[str, typer.Option("--to", help="URL of the platform's node.")],
    ciphertext: Annotated[
        Path | None,
        typer.Option(help="The delivered ciphertext (default: where `fetch` keeps it, the account's inbox)."),
    ] = None,
) -> None:
    """As the buyer of a disputed order, disclose to the platform the key of the ciphertext you received,
    encrypted to it: the platform can then decrypt exactly what the seller sent, and nothing else.

    Example: datagora disclose 3 --to http://127.0.0.1:8700 -a buyer"""
    from datagora.api.client import NodeClient
    from datagora.services import disputes

    s = session()
    s.require_rpc_url()
    cipher = ciphertext or s.home.participant(s.account_name()).inbox / f"order-{order_id}.dge"
    if not cipher.is_file():
        raise ValidationError(f"no delivered ciphertext at {cipher}: pass --ciphertext")
    check_input_file(cipher, "ciphertext")
    contracts = s.contracts()
    buyer = s.participant()
    with NodeClient(platform_url, buyer.account) as client:
        disputes.disclose_to(contracts, buyer, order_id, client, cipher)
    print_done(f"disclosed the data key of order #{order_id}'s delivery to the platform, encrypted to it")


@app.command("check-delivery", rich_help_panel=PLATFORM)
def check_delivery(
    order_id: Annotated[int, typer.Argument(help="A delivered order.")], node_url: PlatformNode = None
) -> None:
    """Compare the seller's and the buyer's notices on the platform's send-receive board: when they agree the
    buyer may confirm; when they do not, the platform disputes the order on chain.

    Example: datagora check-delivery 1 -a platform"""
    from datagora.services import disputes

    s = session()
    contracts = s.contracts()
    platform = s.participant()
    if node_url is not None:
        from datagora.api.client import NodeClient

        with NodeClient(node_url, platform.account) as client:
            doc = client.check_delivery(order_id)
        action: str = doc.action
        consistent, similarity = doc.consistent, doc.similarity
        tx_hash, gas = (doc.tx.tx_hash, doc.tx.gas_used) if doc.tx else (None, 0)
    else:
        checked = disputes.check_delivery(contracts, platform, _platform_board(contracts, platform), order_id)
        action, consistent, similarity = checked.action, checked.consistent, checked.similarity
        tx_hash, gas = (checked.tx.tx_hash, checked.tx.gas_used) if checked.tx else (None, 0)
    score = "" if similarity is None else f", fingerprint similarity {similarity:.2f}"
    words = {
        "wait": "a notice or fingerprint is still missing: nothing to decide yet",
        "confirm": "the notices agree: the buyer may confirm",
        "dispute": "the notices disagree: the platform disputed the order on chain",
    }
    text = f"order #{order_id}: {words.get(action, action)} (consistent: {consistent}{score})"
    if tx_hash:
        console.print(f"[green]✓[/] {text}  [dim]tx {tx_hash}  gas {gas:,}[/]", highlight=False)
    else:
        console.print(f"[green]✓[/] {text}", highlight=False)


@app.command(rich_help_panel=PLATFORM)
def arbitrate(
    order_id: Annotated[int, typer.Argument(help="A disputed order.")], node_url: PlatformNode = None
) -> None:
    """Rule on a disputed order with the seller's re-upload (and the buyer's disclosed key) the platform's node
    received: the data is fingerprinted and compared with what was published; the ruling and the evidence's
    hash go on chain.

    Example: datagora arbitrate 3 -a platform"""
    s = session()
    contracts = s.contracts()
    platform = s.participant()
    if node_url is not None:
        from datagora.api.client import NodeClient

        with NodeClient(node_url, platform.account) as client:
            doc = client.arbitrate(order_id)
        ruling = doc.ruling.upper().replace("-", "_")
        match, similarity, sent_ok = doc.content_match, doc.similarity, doc.transmitted_ok
        copy, tx_hash, gas = doc.buyer_copy is not None, doc.tx.tx_hash, doc.tx.gas_used
    else:
        from datagora.services.arbitration import ArbitrationInbox, arbitrate_stored
        from datagora.services.attestation import NoveltyAttestor

        attestor = NoveltyAttestor(contracts, platform.account, platform.paths.data_contract)
        inbox = ArbitrationInbox.of_platform(_platform_board(contracts, platform), platform)
        res = arbitrate_stored(platform, attestor, inbox, order_id)
        ruling, match, similarity, sent_ok = res.ruling.name, res.content_match, res.similarity, res.transmitted_ok
        copy, tx_hash, gas = res.buyer_copy is not None, res.tx.tx_hash, res.tx.gas_used
    outcome = {
        "FOR_SELLER": "the seller was honest: the sale completes and the buyer's collateral goes to the seller",
        "REDELIVERED": "the data is good but the seller sent other data: the buyer gets the platform's copy and the "
        "seller's collateral",
        "FOR_BUYER": "the seller's data is not what it registered: refund, and the seller's collateral to the buyer",
    }.get(ruling, ruling)
    console.print(
        f"[green]✓[/] order #{order_id} ruled {ruling}: {outcome} (content match {match}, similarity "
        f"{similarity:.2f}, transmission {'not contested' if sent_ok is None else 'ok' if sent_ok else 'not the data'}"
        f"{', a copy kept for the buyer' if copy else ''})  [dim]tx {tx_hash}  gas {gas:,}[/]",
        highlight=False,
    )


@app.command("enforce-deadlines", rich_help_panel=PLATFORM)
def enforce_deadlines(
    first_order: Annotated[int, typer.Option(help="Check orders from this id on.")] = 1,
    node_url: PlatformNode = None,
) -> None:
    """The platform's periodic check: refund orders never delivered, release those never confirmed, unwind
    disputes nobody resolved and expire use-rights, for every order past its deadline. Anyone may run it.

    Example: datagora enforce-deadlines -a platform"""
    from datagora.services import disputes

    s = session()
    contracts = s.contracts()
    caller = s.participant()
    if node_url is not None:
        from datagora.api.client import NodeClient

        with NodeClient(node_url, caller.account) as client:
            doc = client.enforce_deadlines(first_order)
        done: list[tuple[int, str, str, int]] = [
            (a.order_id, a.action, a.tx.tx_hash, a.tx.gas_used) for a in doc.actions
        ]
    else:
        actions = disputes.enforce_deadlines(contracts, caller, first_order=first_order)
        done = [(a.order_id, a.action, a.tx.tx_hash, a.tx.gas_used) for a in actions]
    if not done:
        console.print("[green]✓[/] no order is past its deadline", highlight=False)
    for order_id, action, tx_hash, gas in done:
        console.print(f"[green]✓[/] {action} order #{order_id}  [dim]tx {tx_hash}  gas {gas:,}[/]", highlight=False)
