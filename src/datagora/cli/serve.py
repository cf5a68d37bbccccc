"""``datagora serve``: run one participant's node (HTTP API), or with ``--dev`` a whole demo network on the
embedded chain. Registered in ``datagora.cli.main``; imports the API lazily so ``datagora --help`` stays fast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from datagora.domain.errors import DatagoraError
from datagora.home import DEFAULT_HOME

SERVER_KEEPALIVE_S = 30
"""Seconds an idle HTTP connection stays open on a node (uvicorn's default is 5, the same as httpx's, which races)."""


def _fail(exc: BaseException) -> typer.Exit:
    message = " ".join(str(exc).split()) or type(exc).__name__
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def serve(
    home: Annotated[
        Path, typer.Option("--home", envvar="DATAGORA_HOME", help="Keystores, deployments and local stores.")
    ] = DEFAULT_HOME,
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", envvar="DATAGORA_RPC_URL", help="JSON-RPC URL of the chain.")
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", envvar="DATAGORA_ACCOUNT", help="Keystore name of the node's operator."),
    ] = None,
    index_url: Annotated[
        str | None,
        typer.Option("--index-url", envvar="DATAGORA_INDEX_URL", help="SQLAlchemy URL of the event index."),
    ] = None,
    host: Annotated[str, typer.Option("--host", envvar="DATAGORA_HOST", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="DATAGORA_PORT", help="TCP port.")] = 8000,
    platform_url: Annotated[
        str | None,
        typer.Option("--platform-url", envvar="DATAGORA_PLATFORM_URL", help="Base URL of the platform's node."),
    ] = None,
    shop: Annotated[
        Path | None,
        typer.Option(
            "--shop",
            envvar="DATAGORA_SHOP",
            help="Make this node a shop selling the products of this CSV (sku, name, category, price_eth, stock, "
            "description); pages at /shop.",
            metavar="CATALOG.csv",
        ),
    ] = None,
    infra: Annotated[
        bool,
        typer.Option(
            "--infra",
            envvar="DATAGORA_INFRA",
            help="Also do what `datagora infra watch` does: start the collaboration workloads this node hosts when "
            "they are requested on chain, and send their heartbeats.",
        ),
    ] = False,
    infra_dao: Annotated[
        list[int] | None,
        typer.Option(
            "--infra-dao",
            help="With --infra: a collaboration whose members this node ends when their heartbeats are overdue "
            "(repeat for several).",
            min=1,
        ),
    ] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Run a demo network (supervisor, platform, seller, buyer) in one process.")
    ] = False,
) -> None:
    """Serve a participant's node: HTTP API with Sign-In with Ethereum (OpenAPI at /openapi.json, docs at
    /docs). The keystore password comes from DATAGORA_PASSWORD or a prompt. Other settings: DATAGORA_* (see
    docs/api.md).

    Example: datagora serve -a seller --port 8701 --platform-url http://127.0.0.1:8700"""
    import uvicorn
    from pydantic import ValidationError as SettingsError

    from datagora.api.settings import Settings

    given: dict[str, Any] = {"home": home, "host": host, "port": port}
    for key, value in (("rpc_url", rpc_url), ("account", account), ("index_url", index_url)):
        if value is not None:
            given[key] = value
    if platform_url is not None:
        given["platform_url"] = platform_url
    if shop is not None:
        given["shop"] = shop
    if infra or infra_dao:
        given["infra"] = True
    if infra_dao:
        given["infra_dao"] = infra_dao
    try:
        settings = Settings(**given)
    except SettingsError as exc:
        raise _fail(
            ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        ) from None
    try:
        if shop is not None:  # a bad catalogue is said before the chain is reached or a password asked
            from datagora.services.shop import load_catalogue

            load_catalogue(shop)
        if dev:
            from datagora.api.dev import DevNetwork, start_dev_network

            def ready(network: DevNetwork) -> None:
                typer.echo("Demo network ready:")
                for name, node in network.nodes.items():
                    typer.echo(f"  {name:<10} {node.address}  {network.url(name)}/")
                typer.echo(f"Throw-away account keys: {network.accounts_file}")

            network = start_dev_network(settings, on_ready=ready)
            typer.echo(
                f"Datagora dev network on the embedded chain; directory at {network.base_url}/ "
                "(the network is built in the background; that page shows the progress)"
            )
            app = network.app
        else:
            from datagora.api import create_app
            from datagora.api.runtime import node_from_settings

            def password() -> str:
                if settings.password is not None:
                    return settings.password.get_secret_value()
                return str(typer.prompt(f"Password for {settings.account}", hide_input=True))

            node = node_from_settings(settings, password)
            roles = [
                r for r, on in (("platform", node.platform is not None), ("supervisor", node.is_supervisor())) if on
            ]
            if node.shop is not None:
                roles.append(f"shop of {len(node.shop.catalogue)} products")
            duty = None
            if settings.infra:  # a deployment without Collaboration is said before the server starts
                from datagora.api.infrastructure_duty import open_duty

                duty = open_duty(node, settings)  # opened once: the served node runs this one
                roles.append("collaboration workloads")
            typer.echo(
                f"Datagora node of {node.address} ({', '.join(roles) or 'participant'}) on chain {node.chain.chain_id}"
            )
            app = create_app(node, settings=settings, infra_duty=duty)
    except (DatagoraError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    # Idle connections stay open longer than clients keep them (NodeClient drops its own after 2 s), so a client
    # never sends on a connection the server is closing at that very moment.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=os.environ.get("DATAGORA_LOG_LEVEL", "info"),
        timeout_keep_alive=SERVER_KEEPALIVE_S,
    )
