"""Use-rights per query: the seller lists queries on a dataset it keeps (``datagora list --use-right``), the buyer
prepays queries, runs them on the seller's node under the listing's usage policy and checks each answer against
the hash recorded on chain; unused credit returns after the usage window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, check_input_file, console, print_done, session
from datagora.domain.errors import DatagoraError, NotFoundError, ValidationError

PANEL = "Use-rights per query"

app = DatagoraTyper()
policy_app = DatagoraTyper(help="Usage policies (W3C ODRL) of use-right listings.")
app.add_typer(policy_app, name="policy", rich_help_panel=PANEL)


def list_use_right(
    token_id: int,
    price: int,
    *,
    max_queries: int,
    usage_window: int,
    policy_file: Path | None,
    token: str | None,
    exact_answers: bool = False,
) -> None:
    """``datagora list --use-right``: list queries on ``token_id`` at ``price`` each (wei or token units);
    ``exact_answers`` opts out of differential privacy (default policy only), with a warning."""
    from datagora.cli.market import token_option
    from datagora.query import UsagePolicy
    from datagora.services import use_rights

    payment_token = token_option(token)
    s = session()
    s.require_rpc_url()
    given = (
        None
        if policy_file is None
        else UsagePolicy.from_json(check_input_file(policy_file, "policy file").read_bytes())
    )
    contracts = s.contracts()
    seller = s.participant()
    if exact_answers:
        if given is not None:
            raise ValidationError(
                "--exact-answers is for the default policy; in a policy file, say datagora:answerForm eq "
                "datagora:exactAnswers"
            )
        given = use_rights.default_policy(contracts.chain.chain_id, seller.address, token_id, exact_answers=True)
    if given is not None and given.exact_answers:
        console.print(
            "[yellow]warning:[/] exact answers: " + escape(use_rights.EXACT_ANSWERS_WARNING),
            highlight=False,
        )
    listing_id, tx = use_rights.list_use_right(
        contracts,
        seller,
        token_id,
        price,
        given,
        max_queries=max_queries,
        usage_window=usage_window,
        payment_token=payment_token,
    )
    terms = use_rights.policy_of(seller, listing_id)  # as listed: the default policy has odrl:count
    listing = contracts.market.listing(listing_id)
    answers = (
        "exact answers"
        if terms.exact_answers
        else f"differentially private answers: epsilon {terms.epsilon_per_query:g} each, a budget of "
        f"{terms.privacy_budget:g} per buyer organisation"
    )
    print_done(
        f"listing #{listing_id}: use-rights on dataset #{token_id} at "
        f"{units.money(contracts, listing.price, listing.payment_token)} per query (at most {listing.max_queries} per "
        f"order, usable {units.duration(listing.delivery_window)}; {answers}) under ODRL policy {terms.uid} "
        f"(keccak256 0x{terms.policy_hash().hex()} on chain)",
        tx,
    )


@app.command("buy-queries", rich_help_panel=PANEL)
def buy_queries(
    listing_id: Annotated[int, typer.Argument(help="A use-right listing.")],
    queries: Annotated[int, typer.Argument(help="How many queries to prepay.")],
) -> None:
    """Prepay QUERIES queries of the use-right listing LISTING_ID (price per query × QUERIES; an ERC-20 is
    approved first). Run them with `datagora query`; unused credit returns after the usage window (`expire`).

    Example: datagora buy-queries 2 3 -a buyer"""
    from datagora.services import accounts, use_rights

    s = session()
    contracts = s.contracts()
    listing = contracts.market.listing(listing_id)
    if queries > 0:
        accounts.required_funds(
            contracts,
            s.address(),
            listing.price * queries,
            f"buying {queries} queries of listing {listing_id}",
            f"{queries} × {units.money(contracts, listing.price, listing.payment_token)}",
            listing.payment_token,
        )
    order_id, tx = use_rights.buy_queries(contracts, s.participant(), listing_id, queries)
    order = contracts.market.order(order_id)
    print_done(
        f"order #{order_id}: {order.queries_total} queries of dataset #{listing.token_id} prepaid "
        f"({units.money(contracts, order.amount, listing.payment_token)}), usable until {units.when(order.deadline)}",
        tx,
    )


def _result_table(columns: tuple[str, ...], rows: tuple[tuple[Any, ...], ...], title: str) -> Table:
    table = Table(title=title)
    for name in columns:
        table.add_column(escape(name), overflow="fold")
    for row in rows:
        table.add_row(*(escape("null" if v is None else f"{v:.8g}" if isinstance(v, float) else str(v)) for v in row))
    return table


@app.command(rich_help_panel=PANEL)
def query(
    order_id: Annotated[int, typer.Argument(help="Your use-right order.")],
    spec: Annotated[
        Path,
        typer.Option(
            "--spec",
            help='The query as JSON (never SQL), e.g. {"select": ["region", {"aggregate": "avg", "column": '
            '"income"}], "group_by": ["region"]}.',
        ),
    ],
    node_url: Annotated[str, typer.Option("--from", help="URL of the seller's node.")],
) -> None:
    """Run the next query of use-right order ORDER_ID on the seller's node: signed with the buyer's key, sent
    over HTTP, its answer checked against the hash the seller recorded on chain, then printed. The seller's node
    refuses queries outside the listing's usage policy before anything is paid.

    Example: datagora query 2 --spec q.json --from http://127.0.0.1:8701 -a buyer"""
    from datagora.api.client import NodeClient
    from datagora.query import QuerySpec
    from datagora.services import use_rights

    s = session()
    s.require_rpc_url()
    try:
        doc = json.loads(check_input_file(spec, "query file").read_text())
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{spec} is not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{spec} is not a text file") from None
    query_spec = QuerySpec.from_dict(doc)
    contracts = s.contracts()
    buyer = s.participant()
    with NodeClient(node_url, buyer.account) as client:
        checked = use_rights.ask(contracts, buyer, order_id, query_spec, client)
    request, result = checked.request, checked.answer.result
    if not checked.verified:
        raise DatagoraError(
            f"the answer to query #{request.index} of order #{order_id} does not match the result hash the seller "
            "recorded on chain"
        )
    console.print(_result_table(result.columns, result.rows, f"Order #{order_id}, query #{request.index}"))
    notes = []
    if result.privacy is None:
        notes.append("exact answer: the seller opted out of differential privacy")
    else:
        scales = ", ".join(
            f"{escape(name)} ±{float(noise['scale']):.4g}" for name, noise in dict(result.privacy["noise"]).items()
        )
        notes.append(
            f"differentially private: epsilon {float(result.privacy['epsilon']):g}, noise scale {scales}; small groups "
            "are left out"
        )
    if result.truncated:
        notes.append("rows cut at the policy's cap")
    left, tx = checked.queries_left, checked.answer.tx
    console.print(
        f"[green]✓[/] query #{request.index} answered and paid; the result matches the hash recorded on chain; "
        f"{left} quer{'y' if left == 1 else 'ies'} left"
        + (f" ({'; '.join(notes)})" if notes else "")
        + f"  [dim]tx {tx.tx_hash}  gas {tx.gas_used:,}[/]",
        highlight=False,
    )


