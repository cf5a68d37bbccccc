"""Keyword search over indexed dataset descriptions with the semantics of EntDSM Algorithms 4-5 (Wang & Liu
section III.C: keyword over name, domain and attributes), done off-chain: SQLite FTS5 (bm25 ranking) or
PostgreSQL full-text search, plus filters and pagination."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, literal_column, select, text
from sqlalchemy.sql.elements import ColumnElement

from datagora.domain.errors import ValidationError
from datagora.index.schema import datasets

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_PAGE = 200


@dataclass(frozen=True)
class SearchQuery:
    """``keyword`` (words, all must match, prefix match on the last), optional filters: ``domain`` (exact),
    ``owner`` (address), ``min_price``/``max_price`` in wei (only listed datasets), ``sale_kind``
    (``"ownership"``); ``limit`` ≤ 200 and ``offset`` for pagination."""

    keyword: str = ""
    domain: str | None = None
    owner: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sale_kind: str | None = None
    limit: int = 20
    offset: int = 0


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


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]


def _fts_expression(keyword: str) -> str:
    words = _WORD.findall(keyword.lower())
    if not words:
        return ""
    return " ".join(f'"{w}"' for w in words[:-1]) + (" " if len(words) > 1 else "") + f'"{words[-1]}"*'


def search(engine: Engine, query: SearchQuery) -> SearchPage:
    """Run ``query``. Raises ``ValidationError`` for a bad page size or offset."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}")
    if query.offset < 0:
        raise ValidationError("offset must not be negative")
    conds: list[ColumnElement[bool]] = []
    if query.domain:
        conds.append(datasets.c.domain == query.domain)
    if query.owner:
        conds.append(func.lower(datasets.c.owner) == query.owner.lower())
    if query.min_price is not None:
        conds.append(datasets.c.price_eth >= query.min_price // 10**9)
    if query.max_price is not None:
        conds.append(datasets.c.price_eth <= -(-query.max_price // 10**9))
    if query.sale_kind:
        conds.append(datasets.c.sale_kind == query.sale_kind)
    order = [datasets.c.token_id.desc()]
    fts = _fts_expression(query.keyword)
    base = select(datasets)
    if fts and engine.dialect.name == "sqlite":
        base = base.join(
            text("datasets_fts"), literal_column("datasets_fts.rowid") == datasets.c.token_id
        ).where(text("datasets_fts MATCH :fts").bindparams(fts=fts))
        order = [literal_column("bm25(datasets_fts)"), datasets.c.token_id.desc()]
    elif fts:
        doc = func.to_tsvector("simple", datasets.c.name + " " + datasets.c.domain + " " + datasets.c.attributes)
        words = _WORD.findall(query.keyword.lower())
        tsq = " & ".join(words[:-1] + [words[-1] + ":*"])
        conds.append(doc.op("@@")(func.to_tsquery("simple", tsq)))
    if conds:
        base = base.where(and_(*conds))
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one())
        rows = conn.execute(base.order_by(*order).limit(query.limit).offset(query.offset)).all()
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
        )
        for r in rows
    ]
    return SearchPage(total, hits)
