"""Compiled Vyper contracts for the titanoboa tests, compiled once per source tree instead of once per module.

``deployer("Market.vy")`` returns titanoboa's ``VyperDeployer`` for ``contracts/Market.vy`` (``deployer("mocks/
X.vy")`` for a test-only contract). It is the full compiler output, not an ABI-only factory: revert reasons,
internal functions, storage and source maps behave exactly as after ``boa.load_partial``.

Two caches stand in front of the compiler:

* in the process: every conftest that star-imports the contract fixtures defines its own "session" fixture, so
  each test directory compiled the same four contracts again; the process cache makes it once per worker;
* on disk (``~/.cache/datagora/compiled-contracts``, or ``$DATAGORA_CONTRACT_CACHE``; ``off`` disables it): the
  pickled compiler output, keyed by the SHA-256 of every ``.vy`` / ``.vyi`` file under ``contracts/``, the file's
  absolute path and the versions of Python, vyper, titanoboa and snekmate. titanoboa's own disk cache still parses
  and type-checks the sources (and their imports) to find its key, 1-4 s per contract; reading the pickle takes
  0.1-0.6 s. Any change of a source file, module or interface gives a new key, so a stale build is never used.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import boa
from boa.contracts.vyper.vyper_contract import VyperDeployer

from tests.kits.contract_kit import CONTRACTS_DIR


def _cache_dir() -> Path | None:
    configured = os.environ.get("DATAGORA_CONTRACT_CACHE", "")
    if configured.lower() == "off":
        return None
    root = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "datagora"
    return (root / "compiled-contracts").expanduser()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


@cache
def _sources_fingerprint() -> str:
    """SHA-256 over every contract source (path and bytes) and the toolchain versions."""
    h = hashlib.sha256()
    for name in ("vyper", "titanoboa", "snekmate"):
        h.update(f"{name}={_version(name)};".encode())
    h.update(sys.version.encode())
    for path in sorted(p for p in CONTRACTS_DIR.rglob("*") if p.suffix in (".vy", ".vyi")):
        h.update(str(path.relative_to(CONTRACTS_DIR)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _compile(path: Path) -> VyperDeployer:
    deployer = boa.load_partial(str(path))
    assert isinstance(deployer, VyperDeployer), f"{path} was not compiled by the installed vyper"
    return deployer


@cache
def deployer(relative_path: str) -> Any:
    """titanoboa's deployer of ``contracts/<relative_path>`` (e.g. ``"Market.vy"``, ``"mocks/Reentrant.vy"``),
    compiled at most once per process and, with the disk cache, once per source tree."""
    path = (CONTRACTS_DIR / relative_path).resolve()
    directory = _cache_dir()
    if directory is None:
        return _compile(path)
    key = hashlib.sha256(f"{_sources_fingerprint()}:{path}".encode()).hexdigest()
    entry = directory / f"{path.stem}-{key[:32]}.pickle"
    try:
        compiler_data = pickle.loads(entry.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass  # not cached yet (or written by another toolchain): compile
    else:
        return VyperDeployer(compiler_data, filename=str(path))
    compiled = _compile(path)
    directory.mkdir(parents=True, exist_ok=True)
    partial = entry.with_suffix(f".{os.getpid()}.partial")  # two xdist workers may write the same entry
    partial.write_bytes(pickle.dumps(compiled.compiler_data, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(entry)
    return compiled
