"""A member's tier computed by three separate nodes, the way operators run it (Hu, Xin, Deng, Qian, case study
steps 3-10).

The brand's node (party 0, input A), the e-commerce platform's node (party 1, input B) and the MPC platform's node
(party 2, no input) are the brand's computing parties on chain (``Points.parties_of``). Each node holds only its
own key and its own input:

1. an operator proposes a computation for a member on one of the three nodes (giving that node's input, if it
   has one, and the three nodes' API addresses in party order); the node invites the other two;
2. each invited node's operator accepts with its input (the MPC platform's node accepts by itself when its
   policy ``auto_accept`` says so: it has no input to give); each node makes its TLS identity for the session,
   picks a port and tells the proposer where its party listens;
3. once all three are ready the proposer tells every node to start; each node starts its own MPyC party process
   (:mod:`datagora.mpc.remote`) and the parties compute F(A, B) and the tier over mutual TLS;
4. each node signs the EIP-712 ``TierAttestation`` over the result its own process output with its own key and
   sends the signature to the proposer, which checks each one and posts the tier with all three on chain.

Only the result leaves a party; the inputs never leave their node (they are not stored, not logged, not shown).
A node that goes away or a party that fails or runs out of time fails the computation on every node that hears of
it, and the proposer posts nothing unless it holds three matching signatures before its deadline.

Messages between nodes go through a :class:`PeerLink` (the HTTP API in ``datagora.api``); each names the
computation and is accepted only from the account of the party it claims to come from.
"""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from datagora.domain.errors import (
    AccessDenied,
    ComputationFailed,
    Conflict,
    DatagoraError,
    NotFoundError,
    ValidationError,
)
from datagora.mpc.points import MAX_POINTS, PointsResult, check_points
from datagora.services.node import Node
from datagora.services.points import TIER_NAMES, tier_attestation
from datagora.storage.points_store import TierComputationStore

log = logging.getLogger(__name__)

__all__ = [
    "MAX_POINTS",
    "PARTY_ROLES",
    "Computation",
    "PartyView",
    "PeerLink",
    "TierComputationStore",
    "TierCoordinator",
    "check_ca_certificate",
]

PARTY_ROLES = ("brand", "e-commerce platform", "MPC platform")
"""The parties of a tier computation, by index: the brand (input A), the platform (input B), the MPC platform."""
PROTOCOL_TIMEOUT = 60.0
"""Seconds each party's process may take once started (process start, TLS handshakes, protocol)."""
SIGNATURE_GRACE = 20.0
"""Seconds past the protocol's timeout the proposer waits for the last signature before giving up."""
STATUSES = ("invited", "accepted", "running", "signed", "posting", "posted", "failed")
"""A computation's statuses, in the order they come (``failed`` may come at any point)."""


