"""Image fingerprints on real photos (scikit-image, scikit-learn): every attack of Wu et al. section IV.C and
more is caught by the default method without matching other photos; payloads round-trip; bad files fail with a
one-line ``ValidationError``."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageEnhance, ImageFont
from skimage.metrics import structural_similarity
from sklearn.datasets import load_sample_images

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Fingerprint, get_method
from datagora.fingerprint.images import (
    DEFAULT_IMAGE_METHOD,
    IMAGE_METHODS,
    MAX_SIDE,
    WU2020_WEIGHTS,
    fingerprint_image,
    fingerprint_pil,
    image_code,
    image_codes,
    load_image,
    similarity_many,
)

Attack = Callable[[Image.Image], Image.Image]


def _photos() -> dict[str, Image.Image]:
    photos = {n: Image.fromarray(getattr(skimage.data, n)()).convert("RGB") for n in
              ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry")}  # fmt: skip
    china, flower = load_sample_images().images
    photos["china"], photos["flower"] = Image.fromarray(china), Image.fromarray(flower)
    return photos


PHOTOS = _photos()


def crop(f: float, corner: bool = False) -> Attack:
    def go(im: Image.Image) -> Image.Image:
        w, h = im.size
        left, top = (0.0, 0.0) if corner else (f * w / 2, f * h / 3)
        return im.crop((round(left), round(top), round(left + (1 - f) * w), round(top + (1 - f) * h)))

    return go


def noise(sigma: float) -> Attack:
    def go(im: Image.Image) -> Image.Image:
        rng = np.random.default_rng(1)
        a = np.asarray(im, dtype=np.float32) + rng.normal(0.0, sigma, (im.height, im.width, 3))
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))

    return go


def brightness(f: float) -> Attack:
    return lambda im: ImageEnhance.Brightness(im).enhance(f)


def jpeg(quality: int) -> Attack:
    def go(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return go


def resize(s: float) -> Attack:
    return lambda im: im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BILINEAR)


def rotate(deg: float) -> Attack:
    return lambda im: im.rotate(deg, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))


def text(im: Image.Image) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    draw.text((im.width * 0.55, im.height * 0.85), "© PIRATE", font=ImageFont.load_default(size=im.height // 16),
              fill=(255, 255, 0))  # fmt: skip
    return out


def gamma(g: float) -> Attack:
    return lambda im: im.point([round(255 * (i / 255) ** g) for i in range(256)] * 3)


ATTACKS: dict[str, Attack] = {
    "crop 5 %": crop(0.05),
    "crop 20 %": crop(0.20),
    "crop 20 % corner": crop(0.20, corner=True),
    "noise σ 15": noise(15),
    "brightness ×0.6": brightness(0.6),
    "brightness ×1.4": brightness(1.4),
    "jpeg q30": jpeg(30),
    "jpeg q70": jpeg(70),
    "resize 0.3": resize(0.3),
    "resize 0.8": resize(0.8),
    "rotate +5°": rotate(5),
    "rotate -5°": rotate(-5),
    "text overlay": text,
    "gamma 0.5": gamma(0.5),
    "gamma 2.0": gamma(2.0),
}


@pytest.fixture(scope="module")
def originals() -> dict[str, Fingerprint]:
    return {n: fingerprint_pil(im) for n, im in PHOTOS.items()}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_default_method_catches_attack_and_only_its_original(attack: str, originals: dict[str, Fingerprint]) -> None:
    method = get_method(DEFAULT_IMAGE_METHOD)
    names = list(originals)
    for name, im in PHOTOS.items():
        copy = fingerprint_pil(ATTACKS[attack](im))
        sims = similarity_many(copy, [originals[n] for n in names])
        scores = dict(zip(names, sims.round(3).tolist(), strict=True))
        assert sims[names.index(name)] >= method.threshold, f"{attack} copy of {name} missed: {scores}"
        others = np.delete(sims, names.index(name))
        assert (others < method.threshold).all(), f"{attack} copy of {name} matched another photo: {scores}"


# The paper's three modifications at the strength where wu2020 still clears its calibrated threshold.
PAPER_ATTACKS: dict[str, Attack] = {
    "crop 3 %": crop(0.03),
    "noise σ 15": noise(15),
    "brightness ×0.8": brightness(0.8),
    "brightness ×1.2": brightness(1.2),
}


@pytest.fixture(scope="module")
def wu2020_originals() -> dict[str, Fingerprint]:
    return {n: fingerprint_pil(im, "wu2020") for n, im in PHOTOS.items()}


@pytest.mark.parametrize("attack", list(PAPER_ATTACKS))
def test_wu2020_catches_the_papers_attacks(attack: str, wu2020_originals: dict[str, Fingerprint]) -> None:
    method = get_method("wu2020")
    for name, im in PHOTOS.items():
        copy = fingerprint_pil(PAPER_ATTACKS[attack](im), "wu2020")
        for other, fp in wu2020_originals.items():
            s = method.similarity(copy, fp)
            assert (s >= method.threshold) == (other == name), f"{attack} copy of {name} vs {other}: {s:.3f}"


@pytest.mark.parametrize("attack", ["crop 5 %", "brightness ×0.6", "rotate +5°", "gamma 0.5"])
def test_wu2020_still_ranks_the_original_first_under_stronger_attacks(
    attack: str, wu2020_originals: dict[str, Fingerprint]
) -> None:
    # below its threshold (the evaluation's recall: crop 7 %, rotation 83 %), but nearest to its original
    for name, im in PHOTOS.items():
        sims = similarity_many(fingerprint_pil(ATTACKS[attack](im), "wu2020"), list(wu2020_originals.values()))
        assert list(wu2020_originals)[int(np.argmax(sims))] == name


@pytest.mark.parametrize("name", IMAGE_METHODS)
def test_round_trip_and_symmetry(name: str) -> None:
    method = get_method(name)
    a = fingerprint_pil(PHOTOS["astronaut"], name)
    b = fingerprint_pil(crop(0.1)(PHOTOS["astronaut"]), name)
    c = fingerprint_pil(PHOTOS["coffee"], name)
    assert a.kind == "image" and a.method == name
    back = Fingerprint.from_bytes(a.to_bytes())
    assert back == a
    assert method.similarity(back, a) == pytest.approx(1.0, abs=1e-3)
    for x, y in ((a, b), (a, c), (b, c)):
        assert method.similarity(x, y) == method.similarity(y, x)
        assert 0.0 <= method.similarity(x, y) <= 1.0
    assert similarity_many(a, [a, b, c]).tolist() == pytest.approx([method.similarity(a, f) for f in (a, b, c)])


def test_fingerprints_are_compact() -> None:
    sizes = {n: len(fingerprint_pil(PHOTOS["china"], n).to_bytes()) for n in IMAGE_METHODS}
    assert sizes["pdq-orb"] <= 5_000 and sizes["wu2020"] <= 1_200 and sizes["pdq"] < 50 and sizes["phash"] < 30


@pytest.mark.parametrize("name", IMAGE_METHODS)
def test_malformed_payload_is_rejected(name: str) -> None:
    raw = fingerprint_pil(PHOTOS["rocket"], name).to_bytes()
    with pytest.raises(ValidationError, match="malformed"):
        Fingerprint.from_bytes(raw[:-3])


def test_wu2020_vectorised_ssim_equals_scikit_image() -> None:
    fps = [fingerprint_pil(PHOTOS[n], "wu2020") for n in ("astronaut", "coffee", "camera")]
    fps.append(fingerprint_pil(noise(15)(PHOTOS["astronaut"]), "wu2020"))
    method = get_method("wu2020")
    for a in fps:
        assert similarity_many(a, fps) == pytest.approx([method.similarity(a, b) for b in fps], abs=1e-12)
    # the formula of section III.C, term by term, with scikit-image's SSIM on the stored 32×32 thumbnails
    a, b = fps[0], fps[3]
    ta, tb = (np.frombuffer(f.payload[-1024:], np.uint8).reshape(32, 32).astype(float) for f in (a, b))
    ha, hb = (np.frombuffer(f.payload[1:129], "<u2") / 65535.0 for f in (a, b))
    bits = sum(bin(x ^ y).count("1") for x, y in zip(a.payload[129:137], b.payload[129:137], strict=True))
    ssim = structural_similarity(ta, tb, win_size=7, data_range=255.0)
    wh, wa, ws = WU2020_WEIGHTS
    expected = wh * np.minimum(ha, hb).sum() + wa * (1 - bits / 64) + ws * max(ssim, 0.0)
    assert method.similarity(a, b) == pytest.approx(expected, abs=1e-9)


def test_image_code_is_the_pdq_code() -> None:
    im = PHOTOS["chelsea"]
    fp = fingerprint_pil(im)
    assert len(image_code(fp)) == 32
    assert image_code(fp) == image_code(fingerprint_pil(im, "pdq"))
    codes = image_codes(fp)
    assert len(codes) == 8 and codes[0] == image_code(fp)
    mirrored = image_code(fingerprint_pil(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    dist = [sum(bin(x ^ y).count("1") for x, y in zip(mirrored, c, strict=True)) for c in codes]
    assert min(dist) <= 31 < dist[0]  # 31: PDQ's recommended match distance
    with pytest.raises(ValidationError, match="no 256-bit"):
        image_code(fingerprint_pil(im, "phash"))


# -- files ------------------------------------------------------------------------------------------------------


def _save(im: Image.Image, path: Path, **kw: object) -> Path:
    im.save(path, **kw)
    return path


def test_fingerprint_image_reads_files_of_every_mode(tmp_path: Path) -> None:
    rgb = PHOTOS["coffee"]
    ref = fingerprint_pil(rgb)
    method = get_method(DEFAULT_IMAGE_METHOD)
    grey16 = Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(255)
    files = {
        "rgb.jpg": _save(rgb, tmp_path / "rgb.jpg", quality=90),
        "grey.png": _save(rgb.convert("L"), tmp_path / "grey.png"),
        "grey16.png": _save(grey16, tmp_path / "grey16.png"),
        "rgba.png": _save(rgba, tmp_path / "rgba.png"),
        "palette.gif": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), tmp_path / "palette.gif"),
        "cmyk.jpg": _save(rgb.convert("CMYK"), tmp_path / "cmyk.jpg"),
        "rgb.webp": _save(rgb, tmp_path / "rgb.webp", quality=80),
        "rgb.tiff": _save(rgb, tmp_path / "rgb.tiff"),
    }
    for name, path in files.items():
        fp = fingerprint_image(path)
        assert fp.method == DEFAULT_IMAGE_METHOD
        assert method.similarity(fp, ref) >= method.threshold, name
    grey = fingerprint_image(files["grey.png"])
    assert method.similarity(grey, fingerprint_image(files["grey16.png"])) > 0.95


def test_transparent_pixels_are_flattened_onto_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((8, 8, 40, 40), fill=(200, 30, 30, 255))
    flat = load_image(_save(im, tmp_path / "stamp.png"))
    assert flat.mode == "RGB" and flat.getpixel((60, 2)) == (255, 255, 255)


def test_large_images_are_downscaled_first(tmp_path: Path) -> None:
    big = PHOTOS["astronaut"].resize((4000, 3000))
    for path in (_save(big, tmp_path / "big.jpg", quality=85), _save(big, tmp_path / "big.png", compress_level=1)):
        im = load_image(path)
        assert max(im.size) == MAX_SIDE
    method = get_method(DEFAULT_IMAGE_METHOD)
    assert method.similarity(fingerprint_image(tmp_path / "big.jpg"), fingerprint_pil(PHOTOS["astronaut"])) > 0.9


def _corrupt_files(tmp_path: Path) -> dict[str, Path]:
    png = io.BytesIO()
    PHOTOS["rocket"].save(png, "PNG")
    jpg = io.BytesIO()
    PHOTOS["rocket"].save(jpg, "JPEG")
    garbage = bytearray(png.getvalue())
    garbage[200:4000] = bytes(3800)
    files = {
        "empty.png": b"",
        "notes.txt": b"name,value\nalpha,1\n",
        "truncated.png": png.getvalue()[: len(png.getvalue()) // 3],
        "truncated.jpg": jpg.getvalue()[:600],
        "garbage.png": bytes(garbage),
        "random.bin": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    _save(Image.new("RGB", (4, 4)), tmp_path / "tiny.png")
    return {n: tmp_path / n for n in [*files, "tiny.png", "missing.png"]}


@pytest.mark.parametrize("name", IMAGE_METHODS)
def test_bad_files_give_one_line_validation_errors(tmp_path: Path, name: str) -> None:
    for label, path in _corrupt_files(tmp_path).items():
        with pytest.raises(ValidationError) as info:
            fingerprint_image(path, name)
        message = str(info.value)
        assert message and "\n" not in message, f"{label}: {message!r}"


def test_unknown_or_non_image_method_is_rejected(tmp_path: Path) -> None:
    path = _save(PHOTOS["rocket"], tmp_path / "r.png")
    with pytest.raises(ValidationError, match="unknown fingerprint method"):
        fingerprint_image(path, "nope")
