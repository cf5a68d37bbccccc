"""Every path of a node's home comes from one typed object; the node, the CLI and the dev network agree."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from datagora.home import Home
from datagora.services.participant import Participant


def test_home_layout(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert home.keystore("seller") == tmp_path / "keystores" / "seller.json"
    assert home.deployment(31337) == tmp_path / "deployments" / "31337.json"
    address = "0xAbCdEf0123456789abcdef0123456789ABCDEF01"
    assert home.index_file(31337, address) == tmp_path / "index" / f"31337-{address.lower()}.db"
    assert home.index_file(31337, address) == home.index_file(31337, address.lower())  # one file per account
    assert home.index_file(31337) == tmp_path / "index" / "31337.db"
    assert home.index_url(31337, address) == f"sqlite:///{home.index_file(31337, address)}"
    assert home.dev.participant("acme").root == tmp_path / "dev" / "participants" / "acme"
    assert home.dev.accounts == tmp_path / "dev" / "accounts.json"


def test_a_participant_names_its_paths_through_its_home(tmp_path: Path) -> None:
    root = Home(tmp_path).participant("platform").root
    person = Participant("platform", Account.create(), root)
    paths = person.paths
    assert paths.root == root and person.store.root == paths.blobs
    assert paths.board == root / "send-receive.sqlite"  # the file the platform's node has always kept
    assert paths.record("datasets", "abc") == root / "datasets" / "abc.json"
    saved = person.save_record("datasets", "abc", {"k": 1})
    assert saved == paths.record("datasets", "abc") and person.load_record("datasets", "abc") == {"k": 1}
