"""Browser tests of the node's pages: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``,
installed by ``scripts/test``; never ``playwright install``), nodes served by uvicorn on 127.0.0.1 in this
process, on the chain of the ``world_base`` fixture (Anvil in these tests).

- ``browser``: one headless Chromium per session. ``new_page(width)`` fixture: a fresh context (own cookies).
- ``install_wallet(page, account)``: an EIP-1193 provider (``window.ethereum``) injected before any page script,
  answering ``eth_requestAccounts`` / ``eth_accounts`` / ``eth_chainId`` and signing ``personal_sign`` and
  ``eth_signTypedData_v4`` in Python with eth-account (the test key never enters the page).
- ``check_page(page, name)``: at 390 px and 1280 px wide, axe-core (npm, ``node_modules/axe-core/axe.min.js``)
  finds no critical or serious violation, and a full-page PNG is saved under ``build/screenshots/``.
- ``WebNode`` / ``serve_node``: one node's app (API + pages) served by uvicorn on a free port, its keystore
  written so the password sign-in works, stopped at the end of the module.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount

from datagora.api import create_app
from datagora.api.settings import Settings
from datagora.chain.devnode import free_port
from datagora.crypto.keys import save_keystore
from datagora.services.attestation import Attestor
from datagora.services.node import Node, open_node
from datagora.services.participant import Participant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "build" / "screenshots"
WIDTHS = (390, 1280)
PASSWORD = "web-test-password"
ANVIL = pytest.mark.parametrize("world_base", ["anvil"], indirect=True, scope="module")
"""Put ``pytestmark = ANVIL`` in a test module to run its world on Anvil only."""


_SHARED_BROWSER: dict[str, Any] = {}
"""The test process's one Playwright and Chromium, and how many fixture instances use them."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test process. Other capabilities' conftests re-export this fixture, which makes
    each of them a fixture of its own; Playwright's sync API allows one running instance per thread, so they all
    share the first one started, and the last one to finish stops it."""
    if not _SHARED_BROWSER:
        from playwright.sync_api import sync_playwright

        assert CHROMIUM.exists(), "Chromium is missing: scripts/test installs Debian's chromium package"
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        _SHARED_BROWSER.update(playwright=playwright, chromium=chromium, users=0)
    _SHARED_BROWSER["users"] += 1
    try:
        yield _SHARED_BROWSER["chromium"]
    finally:
        _SHARED_BROWSER["users"] -= 1
        if _SHARED_BROWSER["users"] == 0:
            shared = dict(_SHARED_BROWSER)
            _SHARED_BROWSER.clear()
            try:
                shared["chromium"].close()
            finally:
                shared["playwright"].stop()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(width=1280, bypass_csp=True)``: a page in a fresh browser context (its own cookies), closed
    after the test. ``bypass_csp``: let the test inject axe-core (the pages forbid inline scripts)."""
    contexts: list[Any] = []

    def make(width: int = 1280, *, bypass_csp: bool = True) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=bypass_csp)
        context.set_default_timeout(60_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# -- the injected wallet ---------------------------------------------------------------------------------------

_PROVIDER_JS = """
(() => {
  const address = %(address)s;
  const chainId = %(chain_id)s;
  const listeners = {};
  window.ethereum = {
    isDatagoraTestWallet: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [address];
        case "eth_chainId":
          return "0x" + chainId.toString(16);
        case "personal_sign":
          return await window.__datagoraWalletSign("personal_sign", JSON.stringify(params));
        case "eth_signTypedData_v4":
          return await window.__datagoraWalletSign("eth_signTypedData_v4", JSON.stringify(params));
        default: {
          const error = new Error(`test wallet: ${method} is not supported`);
          error.code = 4200;
          throw error;
        }
      }
    },
    on(event, fn) { (listeners[event] ||= []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
  };
})();
"""


@dataclass
class WalletLog:
    """What the injected wallet was asked to sign: (method, message text or typed data)."""

    signed: list[tuple[str, Any]] = field(default_factory=list)


def install_wallet(page: Any, account: LocalAccount, chain_id: int) -> WalletLog:
    """Inject an EIP-1193 provider holding ``account`` into every document ``page`` loads (call before
    ``goto``). Returns the log of what it signed."""
    log = WalletLog()

    def sign(method: str, params_json: str) -> str:
        params = json.loads(params_json)
        if method == "personal_sign":
            data, who = params[0], params[1]
            assert who.lower() == account.address.lower(), f"asked to sign for {who}"
            raw = bytes.fromhex(data[2:]) if data.startswith("0x") else data.encode()
            log.signed.append((method, raw.decode("utf-8", "replace")))
            return "0x" + account.sign_message(encode_defunct(raw)).signature.hex().removeprefix("0x")
        who, typed = params[0], params[1]
        assert who.lower() == account.address.lower(), f"asked to sign for {who}"
        doc = json.loads(typed) if isinstance(typed, str) else typed
        log.signed.append((method, doc))
        return "0x" + account.sign_message(encode_typed_data(full_message=doc)).signature.hex().removeprefix("0x")

    page.expose_function("__datagoraWalletSign", sign)
    page.add_init_script(_PROVIDER_JS % {"address": json.dumps(account.address), "chain_id": int(chain_id)})
    return log


# -- accessibility and screenshots ------------------------------------------------------------------------------


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's critical and serious violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in ("critical", "serious")]


def assert_accessible(page: Any) -> None:
    """No critical or serious accessibility violation (axe-core) on the page as it is now."""
    found = axe_violations(page)
    described = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in found]
    assert not found, f"{page.url}: " + "; ".join(described)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG as ``build/screenshots/<name>-<width>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = SCREENSHOTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page: Any, name: str) -> list[Path]:
    """At each of :data:`WIDTHS`: axe finds no critical or serious violation, and a screenshot is saved; the page
    shows no horizontal scroll bar at 390 px. The viewport is set back to what it was."""
    before = page.viewport_size or {"width": 1280, "height": 900}
    saved = []
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            assert_accessible(page)
            saved.append(screenshot(page, name))
            if width == 390:
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                wide = page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
                      .slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id)"""
                )
                assert overflow <= 1, f"{name} is {overflow} px wider than a 390 px screen: {wide}"
    finally:
        page.set_viewport_size(before)
    return saved


# -- nodes served over HTTP ------------------------------------------------------------------------------------


@dataclass
class WebNode:
    """A node's app served by uvicorn on ``port``; ``url`` is its base URL; ``account`` the operator's key."""

    label: str
    node: Node
    port: int
    home: Path
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def account(self) -> LocalAccount:
        return self.node.participant.account

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.node.close()


def serve_node(
    label: str,
    participant: Participant,
    contracts: Any,
    home: Path,
    *,
    attestor: Attestor | None = None,
    platform: bool = False,
    platform_url: str | None = None,
) -> WebNode:
    """Serve ``participant``'s node (API and pages) on a free 127.0.0.1 port; its keystore (password
    :data:`PASSWORD`) under ``home/keystores/<label>.json`` so the operator can sign in with the password."""
    home.mkdir(parents=True, exist_ok=True)
    keystore = home / "keystores" / f"{label}.json"
    if not keystore.exists():
        keystore.parent.mkdir(parents=True, exist_ok=True)
        save_keystore(participant.account, keystore, PASSWORD, iterations=2**4)
    node = open_node(contracts, participant, f"sqlite:///{home / 'index.db'}", platform=platform, attestor=attestor)
    port = free_port()
    settings = Settings(
        home=home,
        account=label,
        host="127.0.0.1",
        port=port,
        index_interval=0,
        platform_url=platform_url,
    )
    app = create_app(node, settings=settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"web-{label}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {label} node did not start on port {port}")
        time.sleep(0.05)
    return WebNode(label, node, port, home, server, thread)


def new_account() -> LocalAccount:
    return Account.create()


@dataclass
class Market:
    """The platform's, a seller's and a buyer's nodes served over HTTP on the ``world_base`` chain (audited
    organisations, see ``tests/world.py``); seller and buyer obtain attestations from the platform's attestor in
    process."""

    world: Any
    platform: WebNode
    seller: WebNode
    buyer: WebNode

    @property
    def chain_id(self) -> int:
        return int(self.world.chain.chain_id)

    def nodes(self) -> list[WebNode]:
        return [self.platform, self.seller, self.buyer]


@pytest.fixture(scope="module")
def market(world_base: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    home = tmp_path_factory.mktemp("web-market")
    world = world_base
    started: list[WebNode] = []
    try:
        platform = serve_node("platform", world.platform, world.contracts, home / "platform", platform=True)
        started.append(platform)
        attestor = platform.node.platform
        seller = serve_node("seller", world.seller, world.contracts, home / "seller", attestor=attestor)
        started.append(seller)
        buyer = serve_node("buyer", world.buyer, world.contracts, home / "buyer", attestor=attestor)
        started.append(buyer)
        yield Market(world, platform, seller, buyer)
    finally:
        for web_node in started:
            web_node.stop()


def sign_in_with_wallet(page: Any, web_node: WebNode, account: LocalAccount, chain_id: int) -> WalletLog:
    """Open ``web_node``'s sign-in page with a wallet holding ``account`` injected and sign in through it."""
    log = install_wallet(page, account, chain_id)
    page.goto(web_node.url + "/signin")
    with page.expect_navigation():
        page.get_by_role("button", name="Connect wallet and sign in").click()
    flashes = page.locator(".flashes").inner_text()
    assert "Signed in as" in flashes, page.locator("main").inner_text()
    return log
