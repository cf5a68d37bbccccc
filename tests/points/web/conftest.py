"""Fixtures of this layer's tests: the browser, pages and the served market of tests/web/conftest.py."""

from tests.web.conftest import browser, market, new_page  # noqa: F401
