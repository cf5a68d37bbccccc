"""The test wallet of tests/web/conftest.py extended with ``eth_sendTransaction`` (the shop's checkout, confirm
and refund are sent by the customer's own wallet): signed in Python with eth-account, sent to the test's chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from tests.web.conftest import install_wallet
from tests.world import World

_SEND_JS = """
(() => {
  const base = window.ethereum.request.bind(window.ethereum);
  window.ethereum.request = async ({ method, params }) =>
    method === "eth_sendTransaction" ? await window.__shopWalletSend(JSON.stringify(params)) : base({ method, params });
})();
"""


@dataclass
class Wallet:
    """What the test wallet sent: one entry per eth_sendTransaction."""

    sent: list[dict[str, Any]]


def install_paying_wallet(page: Any, world: World, account: LocalAccount, *, signing: bool = True) -> Wallet:
    """The test wallet of tests/web (unless ``signing`` is False: ``sign_in_with_wallet`` installed it already)
    plus ``eth_sendTransaction``: signed in Python, sent to the chain, and the hash returned once mined."""
    if signing:
        install_wallet(page, account, world.chain.chain_id)
    wallet = Wallet([])

    def send(params_json: str) -> str:
        (tx,) = json.loads(params_json)
        assert tx["from"].lower() == account.address.lower()
        wallet.sent.append(tx)
        receipt = world.chain.transact(
            account, to=tx["to"], data=bytes.fromhex(tx["data"][2:]), value=int(tx.get("value", "0x0"), 16)
        )
        return "0x" + bytes(receipt["transactionHash"]).hex()

    page.expose_function("__shopWalletSend", send)
    page.add_init_script(_SEND_JS)
    return wallet
