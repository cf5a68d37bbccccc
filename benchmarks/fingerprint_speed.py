"""Image fingerprints per second per core, on one-megapixel photos, for every image method.

    python benchmarks/fingerprint_speed.py [--seconds 3] [--format jpeg,png]

The photos are scikit-image's and scikit-learn's colour photos scaled to 1155×866 (1.0 megapixel) and saved as
JPEG (quality 90) and PNG in a temporary directory. Each method fingerprints the files from disk — decoding
included — in this one process (OpenCV limited to one thread), so the rates are per core. The default method's
time is also split into its stages, and the comparison rate (fingerprint pairs per second) is given per method.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pdqhash
import skimage.data
from PIL import Image
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_sample_images

from datagora.fingerprint.base import Fingerprint
from datagora.fingerprint.images import (
    DEFAULT_IMAGE_METHOD,
    IMAGE_METHODS,
    PDQ_ORB,
    _resized,
    fingerprint_image,
    load_image,
    similarity_many,
)

SIZE = (1155, 866)  # 1,000,230 pixels


def photos() -> list[Image.Image]:
    arrays = [getattr(skimage.data, n)() for n in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                                                   "immunohistochemistry", "retina")]  # fmt: skip
    arrays += list(load_sample_images().images)
    return [Image.fromarray(a).convert("RGB").resize(SIZE, Image.Resampling.LANCZOS) for a in arrays]


def rate(fn: Callable[[Path], object], files: list[Path], seconds: float) -> float:
    """Calls of ``fn`` per second over ``files``, repeated for at least ``seconds`` (best of 3 rounds)."""
    for f in files:  # warm up (imports, caches, page cache)
        fn(f)
    rounds = []
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            for f in files:
                fn(f)
            n += len(files)
        rounds.append(n / (time.perf_counter() - t0))
    return max(rounds)


def stages(files: list[Path], seconds: float) -> dict[str, float]:
    """Milliseconds per image of the default method's stages (decode, scale, PDQ, ORB) on JPEG files."""
    ims = [load_image(f) for f in files]
    small = [np.ascontiguousarray(np.asarray(_resized(im, PDQ_ORB.side))) for im in ims]
    grey = [cv2.cvtColor(a, cv2.COLOR_RGB2GRAY) for a in small]
    orb = cv2.ORB.create(nfeatures=PDQ_ORB.detect_keypoints, fastThreshold=PDQ_ORB.fast_threshold)
    parts: dict[str, Callable[[int], object]] = {
        "decode (Pillow, JPEG draft) + normalise": lambda i: load_image(files[i]),
        f"scale to {PDQ_ORB.side} px": lambda i: _resized(ims[i], PDQ_ORB.side),
        "PDQ + 7 dihedral variants": lambda i: pdqhash.compute_dihedral(small[i]),
        "ORB detect + describe": lambda i: orb.detectAndCompute(grey[i], None),
    }
    out = {}
    for name, fn in parts.items():
        idx = list(range(len(files)))
        out[name] = 1000.0 / rate(lambda i, fn=fn: fn(i), idx, seconds / 2)  # type: ignore[misc]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    ap.add_argument("--format", default="jpeg,png", help="file formats to measure (default jpeg,png)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # per-core rates
    console = Console()
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    pics = photos()
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, list[Path]] = {}
        for fmt in formats:
            files[fmt] = []
            for i, im in enumerate(pics):
                path = Path(tmp) / f"photo{i}.{'jpg' if fmt == 'jpeg' else fmt}"
                im.save(path, quality=90) if fmt == "jpeg" else im.save(path)
                files[fmt].append(path)
        console.print(f"{len(pics)} photos of {SIZE[0]}×{SIZE[1]} pixels; one process, one core")
        table = Table(title="Fingerprints per second per core (1-megapixel photos, from disk)")
        table.add_column("method")
        for fmt in formats:
            table.add_column(f"{fmt} /s", justify="right")
            table.add_column(f"{fmt} ms", justify="right")
        table.add_column("comparisons /s", justify="right")
        for m in IMAGE_METHODS:
            cells = []
            for fmt in formats:
                r = rate(lambda p, m=m: fingerprint_image(p, m), files[fmt], args.seconds)  # type: ignore[misc]
                cells += [f"{r:,.0f}", f"{1000 / r:.1f}"]
            fps: list[Fingerprint] = [fingerprint_image(p, m) for p in files[formats[0]]]
            t0, pairs = time.perf_counter(), 0
            for fp in fps:  # against the other photos only: the rate of a search among unrelated images
                pool = [x for x in fps if x is not fp] * 250
                similarity_many(fp, pool)
                pairs += len(pool)
            cmp_rate = pairs / (time.perf_counter() - t0)
            table.add_row(m + (" (default)" if m == DEFAULT_IMAGE_METHOD else ""), *cells, f"{cmp_rate:,.0f}")
        console.print(table)
        if "jpeg" in files:
            table = Table(title=f"{DEFAULT_IMAGE_METHOD}: milliseconds per JPEG photo by stage")
            table.add_column("stage")
            table.add_column("ms", justify="right")
            parts = stages(files["jpeg"], args.seconds)
            for name, ms in parts.items():
                table.add_row(name, f"{ms:.2f}")
            table.add_row("sum", f"{statistics.fsum(parts.values()):.2f}", style="bold")
            console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
