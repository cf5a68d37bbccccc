"""The API network of tests/api (every participant's node in process) for the sample-search tests."""

from tests.api.conftest import net  # noqa: F401  (a fixture)
