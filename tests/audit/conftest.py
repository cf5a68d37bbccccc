"""The desks' service and API tests run on the in-process network of nodes of ``tests/api/conftest.py``."""

from tests.kits.node_fixtures import net

__all__ = ["net"]
