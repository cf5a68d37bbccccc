"""The API network of tests/api (every participant's node in process) for the retiring tests."""

from tests.api.conftest import net  # noqa: F401  (a fixture)
