"""The node's HTTP API (FastAPI): ``create_app(node)``; ``datagora.api.client.NodeClient`` talks to it."""

from datagora.api.app import create_app

__all__ = ["create_app"]
