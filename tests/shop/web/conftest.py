"""Fixtures of the shop's browser tests: those of tests/web/conftest.py (Debian's Chromium, the injected test
wallet, nodes served by uvicorn, axe-core and screenshots)."""

from tests.web.conftest import browser, new_page  # noqa: F401
