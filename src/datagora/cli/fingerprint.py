"""``datagora fingerprint FILE`` and ``datagora fingerprint compare FILE1 FILE2``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from datagora.domain.errors import ValidationError

console = Console()


def fingerprint_command(
    args: Annotated[list[str], typer.Argument(help="FILE, or: compare FILE1 FILE2", show_default=False)],
    method: Annotated[str | None, typer.Option(help="Method (default: by content kind).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Near-duplicate threshold (default: calibrated).")] = None,
) -> None:
    """Print a file's robust fingerprint (kind detected from the content), or compare two files: similarity in
    [0, 1] and the near-duplicate verdict. Exit code 0 for a verdict either way.

    Example: datagora fingerprint compare photo.jpg copy.png"""
    from datagora.fingerprint import fingerprint, get_method, is_near_duplicate, similarity

    if args and args[0] == "compare":
        if len(args) != 3:
            raise ValidationError("usage: datagora fingerprint compare FILE1 FILE2")
        a, b = fingerprint(Path(args[1]), method), fingerprint(Path(args[2]), method)
        if a.method != b.method:
            raise ValidationError(f"{args[1]} holds {a.kind} data and {args[2]} holds {b.kind} data: not comparable")
        score = similarity(a, b)
        limit = get_method(a.method).threshold if threshold is None else threshold
        verdict = "near-duplicate" if is_near_duplicate(a, b, limit) else "different"
        console.print(f"method {a.method}  similarity {score:.4f}  threshold {limit:.4f}  verdict {verdict}")
        return
    if len(args) != 1:
        raise ValidationError("usage: datagora fingerprint FILE  |  datagora fingerprint compare FILE1 FILE2")
    fp = fingerprint(Path(args[0]), method)
    raw = fp.to_bytes()
    console.print(f"kind {fp.kind}  method {fp.method}  {len(raw)} bytes", highlight=False)
    console.print(base64.b64encode(raw).decode(), soft_wrap=True, highlight=False)
