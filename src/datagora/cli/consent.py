"""``datagora consent``: customers give and withdraw consent to share their data per category, organisation and
purpose and see who used it (with the rewards earned); shops publish and erase customer data; partners ask for
it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, console, print_done, session
from datagora.cli.audit import IndexUrl, _event_index
from datagora.domain.errors import AccessDenied, ValidationError

if TYPE_CHECKING:
    from datagora.chain.contracts import Contracts

PANEL = "Customer data and consent"
DAY = 86_400

app = DatagoraTyper()
consent_app = DatagoraTyper(
    help="Consent to share your data per category, organisation and purpose, with a reward for each use; who used "
    "it, when and why. Example: `datagora consent history -a alice`."
)
app.add_typer(consent_app, name="consent", rich_help_panel=PANEL)

Category = Annotated[str, typer.Argument(help="The data category: purchase-history, demographics or contact.")]
PurposeOption = Annotated[
    str, typer.Option("--purpose", "-p", help="Why the data is used, e.g. Marketing (see `datagora consent purposes`).")
]


def _org_name(contracts: Contracts, organisation_id: int) -> str:
    try:
        return contracts.registry.organisation(organisation_id).name
    except Exception:  # an unknown id: show the number
        return f"organisation #{organisation_id}"


@consent_app.command()
def purposes() -> None:
    """List the purposes a customer can consent to (terms of the W3C Data Privacy Vocabulary).

    Example: datagora consent purposes"""
    from datagora.services import consent

    table = Table("Purpose", "What it means", "Term")
    for p in consent.purposes():
        table.add_row(p.label, p.description, p.iri.removeprefix(consent.DPV))
    console.print(table)


@consent_app.command()
def grant(
    category: Category,
    organisation: Annotated[str, typer.Argument(help="The organisation allowed to use it (name or number).")],
    purpose: PurposeOption,
    days: Annotated[int, typer.Option(help="How many days the consent lasts.", min=1, max=36_500)] = 30,
    reward: Annotated[str, typer.Option(help="Reward tokens (DGR) you are paid per use, e.g. 5 or 0.5.")] = "1",
) -> None:
    """Consent to share one category of your data with an organisation for one purpose, for some days, for a
    reward per use.

    Example: datagora consent grant purchase-history "Blue Partners" -p Marketing --days 30 --reward 5 -a alice"""
    from datagora.services import consent, registry

    s = session()
    c = s.contracts()
    org_id = registry.resolve_organisation(c, organisation)
    expiry = c.chain.now() + days * DAY
    units_per_use = consent.parse_dgr(reward)
    consent_id, tx = consent.grant(c, s.participant().account, category, org_id, purpose, expiry, units_per_use)
    print_done(
        f"consent #{consent_id}: {_org_name(c, org_id)} may use your {category} for "
        f"{consent.purpose_label(consent.check_purpose(purpose))} until {units.when(expiry)}, "
        f"{reward} DGR per use",
        tx,
    )


@consent_app.command()
def revoke(consent_id: Annotated[int, typer.Argument(help="The consent's number.", min=1)]) -> None:
    """Withdraw a consent: later requests under it are refused (and the refusals recorded).

    Example: datagora consent revoke 1 -a alice"""
    from datagora.services import consent

    s = session()
    tx = consent.revoke(s.contracts(), s.participant().account, consent_id)
    print_done(f"consent #{consent_id} withdrawn", tx)


@consent_app.command()
def fund(amount: Annotated[str, typer.Argument(help="Reward tokens (DGR) to deposit, e.g. 100.")]) -> None:
    """Deposit reward tokens from which your organisation pays customers for each use of their data (partners).

    Example: datagora consent fund 100 -a partner"""
    from datagora.services import consent

    s = session()
    wanted = consent.parse_dgr(amount)
    txs = consent.fund_rewards(s.contracts(), s.participant().account, wanted)
    print_done(f"deposited {amount} DGR for rewards", txs[-1])


@consent_app.command()
def rewards(
    owner: Annotated[
        str | None, typer.Option("--of", help="Whose rewards (an address; default: the acting account's).")
    ] = None,
) -> None:
    """Show your reward tokens: ready to withdraw, in your account, and deposited to pay customers.

    Example: datagora consent rewards -a alice"""
    from datagora.services import consent, consent_rewards

    s = session()
    r = consent_rewards.rewards_of(s.contracts(), owner or s.address())
    console.print(f"account: {r.account}", highlight=False)
    console.print(f"ready to withdraw: {consent.dgr(r.pending)}", highlight=False)
    console.print(f"in the account: {consent.dgr(r.balance)}", highlight=False)
    if r.deposit:
        console.print(f"deposited to pay customers: {consent.dgr(r.deposit)}", highlight=False)


@consent_app.command()
def withdraw() -> None:
    """Withdraw the reward tokens you have earned to your own account.

    Example: datagora consent withdraw -a alice"""
    from datagora.services import consent, consent_rewards

    s = session()
    paid, tx = consent_rewards.withdraw_rewards(s.contracts(), s.participant().account)
    print_done(f"withdrew {consent.dgr(paid)} to your account", tx)


@consent_app.command()
def send(
    to: Annotated[str, typer.Argument(help="The account to send to (an address).")],
    amount: Annotated[str, typer.Argument(help="Reward tokens (DGR) to send, e.g. 5 or 0.5.")],
) -> None:
    """Send reward tokens from your account to another account.

    Example: datagora consent send 0xAbc... 5 -a alice"""
    from datagora.services import consent, consent_rewards

    s = session()
    units_to_send = consent.parse_dgr(amount)
    tx = consent_rewards.send_tokens(s.contracts(), s.participant().account, to, units_to_send)
    print_done(f"sent {consent.dgr(units_to_send)} to {to}", tx)


@consent_app.command()
def unfund(amount: Annotated[str, typer.Argument(help="Reward tokens (DGR) to take back, e.g. 10.")]) -> None:
    """Take back unused deposit (partners): it comes back to your account.

    Example: datagora consent unfund 10 -a partner"""
    from datagora.services import consent, consent_rewards

    s = session()
    units_back = consent.parse_dgr(amount)
    txs = consent_rewards.take_back_deposit(s.contracts(), s.participant().account, units_back)
    print_done(f"took back {consent.dgr(units_back)} of deposit", txs[-1])


@consent_app.command()
def publish(
    customer: Annotated[str, typer.Argument(help="The customer's account address.")],
    profile: Annotated[
        Path,
        typer.Argument(
            help='JSON file: {"purchases": [...], "demographics": {...}, "contact": {...}} with schema.org terms.'
        ),
    ],
    stream: Annotated[str, typer.Option(help="The stream's name (created if new).")] = "customers",
) -> None:
    """Store a customer's profile encrypted on this node and publish each category's hash in a stream (shops).

    Example: datagora consent publish 0xAbc... profile.json -a shop"""
    from datagora.services import streams

    try:
        data = json.loads(profile.read_text())
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read the profile {profile}: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("the profile must be a JSON object with purchases, demographics and contact")
    # the documents first: a profile they refuse (e.g. NaN) sends nothing, not even the stream
    docs = streams.profile_documents(
        customer, data.get("purchases") or [], data.get("demographics"), data.get("contact")
    )
    s = session()
    c, shop = s.contracts(), s.participant()
    stream_id, _ = streams.open_stream(c, shop.account, stream)
    published = [streams.publish_profile(c, shop, stream_id, customer, cat, doc) for cat, doc in docs.items()]
    for item in published:
        print_done(f"{item.category}: item #{item.item_id} in stream {stream!r} (key {item.key})", item.tx)


@consent_app.command()
def erase(
    category: Category,
    customer: Annotated[
        str | None, typer.Option(help="The customer's account address (a shop erasing on its own node).")
    ] = None,
    shop_url: Annotated[
        str | None,
        typer.Option(help="A shop node's web address: ask that shop to erase your data (customers)."),
    ] = None,
) -> None:
    """Erase one category of a customer's data: destroy its key and mark it erased on chain.

    A customer asks the shop with --shop-url: the request is signed with your key and sent to the shop's node,
    which erases and answers. A shop erases on its own node with --customer.

    Example: datagora consent erase contact --shop-url https://shop.example -a alice;
    datagora consent erase purchase-history --customer 0xAbc... -a shop"""
    import time

    from datagora.services import consent

    if (customer is None) == (shop_url is None):
        raise ValidationError("give either --shop-url (ask a shop to erase your data) or --customer (on the shop)")
    s = session()
    if shop_url is not None:
        from datagora.api.client import NodeClient
        from datagora.api.consent_forward import forward_erasure

        c, me = s.contracts(), s.participant()
        with NodeClient(shop_url.strip().rstrip("/"), me.account) as node:
            answer = forward_erasure(node, me.account, c.chain.chain_id, category, now=int(time.time()))
        print_done(
            f"the shop erased your {category}: "
            + ("key destroyed, " if answer["key_destroyed"] else "no key held there, ")
            + f"{len(answer['txs'])} item(s) marked erased"
        )
        return
    assert customer is not None
    done = consent.erase(s.contracts(), s.participant(), customer, category)
    print_done(
        f"erased {customer}'s {category}: "
        + ("key destroyed, " if done.key_destroyed else "no key held here, ")
        + f"{len(done.item_ids)} item(s) marked erased"
    )


@consent_app.command()
def request(
    item: Annotated[int, typer.Argument(help="The data item's number (see `datagora consent items`).", min=1)],
    purpose: PurposeOption,
    source: Annotated[
        str | None, typer.Option("--from", help="The shop node's URL to fetch the data from once recorded.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to save the data received (JSON-LD).")] = None,
    index_url: IndexUrl = None,
) -> None:
    """Ask for a customer's data item for a purpose (partners): recorded and paid with a valid consent,
    otherwise the refusal is recorded and nothing is shared. With --from, fetch it from the shop and check it.

    Example: datagora consent request 1 --purpose Marketing --from http://127.0.0.1:8701 --out item-1.json -a partner"""
    from datagora.services import consent

    s = session()
    c = s.contracts()
    indexer, _ = _event_index(c, None, index_url)
    try:
        indexer.sync()
        done = consent.request(c, indexer.engine, s.participant().account, item, purpose)
    finally:
        indexer.engine.dispose()
    if done.refusal is not None:
        raise AccessDenied(f"{done.sentence} (the refusal is recorded on chain: tx {done.tx.tx_hash})")
    print_done(f"access to item #{item} recorded under consent #{done.consent_id}, reward paid", done.tx)
    if source is None:
        console.print(f"the shop delivers against transaction {done.tx.tx_hash}", highlight=False)
        return
    from datagora.api.client import NodeClient

    with NodeClient(source, s.participant().account) as node:
        delivery = node.consent_delivery(done.tx.tx_hash)
    document = consent.receive(c, s.participant(), delivery)
    target = out or Path(f"item-{item}.json")
    target.write_bytes(document)
    print_done(f"received item #{item} ({len(document)} bytes), hash checked on chain: {target}")


