"""Signing in and out: a browser wallet (EIP-1193 ``eth_requestAccounts`` then ``personal_sign`` of the node's
EIP-4361 message, verified with the API's nonce store and URI binding) or, for the node's own operator, the
password of the node's keystore."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response

from datagora.api.auth import verify_login
from datagora.api.signin_message import siwe_message
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied
from datagora.services.identity import check_operator_password
from datagora.web.deps import ContextDep, NavItem, SessionDep, UserDep, forget_roles, replace_session
from datagora.web.render import redirect, render

router = APIRouter(tags=["sign-in pages"], include_in_schema=False)
NAV: list[NavItem] = []
STATEMENT = "Sign in to this Datagora node's pages."
PASSWORD_LOCK = threading.Lock()


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this node (``/…`` but not ``//…``), else ``/``: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin")
def signin_page(request: Request, ctx: ContextDep, user: UserDep, next: str = "/") -> Response:
    """Sign in with a browser wallet or, for the node's operator, with the keystore's password."""
    return render(
        request,
        "signin/signin.html",
        {
            "next": safe_next(next),
            "password_signin": ctx.keystore is not None,
            "demo_signin": ctx.demo_signin,
            "chain_id": ctx.node.chain.chain_id,
        },
    )


@router.get("/signin/message")
def signin_message(request: Request, ctx: ContextDep, address: Annotated[str, Query(max_length=64)]) -> Response:
    """The EIP-4361 message the wallet of ``address`` signs to sign in here (JSON ``{"message": …}``); the nonce
    is one of the API's, single use, valid a few minutes."""
    account = checksum_address(address)
    nonce, _ = ctx.auth.issue_nonce(request.client.host if request.client is not None else "")
    message = siwe_message(
        domain=ctx.settings.domain,
        address=account,
        uri=ctx.settings.base_uri,
        chain_id=ctx.node.chain.chain_id,
        nonce=nonce,
        issued_at=datetime.fromtimestamp(ctx.auth.clock(), UTC),
        statement=STATEMENT,
    )
    body: dict[str, Any] = {"message": message}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/signin/wallet")
def signin_wallet(
    request: Request,
    ctx: ContextDep,
    message: Annotated[str, Form(max_length=2048)],
    signature: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    """Verify the signed EIP-4361 message (domain, URI, chain id, nonce, expiry, signature) and sign in."""
    api_session = verify_login(
        message.replace("\r\n", "\n"),  # a form sends its line breaks as CR LF (HTML form encoding)
        signature,
        store=ctx.auth,
        domain=ctx.settings.domain,
        uri=ctx.settings.base_uri,
        chain_id=ctx.node.chain.chain_id,
    )
    ctx.auth.close(api_session.token)  # the pages keep their own session, in a cookie
    forget_roles(request, api_session.address)
    replace_session(request, ctx.sessions.new(api_session.address, "wallet", not_after=api_session.expires_at))
    return redirect(request, safe_next(next), f"Signed in as {api_session.address}.")


@router.post("/signin/password")
def signin_password(
    request: Request,
    ctx: ContextDep,
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    """The node's operator signs in with the password of the node's keystore."""
    with PASSWORD_LOCK:  # one scrypt at a time: guessing stays slow
        address = check_operator_password(ctx.node, ctx.keystore, password)
    forget_roles(request, address)
    replace_session(request, ctx.sessions.new(address, "password"))
    return redirect(request, safe_next(next), "Signed in as this node's operator.")


@router.post("/signin/demo")
def signin_demo(request: Request, ctx: ContextDep, next: Annotated[str, Form(max_length=512)] = "/") -> Response:
    """On a demo network (``serve --dev``, throw-away keys) sign in as the node's operator with one click."""
    if not ctx.demo_signin:
        raise AccessDenied("one-click sign-in exists only on a demo network (datagora serve --dev)")
    forget_roles(request, ctx.node.address)
    replace_session(request, ctx.sessions.new(ctx.node.address, "demo"))
    return redirect(request, safe_next(next), "Signed in as this demo node's operator.")


@router.post("/signout")
def signout(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    """End the session."""
    replace_session(request, ctx.sessions.new())
    return redirect(request, "/", "Signed out.", "info")
