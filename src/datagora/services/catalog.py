"""Finding datasets: keyword retrieval with the semantics of EntDSM Algorithms 4-5 (Wang & Liu section III.C)
over the ``DatasetPublished`` events. Only members of an Audited organisation may search, as the paper requires.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.domain.errors import AccessDenied
from datagora.domain.models import ETHER, Listing, ListingState
from datagora.services.participant import Participant


@dataclass(frozen=True)
class DatasetSummary:
    """A published dataset as a buyer sees it: description, current owner, open listing (0 if none) with its
    price (wei, or the ERC-20's smallest unit: the fixed price, the asking price, the auction's reserve or the
    price per query) and its terms (``listing``: None when not on offer)."""

    token_id: int
    name: str
    domain: str
    attributes: str
    size: int
    content_hash: bytes
    owner: str
    listing_id: int
    price: int
    listing: Listing | None = None

    @property
    def payment_token(self) -> str:
        return self.listing.payment_token if self.listing is not None else ETHER


def search(contracts: Contracts, caller: str, keyword: str = "") -> list[DatasetSummary]:
    """Datasets whose name, domain or attributes contain ``keyword`` (case-insensitive; empty = all); retired
    datasets are left out. Raises ``AccessDenied`` when ``caller`` is not a member of an Audited organisation."""
    if not contracts.registry.is_audited(caller):
        raise AccessDenied(f"{caller} is not a member of an Audited organisation: search refused")
    needle = keyword.strip().lower()
    published = {}
    retired: set[int] = set()
    latest: dict[int, int] = {}  # token id → its newest listing
    # Names and listings only: decoded without each block's timestamp (which would cost a request per block).
    logs = contracts.get_logs([contracts.catalog.address, contracts.market.address])
    for ev in contracts.decode(logs):
        if ev.name == "DatasetPublished":
            published[int(ev.args["token_id"])] = ev.args
        elif ev.name == "Retired":
            retired.add(int(ev.args["token_id"]))
        elif ev.name == "Listed":
            latest[int(ev.args["token_id"])] = int(ev.args["listing_id"])
    out = []
    for token_id, args in published.items():
        if token_id in retired:  # retired by its owner: no longer on the market
            continue
        text = f"{args['name']}\n{args['domain']}\n{args['attributes']}".lower()
        if needle and needle not in text:
            continue
        listing = contracts.market.listing(latest[token_id]) if token_id in latest else None
        if listing is not None and listing.state != ListingState.ACTIVE:
            listing = None
        out.append(
            DatasetSummary(
                token_id,
                str(args["name"]),
                str(args["domain"]),
                str(args["attributes"]),
                int(args["size"]),
                bytes(args["content_hash"]),
                contracts.catalog.owner_of(token_id),
                listing.id if listing is not None else 0,
                listing.price if listing is not None else 0,
                listing,
            )
        )
    return out


class SampleSearcher(Protocol):
    """The platform side of search by sample (``NoveltyAttestor`` locally, a client of its node remotely)."""

    @property
    def address(self) -> str: ...

    def search_by_sample(self, ciphertext: bytes, requester_public_key: bytes, k: int = 10) -> bytes: ...


@dataclass(frozen=True)
class SampleMatch:
    token_id: int
    similarity: float


def search_by_sample(
    contracts: Contracts, buyer: Participant, sample: Path, platform: SampleSearcher, k: int = 10
) -> list[SampleMatch]:
    """Wu et al. step 9-2: fingerprint a sample locally, send it encrypted to the platform, get back (encrypted
    to the buyer) the ids of published datasets similar to it. The buyer never sees a stored fingerprint.
    Raises ``AccessDenied`` for a caller outside an Audited organisation, ``ValidationError`` for an
    unsupported sample."""
    if not contracts.registry.is_audited(buyer.address):
        raise AccessDenied(f"{buyer.address} is not a member of an Audited organisation: search refused")
    from datagora.fingerprint import fingerprint

    request = encrypt_to(contracts.registry.public_key(platform.address), fingerprint(sample).to_bytes())
    answer = json.loads(decrypt_with(buyer.private_key, platform.search_by_sample(request, buyer.public_key, k)))
    return [SampleMatch(int(m["token_id"]), float(m["similarity"])) for m in answer]
