"""Image fingerprints (Wu et al. section III.C and IV.C) and a crop-robust default.

Four methods register themselves on import:

``"wu2020"``
    The paper's fingerprint as written: a colour histogram, a 64-bit "aHash" taken from the 8×8 low-frequency
    block of a 32×32 DCT (bit = coefficient above the block's mean), and SSIM features (a 32×32 grey
    thumbnail); similarity is the weighted sum of the three similarities (:data:`WU2020_WEIGHTS`).
``"phash"`` / ``"pdq"``
    imagehash's 64-bit pHash and Meta's 256-bit PDQ hash alone, as baselines.
``"pdq-orb"`` (:data:`DEFAULT_IMAGE_METHOD`)
    PDQ with its 8 dihedral variants plus up to 96 ORB keypoints (positions and 256-bit descriptors); two
    fingerprints match when their PDQ codes are close *or* the keypoints agree on one similarity transform
    (RANSAC inliers). Global DCT hashes lose crops; the keypoint stage does not. ``docs/fingerprints.md`` gives
    the measurements behind the choice and the thresholds.

Images are decoded with Pillow (JPEG through its DCT-domain draft mode), converted to 8-bit RGB (16-bit and
float samples are rescaled, alpha is flattened onto white, EXIF orientation applied) and reduced to at most
:data:`MAX_SIDE` pixels per side before any method sees them, so memory stays bounded by one decoded source
image (Pillow refuses sources over about 179 megapixels).
"""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, cast

import cv2
import imagehash
import numpy as np
import pdqhash
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy.fft import dctn
from scipy.ndimage import uniform_filter
from skimage.metrics import structural_similarity

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Fingerprint, Kind, Method, get_method, register

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]

MAX_SIDE = 256
"""Longest side (pixels) of the normalised image every method starts from (JPEGs are decoded at the smallest
DCT scale that still covers it)."""
MIN_SIDE = 8
"""Images with a side shorter than this (pixels) are refused: too small to fingerprint."""
BACKGROUND = (255, 255, 255)
"""Colour transparent pixels are flattened onto."""
_EXIF_ORIENTATION = 0x0112


# ---------------------------------------------------------------------------------------------------------------
# Decoding


def load_image(path: Path | str) -> Image.Image:
    """Decode ``path`` into an 8-bit RGB image whose longest side is at most :data:`MAX_SIDE` pixels.

    Handles greyscale, palette, RGBA/LA (alpha flattened onto :data:`BACKGROUND`), 16-bit and float images,
    CMYK, EXIF orientation and multi-frame files (first frame). ``ValidationError`` (one line) for a missing,
    empty, truncated, corrupt or non-image file, or one smaller than :data:`MIN_SIDE` pixels.
    """
    p = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                scale = MAX_SIDE / max(w, h, 1)
                if scale < 1:  # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no smaller than needed
                    im.draft("RGB", (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
                im.load()
                return normalise(im)
    except ValidationError:
        raise
    except FileNotFoundError:
        raise ValidationError(f"{p.name}: no such file") from None
    except UnidentifiedImageError:
        raise ValidationError(f"{p.name}: not an image (empty file or unsupported format)") from None
    except Image.DecompressionBombError:
        raise ValidationError(f"{p.name}: image too large to fingerprint") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"{p.name}: corrupt image ({reason})") from None


def normalise(im: Image.Image) -> Image.Image:
    """An in-memory image as 8-bit RGB, longest side at most :data:`MAX_SIDE` (see :func:`load_image`). The
    image is shrunk as early as its mode allows; ``im`` itself is not modified. ``ValidationError`` when it
    is smaller than :data:`MIN_SIDE` pixels a side."""
    if min(im.size) < MIN_SIDE:
        raise ValidationError(f"image of {im.width}×{im.height} pixels is too small to fingerprint")
    if im.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        im = ImageOps.exif_transpose(im) or im
    if im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        floats = im.mode == "F"
        im = _shrink((im.convert("I") if im.mode.startswith("I;16") else im).convert("F"))
        a = np.nan_to_num(np.asarray(im, dtype=np.float32))
        top = float(a.max(initial=0.0))
        if top > 255.0:
            a = a / 257.0  # 16-bit samples
        elif floats and top <= 1.0:
            a = a * 255.0  # float samples in [0, 1]
        im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
    elif im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info):
        rgba = _shrink(im.convert("RGBA"))
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (*BACKGROUND, 255)), rgba)
    elif im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    im = _shrink(im)
    return im if im.mode == "RGB" else im.convert("RGB")


