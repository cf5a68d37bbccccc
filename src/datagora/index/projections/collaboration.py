"""Collaboration events in the index: kept in the ``events`` table (offers, rounds, DAOs, stakes, revenue,
heartbeats, channel posts); the collaboration service reads DAOs and stakes from the contract and the history
from that table, so no derived table is needed yet."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "Collaboration",
    handlers={},
    ignored=frozenset(
        {
            "OfferPosted",
            "OfferCountered",
            "OfferAccepted",
            "OfferWithdrawn",
            "DaoFormed",
            "MemberJoined",
            "StakeChanged",
            "RevenuePaid",
            "Withdrawn",
            "InfrastructureRequested",
            "Heartbeat",
            "MemberTerminated",
            "ChannelKeyPublished",
            "ChannelPosted",
            "DaoClosed",
            "Rated",
        }
    ),
)