class PeerLink(Protocol):
    """How a node sends one message of the tier protocol to another node's API (signed in as this node)."""

    def send(self, url: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send message ``kind`` (invite, ready, start, report, outcome) with ``body`` to the node at ``url``;
        returns its JSON answer. Raises ``DatagoraError`` when the node refuses or cannot be reached."""
        ...


@dataclass
class PartyView:
    """One party as a node sees it: ``index``, ``role``, ``address`` (its account), ``url`` (its node's API),
    whether it ``accepted``, its MPC ``endpoint`` (host:port) and whether its ``signature`` arrived."""

    index: int
    role: str
    address: str
    url: str
    accepted: bool = False
    endpoint: str | None = None
    ca_pem: str | None = field(default=None, repr=False)
    signature: bytes | None = field(default=None, repr=False)
    result: PointsResult | None = None
    nonce: int | None = None


@dataclass
class Computation:
    """A tier computation on one node. ``me`` is this node's party index, ``proposer`` the index of the node
    that coordinates; ``status`` one of invited, accepted, running, signed, posted, failed; ``steps`` the
    progress as ``(unix seconds, text)``; ``result`` the agreed score and tier once known; ``tx_hash`` of the
    posting; ``error`` why it failed. The node's input is kept in ``_points`` only until its party starts."""

    id: str
    brand: int
    member: str
    me: int
    proposer: int
    parties: list[PartyView]
    created: float
    status: str = "invited"
    steps: list[tuple[float, str]] = field(default_factory=list)
    result: PointsResult | None = None
    nonce: int | None = None
    tx_hash: str | None = None
    error: str | None = None
    _points: int | None = field(default=None, repr=False)
    _workdir: Path | None = field(default=None, repr=False)
    _port: int | None = field(default=None, repr=False)
    _listener: Callable[[Computation], None] | None = field(default=None, repr=False, compare=False)

    @property
    def role(self) -> str:
        return PARTY_ROLES[self.me]

    @property
    def finished(self) -> bool:
        return self.status in ("posted", "failed")

    @property
    def tier_name(self) -> str | None:
        return None if self.result is None else TIER_NAMES[self.result.tier]

    def step(self, text: str) -> None:
        """Add a progress step; the node's store (when it has one) saves the computation as it now stands."""
        self.steps.append((time.time(), text))
        if self._listener is not None:
            self._listener(self)


class TierCoordinator:
    """The tier protocol of one node (see the module docstring): the computations it takes part in, saved after
    every step in the node's ``store`` when it has one. A node restarted with the same store shows its past
    computations again; one that was still under way when the node stopped is marked failed (its party process
    went with the node, so this node posts nothing for it) and the other nodes are told, as far as they can be
    reached; one the proposer was posting when it stopped is marked posted if the chain holds the tier.

    Args:
        node: this node (its account signs, its chain posts).
        link: how messages reach the other nodes.
        auto_accept: accept invitations by itself when this node has no input to give (the MPC platform).
        timeout: seconds each party's process may take once started.
        workdir: where parties keep their session TLS material (a private temporary directory by default).
        mpc_host: the host name or address the other parties reach this node's party at.
        pause_after_input: seconds each party waits after the inputs are shared (tests only).
        spawn: runs a background task (default: a daemon thread); tests may run it inline.
        store: where computations are kept across restarts (None: in memory only).
    """

    def __init__(
        self,
        node: Node,
        link: PeerLink,
        *,
        auto_accept: bool = True,
        timeout: float = PROTOCOL_TIMEOUT,
        workdir: Path | None = None,
        mpc_host: str = "127.0.0.1",
        pause_after_input: float = 0.0,
        spawn: Callable[[Callable[[], None]], None] | None = None,
        store: TierComputationStore | None = None,
    ) -> None:
        self.node = node
        self.link = link
        self.auto_accept = auto_accept
        self.timeout = timeout
        self.mpc_host = mpc_host
        self.pause_after_input = pause_after_input
        self._root = workdir
        self._spawn = spawn or _daemon
        self._lock = threading.RLock()
        self._computations: dict[str, Computation] = {}
        self._store = store
        if store is not None:
            self._restore(store)

    # ---- what operators do -------------------------------------------------------------------------------------

    def propose(self, brand: int, member: str, urls: list[str], points: int | None) -> Computation:
        """Start a computation of ``member``'s tier at ``brand`` with this node as proposer.

        ``urls`` are the API addresses of the three parties' nodes in the brand's party order (this node's own
        included); ``points`` this node's input (required from the brand's and the platform's node, refused from
        the MPC platform's). Raises ``ValidationError`` (bad input), ``NotFoundError`` (unknown brand),
        ``AccessDenied`` (this node is not a party of the brand), ``RemoteError`` / ``ComputationFailed`` when an
        invitation cannot be delivered (then the computation is failed)."""
        parties = self._parties(brand)
        me = self._my_index(parties, brand)
        if len(urls) != len(parties):
            raise ValidationError(f"give the API address of each of the brand's {len(parties)} parties' nodes")
        for url in urls:
            _check_url(url)
        points = _check_input(me, points)
        c = Computation(
            uuid.uuid4().hex,
            brand,
            member,
            me,
            me,
            _views(parties, urls),
            time.time(),
            _listener=self._save,
        )
        c.step(f"proposed by the {c.role}'s node")
        with self._lock:
            self._computations[c.id] = c
            self._accept_locally(c, points)
        invitation = {
            "id": c.id,
            "brand": brand,
            "member": member,
            "proposer": me,
            "urls": [p.url for p in c.parties],
        }
        for p in c.parties:
            if p.index == me:
                continue
            try:
                self.link.send(p.url, "invite", invitation)
            except DatagoraError as exc:
                self._fail(c, f"the {p.role}'s node could not be invited: {exc}", tell_others=True)
                raise
            c.step(f"invitation sent to the {p.role}'s node")
        return c

    def accept(self, computation: str, points: int | None) -> Computation:
        """Accept an invitation with this node's input (``points``; None for the MPC platform). Raises
        ``NotFoundError``, ``Conflict`` (already accepted or finished), ``ValidationError``."""
        c = self.get(computation)
        points = _check_input(c.me, points)
        with self._lock:
            if c.status != "invited":
                raise Conflict(f"the computation is {c.status}, not waiting for this node to accept")
            self._accept_locally(c, points)
        self._announce_ready(c)
        return c

    def get(self, computation: str) -> Computation:
        """A computation this node takes part in; ``NotFoundError`` otherwise."""
        with self._lock:
            c = self._computations.get(computation)
        if c is None:
            raise NotFoundError(f"no tier computation {computation!r} on this node")
        return c

    def computations(self) -> list[Computation]:
        """Every computation of this node, newest first."""
        with self._lock:
            return sorted(self._computations.values(), key=lambda c: c.created, reverse=True)

    # ---- messages from other nodes -----------------------------------------------------------------------------

    def on_invite(self, sender: str, body: dict[str, Any]) -> Computation:
        """An invitation from the proposer's node (``sender`` its signed-in account)."""
        brand, member, proposer, urls = body["brand"], body["member"], body["proposer"], body["urls"]
        parties = self._parties(brand)
        me = self._my_index(parties, brand)
        if not 0 <= proposer < len(parties) or parties[proposer].lower() != sender.lower():
            raise AccessDenied(f"{sender} is not the brand's party #{proposer}")
        if proposer == me or len(urls) != len(parties):
            raise ValidationError("the invitation names the wrong parties")
        for url in urls:
            _check_url(url)
        with self._lock:
            if body["id"] in self._computations:
                raise Conflict("this computation was already proposed")
            c = Computation(
                body["id"],
                brand,
                member,
                me,
                proposer,
                _views(parties, urls),
                time.time(),
                _listener=self._save,
            )
            c.parties[proposer].accepted = True
            c.step(f"invited by the {PARTY_ROLES[proposer]}'s node; waiting for this node's operator")
            self._computations[c.id] = c
        if self.auto_accept and me == 2:
            self._spawn(lambda: self._auto_accept(c))
        return c

    def on_ready(self, sender: str, computation: str, index: int, endpoint: str, ca_pem: str) -> Computation:
        """A party's node accepted and says where its party listens (proposer only)."""
        c = self._from_party(computation, sender, index)
        if c.me != c.proposer:
            raise Conflict("this node does not coordinate that computation")
        _check_endpoint(endpoint)
        start = False
        with self._lock:
            if c.finished or c.status == "running":
                raise Conflict(f"the computation is {c.status}")
            party = c.parties[index]
            party.accepted, party.endpoint, party.ca_pem = True, endpoint, ca_pem
            c.step(f"the {party.role}'s node accepted")
            if all(p.accepted and p.endpoint for p in c.parties) and c.status == "accepted":
                c.status = "running"
                start = True
        if start:
            self._spawn(lambda: self._start_everyone(c))
        return c

    def on_start(self, sender: str, computation: str, endpoints: list[str], ca_pems: list[str]) -> Computation:
        """The proposer says every party is ready: start this node's party."""
        c = self.get(computation)
        if c.parties[c.proposer].address.lower() != sender.lower():
            raise AccessDenied(f"{sender} does not coordinate that computation")
        if len(endpoints) != len(c.parties) or len(ca_pems) != len(c.parties):
            raise ValidationError("a start message names every party's endpoint and certificate")
        for e in endpoints:
            _check_endpoint(e)
        with self._lock:
            if c.status != "accepted":
                raise Conflict(f"the computation is {c.status}, not ready to start")
            for p, e, pem in zip(c.parties, endpoints, ca_pems, strict=True):
                p.endpoint, p.ca_pem, p.accepted = e, pem, True
            c.status = "running"
        self._spawn(lambda: self._run(c))
        return c

    def on_report(
        self, sender: str, computation: str, index: int, score: int, tier: int, nonce: int, signature: bytes
    ) -> Computation:
        """A party's node reports its output and its signature over it (proposer only)."""
        c = self._from_party(computation, sender, index)
        if c.me != c.proposer:
            raise Conflict("this node does not coordinate that computation")
        from datagora.crypto.eip712 import recover_typed_data

        typed = self._typed(c, PointsResult(score, tier), nonce)
        try:
            signer = recover_typed_data(typed, signature)
        except (ValueError, TypeError, DatagoraError) as exc:
            raise ValidationError(f"the signature does not verify: {exc}") from exc
        if signer.lower() != sender.lower():
            raise ValidationError("the signature is not the reporting party's")
        with self._lock:
            if c.status not in ("running", "signed"):
                raise Conflict(f"the computation is {c.status}, not running: no result to report")
            party = c.parties[index]
            party.result, party.signature, party.nonce = PointsResult(score, tier), signature, nonce
            c.step(f"the {party.role}'s node signed the result")
        self._maybe_post(c)
        return c

    def on_outcome(self, sender: str, computation: str, status: str, detail: str) -> Computation:
        """A party's node reports a failure, or the proposer reports the posting (``detail``: tx hash)."""
        c = self.get(computation)
        index = next((p.index for p in c.parties if p.address.lower() == sender.lower()), None)
        if index is None:
            raise AccessDenied(f"{sender} is not a party of that computation")
        if status == "failed":
            self._fail(c, f"the {PARTY_ROLES[index]}'s node: {detail}", tell_others=c.me == c.proposer)
        elif status == "posted" and index == c.proposer:
            with self._lock:
                if not c.finished:
                    c.status, c.tx_hash = "posted", detail
                    c.step("the tier was posted on chain")
        else:
            raise ValidationError("an outcome is 'failed', or 'posted' from the proposer")
        return c

    # ---- internals ---------------------------------------------------------------------------------------------

    def _save(self, c: Computation) -> None:
        if self._store is not None:
            self._store.save(c.id, c.created, c.status, _document(c))

    def _restore(self, store: TierComputationStore) -> None:
        """Load every stored computation; settle the ones a restart interrupted (see the class docstring)."""
        interrupted = []
        for document in store.load_all():
            try:
                c = _from_document(document)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("a stored tier computation could not be read and is skipped: %s", exc)
                continue
            c._listener = self._save
            self._computations[c.id] = c
            if not c.finished:
                interrupted.append(c)
        for c in interrupted:
            if c.status == "posting" and self._tier_on_chain(c):
                with self._lock:
                    c.status = "posted"
                    c.step("this node restarted while posting; the tier is on chain")
                continue
            reason = "this node restarted before the computation finished; nothing was posted"
            self._fail(c, reason, tell_others=False)
            if self._root is not None:  # the session's TLS material the stopped party left behind
                for leftover in self._root.glob(f"datagora-tier-{c.id[:8]}-*"):
                    shutil.rmtree(leftover, ignore_errors=True)
            self._spawn(functools.partial(self._tell_others, c, "failed", reason))

    def _tier_on_chain(self, c: Computation) -> bool:
        """Whether the tier this node was posting for ``c`` reached the chain (the member's nonce moved past it)."""
        if c.nonce is None:
            return False
        try:
            return self.node.contracts.points.member_tier(c.brand, c.member).nonce > c.nonce
        except DatagoraError as exc:
            log.warning("tier computation %s: the chain could not be read after a restart: %s", c.id, exc)
            return False

    def _parties(self, brand: int) -> list[str]:
        parties = self.node.contracts.points.parties(brand)
        if not parties:
            raise NotFoundError(f"no brand #{brand}")
        if len(parties) != len(PARTY_ROLES):
            raise ValidationError(f"brand #{brand} has {len(parties)} computing parties; this protocol needs 3")
        return parties

    def _my_index(self, parties: list[str], brand: int) -> int:
        for i, p in enumerate(parties):
            if p.lower() == self.node.address.lower():
                return i
        raise AccessDenied(f"this node's account is not a computing party of brand #{brand}")

    def _from_party(self, computation: str, sender: str, index: int) -> Computation:
        c = self.get(computation)
        if not 0 <= index < len(c.parties) or c.parties[index].address.lower() != sender.lower():
            raise AccessDenied(f"{sender} is not party #{index} of that computation")
        return c

    def _workdir(self, c: Computation) -> Path:
        root = self._root or Path(tempfile.gettempdir())
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"datagora-tier-{c.id[:8]}-", dir=root))

    def _accept_locally(self, c: Computation, points: int | None) -> None:
        """Keep the input, make this party's TLS identity and port (lock held)."""
        from datagora.mpc.remote import prepare_party

        c._points = points
        c._workdir = self._workdir(c)
        plan = prepare_party(c.me, c._workdir)
        c._port = plan.port
        me = c.parties[c.me]
        me.accepted, me.endpoint, me.ca_pem = True, f"{self.mpc_host}:{plan.port}", plan.ca_pem
        c.status = "accepted"
        c.step(f"the {c.role}'s node accepted")

    def _auto_accept(self, c: Computation) -> None:
        try:
            self.accept(c.id, None)
        except DatagoraError as exc:
            log.warning("tier computation %s: automatic acceptance failed: %s", c.id, exc)

    def _announce_ready(self, c: Computation) -> None:
        me = c.parties[c.me]
        try:
            self.link.send(
                c.parties[c.proposer].url,
                "ready",
                {"id": c.id, "index": c.me, "endpoint": me.endpoint, "ca_pem": me.ca_pem},
            )
        except DatagoraError as exc:
            self._fail(c, f"the proposer's node could not be reached: {exc}", tell_others=False)
            raise

    def _start_everyone(self, c: Computation) -> None:
        endpoints = [p.endpoint or "" for p in c.parties]
        cas = [p.ca_pem or "" for p in c.parties]
        for p in c.parties:
            if p.index == c.me:
                continue
            try:
                self.link.send(p.url, "start", {"id": c.id, "endpoints": endpoints, "ca_pems": cas})
            except DatagoraError as exc:
                self._fail(c, f"the {p.role}'s node could not be started: {exc}", tell_others=True)
                return
        c.step("every party started")
        timer = threading.Timer(self.timeout + SIGNATURE_GRACE, self._expire, args=(c,))
        timer.daemon = True
        timer.start()
        self._run(c)

    def _expire(self, c: Computation) -> None:
        if not c.finished:
            self._fail(c, "not every party signed the result in time; nothing was posted", tell_others=True)

    def _run(self, c: Computation) -> None:
        """Run this node's party, sign its output, hand the signature to the proposer."""
        from datagora.mpc.remote import PartyPlan, run_party

        assert c._workdir is not None and c._port is not None
        plan = PartyPlan(c.me, c._workdir, c._port, c.parties[c.me].ca_pem or "")
        points, c._points = c._points, None  # the input is not kept once the party has it
        c.step(f"the {c.role}'s party started")
        try:
            result = run_party(
                plan,
                [p.endpoint or "" for p in c.parties],
                [p.ca_pem or "" for p in c.parties],
                points,
                timeout=self.timeout,
                pause_after_input=self.pause_after_input,
            )
        except (ComputationFailed, ValidationError) as exc:
            self._fail(c, str(exc), tell_others=True)
            return
        finally:
            shutil.rmtree(plan.workdir, ignore_errors=True)
        try:
            nonce = self.node.contracts.points.member_tier(c.brand, c.member).nonce
            signature = self._sign(c, result, nonce)
        except DatagoraError as exc:
            self._fail(c, f"this node could not sign the result: {exc}", tell_others=True)
            return
        with self._lock:
            if c.finished:
                return
            c.result, c.nonce = result, nonce
            me = c.parties[c.me]
            me.result, me.signature, me.nonce = result, signature, nonce
            c.status = "signed"
            c.step(f"the {c.role}'s party computed the tier and its node signed it")
        if c.me == c.proposer:
            self._maybe_post(c)
            return
        try:
            self.link.send(
                c.parties[c.proposer].url,
                "report",
                {
                    "id": c.id,
                    "index": c.me,
                    "score": result.score,
                    "tier": result.tier,
                    "nonce": nonce,
                    "signature": "0x" + signature.hex(),
                },
            )
        except DatagoraError as exc:
            self._fail(c, f"the proposer's node could not be reached: {exc}", tell_others=False)

    def _typed(self, c: Computation, result: PointsResult, nonce: int) -> dict[str, Any]:
        contracts = self.node.contracts
        return tier_attestation(
            contracts.chain.chain_id, contracts.points.address, c.brand, c.member, result.tier, result.score, nonce
        )

    def _sign(self, c: Computation, result: PointsResult, nonce: int) -> bytes:
        from datagora.crypto.eip712 import sign_typed_data

        return sign_typed_data(self.node.participant.private_key, self._typed(c, result, nonce))

    def _maybe_post(self, c: Computation) -> None:
        """Post the tier once every party's signature is in and every result agrees (proposer only)."""
        with self._lock:
            if c.finished or c.status != "signed" or any(p.signature is None for p in c.parties):
                return
            results = {(p.result, p.nonce) for p in c.parties}
            if len(results) != 1 or (c.result, c.nonce) not in results:
                disagree = True
            else:
                disagree = False
                c.status = "posting"
                c.step("every party signed the same result; posting the tier on chain")
        if disagree:
            self._fail(c, "the parties computed different results; nothing was posted", tell_others=True)
            return
        assert c.result is not None and c.nonce is not None
        signatures = [p.signature or b"" for p in c.parties]
        try:
            with self.node.acting():
                tx = self.node.contracts.points.set_tier(
                    self.node.participant.account, c.brand, c.member, c.result.tier, c.result.score, c.nonce, signatures
                )
        except DatagoraError as exc:
            self._fail(c, f"the chain refused the tier: {exc}", tell_others=True)
            return
        with self._lock:
            c.status, c.tx_hash = "posted", tx.tx_hash
            c.step("the tier was posted on chain with every party's signature")
        self._tell_others(c, "posted", tx.tx_hash)

    def _fail(self, c: Computation, reason: str, *, tell_others: bool) -> None:
        with self._lock:
            if c.finished:
                return
            c.status, c.error, c._points = "failed", reason, None
            c.step(f"failed: {reason}")
        if c._workdir is not None:
            shutil.rmtree(c._workdir, ignore_errors=True)
        if tell_others:
            self._tell_others(c, "failed", reason)

    def _tell_others(self, c: Computation, status: str, detail: str) -> None:
        """Best effort: a node that is gone learns nothing, and fails by its own timeout."""
        targets = [p for p in c.parties if p.index != c.me]
        if c.me != c.proposer:
            targets = [c.parties[c.proposer]]
        for p in targets:
            try:
                self.link.send(p.url, "outcome", {"id": c.id, "status": status, "detail": detail[:500]})
            except DatagoraError as exc:
                log.info("tier computation %s: the %s's node did not hear the outcome: %s", c.id, p.role, exc)


