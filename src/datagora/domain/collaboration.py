"""Typed models of collaborations (Mehdi, Mazlin, Sbai, Azghiou, "Data Centric Marketplace"): offers between data
service providers (DSPs) and value providers (VPs), negotiation rounds, DAOs with stakes in basis points, members
with heartbeats, nested channels. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

BPS = 10_000
"""Stakes are basis points of the DAO's revenue; a DAO's stakes sum to 10,000."""
MAX_MEMBERS = 16
"""Seats per DAO (the DSP and up to 15 value providers), the contract's ``MAX_MEMBERS``."""


class Role(IntEnum):
    """Who posts an offer: the data service provider (owner of the data) or a value provider."""

    DSP = 1
    VP = 2


class CollabOfferState(IntEnum):
    """A collaboration offer's state in ``Collaboration.vy``."""

    NONE = 0
    OPEN = 1
    ACCEPTED = 2
    WITHDRAWN = 4


class DaoState(IntEnum):
    """A DAO's state: active (revenue, joins, posts, heartbeats) or closed (withdrawals and ratings only)."""

    NONE = 0
    ACTIVE = 1
    CLOSED = 2


@dataclass(frozen=True)
class CollabOffer:
    """An offer in the services explorer. ``stake_bps`` is the stake the VP (the newcomer) would hold;
    ``heartbeat_timeout`` in seconds (0 for an offer to join an existing DAO); ``expiry`` in Unix seconds."""

    offer_id: int
    poster: str
    dao_id: int
    poster_role: Role
    state: CollabOfferState
    terms_hash: bytes
    stake_bps: int
    heartbeat_timeout: int
    expiry: int


@dataclass(frozen=True)
class Proposal:
    """The last proposal between an offer's poster and one counterparty; round 0 is the offer as posted."""

    proposer: str
    round: int
    terms_hash: bytes
    stake_bps: int


@dataclass(frozen=True)
class Dao:
    """A DAO: its founder (the DSP, seat 0), its lead member (the founder while active: receives rounding),
    seats given so far (seat k >= 1 opened channel k), active members, heartbeat timeout (seconds), key epoch
    (moves on every membership change), cumulative revenue per basis point and total revenue (wei)."""

    dao_id: int
    founder: str
    lead: str
    state: DaoState
    seats: int
    active_members: int
    heartbeat_timeout: int
    key_epoch: int
    revenue_per_bps: int
    total_revenue: int
    post_count: int

    @property
    def channels(self) -> list[int]:
        """The DAO's channel numbers, 1 .. seats - 1 (channel k = seats 0..k, section IV.B)."""
        return list(range(1, self.seats))


@dataclass(frozen=True)
class Member:
    """One member of a DAO: its seat (0 = the DSP; seat k joined k-th), whether it is still active, its stake in
    basis points, its last heartbeat (Unix seconds) and its revenue index."""

    dao_id: int
    account: str
    seat: int
    active: bool
    stake_bps: int
    last_heartbeat: int
    revenue_index: int

    def channels(self, seats: int) -> list[int]:
        """The channels this member belongs to in a DAO of ``seats`` seats: max(seat, 1) .. seats - 1."""
        if not self.active:
            return []
        return list(range(max(self.seat, 1), seats))
