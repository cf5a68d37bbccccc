"""Tell a dataset's kind from its content, never from its file name (Wu et al. section III.C: the fingerprint
generator is chosen by the kind of data; step (4) of section III.A fingerprints whatever the seller uploads).

Order of the checks: image magic bytes (PNG, JPEG, GIF, BMP, TIFF, WebP), Parquet (``PAR1`` at both ends),
CSV (:class:`csv.Sniffer` on a UTF-8 sample: at least 2 columns and the same column count on every sampled
row), any other UTF-8 text. Everything else (empty file, binary data that is none of these) raises
:class:`~datagora.domain.errors.ValidationError` with a one-line ``"unsupported file type: …"`` message.
"""

from __future__ import annotations

import codecs
import csv
import io
import struct
from dataclasses import dataclass
from pathlib import Path

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Kind

SAMPLE_BYTES = 64 * 1024
"""Bytes read from the head of a file to decide whether it is text or CSV."""

SNIFF_CHARS = 8 * 1024
"""Characters :class:`csv.Sniffer` looks at (its cost grows quadratically with the sample); the whole sample
is then parsed to check the column counts."""

CSV_DELIMITERS = ",;\t|"
"""Delimiters :func:`sniff_csv` accepts."""

_DEFAULT_METHODS: dict[str, str] = {"table": "minhash-rows", "text": "minhash-words", "image": "pdq-orb"}
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}
_CONTROL_OK = {"\t", "\n", "\r", "\f", "\v", "\x1b"}


@dataclass(frozen=True)
class CsvDialect:
    """What :func:`sniff_csv` found: the ``delimiter`` and ``quotechar``, whether the first row is a header
    (:meth:`csv.Sniffer.has_header`, a heuristic), and the number of ``columns``."""

    delimiter: str
    quotechar: str
    has_header: bool
    columns: int


def default_method(kind: Kind) -> str:
    """The fingerprint method used for a ``kind`` when the caller names none: table → ``"minhash-rows"``,
    text → ``"minhash-words"``, image → ``"pdq-orb"``. ``ValidationError`` for an unknown kind."""
    try:
        return _DEFAULT_METHODS[kind]
    except KeyError:
        raise ValidationError(f"unsupported data kind {kind!r} (known: image, table, text)") from None


def image_format(head: bytes) -> str | None:
    """The image format whose magic bytes start ``head`` (``"png"``, ``"jpeg"``, ``"gif"``, ``"bmp"``,
    ``"tiff"``, ``"webp"``), or ``None``. ``head`` should hold at least the first 18 bytes of the file."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    # "BM" alone would also start a text file ("BMW,…"): require the zero reserved words and a known
    # DIB header size (Windows BITMAPFILEHEADER / BITMAPINFOHEADER family).
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        (dib_size,) = struct.unpack_from("<I", head, 14)
        if dib_size in _BMP_DIB_SIZES:
            return "bmp"
    return None


def is_parquet(path: str | Path) -> bool:
    """True when the file starts and ends with Parquet's ``PAR1`` magic (Apache Parquet file format)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size < 12:
            return False
        with p.open("rb") as f:
            head = f.read(4)
            f.seek(-4, io.SEEK_END)
            tail = f.read(4)
    except OSError as exc:
        raise ValidationError(f"cannot read {p.name}: {exc.strerror or exc}") from None
    return head == b"PAR1" and tail == b"PAR1"


def read_text_sample(path: str | Path, size: int = SAMPLE_BYTES) -> str:
    """Decode the first ``size`` bytes of a file as UTF-8 (a leading BOM is dropped; a multi-byte
    character cut by the sample's end is ignored). ``ValidationError`` when the bytes are not UTF-8 text
    (invalid UTF-8, NUL bytes or other control characters) or the file is empty."""
    p = Path(path)
    head = _read_head(p, size)
    if not head:
        raise ValidationError(f"unsupported file type: {p.name} is empty")
    text = _decode_text(head)
    if text is None:
        raise ValidationError(f"unsupported file type: {p.name} is binary data (not an image, Parquet, CSV or text)")
    return text


