"""The Flower environment Datagora manages: a separate Python virtual environment holding Flower and the
libraries its apps need, created on first use and reused after.

Why a separate environment: every Flower release (1.12 to 1.42) pins versions that would downgrade Datagora's own
stack (Flower 1.42 pins FastAPI 0.138, Starlette 1.3, Uvicorn 0.49, Typer < 0.21, Rich < 15 and cryptography 50).
Installing it next to Datagora would break the node's API, CLI and crypto, so Flower lives in its own virtual
environment and Datagora talks to it only through its command-line programs (``flower-superlink``,
``flower-supernode``, ``flwr``) run as subprocesses, and through files.

Where it lives: ``DATAGORA_FLOWER_ENV`` when set, else ``$XDG_CACHE_HOME/datagora/flower-<version>`` (by default
``~/.cache/datagora/flower-1.42.0``). Creating it takes a few minutes (about 3 on a shared 2-core machine; pip
installs from the configured package index); ``python -m datagora.federated.environment`` does it ahead of time
(``scripts/test`` runs that).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from datagora.domain.errors import ComputationFailed

FLOWER_VERSION: Final = "1.42.0"
REQUIREMENTS: Final = (f"flwr=={FLOWER_VERSION}", "numpy", "scikit-learn")
"""What the environment holds: Flower (its deployment engine: SuperLink, SuperNode, ``flwr run``) and what the
Flower app shipped with Datagora imports."""
INSTALL_TIMEOUT: Final = 1800.0
"""Seconds ``pip install`` may take when the environment is created."""
_MARKER: Final = "datagora-flower.ok"


def default_location() -> Path:
    """Where the environment is kept: ``DATAGORA_FLOWER_ENV``, else ``$XDG_CACHE_HOME/datagora/flower-<version>``
    (``~/.cache`` when ``XDG_CACHE_HOME`` is unset)."""
    chosen = os.environ.get("DATAGORA_FLOWER_ENV")
    if chosen:
        return Path(chosen).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "datagora" / f"flower-{FLOWER_VERSION}"


@dataclass(frozen=True)
class FlowerEnvironment:
    """A virtual environment at ``root`` holding :data:`REQUIREMENTS`."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        """The environment's Python interpreter."""
        return self.bin / "python"

    def program(self, name: str) -> Path:
        """One of Flower's programs: ``flower-superlink``, ``flower-supernode`` or ``flwr``."""
        return self.bin / name

    @property
    def ready(self) -> bool:
        """Whether the environment was created completely (an interrupted install is redone)."""
        return (self.root / _MARKER).is_file() and self.program("flwr").is_file()

    def env(self, flower_home: Path) -> dict[str, str]:
        """Environment variables for Flower's processes: its programs first on ``PATH``, nothing of Datagora's
        own interpreter (``PYTHONPATH``, ``VIRTUAL_ENV``), ``FLWR_HOME`` = ``flower_home`` (where Flower keeps
        installed apps and its CLI's configuration, so runs do not share state)."""
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env["FLWR_HOME"] = str(flower_home)
        env["PYTHONUNBUFFERED"] = "1"
        env["GRPC_VERBOSITY"] = "ERROR"
        return env


def ensure(location: Path | None = None, *, on_progress: Callable[[str], None] = lambda _: None) -> FlowerEnvironment:
    """The Flower environment at ``location`` (default :func:`default_location`), created first if missing:
    ``python -m venv`` then ``pip install`` of :data:`REQUIREMENTS` (a minute or two; ``on_progress`` gets a line
    per stage). Raises :class:`ComputationFailed` with pip's last lines when the install fails."""
    env = FlowerEnvironment(location or default_location())
    if env.ready:
        return env
    on_progress(f"creating Flower's own Python environment in {env.root} (once; takes a few minutes)")
    env.root.parent.mkdir(parents=True, exist_ok=True)
    if not env.python.is_file():
        venv.EnvBuilder(with_pip=True, clear=True).create(env.root)
    on_progress(f"installing {', '.join(REQUIREMENTS)} into it")
    try:
        done = subprocess.run(
            [str(env.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ComputationFailed(f"installing Flower took longer than {INSTALL_TIMEOUT:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ComputationFailed(f"installing Flower into {env.root} failed:\n{tail}")
    (env.root / _MARKER).write_text(" ".join(REQUIREMENTS) + "\n")
    on_progress("Flower's environment is ready")
    return env


def main() -> None:
    """``python -m datagora.federated.environment``: create the environment now (prints its path)."""
    env = ensure(on_progress=lambda line: print(line, file=sys.stderr))
    print(env.root)


if __name__ == "__main__":
    main()
