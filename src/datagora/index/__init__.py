"""Event index: every Datagora contract event in SQL (SQLite by default, PostgreSQL by URL), with search."""

from datagora.index.indexer import EventIndexer, SyncReport
from datagora.index.schema import open_engine

__all__ = ["EventIndexer", "SyncReport", "open_engine"]
