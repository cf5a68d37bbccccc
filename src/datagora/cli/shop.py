"""``datagora shop``: shop at a Datagora shop node (``datagora serve --shop CATALOG.csv``) as a customer with
your own account: the catalogue, your cart, checkout (the shop signs the quote, you pay from your account), your
orders, and confirming that a parcel arrived. The shop's operator marks orders delivered with ``shop deliver``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from datagora.cli.app import DatagoraTyper, console, print_done, session

if TYPE_CHECKING:
    from datagora.api.client import NodeClient

PANEL = "Shopping"

app = DatagoraTyper()
shop_app = DatagoraTyper(
    help="Buy from a shop node with your own Ethereum account: catalogue, cart, checkout in ether, orders. "
    "Example: `datagora shop catalogue --shop-url http://127.0.0.1:8702`."
)
app.add_typer(shop_app, name="shop", rich_help_panel=PANEL)
cart_app = DatagoraTyper(help="Your cart at the shop: add products, show it.")
shop_app.add_typer(cart_app, name="cart")

ShopUrl = Annotated[
    str, typer.Option("--shop-url", envvar="DATAGORA_SHOP_URL", help="Base URL of the shop's node.", show_default=False)
]
OrderArg = Annotated[str, typer.Argument(help="The order's hash (0x + 64 hex digits), from `datagora shop orders`.")]


def _eth(wei: int) -> str:
    text = f"{wei / 10**18:,.6f}".rstrip("0").rstrip(".")
    return f"{text} ETH"


def _client(url: str) -> NodeClient:
    from datagora.api.client import NodeClient

    return NodeClient(url, session().participant().account)


def _lines_table(title: str, lines: list[dict[str, Any]], total: int) -> Table:
    table = Table(title=title)
    for col, justify in (("product", "left"), ("sku", "left"), ("units", "right"), ("subtotal", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for line in lines:
        table.add_row(line["name"], line["sku"], str(line["quantity"]), _eth(line["subtotal_wei"]))
    table.add_section()
    table.add_row("total", "", "", _eth(total))
    return table


@shop_app.command()
def catalogue(shop_url: ShopUrl) -> None:
    """Show the shop's products, prices in ETH and units left (no account needed).

    Example: datagora shop catalogue --shop-url http://127.0.0.1:8702"""
    import httpx

    from datagora.domain.errors import DatagoraError

    try:
        answer = httpx.get(shop_url.rstrip("/") + "/store", timeout=30)
    except httpx.HTTPError as exc:
        raise DatagoraError(f"cannot reach the shop at {shop_url}: {exc}") from None
    if answer.status_code != 200:
        raise DatagoraError(f"the shop answered {answer.status_code}: {answer.json().get('detail', '')}")
    info = answer.json()
    table = Table(title=f"Shop of {info['seller']}")
    for col, justify in (
        ("sku", "left"),
        ("product", "left"),
        ("category", "left"),
        ("price", "right"),
        ("left", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in info["products"]:
        table.add_row(p["sku"], p["name"], p["category"], _eth(p["price_wei"]), str(p["available"]))
    console.print(table)
    console.print(
        f"Deposit on each side: {info['collateral_bps'] / 100:g} % of the order; the shop delivers within "
        f"{info['delivery_window'] // 3600} h.",
        highlight=False,
    )


@cart_app.command("add")
def cart_add(
    sku: Annotated[str, typer.Argument(help="The product's SKU (see `datagora shop catalogue`).")],
    shop_url: ShopUrl,
    quantity: Annotated[int, typer.Option("--quantity", "-q", min=1, help="Units to add.")] = 1,
) -> None:
    """Add a product to your cart at the shop.

    Example: datagora shop cart add COF-ETH-250 -q 2 --shop-url http://127.0.0.1:8702 -a alice"""
    with _client(shop_url) as client:
        cart = client.json("POST", "/store/cart/items", json={"sku": sku, "quantity": quantity})
    console.print(_lines_table("Your cart", cart["lines"], cart["total_wei"]))


@cart_app.command("show")
def cart_show(shop_url: ShopUrl) -> None:
    """Show your cart at the shop.

    Example: datagora shop cart show --shop-url http://127.0.0.1:8702 -a alice"""
    with _client(shop_url) as client:
        cart = client.json("GET", "/store/cart")
    if not cart["lines"]:
        console.print("Your cart is empty.")
        return
    console.print(_lines_table("Your cart", cart["lines"], cart["total_wei"]))


@shop_app.command()
def checkout(
    shop_url: ShopUrl,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Pay without asking.")] = False,
) -> None:
    """Check out your cart: the shop signs the price, you pay it plus a deposit of the same amount (returned when
    you confirm delivery) from your own account. Refused before anything is sent when the cart was paid already
    or your account holds too little ether.

    Example: datagora shop checkout --shop-url http://127.0.0.1:8702 -a alice"""
    from datagora.services import shop

    s = session()
    customer = s.participant()
    with _client(shop_url) as client:
        q = client.json("POST", "/store/checkout")
    contracts = s.contracts()
    if q["shop_contract"].lower() != contracts.shop.address.lower():
        from datagora.domain.errors import ValidationError

        raise ValidationError("the shop uses another Shop contract than your deployment: check --rpc-url and the shop")
    console.print(_lines_table("Checkout", q["lines"], q["amount_wei"]))
    console.print(
        f"You send {_eth(q['value_wei'])}: {_eth(q['amount_wei'])} for the items and a deposit of "
        f"{_eth(q['collateral_wei'])} that comes back when you confirm delivery.",
        highlight=False,
    )
    quote = shop.Quote(
        bytes.fromhex(q["order_hash"][2:]),
        q["customer"],
        q["seller"],
        "",
        tuple((li["sku"], li["name"], li["quantity"], li["price_wei"]) for li in q["lines"]),
        q["amount_wei"],
        q["discount_wei"],
        q["collateral_wei"],
        q["expiry"],
        bytes.fromhex(q["signature"][2:]),
    )
    if not yes and not typer.confirm("Pay now?", default=True):
        raise typer.Exit(1)
    tx = shop.pay(contracts, customer.account, quote)
    print_done(f"Paid order {q['order_hash']}", tx)


@shop_app.command()
def orders(shop_url: ShopUrl) -> None:
    """Your orders at the shop, newest first (the shop's operator sees every order).

    Example: datagora shop orders --shop-url http://127.0.0.1:8702 -a alice"""
    from datetime import UTC, datetime

    with _client(shop_url) as client:
        rows = client.json("GET", "/store/orders")
    if not rows:
        console.print("No orders yet.")
        return
    table = Table(title="Orders")
    for col in ("order", "paid", "items", "amount", "state", "deadline"):
        table.add_column(col, justify="right" if col == "amount" else "left")
    for o in rows:
        items = ", ".join(f"{li['quantity']} × {li['name']}" for li in o["lines"])
        table.add_row(
            o["order_hash"],
            datetime.fromtimestamp(o["paid_at"], UTC).strftime("%d %b %Y %H:%M") if o["paid_at"] else "-",
            items,
            _eth(o["amount_wei"]),
            o["state"] + (f" ({o['outcome']})" if o["outcome"] else ""),
            datetime.fromtimestamp(o["deadline"], UTC).strftime("%d %b %Y %H:%M"),
        )
    console.print(table)


@shop_app.command()
def confirm(order_hash: OrderArg) -> None:
    """Confirm that an order arrived: the shop is paid and both deposits are released (yours to withdraw).

    Example: datagora shop confirm 0x1234… -a alice"""
    from datagora.services import shop

    s = session()
    tx = shop.confirm(s.contracts(), s.participant().account, order_hash)
    print_done(f"Confirmed order {order_hash}; withdraw your deposit with `datagora shop withdraw`", tx)


@shop_app.command()
def refund(order_hash: OrderArg) -> None:
    """Take a refund of an order the shop did not deliver in time: your payment and both deposits.

    Example: datagora shop refund 0x1234… -a alice"""
    from datagora.services import shop

    s = session()
    tx = shop.refund(s.contracts(), s.participant().account, order_hash)
    print_done(f"Refunded order {order_hash}; withdraw it with `datagora shop withdraw`", tx)


@shop_app.command()
def withdraw() -> None:
    """Withdraw the ether the Shop contract owes you (deposits back, refunds, a shop's takings).

    Example: datagora shop withdraw -a alice"""
    from datagora.services import shop

    s = session()
    contracts = s.contracts()
    owed = contracts.shop.pending(s.address())
    tx = shop.withdraw(contracts, s.participant().account)
    if tx is None:
        console.print("The shop owes you nothing.")
        return
    print_done(f"Withdrew {_eth(owed)}", tx)


@shop_app.command("open")
def open_shop(
    bond: Annotated[str, typer.Option(help="Ether to put in the bond each order's deposit is locked from, e.g. 1.")],
    deposit: Annotated[
        int,
        typer.Option(min=0, max=100, help="Deposit each side stakes, in percent of the order (100: double deposit)."),
    ] = 100,
    delivery_days: Annotated[int, typer.Option(min=1, max=365, help="Days the shop has to deliver.")] = 7,
    confirm_days: Annotated[int, typer.Option(min=1, max=365, help="Days a customer has to confirm.")] = 7,
) -> None:
    """Open your shop on chain (or change its terms) and add to its bond; your organisation must be audited.

    Example: datagora shop open --bond 1 -a shop"""
    from datagora.services import shop

    try:
        wei = shop.price_in_wei(bond)
    except ValueError as exc:
        from datagora.domain.errors import ValidationError

        raise ValidationError(f"--bond: {exc}") from None
    s = session()
    txs = shop.open_shop(
        s.contracts(),
        s.participant().account,
        bond=wei,
        collateral_bps=deposit * 100,
        delivery_window=delivery_days * 86_400,
        confirm_window=confirm_days * 86_400,
    )
    print_done(f"Shop open: {deposit} % deposit on each side, bond +{_eth(wei)}", txs[-1])


@shop_app.command()
def deliver(
    order_hash: OrderArg,
    shop_url: ShopUrl,
    note: Annotated[
        str, typer.Option(help="The shipping note (carrier, tracking number); only its hash goes on chain.")
    ],
) -> None:
    """The shop's operator marks an order delivered.

    Example: datagora shop deliver 0x1234… --note "Royal Mail RM123" --shop-url http://127.0.0.1:8702 -a shop"""
    with _client(shop_url) as client:
        done = client.json("POST", f"/store/orders/{order_hash}/delivery", json={"note": note})
    console.print(f"Delivered: order {order_hash}, delivery hash {done['delivery_hash']}", highlight=False)
