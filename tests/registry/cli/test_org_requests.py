"""``datagora org withdraw`` / ``org reject`` free an account whose registration became a join request (someone
took its organisation's name first), and ``datagora reputation`` shows an average beside its volume."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from datagora.chain.client import RpcChain
from tests.kits.cli_fixtures import CliWorld, failed, make_keystores, ok

NAMES = ("supervisor", "platform", "squatter", "founder", "applicant")


@pytest.fixture
def w(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("cli-org-requests")
    world = CliWorld(home, anvil_url, chain, make_keystores(home, *NAMES))
    try:
        for name in NAMES:
            ok(world.run("account", "fund", name, "--ether", "1"))
        ok(world.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        yield world
    finally:
        chain.revert(snap)


def test_squatted_founder_withdraws_registers_afresh_and_rejects(w: CliWorld) -> None:
    ok(w.run("org", "register", "Contoso", "-a", "squatter"))
    assert "asked to join" in ok(w.run("org", "register", "Contoso", "-a", "founder"))
    assert "may register afresh" in ok(w.run("org", "withdraw", "-a", "founder"))
    failed(w.run("org", "withdraw", "-a", "founder"), "no pending request")
    assert "joined organisation #2 'Contoso Ltd'" in ok(w.run("org", "register", "Contoso Ltd", "-a", "founder"))

    assert "asked to join" in ok(w.run("org", "register", "Contoso Ltd", "-a", "applicant"))
    failed(w.run("org", "reject", w.addresses["applicant"], "-a", "squatter"), "not a member of that organisation")
    assert "refused" in ok(w.run("org", "reject", w.addresses["applicant"], "-a", "founder"))
    assert "1 member(s)" in ok(w.run("org", "show", "Contoso Ltd"))
    assert "joined organisation #3" in ok(w.run("org", "register", "Applicant Org", "-a", "applicant"))


def test_reputation_of_an_unrated_account_and_of_a_bad_address(w: CliWorld) -> None:
    assert "never rated" in ok(w.run("reputation", w.addresses["founder"]))
    failed(w.run("reputation", "0x1234"), "address")
