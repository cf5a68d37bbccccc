"""Fixtures of the consent pages' browser tests: the browser and served nodes of tests/web/conftest.py."""

from tests.web.conftest import *  # noqa: F403
