"""The pages never hide an API route: the web app is mounted after the API's routes, so a page at a path the API
serves (``/datasets``, ``/orders/{id}``, ``/audit`` …) would never be reached, or would answer with the API's JSON."""

from __future__ import annotations

import re

from starlette.routing import compile_path

from datagora.api.app import ROUTERS
from datagora.web.pages import PAGE_GROUPS


def _paths(routers: list) -> list[str]:  # type: ignore[type-arg]
    return [route.path for router in routers for route in router.routes]


def test_no_page_path_is_also_an_api_path() -> None:
    api = [compile_path(p)[0] for p in _paths(list(ROUTERS))]
    pages = _paths([group.router for group in PAGE_GROUPS])
    assert pages, "no page registered"
    examples = [re.sub(r"{[^}]+}", "1", p) for p in pages]
    clashes = sorted({p for p in examples if any(regex.match(p) for regex in api)})
    assert clashes == [], f"these pages are hidden by API routes of the same path: {clashes}"
