"""Keyword search over indexed dataset descriptions with the semantics of EntDSM Algorithms 4-5 (Wang & Liu
section III.C: keyword over name, domain and attributes), done off-chain: SQLite FTS5 (bm25 ranking) or
PostgreSQL full-text search, plus filters and pagination."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, literal_column, select, text
from sqlalchemy.sql.elements import ColumnElement

from datagora.domain.errors import ValidationError
from datagora.index.schema import datasets

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_PAGE = 200


@dataclass(frozen=True)
class SearchQuery:
    """A keyword search with filters and a page.

    ``keyword``: whole words, all must match; ``word*`` matches words starting with ``word``. Filters:
    ``domain`` (exact), ``owner`` (address), ``min_price``/``max_price`` in wei (only datasets listed for
    ether), ``sale_kind`` (``"ownership"`` or ``"use-right"``), ``pricing`` (``"fixed"``, ``"negotiated"``,
    ``"auction"``), ``token_id`` (one dataset). ``limit`` ≤ 200 and ``offset`` page the
    results; ``count`` False skips counting the matches (the page then costs only what it returns;
    ``has_more`` still tells whether a next page exists)."""

    keyword: str = ""
    domain: str | None = None
    owner: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sale_kind: str | None = None
    limit: int = 20
    offset: int = 0
    token_id: int | None = None
    count: bool = True
    pricing: str | None = None


@dataclass(frozen=True)
class SearchHit:
    token_id: int
    name: str
    domain: str
    attributes: str
    size: int
    owner: str
    content_hash: str
    listing_id: int | None
    price: int | None
    sale_kind: str | None
    pricing: str | None = None
    payment_token: str | None = None


@dataclass(frozen=True)
class SearchPage:
    """``total`` matches, counted up to :data:`COUNT_CAP` (``total_capped`` then says there are more; None when
    the query asked not to count); ``has_more`` when another page follows this one."""

    total: int | None
    hits: list[SearchHit]
    total_capped: bool = False
    has_more: bool = False


COUNT_CAP = 1_000
PROBE_WINDOW = 5_000  # newest rows PostgreSQL scans first for a keyword query (see search)


_TERM = re.compile(r"(\w+)(\*?)", re.UNICODE)


def _terms(keyword: str) -> list[tuple[str, bool]]:
    """Words of ``keyword`` with whether each asks for prefix matching (a trailing ``*``)."""
    return [(w, star == "*") for w, star in _TERM.findall(keyword.lower())]


def _fts_expression(keyword: str) -> str:
    return " ".join(f'"{w}"' + ("*" if prefix else "") for w, prefix in _terms(keyword))


def _pg_tsquery(keyword: str) -> str:
    return " & ".join(w + (":*" if prefix else "") for w, prefix in _terms(keyword))


def search(engine: Engine, query: SearchQuery) -> SearchPage:
    """Run ``query``: newest datasets first (EntDSM Algorithm 5 returns every match; it does not rank).

    SQLite drives the query from the FTS5 table in descending rowid order; PostgreSQL filters on the stored
    ``search`` tsvector column, first among the newest rows (enough for a common word), then through the GIN
    index (a rare word), so the first page costs little either way. Raises ``ValidationError`` for a bad page
    size or offset."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}")
    if query.offset < 0:
        raise ValidationError("offset must not be negative")
    fts_sqlite = bool(_WORD.search(query.keyword)) and engine.dialect.name == "sqlite"

    def col(name: str) -> Any:
        # With a MATCH, SQLite must drive the query from the full-text index; a filter column it could use an
        # index for would make it scan that index and re-run the MATCH per row (seconds, not milliseconds).
        # A unary plus is SQLite's documented way to take a term out of index selection.
        return literal_column(f"+datasets.{name}") if fts_sqlite else datasets.c[name]

    conds: list[ColumnElement[bool]] = []
    if query.domain:
        conds.append(col("domain") == query.domain)
    if query.owner:
        conds.append(func.lower(datasets.c.owner) == query.owner.lower())
    if query.min_price is not None:
        conds.append(col("price_eth") >= query.min_price // 10**9)
    if query.max_price is not None:
        conds.append(col("price_eth") <= -(-query.max_price // 10**9))
    if query.sale_kind:
        conds.append(datasets.c.sale_kind == query.sale_kind)
    if query.pricing:
        conds.append(datasets.c.pricing == query.pricing)
    if query.token_id is not None:
        conds.append(col("token_id") == query.token_id)
    base = select(datasets)
    order: list[Any] = [datasets.c.token_id.desc()]
    if fts_sqlite:
        fts: Any = literal_column("datasets_fts.rowid")
        base = (
            select(datasets)
            .select_from(text("datasets_fts"))
            .join(datasets, datasets.c.token_id == fts)
            .where(text("datasets_fts MATCH :fts").bindparams(fts=_fts_expression(query.keyword)))
        )
        order = [fts.desc()]
    elif _WORD.search(query.keyword):
        tsquery = func.to_tsquery("simple", _pg_tsquery(query.keyword))
        conds.append(literal_column("datasets.search").op("@@")(tsquery))
    if conds:
        base = base.where(and_(*conds))
    probe = not fts_sqlite and bool(_WORD.search(query.keyword)) and query.offset + query.limit < PROBE_WINDOW
    with engine.connect() as conn:
        rows = None
        if probe:
            # PostgreSQL: a common word makes the GIN scan decode a long posting list (60 ms at 1M rows) while
            # the newest matches sit among the newest rows. Look there first: when the newest PROBE_WINDOW rows
            # already hold a full page plus one, that page is exactly the page of the full query.
            floor = conn.execute(
                select(datasets.c.token_id).order_by(datasets.c.token_id.desc()).offset(PROBE_WINDOW).limit(1)
            ).scalar()
            if floor is not None:
                window = base.where(datasets.c.token_id > floor).order_by(*order)
                found = conn.execute(window.limit(query.limit + 1).offset(query.offset)).all()
                rows = found if len(found) > query.limit else None
        if rows is None:
            rows = conn.execute(base.order_by(*order).limit(query.limit + 1).offset(query.offset)).all()
        counted: int | None = None
        if query.count:
            capped = base.limit(COUNT_CAP + 1).subquery()
            counted = int(conn.execute(select(func.count()).select_from(capped)).scalar_one())
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    hits = [
        SearchHit(
            int(r.token_id),
            r.name,
            r.domain,
            r.attributes,
            int(r.size),
            r.owner,
            "0x" + bytes(r.content_hash).hex(),
            None if r.listing_id is None else int(r.listing_id),
            None if r.price is None else int(r.price),
            r.sale_kind,
            r.pricing,
            r.payment_token,
        )
        for r in rows
    ]
    if counted is None:
        return SearchPage(None, hits, False, has_more)
    return SearchPage(min(counted, COUNT_CAP), hits, counted > COUNT_CAP, has_more)
