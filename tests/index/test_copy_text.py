"""Rows made into PostgreSQL's COPY text form ahead of the write (the indexer's fetch thread) come back from the
server exactly as given: NULLs, bytes, tabs, newlines, backslashes and non-ASCII text."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from datagora.index.projections.base import copy_text

ROWS = [
    (1, "plain", None, b"\x00\xff", "tab\there", "nl\nx\r\\back", '{"a": "\\u00e9 é"}'),
    (2**62, "", "0x" + "ab" * 32, b"", "\\N", "\\x41", "last"),
]


@pytest.mark.postgres
def test_copy_text_round_trips_through_the_server(postgres_server: Any) -> None:
    dsn = f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn) as conn:  # rolled back on leaving: nothing stays in the shared server
        conn.execute("CREATE TEMP TABLE t (n bigint, a text, b text, c bytea, d text, e text, f text)")
        with conn.cursor() as cur, cur.copy("COPY t FROM STDIN") as copy:
            copy.write(copy_text(ROWS))
        assert conn.execute("SELECT * FROM t ORDER BY n").fetchall() == ROWS
        conn.rollback()


def test_copy_text_refuses_a_value_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="float"):
        copy_text([(1.5,)])
