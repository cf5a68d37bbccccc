"""Real datasets that install with the package's dependencies, for the demo and the tests."""

from __future__ import annotations

import csv
from pathlib import Path


def write_photo(target: Path, name: str = "astronaut") -> Path:
    """Write one of scikit-image's bundled photographs (e.g. ``astronaut``, ``coffee``, ``chelsea``) as PNG."""
    import skimage.data
    import skimage.io

    image = getattr(skimage.data, name)()
    target.parent.mkdir(parents=True, exist_ok=True)
    skimage.io.imsave(target, image, check_contrast=False)
    return target


BREAST_CANCER_MEASURES = (
    "radius", "texture", "perimeter", "area", "smoothness",
    "compactness", "concavity", "concave points", "symmetry", "fractal dimension",
)  # fmt: skip
"""The ten cell-nucleus measures of the Wisconsin Diagnostic Breast Cancer data (Street et al., 1993); each comes
as mean, standard error and worst value, named as scikit-learn names them."""


def write_breast_cancer_csv(target: Path) -> Path:
    """Write scikit-learn's bundled Breast Cancer Wisconsin (Diagnostic) data set as CSV: 569 rows, 30
    features and the diagnosis (``malignant`` / ``benign``).

    The bundled file is read directly (importing scikit-learn takes seconds, which ``serve --dev`` waits for);
    the output is the same as from ``sklearn.datasets.load_breast_cancer``."""
    from importlib.util import find_spec

    spec = find_spec("sklearn")  # locates the package without importing it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("scikit-learn is not installed; it ships the sample data set")
    source = Path(spec.origin).parent / "datasets" / "data" / "breast_cancer.csv"
    names = [
        *(f"mean {m}" for m in BREAST_CANCER_MEASURES),
        *(f"{m} error" for m in BREAST_CANCER_MEASURES),
        *(f"worst {m}" for m in BREAST_CANCER_MEASURES),
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open(newline="") as raw, target.open("w", newline="") as fh:
        rows = csv.reader(raw)
        header = next(rows)  # samples, features, then the class names
        n_samples, n_features, classes = int(header[0]), int(header[1]), header[2:]
        if n_features != len(names):
            raise ValueError(f"{source}: {n_features} features, expected {len(names)}")
        writer = csv.writer(fh)
        writer.writerow([*names, "diagnosis"])
        count = 0
        for row in rows:
            writer.writerow([*(f"{float(v):.6g}" for v in row[:n_features]), classes[int(row[n_features])]])
            count += 1
        if count != n_samples:
            raise ValueError(f"{source}: {count} rows, expected {n_samples}")
    return target


def write_diabetes_csv(target: Path) -> Path:
    """Write scikit-learn's bundled diabetes data set (Efron et al., 2004) as CSV in its original units: 442
    patients, age, sex, bmi, blood pressure and six blood serum measurements, and ``progression`` (a measure of
    disease progression one year later)."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*bunch.feature_names, "progression"])
        for row, value in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([*(f"{v:.6g}" for v in row), f"{value:.6g}"])
    return target


SAMPLES = {
    "tumours.csv": write_breast_cancer_csv,
    "diabetes.csv": write_diabetes_csv,
    "astronaut.png": write_photo,
}
"""The sample files ``datagora sample`` writes, by file name."""


def write_pirated_copy(source: Path, target: Path) -> Path:
    """A lightly modified copy of a photo, as a re-seller would make it (Wu et al. section IV.C): 8 % cropped,
    15 % brighter, saved as JPEG quality 60."""
    from PIL import Image, ImageEnhance

    with Image.open(source) as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        cropped = rgb.crop((int(0.05 * w), int(0.03 * h), w - int(0.03 * w), h - int(0.05 * h)))
        ImageEnhance.Brightness(cropped).enhance(1.15).save(target, quality=60)
    return target
