"""FastAPI dependencies as typed aliases: the node, settings, the caller's session and the role checks.

Roles (checked per request, the chain being the authority):

- ``OperatorDep``: the session's address is the node's own account, the only one whose key the node signs
  with. Every route that makes the node act (send a transaction, publish, deliver) needs it.
- ``ReaderDep``: the session's address is a member of an Audited organisation (``Registry.is_audited``, as
  EntDSM requires for search) or the Registry supervisor.
- ``SupervisorDep``: the session's address is the Registry supervisor (its owner).
- ``PlatformDep``: this node runs the platform's attestor (404 otherwise: the route does not exist here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated

import httpx
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from datagora.api.auth import AuthStore, Session, Unauthenticated
from datagora.api.client import NodeClient
from datagora.api.settings import Settings
from datagora.domain.errors import AccessDenied, NotFoundError
from datagora.services.attestation import NoveltyAttestor
from datagora.services.node import Node

PeerHttp = Callable[[str], httpx.Client]
"""Makes the ``httpx.Client`` this node uses to reach another node at a base URL."""


class Peers:
    """Signed-in clients of other nodes, one per base URL, acting as this node's account. ``owns_http``: the
    ``httpx`` clients ``http`` makes are this object's to close."""

    def __init__(self, node: Node, http: PeerHttp, *, owns_http: bool = True) -> None:
        self.node = node
        self.http = http
        self.owns_http = owns_http
        self._clients: dict[str, NodeClient] = {}
        self._lock = threading.Lock()

    def client(self, base_url: str) -> NodeClient:
        key = base_url.rstrip("/")
        with self._lock:
            if key not in self._clients:
                self._clients[key] = NodeClient(key, self.node.participant.account, http=self.http(key))
            return self._clients[key]

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        if self.owns_http:
            for client in clients:
                client.http.close()


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_auth(request: Request) -> AuthStore:
    auth: AuthStore = request.app.state.auth
    return auth


def get_peers(request: Request) -> Peers:
    peers: Peers = request.app.state.peers
    return peers


NodeDep = Annotated[Node, Depends(get_node)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AuthDep = Annotated[AuthStore, Depends(get_auth)]
PeersDep = Annotated[Peers, Depends(get_peers)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SIWE session",
    description="Session token from POST /auth/login (Sign-In with Ethereum, EIP-4361).",
)


def get_session(auth: AuthDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Session:
    if credentials is None:
        raise Unauthenticated("sign in first: send Authorization: Bearer <token> from POST /auth/login")
    return auth.session(credentials.credentials)


SessionDep = Annotated[Session, Depends(get_session)]


def require_operator(node: NodeDep, session: SessionDep) -> Session:
    if not node.is_operator(session.address):
        raise AccessDenied(f"only this node's operator ({node.address}) may make it act; you are {session.address}")
    return session


def require_reader(node: NodeDep, session: SessionDep) -> Session:
    if not (node.contracts.registry.is_audited(session.address) or node.is_supervisor(session.address)):
        raise AccessDenied(f"{session.address} is not a member of an Audited organisation")
    return session


def require_supervisor(node: NodeDep, session: SessionDep) -> Session:
    if not node.is_supervisor(session.address):
        raise AccessDenied(f"{session.address} is not the Registry supervisor")
    return session


def require_platform(node: NodeDep) -> NoveltyAttestor:
    if node.platform is None:
        raise NotFoundError("this node is not the platform: it offers no attestation service")
    return node.platform


OperatorDep = Annotated[Session, Depends(require_operator)]
ReaderDep = Annotated[Session, Depends(require_reader)]
SupervisorDep = Annotated[Session, Depends(require_supervisor)]
PlatformDep = Annotated[NoveltyAttestor, Depends(require_platform)]


IdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="A positive on-chain id.")]
