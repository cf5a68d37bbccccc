"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/cli_fixtures.py)."""

from tests.kits.cli_fixtures import *  # noqa: F403
