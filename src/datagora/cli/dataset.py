"""Datasets: publish one (encrypted into the owner's store, attested new by the platform, minted as a data NFT),
search the published ones, fingerprint files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import DatagoraTyper, check_input_file, console, print_done, session
from datagora.domain.errors import ValidationError

SELL = "Selling data"
BUY = "Buying data"

app = DatagoraTyper()


@app.command(common=False, rich_help_panel=SELL)
def sample(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder to write the files into (created if missing).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite sample files already in the folder.")] = False,
) -> None:
    """Write real sample data to trade into DIR (default: the current folder): a table of breast tumour
    measurements, a diabetes table and a photograph. No chain needed.

    Example: datagora sample data && datagora publish data/tumours.csv -a seller --platform platform"""
    from datagora.services.sample_data import SAMPLES

    if folder.exists() and not folder.is_dir():
        raise ValidationError(f"{folder} is not a folder")
    targets = [folder / name for name in SAMPLES]
    present = [t.name for t in targets if t.exists()]
    if present and not force:
        raise ValidationError(
            f"{', '.join(present)} already in {folder}: choose another folder or pass --force to overwrite"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for target, write in zip(targets, SAMPLES.values(), strict=True):
        write(target)
        print_done(f"wrote {target} ({units.size(target.stat().st_size)})")


@app.command(rich_help_panel=SELL)
def publish(
    file: Annotated[Path, typer.Argument(help="The data to publish (CSV table, image or text).")],
    platform: Annotated[str, typer.Option(help="Keystore name of the platform that checks the data is new.")],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the file name).")] = None,
    domain: Annotated[str, typer.Option(help="Subject area, e.g. finance or health.")] = "general",
) -> None:
    """Publish FILE: encrypt it into the seller's own store, have the platform check that it is not a copy of a
    published dataset, and mint the dataset's token. The data never leaves the seller's store.

    Example: datagora publish data.csv --name "Income survey" --domain finance -a seller --platform platform"""
    from datagora.services import publishing
    from datagora.services.attestation import NoveltyAttestor

    s = session()
    s.require_rpc_url()
    check_input_file(file)
    s.unlock_in_background(platform)
    contracts = s.contracts()
    s.address()  # the seller's keystore exists before the platform's is unlocked
    seller, plat = s.participant(), s.participant(platform)
    attestor = NoveltyAttestor(contracts, plat.account, s.home.participant(platform).data_contract)
    prepared = publishing.prepare(seller, file, name=name, domain=domain)
    token_id, _att, tx = publishing.publish(contracts, seller, prepared, attestor)
    print_done(f"published {file.name} as dataset #{token_id} (sha256 {prepared.description.content_hash.hex()})", tx)


@app.command(rich_help_panel=BUY, signs=False)
def search(
    keyword: Annotated[str, typer.Argument(help="Word to look for in names, domains and columns.")] = "",
) -> None:
    """Find published datasets by keyword, with their listing and price (members of audited organisations only;
    no password needed).

    Example: datagora search income -a buyer"""
    from datagora.services import catalog

    s = session()
    contracts = s.contracts()
    caller = s.address()
    table = Table("id", "name", "domain", "items", "owner", "listing", "price", "sale")
    for hit in catalog.search(contracts, caller, keyword):
        listing = hit.listing
        if listing is None:
            price, sale = "-", "-"
        else:
            price = units.money(contracts, hit.price, listing.payment_token)
            sale = "use-right per query" if listing.max_queries else listing.pricing.name.lower()
        table.add_row(
            str(hit.token_id),
            escape(hit.name),
            escape(hit.domain),
            f"{hit.size:,}",
            units.short(hit.owner),
            str(hit.listing_id or "-"),
            price,
            sale,
        )
    console.print(table)