@app.command(rich_help_panel=PANEL)
def expire(order_id: Annotated[int, typer.Argument(help="A use-right order past its usage window.")]) -> None:
    """Close a use-right order after its usage window: the unused credit is owed back to the buyer.

    Example: datagora expire 2 -a buyer"""
    from datagora.services import market

    s = session()
    contracts = s.contracts()
    refund, tx = market.expire_use_right(contracts, s.participant(), order_id)
    token = contracts.market.listing(contracts.market.order(order_id).listing_id).payment_token
    print_done(
        f"expired order #{order_id}: {units.money(contracts, refund, token)} unused credit owed to the buyer", tx
    )


@policy_app.command("show", signs=False)
def policy_show(
    listing_id: Annotated[int, typer.Argument(help="A use-right listing.")],
    node_url: Annotated[
        str | None, typer.Option("--from", help="URL of the seller's node (default: the account's own records).")
    ] = None,
) -> None:
    """Print the usage policy (W3C ODRL, JSON-LD) of use-right listing LISTING_ID and check it against the hash
    the listing committed on chain: from the seller's node (--from, signed in as the account) or, for the
    seller, from its own records (no password needed then).

    Example: datagora policy show 2 --from http://127.0.0.1:8701 -a buyer"""
    from datagora.query import UsagePolicy
    from datagora.services.use_rights import policy_hash_on_chain

    s = session()
    contracts = s.contracts()
    if node_url is None:
        record = s.home.participant(s.account_name()).records("policies") / f"{listing_id}.json"
        try:
            terms = UsagePolicy.from_jsonld(json.loads(record.read_text())["policy"])
        except FileNotFoundError:
            raise NotFoundError(f"no usage policy recorded for listing {listing_id} on this node") from None
    else:
        from datagora.api.client import NodeClient

        with NodeClient(node_url, s.participant().account) as client:
            terms = UsagePolicy.from_jsonld(client.use_right_policy(listing_id).policy)
    committed = policy_hash_on_chain(contracts, listing_id)
    typer.echo(json.dumps(terms.to_jsonld(), indent=2, sort_keys=True))
    if committed != terms.policy_hash():
        raise DatagoraError(
            f"the policy's keccak256 0x{terms.policy_hash().hex()} is not the one listing #{listing_id} committed "
            f"on chain ({'none' if committed is None else '0x' + committed.hex()})"
        )
    assert committed is not None
    print_done(f"keccak256 0x{committed.hex()} is the hash listing #{listing_id} committed on chain")


