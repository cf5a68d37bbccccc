"""Tier computations across the brand's, the e-commerce platform's and the MPC platform's nodes (Hu, Xin, Deng,
Qian, case study steps 3-10; ``datagora.services.tier_network``).

Operator routes (this node's own account): ``POST /points/{brand}/computations`` proposes a computation for a
member, ``POST /points/computations/{id}/accept`` accepts an invitation with this node's input, ``GET
/points/computations[/{id}]`` shows progress. Node-to-node routes (``/points/peer/...``) carry the protocol's
messages; each is accepted only from the signed-in account of the party it names. No route ever answers with an
input."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from pydantic import Field

from datagora.api.deps import OperatorDep, SessionDep
from datagora.api.schemas import ADDRESS_PATTERN, Out, Strict
from datagora.crypto.keys import checksum_address
from datagora.services.node import Node
from datagora.services.tier_network import (
    MAX_POINTS,
    Computation,
    TierComputationStore,
    TierCoordinator,
    check_ca_certificate,
)

router = APIRouter(tags=["points"])

ID_PATTERN = r"^[0-9a-f]{32}$"
BrandPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The brand's number.")]
IdPath = Annotated[str, Path(pattern=ID_PATTERN, description="The computation's id (32 hex digits).")]
Url = Annotated[str, Field(min_length=8, max_length=300, pattern=r"^https?://[^\s/?#]+/?$")]
Points = Annotated[int | None, Field(ge=0, le=MAX_POINTS)]
Index = Annotated[int, Field(ge=0, le=2)]
Endpoint = Annotated[str, Field(min_length=3, max_length=300, pattern=r"^[^\s/?#:]+:[0-9]{1,5}$")]
Pem = Annotated[str, Field(min_length=1, max_length=8_000)]
HexSignature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class ProposeIn(Strict):
    member: str = Field(pattern=ADDRESS_PATTERN, description="The member whose tier is computed.")
    parties: list[Url] = Field(
        min_length=3,
        max_length=3,
        description="API addresses of the brand's, the platform's and the MPC platform's nodes, in that order.",
    )
    points: Points = Field(
        default=None, description="This node's record of the member's points (none from the MPC platform's node)."
    )


class AcceptIn(Strict):
    points: Points = Field(default=None, description="This node's input (none from the MPC platform's node).")


class PartyOut(Out):
    index: int
    role: str
    address: str
    url: str
    accepted: bool
    signed: bool


class StepOut(Out):
    at: float = Field(description="Unix seconds.")
    text: str


class ComputationOut(Out):
    id: str
    brand: int
    member: str
    role: str = Field(description="This node's part: brand, e-commerce platform or MPC platform.")
    proposer: str = Field(description="The part of the node that coordinates.")
    status: str = Field(description="invited, accepted, running, signed, posting, posted or failed.")
    parties: list[PartyOut]
    steps: list[StepOut]
    score: int | None = None
    tier: int | None = None
    tier_name: str | None = None
    tx_hash: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, c: Computation) -> ComputationOut:
        return cls(
            id=c.id,
            brand=c.brand,
            member=c.member,
            role=c.role,
            proposer=c.parties[c.proposer].role,
            status=c.status,
            parties=[
                PartyOut(
                    index=p.index,
                    role=p.role,
                    address=p.address,
                    url=p.url,
                    accepted=p.accepted,
                    signed=p.signature is not None,
                )
                for p in c.parties
            ],
            steps=[StepOut(at=t, text=s) for t, s in list(c.steps)],
            score=None if c.result is None else c.result.score,
            tier=None if c.result is None else c.result.tier,
            tier_name=c.tier_name,
            tx_hash=c.tx_hash,
            error=c.error,
        )


class InviteIn(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    brand: Annotated[int, Field(ge=1, le=2**63 - 1)]
    member: str = Field(pattern=ADDRESS_PATTERN)
    proposer: Index
    urls: list[Url] = Field(min_length=3, max_length=3)


class ReadyIn(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    index: Index
    endpoint: Endpoint
    ca_pem: Pem


class StartIn(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    endpoints: list[Endpoint] = Field(min_length=3, max_length=3)
    ca_pems: list[Pem] = Field(min_length=3, max_length=3)


class ReportIn(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    index: Index
    score: Annotated[int, Field(ge=0, le=2**64)]
    tier: Annotated[int, Field(ge=0, le=3)]
    nonce: Annotated[int, Field(ge=0, le=2**64)]
    signature: HexSignature


class OutcomeIn(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    status: Annotated[str, Field(pattern=r"^(failed|posted)$")]
    detail: Annotated[str, Field(max_length=500)]


class AckOut(Out):
    id: str
    status: str


class PeerTransport:
    """The :class:`~datagora.services.tier_network.PeerLink` over the nodes' HTTP APIs: message ``kind`` is
    ``POST <url>/points/peer/<kind>``, signed in as this node's account."""

    def __init__(self, peers: Any) -> None:
        self.peers = peers

    def send(self, url: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.peers.client(url).json("POST", f"/points/peer/{kind}", json=body)
        return answer


def tier_coordinator(request: Request) -> TierCoordinator:
    """This node's coordinator (``app.state.tiers``, made by ``create_app``)."""
    coordinator: TierCoordinator = request.app.state.tiers
    return coordinator


def make_coordinator(node: Node, peers: Any, settings: Any) -> TierCoordinator:
    """The coordinator ``create_app`` keeps for ``node``: messages through ``peers``, timings from ``settings``."""
    return TierCoordinator(
        node,
        PeerTransport(peers),
        auto_accept=settings.mpc_auto_accept,
        timeout=settings.mpc_timeout,
        workdir=node.participant.home / "mpc",
        mpc_host=settings.mpc_host,
        pause_after_input=settings.mpc_test_pause,
        store=TierComputationStore(node.participant.home / "tier-computations.sqlite"),
    )


def _ack(c: Computation) -> AckOut:
    return AckOut(id=c.id, status=c.status)


RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not this node's operator, or not a party of the computation"},
    404: {"description": "Unknown brand or computation"},
    409: {"description": "The computation is not in a state that allows this"},
}


