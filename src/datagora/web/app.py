"""The web application of one node (mounted at the node's ``/`` by ``datagora.api.app.create_app``, after the API's
routes, so every API path keeps its meaning): the page groups, the static assets, the offline API docs, the CSRF
check and the error pages."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from datagora.api.auth import AuthStore
from datagora.api.settings import Settings
from datagora.services.node import Node
from datagora.web import errors
from datagora.web.deps import WebContext, check_csrf
from datagora.web.pages import PAGE_GROUPS
from datagora.web.render import STATIC
from datagora.web.sessions import WebSessionStore

API_DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI and ReDoc, shipped inside the PyPI package ``fastapi-offline`` (no CDN, works offline)."""


DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:"
)
"""The API docs load nothing from elsewhere (ReDoc would fetch its logo from its makers' CDN)."""


def _own_assets_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def _docs_routes(app: FastAPI, title: str) -> None:
    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        """The API's interactive documentation (Swagger UI), from packaged assets."""
        root = request.scope.get("root_path", "").rstrip("/")
        return _own_assets_only(
            get_swagger_ui_html(
                openapi_url=f"{root}/openapi.json",
                title=f"{title} - API",
                swagger_js_url=f"{root}/static/apidocs/swagger-ui-bundle.js",
                swagger_css_url=f"{root}/static/apidocs/swagger-ui.css",
                swagger_favicon_url=f"{root}/static/apidocs/favicon.png",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        """The API's reference (ReDoc), from packaged assets."""
        root = request.scope.get("root_path", "").rstrip("/")
        return _own_assets_only(
            get_redoc_html(
                openapi_url=f"{root}/openapi.json",
                title=f"{title} - API reference",
                redoc_js_url=f"{root}/static/apidocs/redoc.standalone.js",
                redoc_favicon_url=f"{root}/static/apidocs/favicon.png",
                with_google_fonts=False,
            )
        )


def create_web_app(
    node: Node,
    *,
    settings: Settings,
    auth: AuthStore,
    keystore: Path | None = None,
    peer: object | None = None,
    sessions: WebSessionStore | None = None,
    demo_signin: bool = False,
) -> FastAPI:
    """The pages of ``node``. ``auth`` is the API's nonce store (a wallet sign-in consumes one of its nonces);
    ``keystore`` the file a password sign-in decrypts (None: no password sign-in); ``peer`` makes a signed-in
    client of another node from its base URL; ``sessions`` defaults to a new store whose sessions live
    ``settings.session_ttl`` seconds; ``demo_signin`` (``serve --dev`` only, whose keys are throw-away) lets a
    visitor sign in as the node's operator with one click."""
    app = FastAPI(
        title="Datagora node pages",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_csrf)],
    )
    app.state.web = WebContext(
        node=node,
        settings=settings,
        auth=auth,
        sessions=sessions if sessions is not None else WebSessionStore(ttl=settings.session_ttl, clock=auth.clock),
        keystore=keystore,
        peer=peer,  # type: ignore[arg-type]
        demo_signin=demo_signin,
    )
    errors.install(app)
    app.mount("/static/apidocs", StaticFiles(directory=API_DOCS_ASSETS), name="apidocs")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _docs_routes(app, "Datagora node")
    for group in PAGE_GROUPS:
        app.include_router(group.router)
    return app
