"""No input makes a server error: hypothesis-generated JSON (non-finite numbers, huge integers, deep nesting, long
strings, wrong types, known field names with hostile values) posted to every operation that takes a body, signed
in as the node's operator so that it reaches validation and the handlers. Every answer must be a 4xx problem
document."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagora.api.methods import route_table
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = EMBEDDED

FIELDS = [
    "message",
    "signature",
    "name",
    "status",
    "token_id",
    "listing_id",
    "price_wei",
    "price_per_query_wei",
    "collateral_wei",
    "value_wei",
    "queries",
    "payment_token",
    "policy",
    "query",
    "seller_url",
    "relay_url",
    "order_id",
    "index",
    "fingerprint",
    "encrypted_key",
    "first_order",
    "delivery_hash",
    "timestamp",
    "received",
]
"""Field names the node's request bodies use, so generated objects get past "unknown field" to the values."""

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=64)
    | st.sampled_from(["0x", "0x" + "00" * 65, "http://127.0.0.1:1", "\x00", "1e400", "-1"])
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner),
    max_leaves=20,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=6).map(lambda d: json.dumps(d, allow_nan=True)),
    values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from(
        [
            '{"message": 1e400, "signature": "0x00"}',
            '{"listing_id": 1e400}',
            '{"token_id": -1e400, "price_wei": NaN}',
            "[" * 50_000 + "]" * 50_000,
            '{"a":' * 20_000 + "1" + "}" * 20_000,
            json.dumps({"message": "x" * 300_000}),
            json.dumps({"name": "x" * 2_000_000}),
            '{"name": "\\ud800"}',
            "not json at all",
            "",
        ]
    ),
)
path_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30).map(lambda t: quote(t, safe="")),
)


def _operations(net: Net) -> list[tuple[str, str]]:
    ops = sorted(
        (method, entry.path)
        for entry in route_table(net.apps["seller"])
        for method in entry.methods
        if method in {"POST", "PUT", "PATCH", "DELETE"}
        and entry.path != "/auth/logout"  # takes no body: ending the session is its only answer
    )
    assert len(ops) >= 25, ops
    return ops


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_json_is_a_4xx_on_every_operation(net: Net, data: st.DataObject) -> None:
    if not hasattr(net, "operator_headers"):
        net.operator_headers = {"Authorization": f"Bearer {net.client('seller').token()}"}  # type: ignore[attr-defined]
        net.operations = _operations(net)  # type: ignore[attr-defined]
    method, template = data.draw(st.sampled_from(net.operations), label="operation")  # type: ignore[attr-defined]
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + data.draw(path_values, label=path[start : end + 1]) + path[end + 1 :]
    body = data.draw(bodies, label="body")
    headers: dict[str, Any] = {**net.operator_headers, "Content-Type": "application/json"}  # type: ignore[attr-defined]
    response = net.http["seller"].request(method, path, content=body.encode("utf-8", "surrogatepass"), headers=headers)
    assert 400 <= response.status_code < 500, (method, path, body[:200], response.status_code, response.text[:300])
    if response.content:
        problem = response.json()
        assert problem["status"] == response.status_code and problem["detail"]
        assert len(response.content) < 8_000  # nothing sent is echoed back
