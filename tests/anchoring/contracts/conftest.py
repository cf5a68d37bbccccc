"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/contract_fixtures.py)."""

from tests.kits.contract_fixtures import *  # noqa: F403
from tests.kits.contract_fixtures import _isolate  # noqa: F401
