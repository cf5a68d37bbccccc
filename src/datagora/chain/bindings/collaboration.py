"""Binding of ``Collaboration.vy``: offers and negotiation rounds between data service providers and value
providers, DAOs with stakes in basis points, nested channels, revenue split by stake with pull withdrawals,
infrastructure requests, heartbeats and termination, ratings between members (Mehdi et al.).

Amounts in wei, times in Unix seconds, stakes in basis points (10,000 = the whole revenue)."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.collaboration import (
    CollabOffer,
    CollabOfferState,
    Dao,
    DaoState,
    Member,
    Proposal,
    Role,
)
from datagora.domain.errors import NotFoundError
from datagora.domain.models import TxResult


def _event(res: TxResult, name: str) -> dict[str, Any]:
    return next(e for e in res.events if e.name == name).args


class CollaborationBinding(Binding):
    """Typed calls of the Collaboration contract."""

    NAME = "Collaboration"

    # -- offers and negotiation ----------------------------------------------------------------------------

    def post_offer(
        self,
        sender: LocalAccount,
        *,
        dao_id: int,
        role: Role,
        terms_hash: bytes,
        stake_bps: int,
        heartbeat_timeout: int,
        expiry: int,
        terms: str,
    ) -> tuple[int, TxResult]:
        """Post an offer (``dao_id`` 0 for a new DAO). ``terms_hash`` is keccak256 of the DCAT / ODRL terms
        (32 bytes), ``terms`` their text (in the event only). Returns the offer id. Reverts e.g. with
        "collaboration: not audited", "collaboration: bad stake", "collaboration: bad timeout"."""
        res = self._send(
            sender, "post_offer", dao_id, int(role), terms_hash, stake_bps, heartbeat_timeout, expiry, terms
        )
        return int(_event(res, "OfferPosted")["offer_id"]), res

    def counter(
        self, sender: LocalAccount, offer_id: int, counterparty: str, terms_hash: bytes, stake_bps: int, terms: str
    ) -> TxResult:
        """A negotiation round: new terms and VP stake answering the other side's last proposal."""
        return self._send(
            sender, "counter", offer_id, Web3.to_checksum_address(counterparty), terms_hash, stake_bps, terms
        )

    def accept(self, sender: LocalAccount, offer_id: int, counterparty: str, round_: int) -> tuple[int, TxResult]:
        """Accept the other side's proposal of round ``round_`` (0 = the offer as posted). Returns the DAO id
        (formed or joined); "collaboration: proposal changed" when a newer round exists."""
        res = self._send(sender, "accept", offer_id, Web3.to_checksum_address(counterparty), round_)
        return int(_event(res, "OfferAccepted")["dao_id"]) or int(_event(res, "DaoFormed")["dao_id"]), res

    def withdraw_offer(self, sender: LocalAccount, offer_id: int) -> TxResult:
        """The poster withdraws an open offer."""
        return self._send(sender, "withdraw_offer", offer_id)

    # -- revenue -------------------------------------------------------------------------------------------

    def pay(self, sender: LocalAccount, dao_id: int, amount_wei: int) -> TxResult:
        """Pay ``amount_wei`` of revenue to an active DAO, split by stake."""
        return self._send(sender, "pay", dao_id, value=amount_wei)

    def withdraw(self, sender: LocalAccount, dao_id: int) -> TxResult:
        """Withdraw the sender's share of ``dao_id`` plus its credit (``dao_id`` 0: the credit alone)."""
        return self._send(sender, "withdraw", dao_id)

    def claimable(self, dao_id: int, account: str) -> int:
        """Wei ``account`` would receive from :meth:`withdraw` on ``dao_id``."""
        return int(self._view("claimable", dao_id, Web3.to_checksum_address(account)))

    def credit(self, account: str) -> int:
        """Wei already credited to ``account`` (settled shares and rounding remainders)."""
        return int(self._view("credit", Web3.to_checksum_address(account)))

    # -- infrastructure, heartbeats, termination -----------------------------------------------------------

    def request_infrastructure(self, sender: LocalAccount, dao_id: int, spec: str) -> TxResult:
        """A member asks for infrastructure described by the JSON ``spec`` (event ``InfrastructureRequested``)."""
        return self._send(sender, "request_infrastructure", dao_id, spec)

    def heartbeat(self, sender: LocalAccount, dao_id: int) -> TxResult:
        """The member's machine reports it is alive (event ``Heartbeat``)."""
        return self._send(sender, "heartbeat", dao_id)

    def heartbeat_timeout(self, dao_id: int) -> int:
        """The DAO's heartbeat timeout in seconds."""
        return int(self._view("heartbeat_timeout", dao_id))

    def last_heartbeat(self, dao_id: int, account: str) -> int:
        """When ``account`` last posted a heartbeat (or joined), Unix seconds; 0 when never seated."""
        return int(self._view("last_heartbeat", dao_id, Web3.to_checksum_address(account)))

    def terminate(self, sender: LocalAccount, dao_id: int, member: str) -> TxResult:
        """Anyone terminates a member whose last heartbeat is older than the timeout (event ``MemberTerminated``);
        its stake is redistributed pro rata to the remaining members."""
        return self._send(sender, "terminate", dao_id, Web3.to_checksum_address(member))

    def close(self, sender: LocalAccount, dao_id: int) -> TxResult:
        """The lead member ends the collaboration."""
        return self._send(sender, "close", dao_id)

    def rate(self, sender: LocalAccount, dao_id: int, ratee: str, score: int) -> TxResult:
        """Rate another member (1..5) once the DAO is closed or the ratee was terminated."""
        return self._send(sender, "rate", dao_id, Web3.to_checksum_address(ratee), score)

    def reputation(self, account: str) -> tuple[int, int]:
        """Sum of scores and number of ratings ``account`` received as a collaboration member."""
        total, count = self._view("reputation", Web3.to_checksum_address(account))
        return int(total), int(count)

    # -- channels ------------------------------------------------------------------------------------------

    def publish_channel_key(self, sender: LocalAccount, dao_id: int, channel: int, envelope_hash: bytes) -> TxResult:
        """Record the hash of the channel's key envelope for the current key epoch."""
        return self._send(sender, "publish_channel_key", dao_id, channel, envelope_hash)

    def channel_key(self, dao_id: int, channel: int, epoch: int) -> bytes:
        """The key envelope hash published for (channel, epoch); 32 zero bytes when none."""
        return bytes(self._view("channel_key", dao_id, channel, epoch))

    def post(
        self, sender: LocalAccount, dao_id: int, channel: int, content_hash: bytes, location: str
    ) -> tuple[int, TxResult]:
        """Record sealed channel content (its hash; ciphertext at ``location``). Returns the post id."""
        res = self._send(sender, "post", dao_id, channel, content_hash, location)
        return int(_event(res, "ChannelPosted")["post_id"]), res

    def in_channel(self, dao_id: int, channel: int, account: str) -> bool:
        """Whether ``account`` currently belongs to the channel."""
        return bool(self._view("in_channel", dao_id, channel, Web3.to_checksum_address(account)))

    # -- views ---------------------------------------------------------------------------------------------

    def offer(self, offer_id: int) -> CollabOffer:
        """An offer; :class:`NotFoundError` when there is none."""
        o = self._view("offer", offer_id)
        if int(o[3]) == 0:
            raise NotFoundError(f"no collaboration offer {offer_id}")
        return CollabOffer(
            offer_id, str(o[0]), int(o[1]), Role(int(o[2])), CollabOfferState(int(o[3])), bytes(o[4]),
            int(o[5]), int(o[6]), int(o[7]),
        )  # fmt: skip

    def proposal(self, offer_id: int, counterparty: str) -> Proposal:
        """The last proposal between the offer's poster and ``counterparty`` (round 0: the offer as posted)."""
        p = self._view("proposal", offer_id, Web3.to_checksum_address(counterparty))
        return Proposal(str(p[0]), int(p[1]), bytes(p[2]), int(p[3]))

    def dao(self, dao_id: int) -> Dao:
        """A DAO; :class:`NotFoundError` when there is none."""
        d = self._view("dao", dao_id)
        if int(d[2]) == 0:
            raise NotFoundError(f"no DAO {dao_id}")
        return Dao(
            dao_id, str(d[0]), str(d[1]), DaoState(int(d[2])), int(d[3]), int(d[4]), int(d[5]), int(d[6]),
            int(d[7]), int(d[8]), int(d[9]),
        )  # fmt: skip

    def member(self, dao_id: int, account: str) -> Member:
        """``account``'s member record; :class:`NotFoundError` when it never held a seat."""
        m = self._view("member", dao_id, Web3.to_checksum_address(account))
        if not bool(m[1]):
            raise NotFoundError(f"{account} holds no seat in DAO {dao_id}")
        return Member(dao_id, Web3.to_checksum_address(account), int(m[0]), bool(m[2]), int(m[3]), int(m[4]), int(m[5]))

    def members(self, dao_id: int) -> list[Member]:
        """Every member that ever held a seat, by seat (terminated ones with ``active`` False)."""
        seats = self.dao(dao_id).seats
        return [self.member(dao_id, str(self._view("seat_holder", dao_id, s))) for s in range(seats)]

    def counts(self) -> tuple[int, int]:
        """(offers posted, DAOs formed)."""
        return int(self._view("offer_count")), int(self._view("dao_count"))


DEPLOYABLE = Deployable(
    "Collaboration",
    deployer="platform",
    needs=("Registry",),
    args=lambda addresses, options: (addresses["Registry"],),
    binding=CollaborationBinding,
)
