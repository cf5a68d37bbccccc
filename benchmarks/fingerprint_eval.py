"""Precision and recall of the image fingerprints under piracy attacks: Wu et al. section IV.C on real photos.

    python benchmarks/fingerprint_eval.py [--originals 250] [--copies 20] [--seed 0] [--workers 2]

Originals: scikit-image's bundled photos, scikit-learn's two sample images and photographic cut-outs of the
Debian package ``tuxpaint-stamps-default`` (installed with apt-get when missing and running as root; alpha
flattened onto white; stamps under 128 pixels a side skipped; byte-identical stamps and name families such as
``dreydl-shin`` / ``dreydl-hay`` — edits of one photo — reduced to one). Each original gets ``--copies``
pirated copies, the attacks taken in turn: the paper's crop, noise and brightness, then JPEG (quality 30–70),
resize (0.3–0.8), rotation (±1–5°, black corners), a small text overlay, gamma (0.5–0.8 or 1.25–2.0) and
"paper" (crop + noise + brightness together); parameters come from a RNG seeded by ``--seed``.

Each original queries every copy of every original: the copies of the query are positives, all other copies
distractors. Printed for wu2020, phash, pdq and pdq-orb side by side: precision and recall per threshold,
recall per attack at each method's calibrated threshold, precision at 95 % recall, recall at 99 % precision,
and the threshold reaching 99 % precision. The precision–recall plot goes to benchmarks/out/fingerprint_pr.png.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datagora.fingerprint.base import Fingerprint, get_method
from datagora.fingerprint.images import IMAGE_METHODS, fingerprint_pil, similarity_many

STAMPS = Path("/usr/share/tuxpaint/stamps")
SKIMAGE_PHOTOS = (
    "astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text", "cell",
)  # fmt: skip
MIN_STAMP_SIDE = 128
ATTACKS = ("crop", "noise", "brightness", "jpeg", "resize", "rotate", "text", "gamma", "paper")
OUT = Path(__file__).resolve().parent / "out"


# ---------------------------------------------------------------------------------------------------------------
# Data


def ensure_stamps(console: Console) -> None:
    if STAMPS.is_dir():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        console.print(f"[yellow]{STAMPS} missing and not root: using the scikit-image and scikit-learn photos only")
        return
    console.print("installing tuxpaint-stamps-default with apt-get …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "tuxpaint-stamps-default"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _family(p: Path) -> tuple[Path, str]:
    stem = re.sub(r"[-_]mirror$", "", p.stem.lower())
    head = re.split(r"[-_ ]", stem)[0]
    return p.parent, head if sum(c.isalpha() for c in head) >= 3 and head != stem else stem


def originals(n: int) -> list[tuple[str, Image.Image]]:
    """Up to ``n`` distinct real photos as RGB images: scikit-image's, scikit-learn's, then tuxpaint stamps."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    out: list[tuple[str, Image.Image]] = []
    for name in SKIMAGE_PHOTOS:
        out.append((f"skimage:{name}", Image.fromarray(getattr(skimage.data, name)()).convert("RGB")))
    for i, a in enumerate(load_sample_images().images):
        out.append((f"sklearn:{('china', 'flower')[i]}", Image.fromarray(a).convert("RGB")))
    families: set[tuple[Path, str]] = set()
    digests: set[bytes] = set()
    for p in sorted(STAMPS.rglob("*.png")) if STAMPS.is_dir() else []:
        if len(out) >= n:
            break
        with Image.open(p) as im:
            if min(im.size) < MIN_STAMP_SIDE:
                continue
            rgba = im.convert("RGBA")
        digest = hashlib.sha256(rgba.tobytes()).digest()
        if digest in digests or _family(p) in families:
            continue
        digests.add(digest)
        families.add(_family(p))
        flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
        out.append((f"stamp:{p.relative_to(STAMPS)}", flat))
    return out[:n]