def sniff_csv(sample: str, *, complete: bool = True) -> CsvDialect | None:
    """The CSV dialect of a text sample, or ``None`` when it is not a table: :class:`csv.Sniffer` must find
    one of ``,;<tab>|`` and every non-blank row of the sample must have the same number (≥ 2) of columns,
    over at least 2 rows. ``complete=False`` means the sample was cut from a longer file: its last,
    possibly partial, line is ignored."""
    if not complete:
        cut = sample.rfind("\n")
        sample = sample[: cut + 1] if cut >= 0 else ""
    if not sample.strip():
        return None
    head = sample
    if len(sample) > SNIFF_CHARS:
        cut = sample.rfind("\n", 0, SNIFF_CHARS)
        head = sample[: cut + 1] if cut > 0 else sample[:SNIFF_CHARS]
    try:
        dialect = csv.Sniffer().sniff(head, delimiters=CSV_DELIMITERS)
    except csv.Error:
        return None
    try:
        rows = [row for row in csv.reader(io.StringIO(sample), dialect) if any(cell.strip() for cell in row)]
    except csv.Error:
        return None
    widths = {len(row) for row in rows}
    if len(rows) < 2 or len(widths) != 1:
        return None
    (columns,) = widths
    if columns < 2:
        return None
    try:
        has_header = csv.Sniffer().has_header(head)
    except csv.Error:
        has_header = False
    return CsvDialect(dialect.delimiter, dialect.quotechar or '"', has_header, columns)


def detect_csv(path: str | Path) -> CsvDialect | None:
    """:func:`sniff_csv` on the head of a file: None for an image or text that is not a table,
    ``ValidationError`` for an empty file or other binary data."""
    p = Path(path)
    if image_format(_read_head(p, 32)) is not None:
        return None
    sample = read_text_sample(p)
    return sniff_csv(sample, complete=p.stat().st_size <= SAMPLE_BYTES)


def detect_kind(path: str | Path) -> Kind:
    """The kind of the data in ``path`` (``"image"``, ``"table"`` or ``"text"``), from its content.

    Tables are Parquet files and CSV files (see :func:`sniff_csv`); images are PNG, JPEG, GIF, BMP, TIFF and
    WebP files recognised by their magic bytes (the image itself is decoded only by the image method).
    Raises ``ValidationError("unsupported file type: …")`` for an empty file, a truncated Parquet file,
    binary data of no supported format, or a file that cannot be read."""
    p = Path(path)
    head = _read_head(p, SAMPLE_BYTES)
    if not head:
        raise ValidationError(f"unsupported file type: {p.name} is empty")
    if image_format(head) is not None:
        return "image"
    if head.startswith(b"PAR1") and is_parquet(p):
        return "table"
    text = _decode_text(head)
    if text is None:
        if head.startswith(b"PAR1"):
            raise ValidationError(f"unsupported file type: {p.name} is a truncated or corrupt Parquet file")
        raise ValidationError(f"unsupported file type: {p.name} is binary data (not an image, Parquet, CSV or text)")
    if not text.strip():
        raise ValidationError(f"unsupported file type: {p.name} holds only whitespace")
    complete = len(head) < SAMPLE_BYTES or p.stat().st_size <= SAMPLE_BYTES
    return "table" if sniff_csv(text, complete=complete) is not None else "text"


def _read_head(p: Path, size: int) -> bytes:
    try:
        with p.open("rb") as f:
            return f.read(size)
    except IsADirectoryError:
        raise ValidationError(f"unsupported file type: {p.name} is a directory") from None
    except OSError as exc:
        raise ValidationError(f"cannot read {p.name}: {exc.strerror or exc}") from None


def _decode_text(head: bytes) -> str | None:
    """UTF-8 text of ``head`` (BOM dropped, a trailing partial character ignored), or None if not text."""
    if b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ch < " " and ch not in _CONTROL_OK)
    if controls > max(1, len(text) // 1000):
        return None
    return text
