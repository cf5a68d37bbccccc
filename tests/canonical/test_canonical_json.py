"""The one canonical JSON (``datagora.domain.canonical``): its bytes, what it refuses and how, and that no other
serialisation of hashed documents is left in the sources."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datagora.api.errors import status_of
from datagora.domain.canonical import MAX_DEPTH, canonical_json
from datagora.domain.errors import NotCanonicalJSON, ValidationError
from tests import REPO_ROOT

TEXT = "Zürich café — 東京"


def test_keys_sorted_no_whitespace_and_text_as_utf8_without_escapes() -> None:
    doc = {"b": [1, 2.5, TEXT, (True, None)], "a": {"y": '\n\t"\\\x01\x7f', "x": -0.0}, "é": 1, "e": 2}
    raw = canonical_json(doc)
    assert raw == (
        '{"a":{"x":-0.0,"y":"\\n\\t\\"\\\\\\u0001\x7f"},"b":[1,2.5,"' + TEXT + '",[true,null]],"e":2,"é":1}'
    ).encode("utf-8")
    assert TEXT.encode("utf-8") in raw and b"\\u" not in raw.replace(b"\\u0001", b"")
    assert json.loads(raw) == json.loads(json.dumps(doc))  # the same document, read back by any JSON parser


def test_numbers_keep_pythons_shortest_form_and_exact_integers() -> None:
    # Where it differs from RFC 8785 (see the module docstring): 1.0 stays 1.0, big integers stay exact.
    assert (
        canonical_json([1.0, 1e-05, 1e16, 0.1 + 0.2, 2**64 + 1])
        == b"[1.0,1e-05,1e+16,0.30000000000000004,18446744073709551617]"
    )


@pytest.mark.parametrize(
    ("doc", "what", "where"),
    [
        ({"similarity": math.nan}, "NaN", "$.similarity"),
        ({"a": [1, {"b c": math.inf}]}, "Infinity", "$.a[1]['b c']"),
        ([-math.inf], "-Infinity", "$[0]"),
        ({"terms": {1: "x"}}, "the key 1", "$.terms"),
        ({"blob": b"\x00"}, "a value of type bytes", "$.blob"),
        ({"text": ["ok", "\ud800"]}, "an unpaired surrogate", "$.text[1]"),
        ({"\udc00": 1}, "an unpaired surrogate in a key", "$"),
    ],
)
def test_refuses_what_json_cannot_carry_naming_where(doc: Any, what: str, where: str) -> None:
    with pytest.raises(NotCanonicalJSON) as caught:
        canonical_json(doc)
    message = str(caught.value)
    assert f"{what} at {where} (" in message
    message.encode("ascii")  # the error itself is plain text, whatever the document held
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ValidationError)
    assert status_of(caught.value) == 422  # an API answers "unprocessable", never 500


def test_refuses_documents_nested_too_deeply_with_a_short_message() -> None:
    doc: Any = 0
    for _ in range(MAX_DEPTH + 5):
        doc = [doc]
    with pytest.raises(NotCanonicalJSON, match=f"nesting deeper than {MAX_DEPTH} levels") as caught:
        canonical_json(doc)
    assert len(str(caught.value)) < 250
    shallow: Any = 0
    for _ in range(MAX_DEPTH):
        shallow = [shallow]
    assert canonical_json(shallow) == b"[" * MAX_DEPTH + b"0" + b"]" * MAX_DEPTH


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_document_read_back_from_any_json_gives_the_same_bytes(doc: Any) -> None:
    raw = canonical_json(doc)
    assert canonical_json(json.loads(raw)) == raw  # what a receiver re-serialises is what the sender hashed
    assert canonical_json(json.loads(json.dumps(doc))) == raw  # also after an ASCII-escaped transport
    assert canonical_json(json.loads(json.dumps(doc, indent=2, ensure_ascii=False))) == raw


# Serialisations with sort_keys=True that are NOT hashed, signed or compared: pages and files for people, the
# keystore file, compiled artefacts, the index's own storage form and on-chain text whose bytes must not move.
NOT_HASHED = {
    "src/datagora/web/render.py",  # pretty-printed for a page
    "src/datagora/fsutil.py",  # pretty-printed record files
    "src/datagora/crypto/keys.py",  # the keystore file (Web3 Secret Storage)
    "src/datagora/chain/artifacts.py",  # compiled contract artefacts
    "src/datagora/cli/use_rights.py",  # printed for a person
    "src/datagora/index/indexer.py",  # the index's storage form of event arguments
    "src/datagora/infra/spec.py",  # workload spec text stored on chain as it is (ASCII-escaped), not hashed
    "src/datagora/scenarios/collaboration.py",  # the demo's infrastructure request and channel post
}


def test_no_other_serialisation_of_hashed_documents_is_left() -> None:
    found = {
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "src" / "datagora").rglob("*.py")
        if re.search(r"sort_keys\s*=\s*True", path.read_text(encoding="utf-8"))
    }
    assert found - NOT_HASHED == {"src/datagora/domain/canonical.py"}
