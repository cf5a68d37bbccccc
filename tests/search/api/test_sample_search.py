"""Search by sample over HTTP (Wu et al. step 9-2): the buyer's node learns matching dataset ids, never a
fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.api.client import RemoteError
from datagora.api.remote_attestor import RemoteAttestor
from datagora.services import catalog, publishing
from datagora.services.sample_data import write_photo, write_pirated_copy
from tests.kits.node_fixtures import Net


def test_buyer_finds_a_dataset_by_a_modified_sample(net: Net, tmp_path: Path) -> None:
    world = net.world
    assert world.attestor is not None
    photo = write_photo(tmp_path / "coffee.png", "coffee")
    prepared = publishing.prepare(world.seller, photo, name="Coffee", domain="imagery")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    sample = write_pirated_copy(photo, tmp_path / "sample.jpg")

    remote = RemoteAttestor(net.client("platform", as_="buyer"))
    hits = catalog.search_by_sample(world.contracts, world.buyer, sample, remote)
    assert [h.token_id for h in hits] == [token_id] and hits[0].similarity >= 0.75

    other = catalog.search_by_sample(world.contracts, world.buyer, write_photo(tmp_path / "cat.png", "chelsea"), remote)
    assert other == []


def test_sample_search_is_for_audited_members_and_binary_bodies(net: Net) -> None:
    with pytest.raises(RemoteError) as refused:
        net.client("platform", as_="outsider").search_by_sample(b"\x00" * 200)
    assert refused.value.status == 403
    with pytest.raises(RemoteError) as garbage:
        net.client("platform", as_="buyer").search_by_sample(b"not ecies")
    assert garbage.value.status in (400, 422)
    with pytest.raises(RemoteError) as elsewhere:
        net.client("seller", as_="buyer").search_by_sample(b"\x00" * 200)
    assert elsewhere.value.status == 404
