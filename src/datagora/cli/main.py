"""The ``datagora`` command line (Typer + Rich). Thin: parse, call a service, render.

Every command turns a Datagora error into one red line on stderr and exit code 1 (no traceback).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from datagora import home as homes
from datagora.cli.demo import demo_app
from datagora.domain.errors import DatagoraError, ValidationError
from datagora.domain.models import ETHER as ETHER_TOKEN
from datagora.domain.models import OrgStatus, Pricing, TxResult
from datagora.home import DEFAULT_HOME

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="datagora",
    help="Share and trade data without giving it away: encrypted off-chain data, settlement on an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
account_app = typer.Typer(help="Accounts in encrypted keystores.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations: register, audit, suspend (EntDSM Algorithms 1-2).", no_args_is_help=True)
customer_app = typer.Typer(help="Individual customers (data subjects).", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(org_app, name="org")
app.add_typer(customer_app, name="customer")
market_app = typer.Typer(help="The Market's parameters, set by the platform.", no_args_is_help=True)
app.add_typer(market_app, name="market")
app.add_typer(demo_app, name="demo")

console = Console()
err = Console(stderr=True)
ETHER = 10**18

RpcUrl = Annotated[
    str | None, typer.Option("--rpc-url", envvar="DATAGORA_RPC_URL", help="JSON-RPC URL of an external node.")
]
Home = Annotated[
    Path,
    typer.Option("--home", envvar="DATAGORA_HOME", help="Keystores, deployments and local stores."),
]
AccountName = Annotated[str, typer.Option("--account", "-a", help="Keystore name of the acting account.")]


def _fail(exc: BaseException) -> typer.Exit:
    """Print ``exc`` as one ``error:`` line on stderr (whitespace collapsed, Rich markup escaped)."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a Datagora error as one line and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (DatagoraError, ValueError, OSError) as exc:
            raise _fail(exc) from None

    return wrapper


def _short(h: str) -> str:
    return h[:10] + "…" + h[-6:] if len(h) > 20 else h


def _parse_ether(text: str) -> int:
    try:
        wei = Decimal(text) * ETHER
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of ether: {text!r}") from exc
    if not wei.is_finite() or wei != wei.to_integral_value() or wei < 0:
        raise ValueError(f"not a valid amount of ether: {text!r}")
    return int(wei)


def _parse_amount(text: str) -> int:
    """An amount in the smallest unit (wei): ``"0.5"`` or ``"0.5eth"`` is half an ether (10^18 units, the
    convention of ``--price``; for an 18-decimal ERC-20 the same in its units), ``"5000wei"`` is 5,000 units."""
    raw = text.strip().lower()
    if raw.endswith("wei"):
        digits = raw.removesuffix("wei").strip()
        if not digits.isascii() or not digits.isdigit():
            raise ValueError(f"not an amount of wei: {text!r}")
        return int(digits)
    return _parse_ether(raw.removesuffix("ether").removesuffix("eth").strip() or text)


def _address_option(text: str | None) -> str:
    """An ERC-20 address from ``--token``, or the ether marker (the zero address) when absent."""
    if text is None:
        return ETHER_TOKEN
    from web3 import Web3

    if not Web3.is_address(text):
        raise ValueError(f"not an address: {text!r}")
    return str(Web3.to_checksum_address(text))


def _money(contracts: Any, amount: int, payment_token: str = ETHER_TOKEN) -> str:
    """``amount`` in ether, or in units of the ERC-20 named by its symbol."""
    if int(payment_token, 16) == 0:
        return f"{amount / ETHER} ETH"
    try:
        symbol = str(contracts.tokens.symbol(payment_token))
    except DatagoraError:
        symbol = _short(payment_token)
    return f"{amount} {symbol} units"


def _print_tx(action: str, tx: TxResult) -> None:
    console.print(f"[green]✓[/] {action}  [dim]tx {tx.tx_hash}  gas {tx.gas_used:,}[/]", highlight=False)


# -- context helpers -----------------------------------------------------------------------------------------


def _password(name: str) -> str:
    pw = os.environ.get("DATAGORA_PASSWORD")
    if pw is not None:
        return pw
    return str(typer.prompt(f"Password for {name}", hide_input=True))


def _keystore_path(home: Path, name: str) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid account name {name!r}")
    return homes.Home(home).keystore(name)


def _address(home: Path, name: str) -> str:
    """The address a keystore names, without decrypting it. Raises ``ValidationError``."""
    path = _keystore_path(home, name)
    try:
        address = json.loads(path.read_text())["address"]
    except FileNotFoundError:
        raise ValidationError(f"keystore {path} does not exist") from None
    except (ValueError, KeyError, TypeError):
        raise ValidationError(f"keystore {path} is malformed: no address field") from None
    return "0x" + str(address).removeprefix("0x")


def _participant(home: Path, name: str) -> Any:
    from datagora.crypto.keys import load_keystore
    from datagora.services.participant import Participant

    account = load_keystore(_keystore_path(home, name), _password(name))
    return Participant(name, account, homes.Home(home).participant(name).root)


def _contracts(home: Path, rpc_url: str | None) -> Any:
    from datagora.chain.client import RpcChain
    from datagora.chain.contracts import Contracts

    if not rpc_url:
        raise DatagoraError(
            "this command needs a running chain: pass --rpc-url or set DATAGORA_RPC_URL "
            "(the embedded chain lives inside one process; `datagora demo` runs a whole trade on it)"
        )
    return Contracts.attach(RpcChain(rpc_url), homes.Home(home).deployments)


