"""The platform refuses re-sale of lightly modified data (Wu et al. section IV.A.2) and finds datasets by
sample (step 9-2), on both backends."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagora.domain.errors import NoveltyRefused
from datagora.services import catalog, publishing
from datagora.services.sample_data import write_breast_cancer_csv, write_photo
from tests.world import World


def _publish(world: World, path: Path, name: str) -> int:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, path, name=name, domain="test")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    return token_id


def _pirate_photo(src: Path, dst: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    im = Image.open(src).convert("RGB")
    w, h = im.size
    im = im.crop((int(0.06 * w), int(0.04 * h), w - int(0.03 * w), h - int(0.05 * h)))  # ~10 % crop
    arr = np.asarray(im).astype(np.float32) * 1.15 + rng.normal(0, 6, (im.height, im.width, 3))  # brighter, noisy
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(dst, quality=60)
    return dst


def test_modified_photo_is_refused_naming_the_original(world: World, tmp_path: Path) -> None:
    original = write_photo(tmp_path / "astronaut.png", "astronaut")
    token_id = _publish(world, original, "Astronaut")
    pirated = _pirate_photo(original, tmp_path / "astronaut-edit.jpg", seed=1)
    with pytest.raises(NoveltyRefused, match=f"near-duplicate of dataset {token_id}") as info:
        _publish(world, pirated, "Totally new astronaut")
    assert info.value.matching_token_id == token_id
    assert world.contracts.catalog.dataset_count() == 1
    # A different photo is new.
    assert _publish(world, write_photo(tmp_path / "coffee.png", "coffee"), "Coffee") == token_id + 1


def test_subset_of_table_rows_is_refused(world: World, tmp_path: Path) -> None:
    full = write_breast_cancer_csv(tmp_path / "bc.csv")
    token_id = _publish(world, full, "Breast cancer")
    with full.open() as fh:
        header, *rows = list(csv.reader(fh))
    rng = random.Random(3)
    subset = rng.sample(rows, len(rows) // 5)  # 20 % of the rows, shuffled, columns reordered
    order = list(range(len(header)))
    rng.shuffle(order)
    resold = tmp_path / "resold.csv"
    with resold.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([header[i] for i in order])
        w.writerows([[r[i] for i in order] for r in subset])
    with pytest.raises(NoveltyRefused, match=f"near-duplicate of dataset {token_id}"):
        _publish(world, resold, "Oncology sample")


def test_search_by_sample_returns_dataset_ids_only(world: World, tmp_path: Path) -> None:
    assert world.attestor is not None
    photo = _publish(world, write_photo(tmp_path / "chelsea.png", "chelsea"), "Cat")
    table = _publish(world, write_breast_cancer_csv(tmp_path / "bc.csv"), "Breast cancer")
    sample = _pirate_photo(tmp_path / "chelsea.png", tmp_path / "sample.jpg", seed=2)
    hits = catalog.search_by_sample(world.contracts, world.buyer, sample, world.attestor)
    assert [h.token_id for h in hits] == [photo]
    assert 0 < hits[0].similarity <= 1
    assert table not in [h.token_id for h in hits]
