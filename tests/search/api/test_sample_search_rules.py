"""Search by sample finds datasets, not people (issue 17, item 3): a table sample needs the platform's minimum
of distinct rows (one person's row is refused in plain words, where it used to answer similarity 1.0), a 10 %
sample of the diabetes table still finds it, images are unaffected, each account is rate-limited (429 with
Retry-After) and every search is in the platform's log, which the supervisor reads."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from datagora.api.client import RemoteError
from datagora.api.remote_attestor import RemoteAttestor
from datagora.domain.errors import IntegrityError, ValidationError
from datagora.fingerprint import fingerprint
from datagora.services import catalog, publishing, retire
from datagora.services.attestation import SAMPLE_SEARCH_LOG, NoveltyAttestor
from datagora.services.sample_data import write_diabetes_csv, write_photo, write_pirated_copy
from datagora.services.sample_search import (
    DEFAULT_MIN_ROWS,
    SampleSearchGuard,
    SampleSearchRules,
    SearchLog,
    check_sample,
    distinct_rows,
)
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import World

pytestmark = EMBEDDED


def _publish(world: World, attestor: NoveltyAttestor, path: Path, name: str) -> int:
    prepared = publishing.prepare(world.seller, path, name=name, domain="health")
    return publishing.publish(world.contracts, world.seller, prepared, attestor)[0]


def _rows_sample(source: Path, target: Path, rows: int, seed: int) -> Path:
    """``rows`` random rows of ``source`` (with its header), shuffled."""
    with source.open(newline="") as fh:
        header, *body = list(csv.reader(fh))
    with target.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(random.Random(seed).sample(body, rows))
    return target


@pytest.fixture
def diabetes(world: World, tmp_path: Path) -> tuple[Path, int]:
    assert world.attestor is not None
    path = write_diabetes_csv(tmp_path / "diabetes.csv")
    return path, _publish(world, world.attestor, path, "Diabetes progression")


def test_one_persons_row_no_longer_finds_the_dataset(world: World, diabetes: tuple[Path, int], tmp_path: Path) -> None:
    path, token_id = diabetes
    person = _rows_sample(path, tmp_path / "one.csv", 1, seed=7)
    # the membership test as it was: with no minimum, the header and one row answer similarity 1.0
    open_platform = NoveltyAttestor(
        world.contracts,
        world.platform.account,
        ":memory:",
        fingerprints=world.attestor.fingerprints if world.attestor else None,
        sample_rules=SampleSearchRules(min_rows=1),
    )
    hits = catalog.search_by_sample(world.contracts, world.buyer, person, open_platform)
    assert [(h.token_id, h.similarity) for h in hits] == [(token_id, 1.0)]
    # with the platform's rules it is refused, in plain words, and nothing is answered
    assert world.attestor is not None
    with pytest.raises(ValidationError, match=r"the sample has 1 different row; .* at least 40") as refused:
        catalog.search_by_sample(world.contracts, world.buyer, person, world.attestor)
    assert "one person" in str(refused.value)
    # 39 rows are refused too; the platform counts them from the fingerprint, not from the searcher's word
    almost = _rows_sample(path, tmp_path / "39.csv", DEFAULT_MIN_ROWS - 1, seed=8)
    with pytest.raises(ValidationError, match="the sample has 39 different rows"):
        catalog.search_by_sample(world.contracts, world.buyer, almost, world.attestor)


def test_a_ten_percent_sample_still_finds_the_diabetes_table(
    world: World, diabetes: tuple[Path, int], tmp_path: Path
) -> None:
    path, token_id = diabetes
    assert world.attestor is not None
    for seed in range(5):
        sample = _rows_sample(path, tmp_path / f"tenth-{seed}.csv", 44, seed=seed)  # 10 % of 442 rows
        assert distinct_rows(fingerprint(sample)) == 44
        hits = catalog.search_by_sample(world.contracts, world.buyer, sample, world.attestor)
        assert [h.token_id for h in hits] == [token_id], seed
        assert hits[0].similarity >= 0.9


def test_images_are_unaffected_and_retired_datasets_are_not_answered(world: World, tmp_path: Path) -> None:
    assert world.attestor is not None
    photo = write_photo(tmp_path / "coffee.png", "coffee")
    token_id = _publish(world, world.attestor, photo, "Coffee")
    sample = write_pirated_copy(photo, tmp_path / "sample.jpg")
    assert check_sample(fingerprint(sample), 10**6) == 0  # no row minimum for an image
    assert [h.token_id for h in catalog.search_by_sample(world.contracts, world.buyer, sample, world.attestor)] == [
        token_id
    ]
    retire.retire(world.contracts, world.seller, token_id)
    assert catalog.search_by_sample(world.contracts, world.buyer, sample, world.attestor) == []


def test_every_search_is_logged_and_the_log_shows_tampering(
    world: World, diabetes: tuple[Path, int], tmp_path: Path
) -> None:
    path, token_id = diabetes
    assert world.attestor is not None
    with pytest.raises(ValidationError):
        catalog.search_by_sample(
            world.contracts, world.buyer, _rows_sample(path, tmp_path / "1.csv", 1, 1), world.attestor
        )
    catalog.search_by_sample(
        world.contracts, world.buyer, _rows_sample(path, tmp_path / "50.csv", 50, 2), world.attestor
    )
    log_path = tmp_path / SAMPLE_SEARCH_LOG  # beside the platform's data-contract table
    log = SearchLog(log_path)
    records = log.records()
    assert [(r.account, r.kind, r.rows, r.outcome, r.matches) for r in records] == [
        (world.buyer.address, "table", 1, "too few rows", []),
        (world.buyer.address, "table", 50, "answered", [token_id]),
    ]
    assert log.verify() == 2
    lines = log_path.read_text().splitlines()
    doctored = json.loads(lines[0])
    doctored["outcome"] = "answered"
    log_path.write_text("\n".join([json.dumps(doctored, sort_keys=True, separators=(",", ":")), lines[1]]) + "\n")
    with pytest.raises(IntegrityError, match="line 2 does not follow line 1"):
        log.verify()


def test_over_http_too_many_searches_answer_429_and_the_supervisor_reads_the_log(net: Net, tmp_path: Path) -> None:
    world = net.world
    assert world.attestor is not None
    path = write_diabetes_csv(tmp_path / "diabetes.csv")
    token_id = _publish(world, world.attestor, path, "Diabetes progression")
    world.attestor.sample_search = SampleSearchGuard(SampleSearchRules(per_window=2), SearchLog(None), clock=net.clock)
    remote = RemoteAttestor(net.client("platform", as_="buyer"))
    sample = _rows_sample(path, tmp_path / "tenth.csv", 44, seed=3)
    assert [h.token_id for h in catalog.search_by_sample(world.contracts, world.buyer, sample, remote)] == [token_id]
    one = _rows_sample(path, tmp_path / "one.csv", 1, seed=3)
    with pytest.raises(RemoteError) as small:
        catalog.search_by_sample(world.contracts, world.buyer, one, remote)
    assert small.value.status == 422 and "at least 40" in small.value.detail
    with pytest.raises(RemoteError) as limited:
        catalog.search_by_sample(world.contracts, world.buyer, sample, remote)
    assert limited.value.status == 429
    assert "try again in 3600 s" in limited.value.detail
    raw = net.http["platform"].post(
        "/attestations/samples",
        content=b"\x00" * 200,
        headers={
            "Authorization": f"Bearer {net.client('platform', as_='buyer').token()}",
            "Content-Type": "application/octet-stream",
        },
    )
    assert raw.status_code == 429 and raw.headers["retry-after"] == "3600"
    assert raw.headers["content-type"] == "application/problem+json" and raw.json()["status"] == 429

    log = net.client("platform", as_="supervisor").sample_searches()
    assert [(r.outcome, r.rows, r.matches) for r in log] == [
        ("answered", 44, [token_id]),
        ("too few rows", 1, []),
        ("rate limited", 0, []),
        ("rate limited", 0, []),
    ]
    assert {r.account for r in log} == {world.buyer.address}
    with pytest.raises(RemoteError) as denied:
        net.client("platform", as_="buyer").sample_searches()
    assert denied.value.status == 403
