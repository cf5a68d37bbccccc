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
dataset_app = DatagoraTyper(help="Your datasets: retire one for good.")
app.add_typer(dataset_app, name="dataset", rich_help_panel=SELL)


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
    sample: Annotated[
        Path | None,
        typer.Option(
            help="Find datasets similar to this sample instead (a table of at least the platform's minimum number "
            "of rows, 40 by default, an image or a text); needs --platform-url.",
        ),
    ] = None,
    platform_url: Annotated[
        str | None, typer.Option("--platform-url", envvar="DATAGORA_PLATFORM_URL", help="URL of the platform's node.")
    ] = None,
) -> None:
    """Find published datasets by keyword, with their listing and price (members of audited organisations only;
    no password needed). With --sample, the platform's node says which datasets are similar to a sample of yours
    (it sees only the sample's fingerprint; the account's password is needed to sign in).

    Example: datagora search income -a buyer
    Example: datagora search --sample rows.csv --platform-url http://127.0.0.1:8700 -a buyer"""
    from datagora.services import catalog

    s = session()
    if sample is not None:
        _search_by_sample(sample, platform_url)
        return
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


def _search_by_sample(sample: Path, platform_url: str | None) -> None:
    from datagora.api.client import NodeClient
    from datagora.api.remote_attestor import RemoteAttestor
    from datagora.services import catalog

    if not platform_url:
        raise ValidationError("searching by sample needs the platform's node: pass --platform-url URL")
    check_input_file(sample, "sample")
    s = session()
    contracts = s.contracts()
    buyer = s.participant()
    with NodeClient(platform_url, buyer.account) as client:
        hits = catalog.search_by_sample(contracts, buyer, sample, RemoteAttestor(client))
    if not hits:
        console.print(f"no published dataset is similar to {escape(sample.name)}", highlight=False)
        return
    table = Table("id", "similarity")
    for hit in hits:
        table.add_row(str(hit.token_id), f"{hit.similarity:.2f}")
    console.print(table)


@dataset_app.command("retire")
def dataset_retire(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The dataset to retire (its token id).", min=1)],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Retire dataset ID for good: cancel its open listings, burn its token (recorded on chain) and destroy this
    node's encrypted copies and data keys of it. Copies buyers already received stay theirs. Cannot be undone.

    Example: datagora dataset retire 3 -a seller --yes"""
    from datagora.services import retire

    s = session()
    contracts = s.contracts()
    if not yes:
        import sys

        asked = sys.stdin.isatty() and typer.confirm(
            f"Retire dataset {token_id} and destroy its data on this node for good?"
        )
        if not asked:
            raise ValidationError(f"dataset {token_id} not retired: confirm it, or pass --yes")
    done = retire.retire(contracts, s.participant(), token_id)
    for listing_id in done.cancelled_listings:
        print_done(f"cancelled listing {listing_id}")
    print_done(f"retired dataset #{token_id}", done.txs[-1])
    print_done(
        f"destroyed {len(done.shredded.blobs)} ciphertext(s) and {len(done.shredded.files)} file(s) of it on this node"
    )
    if done.refunding_orders:
        ids = ", ".join(str(i) for i in done.refunding_orders)
        console.print(
            f"prepaid queries of order(s) {ids} can no longer be answered: their unused credit returns to the "
            "buyer when the usage window ends",
            highlight=False,
        )
