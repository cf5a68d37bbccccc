"""The node's web pages: server-rendered HTML (FastAPI + Jinja2), small plain JavaScript modules, no build step;
every template and asset ships inside this package (``web/templates``, ``web/static``), so the pages and the API
docs (``/docs``, ``/redoc``: Swagger UI and ReDoc from the PyPI package ``fastapi-offline``) work offline.

``datagora.api.app.create_app`` mounts :func:`~datagora.web.app.create_web_app` at the node's ``/`` after the
API's routes: a path the API serves keeps its meaning; every other path is a page (or the page saying there is
none). Pages call services only, like the API's routes. Layout:

| module | what |
| --- | --- |
| ``web/app.py`` | the web app: page groups, static assets, API docs, CSRF check, error pages |
| ``web/deps.py`` | the node, the browser session, the signed-in user and roles (typed aliases), CSRF, ``NavItem`` |
| ``web/sessions.py`` | cookie sessions in the node's memory (HttpOnly, SameSite=Strict, Secure over https) |
| ``web/render.py`` | ``render`` / ``redirect`` (flash messages, cookie), filters for readable units |
| ``web/errors.py`` | errors as sentences on a page (the CLI's words), 404 / 405 pages |
| ``web/pages/<group>.py`` | one router per page group; templates in ``web/templates/<group>/`` |

Adding a page group ``shop``:

1. ``web/pages/shop.py`` with ``router = APIRouter(include_in_schema=False)`` and ``NAV = [NavItem("Shop",
   "/shop", everyone)]`` (the visibility functions ``everyone``, ``operator``, ``supervisor``, ``platform`` are
   in ``web.deps``; write your own for other roles). Handlers take ``request: Request`` and the dependencies they
   need (``ctx: ContextDep`` gives ``ctx.node``), call services, and return ``render(request,
   "shop/page.html", {...})`` or, after an action, ``redirect(request, "/shop", "Done: …")``.
2. ``web/templates/shop/page.html`` starting with ``{% extends "base.html" %}`` and filling ``{% block title %}``
   and ``{% block content %}``; every ``<form method="post">`` holds ``{{ csrf_field() }}``; links use
   ``{{ url('/shop') }}`` (the node's base path is prefixed); amounts use the filters ``ether``, ``size``,
   ``date``, ``duration``, ``short``.
3. Append ``PageGroup(shop.router, shop.NAV)`` to ``PAGE_GROUPS`` in ``web/pages/__init__.py``.
4. Browser tests in ``tests/web/`` with the ``browser``/``page`` fixtures of ``tests/web/conftest.py``;
   ``assert_accessible(page)`` and ``screenshot(page, name)`` there.

Page paths must not be API paths (``/datasets``, ``/orders/…``, ``/offers/…``, ``/audit``, ``/disputes/…``, … see
``datagora.api.app.ROUTERS``): the API's routes come first and would hide the page. Use the group's own words
(``/catalogue``, ``/my/orders``, ``/platform/…``, ``/supervisor/…``); ``tests/web/test_routes.py`` checks it.

Errors need nothing: raise the services' ``DatagoraError`` subclasses and the page shows the sentence.
Which key signs what is in ``docs/web.md``.
"""

from __future__ import annotations

from datagora.web.app import create_web_app

__all__ = ["create_web_app"]
