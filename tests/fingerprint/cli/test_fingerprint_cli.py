"""``datagora fingerprint`` prints a fingerprint and compares two files; bad files are one-line errors."""

from __future__ import annotations

import base64
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from datagora.cli.main import app
from datagora.fingerprint import Fingerprint
from datagora.services.sample_data import write_breast_cancer_csv, write_photo

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return res.exit_code, res.stdout, res.stderr


def test_prints_a_parseable_fingerprint(tmp_path: Path) -> None:
    code, out, _ = run("fingerprint", str(write_breast_cancer_csv(tmp_path / "bc.csv")))
    assert code == 0
    head, body = out.strip().split("\n", 1)
    assert head.startswith("kind table  method minhash-rows")
    fp = Fingerprint.from_bytes(base64.b64decode("".join(body.split())))
    assert fp.method == "minhash-rows"


def test_compare_gives_similarity_and_verdict(tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "coffee.png", "coffee")
    im = Image.open(photo)
    im.crop((20, 10, im.width - 15, im.height - 20)).save(tmp_path / "crop.jpg", quality=50)
    code, out, _ = run("fingerprint", "compare", str(photo), str(tmp_path / "crop.jpg"))
    assert code == 0 and "verdict near-duplicate" in out
    other = write_photo(tmp_path / "astronaut.png", "astronaut")
    code, out, _ = run("fingerprint", "compare", str(photo), str(other))
    assert code == 0 and "verdict different" in out


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "noise.bin").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    table = write_breast_cancer_csv(tmp_path / "bc.csv")
    for args in (
        ("fingerprint", str(tmp_path / "empty.csv")),
        ("fingerprint", str(tmp_path / "noise.bin")),
        ("fingerprint", str(tmp_path / "broken.png")),
        ("fingerprint", str(tmp_path / "missing.csv")),
        ("fingerprint", "compare", str(table)),
        ("fingerprint", "compare", str(table), str(write_photo(tmp_path / "p.png", "coffee"))),
    ):
        code, out, err = run(*args)
        assert code == 1, args
        assert "Traceback" not in out + err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
