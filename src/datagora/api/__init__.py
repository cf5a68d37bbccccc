"""The node's HTTP API (FastAPI): ``create_app(node)``; ``datagora.api.client.NodeClient`` talks to it.

``create_app`` is imported on first use (PEP 562), so a light submodule (``datagora.api.dev``'s server, which must
answer within seconds of ``serve --dev``) does not pay for the whole app's imports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datagora.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from datagora.api.app import create_app

        return create_app
    raise AttributeError(f"module 'datagora.api' has no attribute {name!r}")