@router.post(
    "/points/{brand}/computations",
    status_code=status.HTTP_201_CREATED,
    response_model=ComputationOut,
    responses={**RESPONSES, 502: {"description": "Another party's node could not be reached"}},
)
def propose(brand: BrandPath, body: ProposeIn, request: Request, _: OperatorDep) -> ComputationOut:
    """Propose a tier computation for a member: this node invites the other two parties' nodes. Operator only."""
    c = tier_coordinator(request).propose(brand, checksum_address(body.member), list(body.parties), body.points)
    return ComputationOut.of(c)


@router.get("/points/computations", response_model=list[ComputationOut], responses=RESPONSES)
def computations(request: Request, _: OperatorDep) -> list[ComputationOut]:
    """Every tier computation this node takes part in, newest first. Operator only."""
    return [ComputationOut.of(c) for c in tier_coordinator(request).computations()]


@router.get("/points/computations/{computation}", response_model=ComputationOut, responses=RESPONSES)
def computation(computation: IdPath, request: Request, _: OperatorDep) -> ComputationOut:
    """One tier computation's progress. Operator only."""
    return ComputationOut.of(tier_coordinator(request).get(computation))


@router.post("/points/computations/{computation}/accept", response_model=ComputationOut, responses=RESPONSES)
def accept(computation: IdPath, body: AcceptIn, request: Request, _: OperatorDep) -> ComputationOut:
    """Accept an invitation with this node's record of the member's points. Operator only."""
    return ComputationOut.of(tier_coordinator(request).accept(computation, body.points))


@router.post("/points/peer/invite", response_model=AckOut, responses=RESPONSES)
def on_invite(body: InviteIn, request: Request, session: SessionDep) -> AckOut:
    """From the proposer's node: an invitation to a tier computation."""
    data = body.model_dump()
    data["member"] = checksum_address(body.member)
    return _ack(tier_coordinator(request).on_invite(session.address, data))


@router.post("/points/peer/ready", response_model=AckOut, responses=RESPONSES)
def on_ready(body: ReadyIn, request: Request, session: SessionDep) -> AckOut:
    """To the proposer's node: a party accepted and listens at ``endpoint``."""
    pem = check_ca_certificate(body.ca_pem)
    return _ack(tier_coordinator(request).on_ready(session.address, body.id, body.index, body.endpoint, pem))


@router.post("/points/peer/start", response_model=AckOut, responses=RESPONSES)
def on_start(body: StartIn, request: Request, session: SessionDep) -> AckOut:
    """From the proposer's node: every party is ready, start this node's party."""
    pems = [check_ca_certificate(p) for p in body.ca_pems]
    return _ack(tier_coordinator(request).on_start(session.address, body.id, list(body.endpoints), pems))


@router.post("/points/peer/report", response_model=AckOut, responses=RESPONSES)
def on_report(body: ReportIn, request: Request, session: SessionDep) -> AckOut:
    """To the proposer's node: a party's output and its node's EIP-712 signature over it."""
    signature = bytes.fromhex(body.signature.removeprefix("0x"))
    c = tier_coordinator(request).on_report(
        session.address, body.id, body.index, body.score, body.tier, body.nonce, signature
    )
    return _ack(c)


@router.post("/points/peer/outcome", response_model=AckOut, responses=RESPONSES)
def on_outcome(body: OutcomeIn, request: Request, session: SessionDep) -> AckOut:
    """A party's node failed, or the proposer posted the tier (``detail``: the reason or the transaction hash)."""
    return _ack(tier_coordinator(request).on_outcome(session.address, body.id, body.status, body.detail))


__all__ = ["PeerTransport", "make_coordinator", "router", "tier_coordinator"]
