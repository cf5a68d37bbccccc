"""Three Clique signers of ``@ethereumjs/client`` on 127.0.0.1 run Datagora: a whole trade completes; with one
signer killed, trades still complete on the other two; restarted, it catches up with the chain; the event index
of the node that was down catches up and `datagora audit verify` is green against its own signer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from datagora.chain.client import RpcChain
from datagora.chain.consortium import Consortium
from datagora.chain.contracts import Contracts
from datagora.cli.main import app
from datagora.index.indexer import EventIndexer
from datagora.index.schema import open_engine
from datagora.scenarios import trade
from datagora.scenarios.consortium import short_trade
from datagora.scenarios.records import WEI

pytestmark = [pytest.mark.slow, pytest.mark.consortium]


def test_three_signers_trade_lose_one_and_resync(tmp_path: Path) -> None:
    funder = Account.create()
    network = Consortium(tmp_path / "network")
    network.create(3, {funder.address: 10**24}, period=2)
    try:
        network.start()
        network.wait_for_block(1, timeout=90)
        s0, _, s2 = network.signers()
        chain = RpcChain(s0.url)
        assert chain.evm_version == "london"

        stage = trade.setup(chain, tmp_path / "work", funder=funder, fund_wei=10 * WEI)
        result, _, _ = trade.trade(stage)
        assert result.ok and [c.description for c in result.checks if not c.passed] == []
        deployment = stage.contracts.deployment

        # signer 2's organisation indexes the events its own signer serves
        index_url = f"sqlite:///{tmp_path / 'index-2.db'}"
        indexer = EventIndexer(Contracts(RpcChain(s2.url), deployment), open_engine(index_url))
        before = indexer.sync()
        indexer.engine.dispose()
        assert before.events > 20

        network.kill(2)
        assert [st.running for st in network.status()] == [True, True, False]
        while_down = short_trade(stage, 1)
        buyer = stage.people["buyer"].address
        assert stage.contracts.catalog.owner_of(while_down.token_id) == buyer
        head = chain.block_number()

        started = time.monotonic()
        network.start(2)
        network.wait_for_block(head, indexes=[0, 1, 2], timeout=120)
        caught_up = time.monotonic() - started
        assert caught_up < 120

        indexer = EventIndexer(Contracts(RpcChain(s2.url), deployment), open_engine(index_url))
        after = indexer.sync()
        verified = indexer.verify()
        indexer.engine.dispose()
        assert after.from_block == before.to_block + 1 and after.to_block >= head
        assert after.events >= 7  # the trade made while signer 2 was down: mint, list, buy, deliver, confirm …
        assert verified.ok and verified.checked == before.events + after.events

        home = tmp_path / "home-2"
        deployment.save(home / "deployments")
        cli = CliRunner().invoke(
            app, ["--home", str(home), "--rpc-url", s2.url, "audit", "verify", "--index-url", index_url]
        )
        assert cli.exit_code == 0, cli.output
        assert f"verified {verified.checked}" in " ".join(cli.output.split())

        again = short_trade(stage, 2)  # all three signers again
        assert stage.contracts.catalog.owner_of(again.token_id) == buyer
        network.wait_for_block(chain.block_number(), indexes=[0, 1, 2], timeout=60)
        statuses = network.status()
        assert all(st.running and (st.peers or 0) >= 1 for st in statuses), statuses
    except BaseException:
        for index in range(3):  # what each signer said last, for whoever reads the failure
            lines = network.log_file(index).read_text(errors="replace").splitlines()
            print(f"--- signer {index}, last lines of its log ---", *lines[-40:], sep="\n")
        raise
    finally:
        network.destroy()
