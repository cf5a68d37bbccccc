"""Sign-In with Ethereum (EIP-4361): nonce, login, logout, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from datagora.api.auth import verify_login
from datagora.api.deps import AuthDep, NodeDep, SessionDep, SettingsDep
from datagora.api.schemas import LoginIn, LoginOut, MeOut, NonceOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/nonce", response_model=NonceOut, responses={429: {"description": "Too many nonces requested"}})
def nonce(request: Request, auth: AuthDep, node: NodeDep, settings: SettingsDep) -> NonceOut:
    """A fresh single-use nonce to put in the sign-in message, with the domain, URI and chain id it must name.
    At most 60 a minute per client address."""
    value, expires_at = auth.issue_nonce(request.client.host if request.client is not None else "")
    return NonceOut(
        nonce=value,
        expires_at=int(expires_at),
        domain=settings.domain,
        uri=settings.base_uri,
        chain_id=node.chain.chain_id,
    )


@router.post("/login", response_model=LoginOut, responses={401: {"description": "Sign-in refused"}})
def login(body: LoginIn, auth: AuthDep, node: NodeDep, settings: SettingsDep) -> LoginOut:
    """Verify a signed EIP-4361 message (domain, URI, nonce, chain id, expiry, signature); open a session."""
    session = verify_login(
        body.message,
        body.signature,
        store=auth,
        domain=settings.domain,
        uri=settings.base_uri,
        chain_id=node.chain.chain_id,
    )
    return LoginOut(token=session.token, address=session.address, expires_at=int(session.expires_at))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, auth: AuthDep) -> Response:
    """End the session."""
    auth.close(session.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, node: NodeDep) -> MeOut:
    """The signed-in address and the roles it holds on this node."""
    return MeOut(
        address=session.address,
        expires_at=int(session.expires_at),
        operator=node.is_operator(session.address),
        supervisor=node.is_supervisor(session.address),
        audited=node.contracts.registry.is_audited(session.address),
    )
