"""Collaborations between data service providers and value providers (Mehdi, Mazlin, Sbai, Azghiou, "Data Centric
Marketplace: When blockchain reigns over the Cloud"): the services explorer (offers with DCAT / ODRL terms and
negotiation rounds), DAOs with stakes, nested channels with encrypted content, revenue split by stake, heartbeats,
termination of members that abandon, and ratings when a collaboration ends.

The chain holds hashes and numbers (``Collaboration.vy``); the terms' text travels in events; channel content and
key envelopes stay off-chain in a :class:`ChannelStore`. Every function takes its adapters (``Contracts``, the
store) and the signing account explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.crypto.channels import ChannelKeyEnvelope, new_channel_key, open_channel_key, seal, unseal
from datagora.crypto.hashing import keccak256
from datagora.crypto.keys import checksum_address
from datagora.domain.canonical import canonical_json
from datagora.domain.collaboration import BPS, CollabOffer, CollabOfferState, Dao, Member, Proposal, Role
from datagora.domain.errors import CryptoError, NotFoundError, ValidationError
from datagora.domain.models import TxResult

__all__ = [
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_OFFER_LIFETIME",
    "ChannelPost",
    "ChannelStore",
    "DaoOverview",
    "ExplorerEntry",
    "ProfitNode",
    "accept",
    "build_terms",
    "counter",
    "explorer",
    "overdue_members",
    "overview",
    "pay",
    "post_offer",
    "post_to_channel",
    "profit_tree",
    "read_channel",
    "terms_hash",
    "withdraw",
]

DEFAULT_HEARTBEAT_TIMEOUT = 3_600
"""Seconds without a heartbeat after which a member may be terminated, unless the offer says otherwise."""
DEFAULT_OFFER_LIFETIME = 7 * 86_400
"""Seconds an offer stays open, unless the poster says otherwise."""
MAX_TERMS_BYTES = 4_096
"""The contract carries at most this many bytes of terms text in an event."""


# ------------------------------------------------------------------ terms


def build_terms(
    *,
    role: Role,
    title: str,
    data: str,
    service: str,
    stake_bps: int,
    purpose: str = "https://w3id.org/dpv#ServiceProvision",
    actions: tuple[str, ...] = ("use", "aggregate"),
    prohibited: tuple[str, ...] = ("distribute",),
) -> dict[str, Any]:
    """The offer's terms as one JSON-LD document: a W3C DCAT ``dcat:Dataset`` (what the data is) with a
    ``dcat:DataService`` (what the value provider adds) and a W3C ODRL ``odrl:Offer`` (permissions, prohibitions,
    purpose, the value provider's stake in basis points). :class:`ValidationError` when a text is empty or the
    stake is outside 1..9,999."""
    if not title.strip() or not data.strip() or not service.strip():
        raise ValidationError("an offer needs a title, a description of the data and of the service")
    if not 0 < stake_bps < BPS:
        raise ValidationError(f"the value provider's stake must be between 1 and {BPS - 1} basis points")
    return {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "odrl": "http://www.w3.org/ns/odrl/2/",
            "dpv": "https://w3id.org/dpv#",
        },
        "@type": "dcat:Dataset",
        "dct:title": title,
        "dct:description": data,
        "dcat:servesDataset": {"@type": "dcat:DataService", "dct:description": service},
        "odrl:hasPolicy": {
            "@type": "odrl:Offer",
            "odrl:permission": [
                {
                    "odrl:action": f"odrl:{a}",
                    "odrl:constraint": [{"odrl:leftOperand": "odrl:purpose", "odrl:rightOperand": purpose}],
                }
                for a in actions
            ],
            "odrl:prohibition": [{"odrl:action": f"odrl:{a}"} for a in prohibited],
            "odrl:duty": [{"odrl:action": "odrl:compensate", "datagora:stakeBps": stake_bps}],
        },
        "datagora:posterRole": role.name,
    }


def terms_text(terms: Mapping[str, Any]) -> str:
    """Canonical JSON of ``terms`` (:func:`datagora.domain.canonical.canonical_json`). :class:`ValidationError`
    past 4,096 bytes (UTF-8), :class:`~datagora.domain.errors.NotCanonicalJSON` for NaN or Infinity."""
    raw = canonical_json(dict(terms))
    if len(raw) > MAX_TERMS_BYTES:
        raise ValidationError(f"the terms take {len(raw)} bytes; at most {MAX_TERMS_BYTES} fit")
    return raw.decode()


def terms_hash(terms: Mapping[str, Any]) -> bytes:
    """keccak256 of :func:`terms_text` (32 bytes), what the contract records."""
    return keccak256(terms_text(terms).encode())


# ------------------------------------------------------------ explorer


@dataclass(frozen=True)
class ExplorerEntry:
    """An offer as the services explorer shows it: the offer, its terms (parsed JSON, or {} when unreadable) and
    its negotiation rounds so far (counterparty → last proposal)."""

    offer: CollabOffer
    terms: dict[str, Any]
    rounds: dict[str, Proposal] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.terms.get("dct:title", f"offer #{self.offer.offer_id}"))


def _collab_events(contracts: Contracts, name: str | None = None) -> list[Any]:
    binding = contracts.collaboration
    logs = contracts.get_logs([binding.address])
    return [e for e in contracts.decode(logs) if name is None or e.name == name]


def post_offer(
    contracts: Contracts,
    sender: LocalAccount,
    *,
    terms: Mapping[str, Any],
    role: Role,
    stake_bps: int,
    dao_id: int = 0,
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT,
    lifetime: int = DEFAULT_OFFER_LIFETIME,
) -> tuple[int, TxResult]:
    """Post an offer in the services explorer (``dao_id`` 0: a new DAO; else to join that DAO, the heartbeat
    timeout then being the DAO's). ``lifetime`` in seconds. Returns the offer id. Raises
    :class:`~datagora.domain.errors.TransactionReverted` with the contract's reason (e.g. not audited)."""
    if lifetime <= 0:
        raise ValidationError("an offer's lifetime must be positive (seconds)")
    return contracts.collaboration.post_offer(
        sender,
        dao_id=dao_id,
        role=role,
        terms_hash=terms_hash(terms),
        stake_bps=stake_bps,
        heartbeat_timeout=heartbeat_timeout if dao_id == 0 else 0,
        expiry=contracts.chain.now() + lifetime,
        terms=terms_text(terms),
    )


def counter(
    contracts: Contracts,
    sender: LocalAccount,
    offer_id: int,
    *,
    terms: Mapping[str, Any],
    stake_bps: int,
    counterparty: str | None = None,
) -> TxResult:
    """A negotiation round: the sender answers the other side's last proposal with new terms and stake.
    ``counterparty`` is needed only when the sender is the offer's poster."""
    party = counterparty or sender.address
    return contracts.collaboration.counter(sender, offer_id, party, terms_hash(terms), stake_bps, terms_text(terms))


def accept(
    contracts: Contracts, sender: LocalAccount, offer_id: int, *, counterparty: str | None = None
) -> tuple[int, TxResult]:
    """Accept the other side's last proposal (the round read now; "collaboration: proposal changed" when a new
    round lands first). Returns the DAO id, formed or joined."""
    party = counterparty or sender.address
    proposal = contracts.collaboration.proposal(offer_id, party)
    return contracts.collaboration.accept(sender, offer_id, party, proposal.round)


def explorer(contracts: Contracts, *, open_only: bool = False) -> list[ExplorerEntry]:
    """Every offer with its terms and rounds, newest first (``open_only``: only offers still open)."""
    binding = contracts.collaboration
    texts: dict[int, str] = {}
    rounds: dict[int, dict[str, Proposal]] = {}
    for ev in _collab_events(contracts):
        if ev.name == "OfferPosted":
            texts[int(ev.args["offer_id"])] = str(ev.args["terms"])
        elif ev.name == "OfferCountered":
            rounds.setdefault(int(ev.args["offer_id"]), {})[str(ev.args["counterparty"])] = Proposal(
                str(ev.args["proposer"]), int(ev.args["round"]), bytes(ev.args["terms_hash"]),
                int(ev.args["stake_bps"]),
            )  # fmt: skip
    out = []
    for offer_id in sorted(texts, reverse=True):
        offer = binding.offer(offer_id)
        if open_only and offer.state != CollabOfferState.OPEN:
            continue
        try:
            parsed = json.loads(texts[offer_id])
        except ValueError:
            parsed = {}
        out.append(ExplorerEntry(offer, parsed if isinstance(parsed, dict) else {}, rounds.get(offer_id, {})))
    return out


# ------------------------------------------------------ DAOs and revenue


@dataclass(frozen=True)
class ProfitNode:
    """A node of the profit tree (the paper's figure 3): ``label`` (a member's address, or ``"CH k"`` for a
    channel's group), its share of the revenue in basis points, and its children. The root is the newest channel:
    its last value provider's stake beside the group of the channel before it, and so on down to CH 1 = the data
    provider and the first value provider."""

    label: str
    share_bps: int
    children: tuple[ProfitNode, ...] = ()


def profit_tree(members: list[Member]) -> ProfitNode:
    """The profit tree of a DAO from its members (by seat): the group of channel k holds the stakes of the seats
    0..k; terminated members (stake 0) are left out. :class:`ValidationError` when there is no member."""
    seated = sorted(members, key=lambda m: m.seat)
    if not seated:
        raise ValidationError("a DAO without members has no profit tree")
    node = ProfitNode(seated[0].account, seated[0].stake_bps)
    for k, m in enumerate(seated[1:], start=1):
        leaf = ProfitNode(m.account, m.stake_bps)
        children = tuple(c for c in (node, leaf) if c.share_bps > 0 or c.children)
        node = ProfitNode(f"CH {k}", sum(x.stake_bps for x in seated[: k + 1]), children)
    return node


@dataclass(frozen=True)
class DaoOverview:
    """A DAO with its members (by seat), what each may withdraw now (wei) and its profit tree."""

    dao: Dao
    members: list[Member]
    claimable: dict[str, int]
    tree: ProfitNode

    @property
    def active(self) -> list[Member]:
        return [m for m in self.members if m.active]


def overview(contracts: Contracts, dao_id: int) -> DaoOverview:
    """Read a DAO back from the chain. :class:`NotFoundError` when there is none."""
    binding = contracts.collaboration
    dao = binding.dao(dao_id)
    members = binding.members(dao_id)
    claimable = {m.account: binding.claimable(dao_id, m.account) for m in members}
    return DaoOverview(dao, members, claimable, profit_tree(members))


def daos(contracts: Contracts) -> list[DaoOverview]:
    """Every DAO, newest first."""
    _, count = contracts.collaboration.counts()
    return [overview(contracts, i) for i in range(count, 0, -1)]


def pay(contracts: Contracts, sender: LocalAccount, dao_id: int, amount_wei: int) -> TxResult:
    """Pay revenue into a DAO (wei > 0); it is split by stake at once, the rounding to the lead member."""
    if amount_wei <= 0:
        raise ValidationError("the revenue paid must be more than 0 wei")
    return contracts.collaboration.pay(sender, dao_id, amount_wei)


def withdraw(contracts: Contracts, sender: LocalAccount, dao_id: int) -> tuple[int, TxResult]:
    """Withdraw the sender's share of ``dao_id`` and its credit. Returns the wei paid out."""
    res = contracts.collaboration.withdraw(sender, dao_id)
    paid = sum(int(e.args["amount"]) for e in res.events if e.name == "Withdrawn")
    return paid, res


def overdue_members(contracts: Contracts, dao_id: int, now: int | None = None) -> list[Member]:
    """Active members whose last heartbeat is older than the DAO's timeout at ``now`` (default: the latest
    block's time): anyone may terminate them."""
    dao = contracts.collaboration.dao(dao_id)
    at = contracts.chain.now() if now is None else now
    return [
        m for m in contracts.collaboration.members(dao_id) if m.active and at > m.last_heartbeat + dao.heartbeat_timeout
    ]


# --------------------------------------------------------------- channels


class ChannelStore:
    """Off-chain storage of channel key envelopes (``keys/<keccak hex>.json``) and sealed posts
    (``posts/<keccak hex>``) under ``root``; the chain records the same keccak256 hashes. Anyone may read the
    files: envelopes open only with a member's key, posts only with the channel's key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "keys").mkdir(parents=True, exist_ok=True)
        (self.root / "posts").mkdir(parents=True, exist_ok=True)

    def put_envelope(self, envelope: ChannelKeyEnvelope) -> bytes:
        """Store an envelope; returns its keccak256 hash."""
        raw = envelope.to_bytes()
        digest = keccak256(raw)
        (self.root / "keys" / f"{digest.hex()}.json").write_bytes(raw)
        return digest

    def envelope(self, digest: bytes) -> ChannelKeyEnvelope:
        """The envelope of hash ``digest``. :class:`NotFoundError` when absent, :class:`ValidationError` when the
        file does not hash to ``digest``."""
        path = self.root / "keys" / f"{digest.hex()}.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no channel key envelope {digest.hex()[:16]}… in {self.root}") from None
        if keccak256(raw) != digest:
            raise ValidationError(f"channel key envelope {digest.hex()[:16]}… does not match its hash")
        return ChannelKeyEnvelope.from_bytes(raw)

    def put_post(self, sealed: bytes) -> str:
        """Store sealed content; returns its location (the hex keccak256)."""
        location = keccak256(sealed).hex()
        (self.root / "posts" / location).write_bytes(sealed)
        return location

    def post(self, location: str) -> bytes:
        """Sealed content at ``location``. :class:`NotFoundError` when absent or the name is not a hash."""
        if len(location) != 64 or any(c not in "0123456789abcdef" for c in location):
            raise NotFoundError(f"no channel post at {location!r}")
        try:
            return (self.root / "posts" / location).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no channel post at {location!r}") from None


def channel_members(contracts: Contracts, dao_id: int, channel: int) -> list[str]:
    """The current members of a channel (seats 0..channel, active), by seat."""
    return [m.account for m in contracts.collaboration.members(dao_id) if m.active and m.seat <= channel]


def _current_key(
    contracts: Contracts, store: ChannelStore, author: LocalAccount, dao_id: int, channel: int
) -> tuple[bytes, int, list[TxResult]]:
    binding = contracts.collaboration
    epoch = binding.dao(dao_id).key_epoch
    published = binding.channel_key(dao_id, channel, epoch)
    if published != bytes(32):
        return open_channel_key(store.envelope(published), bytes(author.key)), epoch, []
    keys = {a: contracts.registry.public_key(a) for a in channel_members(contracts, dao_id, channel)}
    key, envelope = new_channel_key(dao_id, channel, epoch, keys)
    digest = store.put_envelope(envelope)
    return key, epoch, [binding.publish_channel_key(author, dao_id, channel, digest)]


def post_to_channel(
    contracts: Contracts, store: ChannelStore, author: LocalAccount, dao_id: int, channel: int, content: bytes
) -> tuple[int, list[TxResult]]:
    """Seal ``content`` under the channel's key of the current epoch (making and publishing a fresh key, wrapped
    for the channel's current members with ECIES, when this epoch has none yet), store it and record its hash on
    chain. Returns the post id and the transactions. :class:`~datagora.domain.errors.TransactionReverted`
    ("collaboration: not in channel") when the author is not a member of the channel."""
    if not contracts.collaboration.in_channel(dao_id, channel, author.address):
        raise ValidationError(f"{author.address} is not a member of channel {channel} of collaboration #{dao_id}")
    key, epoch, txs = _current_key(contracts, store, author, dao_id, channel)
    sealed = seal(key, content, dao_id=dao_id, channel=channel, epoch=epoch)
    location = store.put_post(sealed)
    post_id, tx = contracts.collaboration.post(author, dao_id, channel, keccak256(sealed), location)
    return post_id, [*txs, tx]


@dataclass(frozen=True)
class ChannelPost:
    """A channel post as a reader sees it: metadata from the chain (anyone) and ``content`` when the reader held
    the channel's key at the post's epoch (None otherwise, with ``sealed_reason`` saying why)."""

    post_id: int
    channel: int
    author: str
    epoch: int
    content_hash: bytes
    location: str
    content: bytes | None
    sealed_reason: str = ""


def read_channel(
    contracts: Contracts, store: ChannelStore, reader_key: bytes, dao_id: int, channel: int
) -> list[ChannelPost]:
    """Every post of a channel in order, opened with ``reader_key`` (a 32-byte private key) where it can be: a
    post opens only for members of the channel at its key epoch."""
    binding = contracts.collaboration
    out: list[ChannelPost] = []
    for ev in _collab_events(contracts, "ChannelPosted"):
        a = ev.args
        if int(a["dao_id"]) != dao_id or int(a["channel"]) != channel:
            continue
        epoch = int(a["key_epoch"])
        meta = (int(a["post_id"]), channel, str(a["author"]), epoch, bytes(a["content_hash"]), str(a["location"]))
        try:
            sealed = store.post(meta[5])
            if keccak256(sealed) != meta[4]:
                raise ValidationError("the stored post does not match the hash on chain")
            key = open_channel_key(store.envelope(binding.channel_key(dao_id, channel, epoch)), reader_key)
            out.append(ChannelPost(*meta, unseal(key, sealed, dao_id=dao_id, channel=channel, epoch=epoch)))
        except (CryptoError, ValidationError) as exc:
            out.append(ChannelPost(*meta, None, str(exc)))
    return out


def checksum(address: str) -> str:
    """EIP-55 form of ``address``; :class:`ValidationError` when it is not an address."""
    return checksum_address(address)