def _shrink(im: Image.Image) -> Image.Image:
    """``im`` scaled down so that its longest side is at most :data:`MAX_SIDE` (a new image if scaled)."""
    w, h = im.size
    if max(w, h) <= MAX_SIDE:
        return im
    s = MAX_SIDE / max(w, h)
    return im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR, reducing_gap=2.0)


def _resized(im: Image.Image, side: int) -> Image.Image:
    """``im`` scaled (up or down) so that its longest side is ``side`` pixels."""
    w, h = im.size
    s = side / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if size == im.size:
        return im
    return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0 if s < 1 else None)


def _grey_thumb(im: Image.Image, side: int = 32) -> U8:
    """``side``×``side`` greyscale thumbnail (imagehash's preprocessing: convert to L, Lanczos resize)."""
    return np.asarray(im.convert("L").resize((side, side), Image.Resampling.LANCZOS), dtype=np.uint8)


def _hamming(a: U8, b: U8) -> int:
    return int(np.bitwise_count(np.bitwise_xor(a, b)).sum())


def _payload_error(method: str, fp: Fingerprint) -> ValidationError:
    return ValidationError(f"malformed {method} fingerprint payload ({len(fp.payload)} bytes)")


def _check(fp: Fingerprint, method: str) -> None:
    if fp.method != method or fp.kind != "image":
        raise ValidationError(f"expected a {method} image fingerprint, got {fp.kind}/{fp.method}")


# ---------------------------------------------------------------------------------------------------------------
# "phash": imagehash pHash alone


@dataclass
class PHashMethod:
    """imagehash's pHash (64 bits: 32×32 DCT, 8×8 low frequencies above their median). Payload: 8 bytes.
    Similarity ``1 − Hamming distance / 64``."""

    name: str = "phash"
    kind: Kind = "image"
    threshold: float = 0.875

    def compute(self, path: Path) -> Fingerprint:
        return self.compute_image(load_image(path))

    def compute_image(self, im: Image.Image) -> Fingerprint:
        bits = imagehash.phash(normalise(im)).hash.reshape(-1)
        return Fingerprint("image", self.name, np.packbits(bits).tobytes())

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        for fp in (a, b):
            self.validate(fp)
        return 1.0 - _hamming(_u8(a.payload), _u8(b.payload)) / 64.0

    def validate(self, fp: Fingerprint) -> None:
        _check(fp, self.name)
        if len(fp.payload) != 8:
            raise _payload_error(self.name, fp)


