"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/node_fixtures.py)."""

from tests.kits.node_fixtures import *  # noqa: F403
