"""Streaming ``multipart/form-data`` uploads (RFC 7578) straight into a private directory.

Starlette's own form parser spools file parts to the system's temporary directory before a route runs, that is
before its dependencies have checked who is calling. A route that takes a file instead declares no form
parameters (so FastAPI reads nothing), lets its dependencies authenticate the caller, then calls
:func:`receive_form`, which writes the one file part to a directory the route chose as the bytes arrive and
stops at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from datagora.api.errors import PayloadTooLarge, UnsupportedMediaType
from datagora.domain.errors import ValidationError

MAX_FIELD_BYTES = 4_096
"""Bytes of one plain form field."""
MAX_PARTS = 16


@dataclass
class StreamedForm:
    """What :func:`receive_form` read: plain ``fields`` (UTF-8 text), the file part's client-side ``filename``
    (may be empty) and where its ``size`` bytes were written (``path``)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str = ""
    path: Path | None = None
    size: int = 0


class _Collector:
    """Callbacks of python-multipart's streaming parser: plain fields in memory (bounded), the file part into a
    buffer the caller flushes to disk after each chunk."""

    def __init__(self, file_field: str, allowed: set[str], max_file_bytes: int) -> None:
        self.file_field = file_field
        self.allowed = allowed
        self.max_file_bytes = max_file_bytes
        self.form = StreamedForm()
        self.pending = bytearray()
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()
        self.file_complete = False
        self.error: Exception | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        raise exc

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self._fail(ValidationError(f"a form of at most {MAX_PARTS} parts is expected"))
        self._headers, self._name, self._is_file = {}, None, False
        self._value.clear()

    def _header_end(self) -> None:
        key = self._header_field.decode("latin-1").strip().lower()
        self._headers[key] = self._header_value.decode("latin-1")
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in options:
            self._fail(ValidationError("each form part needs Content-Disposition: form-data with a name"))
        name = options[b"name"].decode("utf-8", "replace")
        if name not in self.allowed:
            self._fail(ValidationError(f"unexpected form field; expected: {', '.join(sorted(self.allowed))}"))
        if name == self.file_field:
            if self.file_complete or self.form.size:
                self._fail(ValidationError(f"send one {self.file_field!r} part"))
            self._is_file = True
            self.form.filename = options.get(b"filename", b"").decode("utf-8", "replace")
        elif name in self.form.fields:
            self._fail(ValidationError("each form field may be sent once"))
        self._name = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.form.size += end - start
            if self.form.size > self.max_file_bytes:
                self._fail(PayloadTooLarge(f"upload exceeds {self.max_file_bytes} bytes"))
            self.pending += data[start:end]
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                self._fail(ValidationError(f"form fields are at most {MAX_FIELD_BYTES} bytes"))

    def _part_end(self) -> None:
        if self._name is not None and not self._is_file:
            try:
                self.form.fields[self._name] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                self._fail(ValidationError("form fields must be UTF-8 text"))
        if self._is_file:
            self.file_complete = True


async def receive_form(
    request: Request, directory: Path, *, file_field: str, fields: set[str], max_file_bytes: int
) -> StreamedForm:
    """Read a ``multipart/form-data`` body: the part named ``file_field`` is written to ``directory/upload`` as it
    arrives (at most ``max_file_bytes``), the plain ``fields`` (each at most :data:`MAX_FIELD_BYTES`) are
    returned as text. Raises ``UnsupportedMediaType`` (another content type), ``PayloadTooLarge`` (the file is
    over the limit, checked as bytes arrive) or ``ValidationError`` (malformed form, an unknown or repeated
    field, no file part)."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        raise UnsupportedMediaType("send the dataset as multipart/form-data with a 'file' part")
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise ValidationError("multipart/form-data needs a boundary of 1 to 200 characters")
    collector = _Collector(file_field, fields | {file_field}, max_file_bytes)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    target = directory / "upload"
    with target.open("wb") as out:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except MultipartParseError:
                raise ValidationError("malformed multipart/form-data body") from None
            except Exception:
                if collector.error is not None:
                    raise collector.error from None
                raise
            if collector.pending:
                data = bytes(collector.pending)
                collector.pending.clear()
                await run_in_threadpool(out.write, data)
        try:
            parser.finalize()
        except MultipartParseError:
            raise ValidationError("malformed multipart/form-data body") from None
    if not collector.file_complete:
        raise ValidationError(f"the form has no complete {file_field!r} part")
    collector.form.path = target
    return collector.form
