"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/contract_fixtures.py), and the
Market tests' currencies and hostile tokens (tests/kits/currency_fixtures.py; helpers in market_helpers.py)."""

from tests.kits.contract_fixtures import *  # noqa: F403
from tests.kits.contract_fixtures import _isolate  # noqa: F401
from tests.kits.currency_fixtures import cur, ether, false_token, fee_token  # noqa: F401