def _result_of(value: Any) -> PointsResult | None:
    return None if value is None else PointsResult(int(value[0]), int(value[1]))


def _document(c: Computation) -> dict[str, Any]:
    """``c`` as a JSON object for the node's store: everything the API shows, never the node's input."""
    return {
        "id": c.id,
        "brand": c.brand,
        "member": c.member,
        "me": c.me,
        "proposer": c.proposer,
        "created": c.created,
        "status": c.status,
        "steps": [[at, text] for at, text in list(c.steps)],
        "result": None if c.result is None else [c.result.score, c.result.tier],
        "nonce": c.nonce,
        "tx_hash": c.tx_hash,
        "error": c.error,
        "parties": [
            {
                "index": p.index,
                "role": p.role,
                "address": p.address,
                "url": p.url,
                "accepted": p.accepted,
                "endpoint": p.endpoint,
                "signature": None if p.signature is None else p.signature.hex(),
                "result": None if p.result is None else [p.result.score, p.result.tier],
                "nonce": p.nonce,
            }
            for p in c.parties
        ],
    }


def _from_document(d: dict[str, Any]) -> Computation:
    """The computation a :func:`_document` describes (``KeyError`` / ``TypeError`` / ``ValueError`` when it
    does not)."""
    parties = [
        PartyView(
            int(p["index"]),
            str(p["role"]),
            str(p["address"]),
            str(p["url"]),
            accepted=bool(p["accepted"]),
            endpoint=p["endpoint"],
            signature=None if p["signature"] is None else bytes.fromhex(p["signature"]),
            result=_result_of(p["result"]),
            nonce=p["nonce"],
        )
        for p in d["parties"]
    ]
    status = str(d["status"])
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    return Computation(
        str(d["id"]),
        int(d["brand"]),
        str(d["member"]),
        int(d["me"]),
        int(d["proposer"]),
        parties,
        float(d["created"]),
        status=status,
        steps=[(float(at), str(text)) for at, text in d["steps"]],
        result=_result_of(d["result"]),
        nonce=d["nonce"],
        tx_hash=d["tx_hash"],
        error=d["error"],
    )


def _views(parties: list[str], urls: list[str]) -> list[PartyView]:
    return [PartyView(i, PARTY_ROLES[i], a, u.rstrip("/")) for i, (a, u) in enumerate(zip(parties, urls, strict=True))]


def check_ca_certificate(pem: str) -> str:
    """``pem`` if it is one PEM X.509 CA certificate (a party's session CA); ``ValidationError`` otherwise."""
    from datagora.mpc.tls import check_ca_certificate as check

    try:
        return check(pem)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _daemon(task: Callable[[], None]) -> None:
    threading.Thread(target=task, daemon=True).start()


def _check_input(index: int, points: int | None) -> int | None:
    if index == 2:
        if points is not None:
            raise ValidationError("the MPC platform's node has no input to give")
        return None
    return check_points(points, PARTY_ROLES[index])


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{url!r} is not a node's API address (http://host:port)")


def _check_endpoint(endpoint: str) -> None:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"{endpoint!r} is not host:port")