@consent_app.command()
def items(
    stream: Annotated[str, typer.Option(help="The stream's name.")] = "customers",
    key: Annotated[str | None, typer.Option(help="Only items under this key (<address>/<category>).")] = None,
    index_url: IndexUrl = None,
) -> None:
    """List the data items of a stream from this node's index (partners subscribe to a shop's stream).

    Example: datagora consent items --stream customers -a partner"""
    from datagora.services import streams

    s = session()
    c = s.contracts()
    stream_id = c.streams.stream_id(stream)
    if not stream_id:
        raise ValidationError(f"there is no stream named {stream!r}")
    indexer, _ = _event_index(c, None, index_url)
    try:
        indexer.sync()
        found = streams.items(indexer.engine, stream_id=stream_id, key=key)
    finally:
        indexer.engine.dispose()
    table = Table("Item", "Key", "Published", "Erased")
    for it in found:
        table.add_row(str(it.item_id), escape(it.key), units.when(it.published_at), "yes" if it.erased else "")
    console.print(table)


@consent_app.command()
def history(
    subject: Annotated[str | None, typer.Option(help="Whose data (an address; default: the acting account's).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (times in Unix seconds, rewards in units).")
    ] = False,
    index_url: IndexUrl = None,
) -> None:
    """Who used your data, what, when, why and under which consent, every refusal, and the rewards earned.

    Example: datagora consent history -a alice"""
    from datagora.services import consent

    s = session()
    c = s.contracts()
    who = subject or s.address()
    indexer, where = _event_index(c, None, index_url)
    try:
        indexer.sync()
        timeline = consent.history(indexer.engine, subject=who)
        given = consent.consents_of(indexer.engine, who)
    finally:
        indexer.engine.dispose()
    earned = sum(e.reward for e in timeline)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "subject": who,
                    "rewards_earned": str(earned),
                    "consents": [vars(r) for r in given],
                    "timeline": [{**vars(e), "kind": e.kind} for e in timeline],
                }
            )
        )
        return
    now = c.chain.now()
    table = Table(title=f"Uses of {who}'s data", caption=f"event index: {where}")
    for col in ("When", "Who", "What", "Purpose", "Consent", "Outcome", "Reward", "Transaction"):
        table.add_column(col)
    for e in timeline:
        table.add_row(
            datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M"),
            escape(_org_name(c, e.organisation_id) if e.organisation_id else e.consumer),
            f"item #{e.item_id} {e.category}",
            escape(e.purpose_label),
            f"#{e.consent_id}" if e.consent_id else "none",
            "shared" if e.refusal is None else escape(f"refused: {e.refusal}"),
            consent.dgr(e.reward) if e.reward else "",
            units.short(e.tx_hash),
        )
    console.print(table)
    for r in given:
        console.print(
            f"consent #{r.consent_id}: {escape(_org_name(c, r.organisation_id))}, {r.category}, "
            f"{escape(r.purpose_label)}, until {units.when(r.expiry, now)}: {r.status(now)}",
            highlight=False,
        )
    console.print(f"rewards earned: {consent.dgr(earned)}", highlight=False)
