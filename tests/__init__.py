"""Datagora's test suite: one directory per capability (see docs/architecture.md); shared fixtures in kits/."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