# -- accounts ------------------------------------------------------------------------------------------------


@account_app.command("new")
@handle_errors
def account_new(name: str, home: Home = DEFAULT_HOME) -> None:
    """Create an account in an encrypted keystore (password from DATAGORA_PASSWORD or a prompt)."""
    from datagora.crypto.keys import new_account, save_keystore

    account = new_account()
    path = save_keystore(account, _keystore_path(home, name), _password(name))
    console.print(f"[green]✓[/] account {name} {account.address} → {path}", highlight=False)


@account_app.command("list")
@handle_errors
def account_list(home: Home = DEFAULT_HOME) -> None:
    """List keystores and their addresses."""
    table = Table("name", "address")
    for path in sorted(homes.Home(home).keystores.glob("*.json")):
        try:
            address = "0x" + json.loads(path.read_text())["address"]
        except (ValueError, KeyError):
            address = "(malformed keystore)"
        table.add_row(path.stem, address)
    console.print(table)


@account_app.command("fund")
@handle_errors
def account_fund(
    name: str,
    ether: Annotated[str, typer.Option(help="Amount in ether.")] = "10",
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Fund an account from the node's unlocked development account (Anvil)."""
    from datagora.chain.client import RpcChain

    if not rpc_url:
        raise DatagoraError("pass --rpc-url")
    address = _address(home, name)
    chain = RpcChain(rpc_url)
    chain.fund(address, _parse_ether(ether))
    console.print(f"[green]✓[/] {name} balance {chain.balance(address) / ETHER} ETH", highlight=False)


# -- deployment ----------------------------------------------------------------------------------------------


@app.command()
@handle_errors
def deploy(
    supervisor: Annotated[
        str | None, typer.Option(help="Keystore name of the supervisor (deploys the Registry).")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Keystore name of the platform (deploys the others).")] = None,
    add: Annotated[
        str | None, typer.Option("--add", help="Add one contract to an existing deployment, e.g. --add Reputation.")
    ] = None,
    fee_bps: Annotated[int, typer.Option(help="Platform fee in basis points.")] = 250,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Deploy the contract set and record it in <home>/deployments/<chain id>.json.

    Example: datagora deploy --supervisor supervisor --platform platform"""
    from datagora.chain.client import RpcChain
    from datagora.chain.contracts import Contracts, Deployment

    if not rpc_url:
        raise DatagoraError("pass --rpc-url: deployments are recorded for external chains")
    chain = RpcChain(rpc_url)
    signers = {
        role: _participant(home, name).account
        for role, name in (("supervisor", supervisor), ("platform", platform))
        if name is not None
    }
    if add is None:
        if set(signers) != {"supervisor", "platform"}:
            raise DatagoraError("pass --supervisor and --platform (the keystore names that deploy the contracts)")
        contracts = Contracts.deploy(chain, signers["supervisor"], signers["platform"], fee_bps=fee_bps)
    else:
        existing = Deployment.load(homes.Home(home).deployments, chain.chain_id)
        contracts = Contracts.add(chain, existing, add, signers, fee_bps=fee_bps)
    path = contracts.deployment.save(homes.Home(home).deployments)
    for name, address in contracts.addresses.items():
        console.print(f"[green]✓[/] {name} {address}", highlight=False)
    console.print(f"recorded in {path}", highlight=False)


# -- organisations -------------------------------------------------------------------------------------------


@org_app.command("register")
@handle_errors
def org_register(name: str, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """Register the account in organisation NAME (created as ToAudit when new)."""
    from datagora.services import registry

    org, tx = registry.register_organisation(_contracts(home, rpc_url), _participant(home, account), name)
    joined = any(e.name == "MemberJoined" for e in tx.events)
    how = "joined" if joined else "asked to join (a member must approve with `datagora org approve`)"
    _print_tx(f"{account} {how} organisation #{org.id} {org.name!r} ({org.status.name})", tx)


@org_app.command("approve")
@handle_errors
def org_approve(
    address: Annotated[str, typer.Argument(help="Address that asked to join the organisation.")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Approve a request to join your organisation (members of it, or the supervisor)."""
    from datagora.services import registry

    org, tx = registry.approve_member(_contracts(home, rpc_url), _participant(home, account).account, address)
    _print_tx(f"{address} is now a member of #{org.id} {org.name!r}", tx)


@org_app.command("reject")
@handle_errors
def org_reject(
    address: Annotated[str, typer.Argument(help="Address that asked to join the organisation.")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Refuse a request to join your organisation (members of it, or the supervisor); the address may then
    register elsewhere."""
    from datagora.services import registry

    tx = registry.reject_member(_contracts(home, rpc_url), _participant(home, account).account, address)
    _print_tx(f"refused {address}'s request to join", tx)


@org_app.command("withdraw")
@handle_errors
def org_withdraw(account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """Withdraw your pending request to join an organisation, e.g. when someone registered your organisation's
    name first: you can then register under another name.

    Example: datagora org withdraw -a founder && datagora org register "Contoso Ltd" -a founder"""
    from datagora.services import registry

    tx = registry.withdraw_request(_contracts(home, rpc_url), _participant(home, account))
    _print_tx(f"{account} withdrew its request to join and may register afresh", tx)


@org_app.command("status")
@handle_errors
def org_status(
    name: str,
    status: Annotated[str, typer.Argument(help="to-audit, audited or suspended")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Set an organisation's status (supervisor only)."""
    from datagora.services import registry

    org, tx = registry.set_status(
        _contracts(home, rpc_url), _participant(home, account).account, name, OrgStatus.parse(status)
    )
    _print_tx(f"organisation #{org.id} {org.name!r} is now {org.status.name}", tx)


@org_app.command("show")
@handle_errors
def org_show(name: str, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """Show an organisation by name or id."""
    from datagora.services.registry import resolve_organisation

    contracts = _contracts(home, rpc_url)
    org = contracts.registry.organisation(resolve_organisation(contracts, name))
    console.print(f"#{org.id} {org.name!r} status {org.status.name}, {org.members} member(s)", highlight=False)


@customer_app.command("register")
@handle_errors
def customer_register(account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """Register the account as an individual customer."""
    from datagora.services import registry

    tx = registry.register_customer(_contracts(home, rpc_url), _participant(home, account))
    _print_tx(f"{account} registered as a customer", tx)


# -- datasets and trade --------------------------------------------------------------------------------------


@app.command()
@handle_errors
def publish(
    file: Path,
    account: AccountName,
    platform: Annotated[str, typer.Option(help="Keystore name of the platform that attests novelty.")],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")] = None,
    domain: Annotated[str, typer.Option(help="Data source domain.")] = "general",
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Encrypt FILE into the seller's store, get the platform's novelty attestation, mint the dataset."""
    from datagora.services import publishing
    from datagora.services.attestation import NoveltyAttestor

    contracts = _contracts(home, rpc_url)
    seller = _participant(home, account)
    plat = _participant(home, platform)
    attestor = NoveltyAttestor(contracts, plat.account, plat.paths.data_contract)
    prepared = publishing.prepare(seller, file, name=name, domain=domain)
    token_id, _att, tx = publishing.publish(contracts, seller, prepared, attestor)
    _print_tx(f"published {file.name} as dataset #{token_id} (sha256 {prepared.description.content_hash.hex()})", tx)


@app.command()
@handle_errors
def search(
    keyword: Annotated[str, typer.Argument()] = "",
    account: AccountName = "",
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Keyword search over published datasets (members of Audited organisations only)."""
    from datagora.services import catalog

    contracts = _contracts(home, rpc_url)
    caller = _participant(home, account).address  # proves the caller holds the key
    table = Table("id", "name", "domain", "size", "owner", "listing", "price (ETH)", "sale")
    for hit in catalog.search(contracts, caller, keyword):
        listing = hit.listing
        if listing is None:
            price, sale = "-", "-"
        else:
            in_ether = int(listing.payment_token, 16) == 0
            price = str(hit.price / ETHER) if in_ether else _money(contracts, hit.price, listing.payment_token)
            sale = "use-right per query" if listing.max_queries else listing.pricing.name.lower()
        table.add_row(
            str(hit.token_id),
            hit.name,
            hit.domain,
            str(hit.size),
            _short(hit.owner),
            str(hit.listing_id or "-"),
            price,
            sale,
        )
    console.print(table)


Amount = Annotated[str, typer.Argument(help="Ether (0.5) or the smallest unit with a suffix (500000wei).")]
_PRICING_WORDS = {
    Pricing.FIXED: "for",
    Pricing.NEGOTIATED: "for negotiation, asking",
    Pricing.AUCTION: "at auction, reserve",
}
AMOUNT_HELP = "Ether (0.5) or the smallest unit with a suffix (500000wei); an ERC-20 listing counts in its units."


@app.command("list")
@handle_errors
def list_(
    token_id: int,
    account: AccountName,
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
            "avg) over groups of at least 5 rows, no raw rows."
        ),
    ] = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Offer the ownership of dataset TOKEN_ID: at a fixed price, for negotiation (--negotiable) or by English
    auction (--auction). The seller posts the collateral with the listing (double deposit). With --use-right,
    sell queries on it instead (Wu et al. section II): buyers prepay queries the seller's node answers under the
    ODRL policy, whose keccak256 goes on chain."""
    from datagora.services import market

    if use_right:
        if negotiable or auction or collateral is not None or reserve is not None or min_increment is not None:
            raise ValidationError("--use-right sells queries at a fixed price per query, without collateral")
        if (price is None) == (price_per_query is None):
            raise ValidationError("give the price of one query once: --price-per-query (or --price)")
        _list_use_right(
            token_id,
            account,
            _parse_amount(str(price_per_query or price)),
            max_queries=max_queries,
            usage_window=usage_window,
            policy_file=policy,
            token=token,
            home=home,
            rpc_url=rpc_url,
        )
        return
    if price_per_query is not None or policy is not None:
        raise ValidationError("--price-per-query and --policy are for --use-right")
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
        _parse_amount(str(reserve if auction and reserve is not None else price)),
        delivery_window=delivery_window,
        confirm_window=confirm_window,
        collateral=None if collateral is None else _parse_amount(collateral),
        payment_token=_address_option(token),
        min_increment=_parse_amount(str(min_increment)) if auction else None,
        duration=duration if auction else None,
    )
    contracts, seller = _contracts(home, rpc_url), _participant(home, account)
    listing_id, txs = market.list_ownership(contracts, seller, token_id, terms)
    listing = contracts.market.listing(listing_id)
    how = _PRICING_WORDS[listing.pricing]
    for tx in txs[:-1]:
        nft = any(e.name == "ApprovalForAll" for e in tx.events)
        _print_tx("approved the market for data NFTs" if nft else "approved the market to take the collateral", tx)
    _print_tx(
        f"listing #{listing_id}: dataset #{token_id} {how} {_money(contracts, listing.price, listing.payment_token)}, "
        f"collateral {_money(contracts, listing.collateral, listing.payment_token)}",
        txs[-1],
    )


def _list_use_right(
    token_id: int,
    account: str,
    price: int,
    *,
    max_queries: int,
    usage_window: int,
    policy_file: Path | None,
    token: str | None,
    home: Path,
    rpc_url: str | None,
) -> None:
    from datagora.query import UsagePolicy
    from datagora.services import use_rights

    contracts, seller = _contracts(home, rpc_url), _participant(home, account)
    listing_id, tx = use_rights.list_use_right(
        contracts,
        seller,
        token_id,
        price,
        None if policy_file is None else UsagePolicy.from_json(policy_file.read_bytes()),
        max_queries=max_queries,
        usage_window=usage_window,
        payment_token=_address_option(token),
    )
    terms = use_rights.policy_of(seller, listing_id)
    listing = contracts.market.listing(listing_id)
    _print_tx(
        f"listing #{listing_id}: use-rights on dataset #{token_id} at "
        f"{_money(contracts, listing.price, listing.payment_token)} per query (at most {listing.max_queries} per "
        f"order, usable {listing.delivery_window} s) under ODRL policy {terms.uid} "
        f"(keccak256 0x{terms.policy_hash().hex()} on chain)",
        tx,
    )


@app.command()
@handle_errors
def buy(
    listing_id: int,
    account: AccountName,
    value: Annotated[
        str | None, typer.Option(help="Ether to send (default: the price plus the collateral; 0 for an ERC-20).")
    ] = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Pay the price and the buyer's collateral into escrow for a fixed-price listing (an ERC-20 listing's token
    is approved first)."""
    from datagora.services import market

    contracts = _contracts(home, rpc_url)
    order_id, tx = market.buy(
        contracts, _participant(home, account), listing_id, None if value is None else _parse_amount(value)
    )
    order, listing = contracts.market.order(order_id), contracts.market.listing(listing_id)
    _print_tx(
        f"order #{order_id} paid into escrow: {_money(contracts, order.amount, listing.payment_token)} plus "
        f"{_money(contracts, listing.collateral, listing.payment_token)} collateral",
        tx,
    )


@app.command()
@handle_errors
def deliver(
    order_id: int,
    account: AccountName,
    out: Annotated[Path, typer.Option(help="Directory to write the ciphertext for the buyer.")] = Path("."),
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Encrypt the dataset to the buyer's key and commit the delivery hash."""
    from datagora.services import market

    delivery = market.deliver(_contracts(home, rpc_url), _participant(home, account), order_id, out_dir=out)
    _print_tx(f"delivered order #{order_id}: {delivery.path}", delivery.tx)


@app.command()
@handle_errors
def receive(
    order_id: int,
    ciphertext: Path,
    account: AccountName,
    out: Annotated[Path, typer.Option(help="Where to write the decrypted dataset.")],
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Check a delivered ciphertext against the chain and decrypt it."""
    from datagora.services import market

    rec = market.receive(_contracts(home, rpc_url), _participant(home, account), order_id, ciphertext, out)
    console.print(f"[green]✓[/] {rec.path} ({rec.size} bytes), sha256 {rec.content_hash.hex()} matches Catalog")


@app.command()
@handle_errors
def fetch(
    order_id: int,
    node_url: Annotated[
        str, typer.Option("--from", help="URL of the seller's node (or the platform's, with --relay).")
    ],
    account: AccountName,
    out: Annotated[Path, typer.Option(help="Where to write the decrypted dataset.")],
    relay: Annotated[bool, typer.Option(help="Download from the platform's relay instead of the seller.")] = False,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Download a delivered ciphertext from a node over HTTP (Sign-In with Ethereum as the buyer), with a
    progress bar; an interrupted download resumes where it stopped. Then check and decrypt it like `receive`."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from datagora.api.client import NodeClient, RemoteError
    from datagora.services import market

    contracts = _contracts(home, rpc_url)
    buyer = _participant(home, account)
    with (
        NodeClient(node_url, buyer.account) as client,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task(f"order #{order_id}", total=None)

        def show(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            rec = market.fetch_and_receive(contracts, buyer, order_id, client, out, from_relay=relay, progress=show)
        except RemoteError as exc:
            raise DatagoraError(f"download failed ({exc}); run the same command again to resume") from exc
    console.print(f"[green]✓[/] {rec.path} ({rec.size} bytes), sha256 {rec.content_hash.hex()} matches Catalog")


def _order_action(action: str) -> Callable[..., None]:
    @handle_errors
    def command(order_id: int, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
        from datagora.services import market

        tx = getattr(market, action)(_contracts(home, rpc_url), _participant(home, account), order_id)
        _print_tx(f"{action} order #{order_id}", tx)

    command.__doc__ = {
        "confirm": "Confirm receipt: seller and platform are paid, the data NFT moves to the buyer.",
        "refund": "Refund an order not delivered by its deadline.",
        "release": "Release an order not confirmed by its deadline to the seller.",
    }[action]
    return command


for _action in ("confirm", "refund", "release"):
    app.command(_action)(_order_action(_action))


@app.command()
@handle_errors
def rate(
    order_id: int,
    score: Annotated[int, typer.Argument(help="1 (worst) to 5 (best).")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Rate the other party of a completed order (buyer rates seller, seller rates buyer); not after a refund,
    nor within one organisation."""
    from datagora.services import reputation

    rated, tx = reputation.rate_counterparty(_contracts(home, rpc_url), _participant(home, account), order_id, score)
    _print_tx(f"rated order #{order_id} {score}/5 (the other party, {rated})", tx)


@app.command("reputation")
@handle_errors
def reputation_show(
    address: Annotated[str, typer.Argument(help="Account address (0x…) whose ratings to show.")],
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Show an account's average rating beside the number of rated orders it rests on."""
    from datagora.services import reputation

    average, count = reputation.reputation_of(_contracts(home, rpc_url), address)
    if average is None:
        console.print(f"{address}: never rated", highlight=False)
    else:
        orders = "order" if count == 1 else "orders"
        console.print(f"{address}: {average:.2f}/5 over {count} rated {orders}", highlight=False)


@app.command()
@handle_errors
def withdraw(
    account: AccountName,
    token: Annotated[str | None, typer.Option(help="ERC-20 to withdraw (default: ether).")] = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Withdraw everything the market owes the account, in ether or an ERC-20."""
    from datagora.services import market

    contracts, payment_token = _contracts(home, rpc_url), _address_option(token)
    amount, tx = market.withdraw(contracts, _participant(home, account), payment_token)
    _print_tx(f"withdrew {_money(contracts, amount, payment_token)}", tx)


# -- negotiation, auctions, disputes, use-right expiry -------------------------------------------------------


@app.command()
@handle_errors
def offer(
    listing_id: int,
    amount: Amount,
    account: AccountName,
    valid_for: Annotated[int, typer.Option(help="Seconds the offer stays open.")] = 86_400,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Offer AMOUNT for a negotiable listing; the amount and the buyer's collateral are held in escrow until the
    offer is accepted, rejected or withdrawn."""
    from datagora.services import market

    contracts = _contracts(home, rpc_url)
    offer_id, tx = market.make_offer(
        contracts, _participant(home, account), listing_id, _parse_amount(amount), valid_for=valid_for
    )
    made, listing = contracts.market.offer(offer_id), contracts.market.listing(listing_id)
    _print_tx(
        f"offer #{offer_id} on listing #{listing_id}: {_money(contracts, made.amount, listing.payment_token)} "
        f"(plus {_money(contracts, listing.collateral, listing.payment_token)} collateral) held in escrow, open "
        f"for {valid_for} s",
        tx,
    )


@app.command()
@handle_errors
def counter(
    offer_id: int, amount: Amount, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None
) -> None:
    """The seller answers offer OFFER_ID with a counter price the buyer may accept until the offer expires."""
    from datagora.services import market

    contracts = _contracts(home, rpc_url)
    tx = market.counter_offer(contracts, _participant(home, account), offer_id, _parse_amount(amount))
    made = contracts.market.offer(offer_id)
    token = contracts.market.listing(made.listing_id).payment_token
    _print_tx(f"countered offer #{offer_id} with {_money(contracts, made.counter, token)}", tx)


@app.command()
@handle_errors
def accept(offer_id: int, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """The seller accepts offer OFFER_ID at the buyer's amount: it becomes an order."""
    from datagora.services import market

    order_id, tx = market.accept_offer(_contracts(home, rpc_url), _participant(home, account), offer_id)
    _print_tx(f"accepted offer #{offer_id}: order #{order_id} paid into escrow", tx)


@app.command("accept-counter")
@handle_errors
def accept_counter(
    offer_id: int,
    account: AccountName,
    counter: Annotated[
        str,
        typer.Option(
            "--counter",
            help="The counter price you accept, ether (0.5) or with a suffix (500000wei); "
            "refused if the seller has changed it.",
        ),
    ],
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The buyer accepts the seller's counter on offer OFFER_ID (a higher price is topped up now, a lower one
    leaves the difference to withdraw): it becomes an order.

    Example: datagora accept-counter 1 --counter 0.6 -a buyer"""
    from datagora.services import market

    order_id, tx = market.accept_counter(
        _contracts(home, rpc_url), _participant(home, account), offer_id, _parse_amount(counter)
    )
    _print_tx(f"accepted the counter on offer #{offer_id}: order #{order_id} paid into escrow", tx)


@app.command()
@handle_errors
def reject(offer_id: int, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """The seller rejects offer OFFER_ID; the buyer's escrow is owed back to it."""
    from datagora.services import market

    tx = market.reject_offer(_contracts(home, rpc_url), _participant(home, account), offer_id)
    _print_tx(f"rejected offer #{offer_id}: the buyer's escrow is owed back to it", tx)


@app.command("withdraw-offer")
@handle_errors
def withdraw_offer(offer_id: int, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """The buyer takes offer OFFER_ID back (anyone may once it expired); then `datagora withdraw` pays the escrow
    out."""
    from datagora.services import market

    tx = market.withdraw_offer(_contracts(home, rpc_url), _participant(home, account), offer_id)
    _print_tx(f"withdrew offer #{offer_id}: the escrow is owed back to the buyer", tx)


@app.command()
@handle_errors
def bid(
    listing_id: int, amount: Amount, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None
) -> None:
    """Bid AMOUNT in the English auction of LISTING_ID; the bid and the bidder's collateral are held in escrow
    (an outbid bidder withdraws its own)."""
    from datagora.services import market

    contracts = _contracts(home, rpc_url)
    value = _parse_amount(amount)
    tx = market.bid(contracts, _participant(home, account), listing_id, value)
    auction = contracts.market.auction(listing_id)
    _print_tx(
        f"bid {_money(contracts, value, contracts.market.listing(listing_id).payment_token)} on listing #{listing_id} "
        f"(the auction ends at Unix time {auction.end_time})",
        tx,
    )


@app.command()
@handle_errors
def settle(listing_id: int, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """After its end, settle the auction of LISTING_ID: the highest bid becomes an order (without bids the
    dataset and the collateral return to the seller)."""
    from datagora.services import market

    order_id, tx = market.settle_auction(_contracts(home, rpc_url), _participant(home, account), listing_id)
    if order_id:
        _print_tx(f"settled the auction of listing #{listing_id}: order #{order_id} for the highest bidder", tx)
    else:
        _print_tx(f"settled the auction of listing #{listing_id} without bids: the dataset returns to the seller", tx)


@app.command()
@handle_errors
def dispute(
    order_id: int,
    account: AccountName,
    reason: Annotated[str, typer.Option(help="Why (kept off chain; its keccak256 goes on chain).")],
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The buyer (or the platform) disputes a delivered order before its confirmation deadline; the platform
    then resolves it."""
    from datagora.services import market

    if not reason.strip():
        raise ValidationError("give a reason: --reason TEXT")
    contracts = _contracts(home, rpc_url)
    tx = market.dispute(contracts, _participant(home, account), order_id, reason)
    deadline = contracts.market.order(order_id).deadline
    _print_tx(f"disputed order #{order_id}: the platform resolves it by Unix time {deadline}", tx)


@app.command()
@handle_errors
def expire(order_id: int, account: AccountName, home: Home = DEFAULT_HOME, rpc_url: RpcUrl = None) -> None:
    """Close a use-right order after its usage window: the unused credit is owed back to the buyer."""
    from datagora.services import market

    contracts = _contracts(home, rpc_url)
    refund, tx = market.expire_use_right(contracts, _participant(home, account), order_id)
    token = contracts.market.listing(contracts.market.order(order_id).listing_id).payment_token
    _print_tx(f"expired order #{order_id}: {_money(contracts, refund, token)} unused credit owed to the buyer", tx)


# -- use-rights per query (Wu et al. section II) -------------------------------------------------------------


@app.command("buy-queries")
@handle_errors
def buy_queries(
    listing_id: int,
    queries: Annotated[int, typer.Argument(help="How many queries to prepay.")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Prepay QUERIES queries of the use-right listing LISTING_ID (price per query × QUERIES; an ERC-20 is
    approved first). Run them with `datagora query`; unused credit returns after the usage window (`expire`)."""
    from datagora.services import use_rights

    contracts = _contracts(home, rpc_url)
    order_id, tx = use_rights.buy_queries(contracts, _participant(home, account), listing_id, queries)
    order, listing = contracts.market.order(order_id), contracts.market.listing(listing_id)
    _print_tx(
        f"order #{order_id}: {order.queries_total} queries of dataset #{listing.token_id} prepaid "
        f"({_money(contracts, order.amount, listing.payment_token)}), usable until Unix time {order.deadline}",
        tx,
    )


def _result_table(columns: tuple[str, ...], rows: tuple[tuple[Any, ...], ...], title: str) -> Table:
    table = Table(title=title)
    for name in columns:
        table.add_column(escape(name), overflow="fold")
    for row in rows:
        table.add_row(*(escape("null" if v is None else f"{v:.8g}" if isinstance(v, float) else str(v)) for v in row))
    return table


@app.command()
@handle_errors
def query(
    order_id: int,
    spec: Annotated[
        Path,
        typer.Option(
            "--spec",
            help='The query as JSON (never SQL), e.g. {"select": ["region", {"aggregate": "avg", "column": '
            '"income"}], "group_by": ["region"]}.',
        ),
    ],
    node_url: Annotated[str, typer.Option("--from", help="URL of the seller's node.")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Run the next query of use-right order ORDER_ID on the seller's node: sign it (EIP-712) with the buyer's
    key, send it over HTTP (Sign-In with Ethereum as the buyer), check the result against the hash the seller
    recorded on chain and print it. The seller's node refuses queries outside the listing's ODRL policy before
    anything is paid."""
    from datagora.api.client import NodeClient
    from datagora.query import QuerySpec
    from datagora.services import use_rights

    try:
        doc = json.loads(spec.read_text())
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{spec} is not JSON: {exc}") from None
    query_spec = QuerySpec.from_dict(doc)
    contracts, buyer = _contracts(home, rpc_url), _participant(home, account)
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
    if result.suppressed_groups:
        notes.append(f"{result.suppressed_groups} group(s) under the policy's minimum size withheld")
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


policy_app = typer.Typer(help="ODRL usage policies of use-right listings.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
@handle_errors
def policy_show(
    listing_id: int,
    account: AccountName,
    node_url: Annotated[
        str | None, typer.Option("--from", help="URL of the seller's node (default: the account's own records).")
    ] = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Print the W3C ODRL policy of use-right listing LISTING_ID (JSON-LD) and check it against the hash the
    listing committed on chain: from the seller's node (--from, signed in as ACCOUNT) or, for the seller, from
    its own records."""
    from datagora.api.client import NodeClient
    from datagora.query import UsagePolicy
    from datagora.services import use_rights
    from datagora.services.use_rights import policy_hash_on_chain

    contracts, who = _contracts(home, rpc_url), _participant(home, account)
    if node_url is None:
        terms = use_rights.policy_of(who, listing_id)
    else:
        with NodeClient(node_url, who.account) as client:
            terms = UsagePolicy.from_jsonld(client.use_right_policy(listing_id).policy)
    committed = policy_hash_on_chain(contracts, listing_id)
    typer.echo(json.dumps(terms.to_jsonld(), indent=2, sort_keys=True))
    if committed != terms.policy_hash():
        raise DatagoraError(
            f"the policy's keccak256 0x{terms.policy_hash().hex()} is not the one listing #{listing_id} committed "
            f"on chain ({'none' if committed is None else '0x' + committed.hex()})"
        )
    console.print(f"[green]✓[/] keccak256 0x{committed.hex()} is the hash listing #{listing_id} committed on chain")


# -- disputes and deadlines through the platform (Wu et al. section IV.A.3-5) --------------------------------

PlatformNode = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="URL of the platform's node: ask it over HTTP (signed in as ACCOUNT, its operator) instead of acting "
        "in process with the platform's home.",
    ),
]


def _platform_board(contracts: Any, platform: Any) -> Any:
    """The platform's send-receive board, in the files its node keeps (``<participant home>/send-receive.sqlite``)."""
    from datagora.services.relay import SendReceiveBoard

    return SendReceiveBoard(
        contracts,
        platform.store,
        platform.paths.board,
        operator=platform.address,
        platform_key=platform.private_key,
    )


@app.command()
@handle_errors
def reupload(
    order_id: int,
    platform_url: Annotated[str, typer.Option("--to", help="URL of the platform's node.")],
    account: AccountName,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The seller of disputed order ORDER_ID re-uploads its data encrypted to the platform, E_PkP(D'), for the
    platform to fingerprint and compare with what it attested at publication (section IV.A.3)."""
    from datagora.api.client import NodeClient
    from datagora.services import disputes

    contracts, seller = _contracts(home, rpc_url), _participant(home, account)
    with NodeClient(platform_url, seller.account) as client:
        held = disputes.reupload_to(contracts, seller, order_id, client)
    console.print(
        f"[green]✓[/] re-uploaded E_PkP(D') for order #{order_id} to the platform ({held.size:,} bytes, sha256 "
        f"{_short(held.sha256)}); the platform arbitrates next",
        highlight=False,
    )


@app.command()
@handle_errors
def disclose(
    order_id: int,
    platform_url: Annotated[str, typer.Option("--to", help="URL of the platform's node.")],
    account: AccountName,
    ciphertext: Annotated[
        Path | None,
        typer.Option(help="The delivered ciphertext (default: where `fetch` keeps it, the account's inbox)."),
    ] = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The buyer of disputed order ORDER_ID discloses the data key of the ciphertext it received, encrypted to
    the platform (E_PkP(k)): the platform can then decrypt exactly what the seller sent, and nothing else."""
    from datagora.api.client import NodeClient
    from datagora.services import disputes

    contracts, buyer = _contracts(home, rpc_url), _participant(home, account)
    with NodeClient(platform_url, buyer.account) as client:
        disputes.disclose_to(contracts, buyer, order_id, client, ciphertext)
    console.print(
        f"[green]✓[/] disclosed the data key of order #{order_id}'s delivery to the platform, encrypted to it",
        highlight=False,
    )


@app.command("check-delivery")
@handle_errors
def check_delivery(
    order_id: int,
    account: AccountName,
    node_url: PlatformNode = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The platform compares the seller's and the buyer's notices on the send-receive board (step 22): the buyer
    may confirm when they agree; when they do not, the platform disputes the order on chain."""
    from datagora.services import disputes

    contracts, platform = _contracts(home, rpc_url), _participant(home, account)
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


@app.command()
@handle_errors
def arbitrate(
    order_id: int,
    account: AccountName,
    node_url: PlatformNode = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The platform rules on disputed order ORDER_ID (section IV.A.3) with the seller's re-upload (and the buyer's
    disclosed key) its node received: D' fingerprinted and compared with what was attested and with the content
    hash in Catalog; the ruling and the evidence's hash go on chain."""
    contracts, platform = _contracts(home, rpc_url), _participant(home, account)
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
        f"{', copy E_PkB(D′) kept for the buyer' if copy else ''})  [dim]tx {tx_hash}  gas {gas:,}[/]",
        highlight=False,
    )


@app.command("enforce-deadlines")
@handle_errors
def enforce_deadlines(
    account: AccountName,
    first_order: Annotated[int, typer.Option(help="Check orders from this id on.")] = 1,
    node_url: PlatformNode = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The platform's periodic check (sections IV.A.4-5): refund orders never delivered, release those never
    confirmed (the mandatory transfer), unwind disputes nobody resolved and expire use-rights, for every order past
    its deadline. Anyone may run it; the platform does."""
    from datagora.services import disputes

    contracts, caller = _contracts(home, rpc_url), _participant(home, account)
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


@market_app.command("params")
@handle_errors
def market_params(
    account: Annotated[str | None, typer.Option("--account", "-a", help="Keystore name of the platform.")] = None,
    fee_bps: Annotated[int | None, typer.Option(help="Brokerage fee in basis points of each sale.")] = None,
    management_fee: Annotated[str | None, typer.Option(help="Paid by each new listing. " + AMOUNT_HELP)] = None,
    dispute_window: Annotated[int | None, typer.Option(help="Seconds the platform has to resolve a dispute.")] = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Show the Market's parameters; with options, the platform changes them (the others are kept)."""
    from datagora.services import platform

    contracts = _contracts(home, rpc_url)
    if fee_bps is None and management_fee is None and dispute_window is None:
        params = platform.market_parameters(contracts)
    else:
        if not account:
            raise ValidationError("changing the parameters needs the platform's account: --account")
        params, tx = platform.set_market_parameters(
            contracts,
            _participant(home, account),
            fee_bps=fee_bps,
            management_fee=None if management_fee is None else _parse_amount(management_fee),
            dispute_window=dispute_window,
        )
        _print_tx("changed the Market's parameters", tx)
    console.print(
        f"brokerage fee {params.fee_bps} bps, management fee {_money(contracts, params.management_fee)} per "
        f"listing, dispute window {params.dispute_window} s",
        highlight=False,
    )


audit_app = typer.Typer(help="The audit trail read back from contract events, and its verification.")
app.add_typer(audit_app, name="audit")
IndexUrl = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        envvar="DATAGORA_INDEX_URL",
        help="Event index to use (default: the SQLite file in --home that the account's node builds).",
    ),
]
IndexAccount = Annotated[
    str | None,
    typer.Option(
        "--account",
        "-a",
        help="Keystore name of the node whose event index to read (the one `serve -a NAME` builds); "
        "without it, an index of its own in --home.",
    ),
]


def _event_index(
    home: Path, contracts: Any, account: str | None, index_url: str | None, confirmations: int = 0
) -> tuple[Any, str]:
    """The event index the audit commands read, and where it is (password hidden): ``index_url``, else the
    file the node of ``account`` builds under ``home`` (``serve`` uses the same), else the account-less one."""
    from sqlalchemy.engine import make_url

    from datagora.index import EventIndexer, open_engine

    if index_url is None:
        paths = homes.Home(home)
        address = _address(home, account) if account else None
        paths.index_dir.mkdir(parents=True, exist_ok=True)
        index_url = paths.index_url(contracts.chain.chain_id, address)
    shown = make_url(index_url).render_as_string(hide_password=True)
    try:
        return EventIndexer(contracts, open_engine(index_url), confirmations=confirmations), shown
    except ValueError as exc:
        raise ValidationError(f"event index {shown}: {exc}") from None


@audit_app.callback(invoke_without_command=True)
@handle_errors
def audit(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (header row first) instead of a table.")] = False,
    organisation: Annotated[int | None, typer.Option(help="Only this organisation id.")] = None,
    dataset: Annotated[int | None, typer.Option(help="Only this dataset (token id).")] = None,
    subject: Annotated[str | None, typer.Option(help="Only records involving this account address.")] = None,
    account: IndexAccount = None,
    index_url: IndexUrl = None,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """The audit trail: who shared what, with whom, when, with tx hashes (filters: organisation, dataset,
    account). Read from the event index, brought up to date first."""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from datagora.services.audit import audit_trail

    indexer, where = _event_index(home, _contracts(home, rpc_url), account, index_url)
    try:
        trail = audit_trail(indexer, organisation_id=organisation, token_id=dataset, account=subject)
    finally:
        indexer.engine.dispose()
    if as_json:
        for rec in trail:
            typer.echo(json.dumps(asdict(rec)))
        return
    if as_csv:
        import csv
        import io
        from dataclasses import fields

        from datagora.services.audit import AuditRecord

        buf = io.StringIO()
        writer = csv.DictWriter(buf, [f.name for f in fields(AuditRecord)], lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(rec) for rec in trail)
        typer.echo(buf.getvalue(), nl=False)
        return
    table = Table("block", "actor", "event", "what", "tx", caption=f"event index: {where}")
    for rec in trail:
        table.add_row(str(rec.block_number), _short(rec.actor), rec.action, rec.detail, _short(rec.tx_hash))
    console.print(table)


@audit_app.command("verify")
@handle_errors
def audit_verify(
    account: IndexAccount = None,
    index_url: IndexUrl = None,
    confirmations: Annotated[int, typer.Option(help="Blocks to wait before indexing a block.")] = 0,
    home: Home = DEFAULT_HOME,
    rpc_url: RpcUrl = None,
) -> None:
    """Bring the event index up to date, then re-read every indexed row from the chain and report any
    difference (exit code 1 when there is one). With --account, the index that account's node builds."""
    indexer, where = _event_index(home, _contracts(home, rpc_url), account, index_url, confirmations)
    try:
        report = indexer.sync()
        verified = indexer.verify()
    finally:
        indexer.engine.dispose()
    console.print(f"event index: {where}", highlight=False)
    console.print(
        f"indexed blocks {report.from_block}..{report.to_block} (+{report.events} events"
        + (f", reorg of {report.reorg_depth} blocks rolled back" if report.reorg_depth else "")
        + f"); verified {verified.checked} rows against the chain",
        highlight=False,
    )
    if not verified.ok:
        for d in verified.differences:
            err.print(f"row {d.event_id} tx {d.tx_hash} log {d.log_index}: {d.kind} {d.detail}", highlight=False)
        raise DatagoraError(f"{len(verified.differences)} indexed rows differ from the chain")
    console.print("[green]✓[/] the index matches the chain")


from datagora.cli.fingerprint import fingerprint_command  # noqa: E402
from datagora.cli.serve import serve  # noqa: E402  (imports FastAPI/uvicorn lazily inside)

app.command()(serve)
app.command("fingerprint")(handle_errors(fingerprint_command))


def main() -> None:  # pragma: no cover - console entry point
    app()