def attack(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One pirated copy of ``img``; parameters drawn from ``rng``."""
    w, h = img.size
    if kind == "crop":  # drop 5–20 % of the width and of the height, split at random between the two sides
        fx, fy = rng.uniform(0.05, 0.20, 2)
        left, top = rng.uniform(0, fx) * w, rng.uniform(0, fy) * h
        return img.crop((round(left), round(top), round(left + (1 - fx) * w), round(top + (1 - fy) * h)))
    if kind == "noise":  # additive Gaussian noise, σ 5–15 grey levels
        a = np.asarray(img, dtype=np.float32) + rng.normal(0.0, rng.uniform(5, 15), (h, w, 3))
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
    if kind == "brightness":  # ×0.6–0.85 or ×1.15–1.4
        return ImageEnhance.Brightness(img).enhance(1 + rng.choice([-1, 1]) * rng.uniform(0.15, 0.4))
    if kind == "jpeg":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(30, 71)))
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if kind == "resize":
        s = rng.uniform(0.3, 0.8)
        return img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR)
    if kind == "rotate":
        angle = rng.choice([-1, 1]) * rng.uniform(1, 5)
        return img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))
    if kind == "text":  # "© XXXXXX", 6 % of the height, random colour and place
        out = img.copy()
        draw = ImageDraw.Draw(out)
        font = ImageFont.load_default(size=max(8, round(0.06 * h)))
        text = "© " + "".join(rng.choice(list("ABCDEFGHKLMNPRSTUVWXYZ"), 6))
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        xy = (rng.uniform(0, max(1, w - (x1 - x0))), rng.uniform(0, max(1, h - (y1 - y0))))
        draw.text(xy, text, font=font, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        return out
    if kind == "gamma":
        g = math.exp(rng.choice([-1, 1]) * rng.uniform(math.log(1.25), math.log(2.0)))
        return img.point([round(255 * (i / 255) ** g) for i in range(256)] * 3)
    if kind == "paper":  # the paper's three modifications at once
        return attack(attack(attack(img, "crop", rng), "noise", rng), "brightness", rng)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------------------------
# Workers (fork: the globals below are inherited)

_JOBS: list[tuple[str, Image.Image]] = []
_COPIES = 20
_SEED = 0
_METHODS: tuple[str, ...] = IMAGE_METHODS
_COPY_FPS: dict[str, list[Fingerprint]] = {}


def _worker_init() -> None:
    cv2.setNumThreads(1)  # one process per core


def _fingerprint_job(i: int) -> tuple[int, dict[str, Fingerprint], list[str], dict[str, list[Fingerprint]]]:
    _, img = _JOBS[i]
    rng = np.random.default_rng([_SEED, i])
    kinds = [ATTACKS[c % len(ATTACKS)] for c in range(_COPIES)]
    copies = [attack(img, k, rng) for k in kinds]
    orig = {m: fingerprint_pil(img, m) for m in _METHODS}
    fps = {m: [fingerprint_pil(c, m) for c in copies] for m in _METHODS}
    return i, orig, kinds, fps


def _query_job(args: tuple[str, Fingerprint]) -> np.ndarray:
    method, query = args
    return np.asarray(similarity_many(query, _COPY_FPS[method]), dtype=np.float32)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def run(
    images: list[tuple[str, Image.Image]],
    copies: int,
    seed: int,
    workers: int,
    methods: Sequence[str],
    console: Console,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, dict[str, float]]:
    """Score matrices (originals × copies) per method, the copies' owners and attack kinds, and seconds spent."""
    global _JOBS, _COPIES, _SEED, _METHODS, _COPY_FPS
    _JOBS, _COPIES, _SEED, _METHODS = images, copies, seed, tuple(methods)
    n = len(images)
    orig: list[dict[str, Fingerprint]] = [{} for _ in range(n)]
    kinds: list[list[str]] = [[] for _ in range(n)]
    cfps: list[dict[str, list[Fingerprint]]] = [{} for _ in range(n)]
    ctx = mp.get_context("fork")
    timings: dict[str, float] = {}
    with _progress(console) as progress:
        t0 = time.perf_counter()
        task = progress.add_task("attack + fingerprint", total=n)
        with ctx.Pool(workers, initializer=_worker_init) as pool:
            for i, o, k, f in pool.imap_unordered(_fingerprint_job, range(n), chunksize=2):
                orig[i], kinds[i], cfps[i] = o, k, f
                progress.advance(task)
        timings["fingerprint"] = time.perf_counter() - t0
        _COPY_FPS = {m: [fp for i in range(n) for fp in cfps[i][m]] for m in methods}
        scores: dict[str, np.ndarray] = {}
        for m in methods:
            t0 = time.perf_counter()
            task = progress.add_task(f"compare {m}", total=n)
            rows: list[np.ndarray] = []
            with ctx.Pool(workers, initializer=_worker_init) as pool:
                for row in pool.imap(_query_job, [(m, orig[i][m]) for i in range(n)], chunksize=1):
                    rows.append(row)
                    progress.advance(task)
            scores[m] = np.stack(rows)
            timings[f"compare {m}"] = time.perf_counter() - t0
    owner = np.repeat(np.arange(n), copies)
    return scores, owner, np.array([k for ks in kinds for k in ks]), timings


# ---------------------------------------------------------------------------------------------------------------
# Metrics


def pr_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and threshold at every distinct score (threshold = accept when score ≥ it)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp, fp = np.cumsum(y), np.cumsum(~y)
    last = np.r_[s[1:] != s[:-1], True]  # the last index of each run of equal scores
    tp, fp, s = tp[last], fp[last], s[last]
    return tp / (tp + fp), tp / max(int(labels.sum()), 1), s


def at_threshold(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[float, float]:
    hit = scores >= t
    tp = int((hit & labels).sum())
    return tp / max(int(hit.sum()), 1), tp / max(int(labels.sum()), 1)


def summary(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    p, r, t = pr_curve(scores, labels)
    ok95, ok99, ok995 = r >= 0.95, p >= 0.99, p >= 0.995
    return {
        "p@95r": float(p[ok95].max()) if ok95.any() else 0.0,
        "r@99p": float(r[ok99].max()) if ok99.any() else 0.0,
        "t@99p": float(t[ok99][np.argmax(r[ok99])]) if ok99.any() else float("nan"),
        "t@99.5p": float(t[ok995][np.argmax(r[ok995])]) if ok995.any() else float("nan"),
        "ap": float(np.sum(np.diff(np.r_[0.0, r]) * p)),
    }


def plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    for name, (p, r) in curves.items():
        ax.plot(r, p, label=name, linewidth=1.6)
    ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
    ax.axvline(0.95, color="grey", linewidth=0.6, linestyle=":")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0.5, 1.005), title=title)
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--originals", type=int, default=250, help="number of original photos (default 250)")
    ap.add_argument("--copies", type=int, default=20, help="pirated copies per original (default 20)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the attack parameters (default 0)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    ap.add_argument("--methods", default=",".join(IMAGE_METHODS), help="comma-separated image methods")
    ap.add_argument("--plot", type=Path, default=OUT / "fingerprint_pr.png", help="where to save the PR plot")
    args = ap.parse_args(argv)
    console = Console(width=max(Console().width, 130))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    ensure_stamps(console)
    t0 = time.perf_counter()
    images = originals(args.originals)
    n, c = len(images), args.copies
    console.print(
        f"{n} originals ({sum(k.startswith('stamp:') for k, _ in images)} tuxpaint stamps), {c} copies each: "
        f"{n * c} positives, {n * c * (n - 1)} distractor pairs; seed {args.seed}"
    )
    scores, owner, kinds, timings = run(images, c, args.seed, args.workers, methods, console)
    labels = owner[None, :] == np.arange(n)[:, None]
    flat_labels = labels.ravel()

    grid = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    table = Table(title="Precision / recall (%) per threshold, all attacks")
    table.add_column("threshold", justify="right")
    for m in methods:
        table.add_column(f"{m} P / R", justify="right")
    for t in grid:
        cells = []
        for m in methods:
            p, r = at_threshold(scores[m].ravel(), flat_labels, t)
            cells.append(f"{100 * p:5.1f} / {100 * r:5.1f}")
        table.add_row(f"{t:.2f}", *cells)
    console.print(table)

    table = Table(title="Recall per attack at each method's calibrated threshold")
    table.add_column("attack")
    table.add_column("copies", justify="right")
    for m in methods:
        table.add_column(f"{m} (t={get_method(m).threshold:.2f})", justify="right")
    for k in ATTACKS:
        sel = kinds == k
        if not sel.any():
            continue
        cells = []
        for m in methods:
            s = scores[m][:, sel][labels[:, sel]]
            cells.append(f"{np.mean(s >= get_method(m).threshold):6.1%}")
        table.add_row(k, str(int(sel.sum())), *cells)
    cells, precisions = [], []
    for m in methods:
        p, r = at_threshold(scores[m].ravel(), flat_labels, get_method(m).threshold)
        cells.append(f"{r:6.1%}")
        precisions.append(f"{p:6.2%}")
    table.add_row("all", str(n * c), *cells, style="bold")
    table.add_row("precision", "", *precisions, style="bold")
    console.print(table)

    table = Table(title="Summary")
    for col in ("method", "precision @ 95 % recall", "recall @ 99 % precision", "threshold for 99 % precision",
                "threshold for 99.5 % precision", "avg precision", "compare time"):  # fmt: skip
        table.add_column(col, justify="right" if col != "method" else "left")
    curves = {}
    for m in methods:
        s = summary(scores[m].ravel(), flat_labels)
        p, r, _ = pr_curve(scores[m].ravel(), flat_labels)
        curves[m] = (p, r)
        table.add_row(
            m, f"{s['p@95r']:.2%}", f"{s['r@99p']:.2%}", f"{s['t@99p']:.3f}", f"{s['t@99.5p']:.3f}", f"{s['ap']:.4f}",
            f"{timings[f'compare {m}']:.0f} s",
        )  # fmt: skip
    console.print(table)
    plot(curves, args.plot, f"Image fingerprints: {n} originals × {c} copies (seed {args.seed})")
    console.print(f"fingerprinting {timings['fingerprint']:.0f} s, total {time.perf_counter() - t0:.0f} s")
    console.print(f"precision–recall plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
