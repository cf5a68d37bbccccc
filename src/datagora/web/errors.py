"""Errors as sentences on a page, never a blank page or a stack trace.

A Datagora error is shown with the same plain words as the CLI's ``error:`` line (:func:`plain_message`) and the
HTTP status the API would answer (``datagora.api.errors.status_of``); a visitor who must sign in is sent to the
sign-in page and back; invalid form fields are listed by name; unknown pages (404) and methods (405) get a page
of their own. A client that does not ask for HTML (``Accept`` without ``text/html``: scripts, the API's own
clients reaching an unknown path) gets the API's RFC 9457 problem document instead, so the API's behaviour for
unknown paths is unchanged.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from datagora.api.errors import problem, problem_response, status_of
from datagora.domain.errors import ChainError, DatagoraError, NoveltyRefused, TransactionReverted
from datagora.domain.refusals import explain, plain_refusal
from datagora.web.deps import SignInRequired
from datagora.web.render import redirect, render

log = logging.getLogger(__name__)

TITLES = {
    400: "This request cannot be used",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not available this way",
    409: "Refused",
    413: "Too large",
    422: "Some fields need attention",
    429: "Too many requests",
    500: "Something went wrong on this node",
    502: "The chain or another node did not answer",
    503: "This node is not ready for this",
}


def plain_message(exc: BaseException) -> str:
    """The one sentence a person reads for ``exc``: the CLI's wording (whitespace collapsed, a contract's refusal
    as a sentence with its reason (``datagora.domain.refusals``), an unreachable chain or node named with a hint)."""
    if isinstance(exc, TransactionReverted):
        return explain(exc.reason) if plain_refusal(exc.reason) else f"the contract refused this: {exc.reason}"
    message = " ".join(str(exc).split()) or type(exc).__name__
    if plain_refusal(message):
        return explain(message)
    if isinstance(exc, ChainError) and message.startswith("cannot reach the chain node"):
        found = re.match(r"cannot reach the chain node at (\S+?):? ", message + " ")
        where = f" at {found.group(1)}" if found else ""
        return f"cannot reach the chain node{where}: is it running? The node's operator should check its settings"
    url = getattr(exc, "url", None)
    if getattr(exc, "status", None) == 0 and isinstance(url, str) and url:
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
        return f"cannot reach the node at {where}: is it running? Check the URL"
    if "insufficient funds" in message.lower():
        return "the account cannot pay for this transaction and its gas: see the balance page"
    return message


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str, *, hint: str = "") -> Response:
    back = request.headers.get("referer", "")
    same_node = back.startswith(str(request.base_url).rstrip("/"))
    return render(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Error"),
            "message": message,
            "hint": hint,
            "back": back if same_node else "",
        },
        status=status,
    )


async def datagora_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DatagoraError)
    if isinstance(exc, SignInRequired):
        target = request.url.path.removeprefix(request.scope.get("root_path", "").rstrip("/"))
        if request.method == "GET":
            return redirect(request, f"/signin?next={quote(target)}", "Sign in to see that page.", "info")
        return error_page(request, 401, str(exc))
    status = status_of(exc)
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    hint = ""
    if isinstance(exc, NoveltyRefused):
        hint = f"It matches dataset {exc.matching_token_id} already published."
    return error_page(request, status, plain_message(exc), hint=hint)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:20]:
        where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = " ".join(where).replace("_", " ") or "the request"
        problems.append(f"{field}: {str(error.get('msg', 'invalid')).lower()}")
    return error_page(request, 422, "; ".join(problems) or "the form is not valid")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request):
        headers = dict(exc.headers) if exc.headers else None
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(exc.status_code, problem(exc.status_code, detail), headers)
    if exc.status_code == 404:
        message = f"There is no page at {request.url.path} on this node."
    elif exc.status_code == 405:
        message = f"{request.url.path} cannot be used with {request.method}: open it as a page instead."
    else:
        message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    response = error_page(request, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    try:
        return error_page(
            request, 500, "This node failed to handle the request; its operator finds the details in the node's log."
        )
    except Exception:  # the layout itself failed: still a sentence, never a stack trace
        return Response(
            "This node failed to handle the request.", status_code=500, media_type="text/plain; charset=utf-8"
        )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DatagoraError, datagora_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, server_error)