@policy_app.command("budget")
def policy_budget(
    order_id: Annotated[int, typer.Argument(help="A use-right order you bought or sold.")],
    node_url: Annotated[
        str | None, typer.Option("--from", help="URL of the seller's node (default: the account's own ledger).")
    ] = None,
) -> None:
    """Show the differential-privacy budget of use-right order ORDER_ID's buyer on its dataset: epsilon per
    answer, the budget, what the buyer's organisation has spent across all its orders and the answers left.
    The buyer asks the seller's node (--from); the seller reads its own ledger.

    Example: datagora policy budget 2 --from http://127.0.0.1:8701 -a buyer"""
    s = session()
    if node_url is None:
        from datagora.services import use_rights

        budget = use_rights.privacy_budget(s.contracts(), s.participant(), order_id)
        doc: dict[str, Any] = {
            **budget.__dict__,
            "epsilon_left": budget.epsilon_left,
            "answers_left": budget.answers_left,
        }
    else:
        from datagora.api.client import NodeClient

        with NodeClient(node_url, s.participant().account) as client:
            doc = client.privacy_budget(order_id).model_dump()
    if doc["exact_answers"]:
        typer.echo(
            f"order #{order_id}: listing #{doc['listing_id']} answers exactly (the seller opted out of differential "
            "privacy); no budget is kept"
        )
        return
    table = Table(title=f"Privacy budget of {escape(doc['buyer'])} on dataset #{doc['token_id']}")
    table.add_column("")
    table.add_column("epsilon", justify="right")
    table.add_row("per answer", f"{doc['epsilon_per_query']:g}")
    table.add_row("budget (all orders)", f"{doc['epsilon_budget']:g}")
    table.add_row("spent", f"{doc['epsilon_spent']:g}  ({_answers(doc['answers'])})")
    table.add_row("left", f"{doc['epsilon_left']:g}  ({_answers(doc['answers_left'])})")
    console.print(table)


def _answers(n: int) -> str:
    return f"{n} answer{'' if n == 1 else 's'}"
