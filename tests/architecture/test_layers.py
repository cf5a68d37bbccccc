"""The house's import rules (docs/architecture.md): imports flow one way, entry points → scenarios → services →
adapters → domain; web3 only in chain/, FastAPI and Starlette only in api/ (and web/), Rich only in cli/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "datagora"

LAYER = {
    "cli": 4,
    "api": 4,
    "web": 4,
    "scenarios": 3,
    "services": 2,
    "chain": 1,
    "crypto": 1,
    "storage": 1,
    "index": 1,
    "query": 1,
    "fingerprint": 1,
    "compute": 1,
    "federated": 1,
    "mpc": 1,
    "infra": 1,
    "domain": 0,
    "home": 0,
    "fsutil": 0,
}
ONLY_IN = {"web3": {"chain"}, "fastapi": {"api", "web"}, "starlette": {"api", "web"}, "rich": {"cli"}}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path) -> None:
    here = _part(path)
    for name in _imports(path):
        top = name.split(".")[0]
        if top in ONLY_IN:
            assert here in ONLY_IN[top], f"{path.name} ({here}/) imports {name}: only {sorted(ONLY_IN[top])} may"
        if top == "datagora" and name.count(".") >= 1:
            target = name.split(".")[1]
            if here in LAYER and target in LAYER and here != target:
                assert LAYER[target] < LAYER[here] or LAYER[here] == LAYER[target] in (1, 4), (
                    f"{path.relative_to(PACKAGE)} ({here}/) imports {name}: imports flow downward only"
                )


def test_every_package_has_a_layer() -> None:
    parts = {_part(p) for p in _modules()} - {"__init__", "__main__"}
    assert parts <= set(LAYER), f"no layer for {sorted(parts - set(LAYER))}"


HEAVY = (
    "numpy",
    "scipy",
    "cv2",
    "skimage",
    "PIL",
    "imagehash",
    "pyarrow",
    "datasketch",
    "pdqhash",
    "duckdb",
    "opendp",
    "mpyc",
)
"""Libraries of the fingerprint methods, the query engine, differential privacy and MPC (about 100 MiB of resident
memory together): loaded on first use only."""


def test_a_node_starts_without_the_fingerprint_libraries(tmp_path: Path) -> None:
    """Importing the HTTP node loads none of the fingerprint methods' libraries, and opening an empty fingerprint
    index (a platform that has attested nothing yet) loads none of the methods: they come with the first
    fingerprint (keeps an idle node's memory low, see benchmarks/hostile_bodies.py); a table method loads its own
    libraries, not the image ones."""
    import subprocess
    import sys

    code = f"""
import sys
heavy = {HEAVY!r}
import datagora.api.app, datagora.api.runtime
print(sorted(m for m in heavy if m in sys.modules))
from datagora.fingerprint.index import FingerprintIndex
FingerprintIndex.open("empty.sqlite").close()
print(sorted(m for m in heavy if m in sys.modules and m != "numpy"))
import datagora.fingerprint as fp
fp.get_method("minhash-rows")
print(sorted(m for m in heavy if m in sys.modules))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    at_start, empty_index, table_method = run.stdout.splitlines()
    assert at_start == "[]"
    assert empty_index == "[]"
    assert "pyarrow" in table_method and "cv2" not in table_method