def _u8(raw: bytes) -> U8:
    return np.frombuffer(raw, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# "pdq": Meta's PDQ alone

PDQ_SIDE = 256
"""Longest side (pixels) images are scaled to before PDQ and ORB (PDQ itself reduces to 64×64)."""


def _pdq_input(im: Image.Image) -> U8:
    return np.ascontiguousarray(np.asarray(_resized(normalise(im), PDQ_SIDE), dtype=np.uint8))


@dataclass
class PdqMethod:
    """Meta's PDQ hash (256 bits) with its quality score. Payload: 32-byte hash ‖ u8 quality (0–100).
    Similarity ``1 − Hamming distance / 256``."""

    name: str = "pdq"
    kind: Kind = "image"
    threshold: float = 0.859

    def compute(self, path: Path) -> Fingerprint:
        return self.compute_image(load_image(path))

    def compute_image(self, im: Image.Image) -> Fingerprint:
        bits, quality = pdqhash.compute(_pdq_input(im))
        code = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()
        return Fingerprint("image", self.name, code + bytes([int(quality)]))

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        for fp in (a, b):
            self.validate(fp)
        return 1.0 - _hamming(_u8(a.payload[:32]), _u8(b.payload[:32])) / 256.0

    def validate(self, fp: Fingerprint) -> None:
        _check(fp, self.name)
        if len(fp.payload) != 33 or fp.payload[32] > 100:
            raise _payload_error(self.name, fp)


# ---------------------------------------------------------------------------------------------------------------
# "wu2020": colour histogram + DCT-mean aHash + SSIM thumbnail, weighted sum (Wu et al. III.C)

HIST_BINS = 4
"""Bins per RGB channel of the wu2020 colour histogram (4×4×4 = 64 bins)."""
THUMB = 32
"""Side (pixels) of the wu2020 grey thumbnail: input of the 32×32 DCT and of SSIM."""
WU2020_WEIGHTS = (0.1, 0.1, 0.8)
"""Weights of the colour-histogram, aHash and SSIM similarities in wu2020 (the paper gives none; chosen by
the evaluation, see docs/fingerprints.md)."""
_SSIM_WIN = 7
_structural_similarity = cast(Callable[..., float], structural_similarity)
_WU_SIZE = 1 + 2 * HIST_BINS**3 + 8 + THUMB * THUMB


class _Wu(NamedTuple):
    hist: F64
    ahash: U8
    thumb: F64
    mean: F64  # 7×7 local means of the thumbnail (SSIM's μ)
    sq_mean: F64  # 7×7 local means of its square


@dataclass
class Wu2020Method:
    """Wu et al. (2020) section III.C image fingerprint.

    Payload (1161 bytes): u8 version ‖ 64 × u16 colour histogram (RGB, 4 bins per channel, counts scaled to sum
    to 65535) ‖ 8-byte aHash (8×8 top-left block of the 32×32 DCT-II of the grey thumbnail, bit = coefficient
    above the block's mean, DC included, as the paper states) ‖ 32×32 u8 grey thumbnail (SSIM features).

    Similarity: ``w_h·Σ min(h_a, h_b) + w_a·(1 − Hamming/64) + w_s·max(0, SSIM)`` with
    ``(w_h, w_a, w_s) =`` :data:`WU2020_WEIGHTS`; SSIM is scikit-image's (7×7 window, data range 255) between
    the two thumbnails.
    """

    name: str = "wu2020"
    kind: Kind = "image"
    threshold: float = 0.871
    weights: tuple[float, float, float] = WU2020_WEIGHTS

    def compute(self, path: Path) -> Fingerprint:
        return self.compute_image(load_image(path))

    def compute_image(self, im: Image.Image) -> Fingerprint:
        im = normalise(im)
        rgb = np.asarray(im, dtype=np.uint8)
        hist = cv2.calcHist([rgb], [0, 1, 2], None, [HIST_BINS] * 3, [0, 256] * 3).reshape(-1)
        q = np.floor(hist / max(float(hist.sum()), 1.0) * 65535.0).astype("<u2")
        thumb = _grey_thumb(im, THUMB)
        low = dctn(thumb.astype(np.float64), type=2)[:8, :8]
        ahash = np.packbits((low > low.mean()).reshape(-1))
        payload = b"\x01" + q.tobytes() + ahash.tobytes() + thumb.tobytes()
        return Fingerprint("image", self.name, payload)

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        pa, pb = self._parse(a), self._parse(b)
        h = float(np.minimum(pa.hist, pb.hist).sum())
        s = _structural_similarity(pa.thumb, pb.thumb, win_size=_SSIM_WIN, data_range=255.0)
        return self._combine(h, 1.0 - _hamming(pa.ahash, pb.ahash) / 64.0, s)

    def similarity_many(self, a: Fingerprint, others: Sequence[Fingerprint]) -> F64:
        """``[similarity(a, b) for b in others]`` computed in one vectorised pass (same formula as
        scikit-image's SSIM, checked against it in the tests)."""
        pa = self._parse(a)
        ps = [self._parse(b) for b in others]
        if not ps:
            return np.zeros(0)
        hists = np.stack([p.hist for p in ps])
        h = np.minimum(hists, pa.hist).sum(axis=1)
        hashes = np.stack([p.ahash for p in ps])
        ah = 1.0 - np.bitwise_count(hashes ^ pa.ahash).sum(axis=1) / 64.0
        s = _ssim_many(pa, ps)
        wh, wa, ws = self.weights
        return np.asarray(wh * h + wa * ah + ws * np.maximum(s, 0.0), dtype=np.float64)

    def _combine(self, hist: float, ahash: float, ssim: float) -> float:
        wh, wa, ws = self.weights
        return wh * hist + wa * ahash + ws * max(ssim, 0.0)

    def validate(self, fp: Fingerprint) -> None:
        self._parse(fp)

    def _parse(self, fp: Fingerprint) -> _Wu:
        _check(fp, self.name)
        if len(fp.payload) != _WU_SIZE or fp.payload[0] != 1:
            raise _payload_error(self.name, fp)
        return _parse_wu(fp.payload)


@lru_cache(maxsize=8192)
def _parse_wu(raw: bytes) -> _Wu:
    n = HIST_BINS**3
    hist = np.frombuffer(raw, dtype="<u2", count=n, offset=1).astype(np.float64) / 65535.0
    ahash = np.frombuffer(raw, dtype=np.uint8, count=8, offset=1 + 2 * n)
    thumb = np.frombuffer(raw, dtype=np.uint8, offset=1 + 2 * n + 8).reshape(THUMB, THUMB).astype(np.float64)
    mean = uniform_filter(thumb, size=_SSIM_WIN)
    sq_mean = uniform_filter(thumb * thumb, size=_SSIM_WIN)
    return _Wu(hist, ahash, thumb, mean, sq_mean)


def _ssim_many(a: _Wu, bs: Sequence[_Wu]) -> F64:
    """Mean SSIM of ``a``'s thumbnail against each of ``bs``': scikit-image's ``structural_similarity`` (uniform
    7×7 window with reflected borders, sample covariance, K1 = 0.01, K2 = 0.03, data range 255, border of 3
    cropped) with the per-image local means cached."""
    win, k1, k2, r = _SSIM_WIN, 0.01, 0.03, 255.0
    cov_norm = win * win / (win * win - 1.0)
    ys = np.stack([b.thumb for b in bs])
    ux, uxx = a.mean[None], a.sq_mean[None]
    uy, uyy = np.stack([b.mean for b in bs]), np.stack([b.sq_mean for b in bs])
    uxy = uniform_filter(a.thumb[None] * ys, size=(1, win, win))
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    c1, c2 = (k1 * r) ** 2, (k2 * r) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return np.asarray(s[:, pad:-pad, pad:-pad].mean(axis=(1, 2)), dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------
# "pdq-orb": PDQ (8 dihedral variants) + ORB keypoints verified by RANSAC — the default


class _PdqOrb(NamedTuple):
    quality: int
    codes: U8  # 8 × 32: PDQ of the image and of its 7 rotations/mirrors (identity first)
    pts: NDArray[np.float32]  # n × 2, pixels of the PDQ_SIDE-normalised image, strongest keypoint first
    des: U8  # n × 32 ORB descriptors


@dataclass
class PdqOrbMethod:
    """PDQ with dihedral variants, plus ORB keypoints verified geometrically (the default image method).

    The image is scaled to a longest side of ``side`` (:data:`PDQ_SIDE`) pixels; PDQ and its 7 dihedral
    variants come from ``pdqhash.compute_dihedral``; OpenCV's ORB (FAST threshold ``fast_threshold``) detects up
    to ``detect_keypoints`` keypoints, of which the ``keypoints`` strongest are kept.

    Payload (at most 3,716 bytes): u8 version ‖ u8 PDQ quality (0–100) ‖ 8 × 32-byte PDQ codes (identity
    first) ‖ u16 n ‖ n × (u16 x, u16 y) keypoint positions in 1/64 pixel ‖ n × 32-byte ORB descriptors,
    strongest (FAST response) first, ``n ≤ keypoints``. All integers little-endian.

    Similarity of ``a`` and ``b`` is ``max(s_pdq, s_orb)``:

    * ``s_pdq = max(0, 1 − d / 128)`` with ``d`` the smallest Hamming distance between one image's PDQ code
      and any dihedral variant of the other's;
    * ``s_orb = i / (i + orb_scale)`` with ``i`` the RANSAC inliers (``cv2.estimateAffinePartial2D``:
      rotation, uniform scale within [1/3, 3] and shift, ``ransac_px`` reprojection error) among descriptor
      matches that pass Lowe's ratio test, a Hamming cap and one-to-one assignment. It is only computed when
      ``s_pdq < pdq_accept`` and at least ``prefilter_matches`` pairs among the ``prefilter_keypoints``
      strongest keypoints of the two images are mutual nearest neighbours within ``prefilter_distance`` bits —
      a cheap filter that leaves RANSAC to about 6 % of unrelated pairs.

    With ``threshold = 0.75`` and ``orb_scale = 3.6`` two images are near-duplicates when ``d ≤ 32`` or
    ``i ≥ 11``: the lowest threshold with 99.5 % precision on the calibration run (``docs/fingerprints.md``).
    """

    name: str = "pdq-orb"
    kind: Kind = "image"
    threshold: float = 0.75
    # FingerprintIndex: PDQ codes find every attack but crops and larger rotations (docs/fingerprints.md), so up
    # to this many stored images each query also verifies all of them (~33,000 comparisons/s/core: ≤ 0.6 s).
    # Beyond it only PDQ candidates are verified; a keypoint vocabulary index would lift the limit.
    exhaustive_below: int = 20_000
    # PDQ candidates: the PDQ part alone reaches the threshold at d ≤ 32 of 256 bits (1 - 32/128 = 0.75).
    code_radius: int = 32
    side: int = PDQ_SIDE
    detect_keypoints: int = 200
    keypoints: int = 96
    fast_threshold: int = 5
    edge_threshold: int = 31
    levels: int = 8
    pdq_accept: float = 0.80
    prefilter_keypoints: int = 32
    prefilter_matches: int = 2
    prefilter_distance: int = 48
    ratio: float = 0.8
    max_descriptor_distance: int = 64
    ransac_px: float = 4.0
    orb_scale: float = 3.6

    def compute(self, path: Path) -> Fingerprint:
        return self.compute_image(load_image(path))

    def compute_image(self, im: Image.Image) -> Fingerprint:
        rgb = np.ascontiguousarray(np.asarray(_resized(normalise(im), self.side), dtype=np.uint8))
        codes, qualities = pdqhash.compute_dihedral(rgb)
        packed = np.packbits(np.asarray(codes, dtype=np.uint8), axis=1)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        orb = cv2.ORB.create(
            nfeatures=self.detect_keypoints,
            nlevels=self.levels,
            edgeThreshold=self.edge_threshold,
            patchSize=31,
            fastThreshold=self.fast_threshold,
        )
        kps, des = orb.detectAndCompute(grey, None)
        if des is None or not kps:
            pts, des = np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
        else:
            order = np.argsort([-k.response for k in kps], kind="stable")[: self.keypoints]
            pts = np.array([kps[i].pt for i in order], dtype=np.float32).reshape(-1, 2)
            des = np.asarray(des, dtype=np.uint8)[order]
        xy = np.clip(np.round(pts * 64.0), 0, 65535).astype("<u2")
        payload = (
            bytes([1, int(qualities[0]) if np.ndim(qualities) else int(qualities)])
            + packed.tobytes()
            + struct.pack("<H", len(des))
            + xy.tobytes()
            + des.tobytes()
        )
        return Fingerprint("image", self.name, payload)

    # -- similarity --------------------------------------------------------------------------------------------

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        pa, pb = self._parse(a), self._parse(b)
        s_pdq = self.pdq_similarity(pa.codes, pb.codes)
        if s_pdq >= self.pdq_accept or self.mutual_matches(pa.des, pb.des) < self.prefilter_matches:
            return s_pdq
        return max(s_pdq, self._orb_similarity(a.payload, pa, b.payload, pb))

    def similarity_many(self, a: Fingerprint, others: Sequence[Fingerprint]) -> F64:
        """``[similarity(a, b) for b in others]`` with the PDQ stage and the keypoint prefilter vectorised."""
        pa = self._parse(a)
        ps = [self._parse(b) for b in others]
        if not ps:
            return np.zeros(0)
        out = self.pdq_similarity_many(pa, ps)
        todo = np.nonzero(out < self.pdq_accept)[0]
        counts = self.mutual_matches_many(pa, [ps[j] for j in todo])
        for j in todo[counts >= self.prefilter_matches]:
            out[j] = max(out[j], self._orb_similarity(a.payload, pa, others[j].payload, ps[j]))
        return out

    @staticmethod
    def pdq_similarity_many(pa: _PdqOrb, ps: Sequence[_PdqOrb]) -> F64:
        """:meth:`pdq_similarity` of ``pa`` against each of ``ps``."""
        codes = np.stack([p.codes for p in ps])  # N × 8 × 32
        d_ab = np.bitwise_count(codes ^ pa.codes[0]).sum(axis=2).min(axis=1)
        d_ba = np.bitwise_count(codes[:, :1, :] ^ pa.codes[None, :, :]).sum(axis=2).min(axis=1)
        return np.asarray(np.clip(1.0 - np.minimum(d_ab, d_ba) / 128.0, 0.0, 1.0), dtype=np.float64)

    def mutual_matches_many(self, pa: _PdqOrb, ps: Sequence[_PdqOrb], chunk: int = 256) -> NDArray[np.int64]:
        """:meth:`mutual_matches` of ``pa`` against each of ``ps``, vectorised in chunks of ``chunk``."""
        k = self.prefilter_keypoints
        fa = pa.des[:k].view(np.uint64)  # ka × 4
        out = np.zeros(len(ps), dtype=np.int64)
        if len(fa) == 0:
            return out
        for start in range(0, len(ps), chunk):
            part = ps[start : start + chunk]
            fb = np.zeros((len(part), k, 4), dtype=np.uint64)
            valid = np.zeros((len(part), k), dtype=bool)
            for j, p in enumerate(part):
                n = min(k, len(p.des))
                fb[j, :n] = p.des[:n].view(np.uint64)
                valid[j, :n] = True
            d = np.bitwise_count(fa[None, :, None, :] ^ fb[:, None, :, :]).sum(axis=3, dtype=np.int32)
            d[~np.broadcast_to(valid[:, None, :], d.shape)] = 1 << 20  # N × ka × kb
            mutual = (d == d.min(axis=2, keepdims=True)) & (d == d.min(axis=1, keepdims=True))
            mutual &= d <= self.prefilter_distance
            out[start : start + len(part)] = mutual.sum(axis=(1, 2))
        return out

    @staticmethod
    def pdq_similarity(codes_a: U8, codes_b: U8) -> float:
        """``max(0, 1 − d/128)``, ``d`` the least Hamming distance between either image's PDQ code and the
        other's 8 dihedral variants (8 × 32-byte arrays, identity first)."""
        d = min(
            int(np.bitwise_count(codes_b ^ codes_a[0]).sum(axis=1).min()),
            int(np.bitwise_count(codes_a ^ codes_b[0]).sum(axis=1).min()),
        )
        return max(0.0, 1.0 - d / 128.0)

    def mutual_matches(self, da: U8, db: U8) -> int:
        """Pairs among the ``prefilter_keypoints`` strongest descriptors of two images that are each other's
        nearest neighbour (ties included) within ``prefilter_distance`` bits. Symmetric in its arguments."""
        k = self.prefilter_keypoints
        fa, fb = da[:k], db[:k]
        if len(fa) == 0 or len(fb) == 0:
            return 0
        d = _hamming_matrix(fa, fb)
        mutual = (d == d.min(axis=1, keepdims=True)) & (d == d.min(axis=0, keepdims=True))
        mutual &= d <= self.prefilter_distance
        return int(mutual.sum())

    def _orb_similarity(self, raw_a: bytes, pa: _PdqOrb, raw_b: bytes, pb: _PdqOrb) -> float:
        if raw_a > raw_b:  # a fixed order makes the score symmetric
            pa, pb = pb, pa
        if len(pa.des) < 2 or len(pb.des) < 2:
            return 0.0
        d, idx = cv2.batchDistance(pa.des, pb.des, dtype=-1, normType=cv2.NORM_HAMMING, K=2)
        ok = (d[:, 0] < self.ratio * d[:, 1]) & (d[:, 0] <= self.max_descriptor_distance)
        qi, ti, di = np.nonzero(ok)[0], idx[ok, 0], d[ok, 0]
        order = np.lexsort((di, ti))  # keep the closest query keypoint for each train keypoint
        ti, qi = ti[order], qi[order]
        first = np.ones(len(ti), dtype=bool)
        first[1:] = ti[1:] != ti[:-1]
        qi, ti = qi[first], ti[first]
        if len(qi) < 4:
            return 0.0
        m, inliers = cv2.estimateAffinePartial2D(
            pa.pts[qi], pb.pts[ti], method=cv2.RANSAC, ransacReprojThreshold=self.ransac_px
        )
        if m is None or inliers is None:
            return 0.0
        scale = float(np.hypot(m[0, 0], m[1, 0]))
        if not 1.0 / 3.0 <= scale <= 3.0:
            return 0.0
        n = int(inliers.sum())
        return n / (n + self.orb_scale)

    # -- payload -----------------------------------------------------------------------------------------------

    def validate(self, fp: Fingerprint) -> None:
        self._parse(fp)

    def _parse(self, fp: Fingerprint) -> _PdqOrb:
        _check(fp, self.name)
        parsed = _parse_pdq_orb(fp.payload)
        if parsed is None:
            raise _payload_error(self.name, fp)
        return parsed


@lru_cache(maxsize=16384)
def _parse_pdq_orb(raw: bytes) -> _PdqOrb | None:
    head = 2 + 8 * 32
    if len(raw) < head + 2 or raw[0] != 1 or raw[1] > 100:
        return None
    (n,) = struct.unpack_from("<H", raw, head)
    if len(raw) != head + 2 + n * 36:
        return None
    codes = np.frombuffer(raw, dtype=np.uint8, count=256, offset=2).reshape(8, 32)
    xy = np.frombuffer(raw, dtype="<u2", count=2 * n, offset=head + 2).reshape(n, 2)
    des = np.frombuffer(raw, dtype=np.uint8, offset=head + 2 + 4 * n).reshape(n, 32)
    return _PdqOrb(raw[1], codes, (xy.astype(np.float32) / 64.0), des)


def _hamming_matrix(a: U8, b: U8) -> NDArray[np.int64]:
    """All Hamming distances between the rows of ``a`` (n × 32 bytes) and of ``b`` (m × 32 bytes)."""
    xa, xb = a.view(np.uint64), b.view(np.uint64)
    return np.asarray(np.bitwise_count(xa[:, None, :] ^ xb[None, :, :]).sum(axis=2), dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Registry and public helpers

WU2020 = Wu2020Method()
PHASH = PHashMethod()
PDQ = PdqMethod()
PDQ_ORB = PdqOrbMethod()
for _m in (WU2020, PHASH, PDQ, PDQ_ORB):
    register(_m)
DEFAULT_IMAGE_METHOD = "pdq-orb"
"""Name of the method :func:`fingerprint_image` uses by default."""
IMAGE_METHODS = ("wu2020", "phash", "pdq", "pdq-orb")


def _image_method(method: str | None) -> Method:
    m = get_method(method or DEFAULT_IMAGE_METHOD)
    if m.kind != "image":
        raise ValidationError(f"fingerprint method {m.name!r} is not an image method")
    return m


def fingerprint_image(path: Path | str, method: str | None = None) -> Fingerprint:
    """Fingerprint the image file at ``path`` with ``method`` (default :data:`DEFAULT_IMAGE_METHOD`).
    ``ValidationError`` for unreadable files (see :func:`load_image`) and unknown or non-image methods."""
    return _image_method(method).compute(Path(path))


def fingerprint_pil(image: Image.Image, method: str | None = None) -> Fingerprint:
    """Fingerprint an in-memory Pillow image (any mode) with ``method``, as :func:`fingerprint_image`."""
    m = _image_method(method)
    compute_image = getattr(m, "compute_image", None)
    if compute_image is None:
        raise ValidationError(f"fingerprint method {m.name!r} cannot fingerprint in-memory images")
    fp: Fingerprint = compute_image(image)
    return fp


def image_code(fp: Fingerprint) -> bytes:
    """The 256-bit PDQ code (32 bytes) of a ``pdq`` or ``pdq-orb`` fingerprint, for a Hamming index's
    candidate search. ``ValidationError`` for other methods."""
    return image_codes(fp)[0]


def image_codes(fp: Fingerprint) -> list[bytes]:
    """The PDQ codes of a fingerprint: for ``pdq-orb`` the image's and its 7 dihedral variants' (identity
    first), for ``pdq`` the single code. Query a Hamming index with every variant to find rotated or mirrored
    copies."""
    if fp.method == "pdq":
        PDQ.validate(fp)
        return [fp.payload[:32]]
    if fp.method == "pdq-orb":
        return [bytes(c) for c in PDQ_ORB._parse(fp).codes]
    raise ValidationError(f"{fp.method} fingerprints carry no 256-bit PDQ code")


def similarity_many(a: Fingerprint, others: Sequence[Fingerprint]) -> F64:
    """Similarities of ``a`` to each of ``others`` (all of ``a``'s method), vectorised where the method allows;
    equal to ``[get_method(a.method).similarity(a, b) for b in others]``."""
    m = get_method(a.method)
    many = getattr(m, "similarity_many", None)
    if many is not None:
        return np.asarray(many(a, others), dtype=np.float64)
    return np.array([m.similarity(a, b) for b in others], dtype=np.float64)
