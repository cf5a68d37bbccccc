"""Request bodies of the anchoring routes refuse text that has no UTF-8 form (nothing to hash) with a 422."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticError

from datagora.api.routers.anchoring import AnchorIn, VerifyIn


def test_text_that_is_not_unicode_is_refused_not_a_server_error() -> None:
    """A JSON body may carry a lone surrogate ("\\ud800"), which has no UTF-8 form to hash: a 422, never a 500."""
    import json

    for body in ('{"record": "\\ud800"}', json.dumps({"records": ["ok", "\ud800"], "label": "x"})):
        model = VerifyIn if 'record"' in body else AnchorIn
        with pytest.raises(PydanticError, match="not valid Unicode"):
            model.model_validate(json.loads(body))


def test_one_request_sends_at_most_ten_batches() -> None:
    AnchorIn.model_validate({"records": ["r"] * 100, "label": "x", "batch_size": 10})
    with pytest.raises(PydanticError, match="at most 10 batches per request"):
        AnchorIn.model_validate({"records": ["r"] * 101, "label": "x", "batch_size": 10})
