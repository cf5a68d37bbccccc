"""Method "minhash-words" (texts), on scikit-learn's bundled dataset descriptions and the standard library's
own documentation: nothing is downloaded."""

from __future__ import annotations

import codecs
import csv
import email.message
import inspect
import json
import random
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import datasets

from datagora.domain.errors import ValidationError
from datagora.fingerprint import text
from datagora.fingerprint.base import Fingerprint, get_method
from datagora.fingerprint.text import MINHASH_WORDS as WORDS
from datagora.fingerprint.text import MinHashWords, words


def zen_of_python() -> str:
    source = Path(inspect.getfile(codecs)).with_name("this.py").read_text(encoding="utf-8")
    start, end = source.index('s = """') + 7, source.index('"""\n\nd = {}')
    return codecs.decode(source[start:end], "rot13")


def corpus() -> dict[str, str]:
    texts = {
        name: str(getattr(datasets, f"load_{name}")().DESCR)
        for name in ("iris", "wine", "breast_cancer", "diabetes", "digits", "linnerud")
    }
    texts["zen"] = zen_of_python()
    texts["csv-module"] = str(csv.__doc__)
    texts["json-module"] = str(json.__doc__)
    texts["email-message"] = str(inspect.getdoc(email.message.Message))
    texts["str-format"] = str(inspect.getdoc(str.format)) + "\n\n" + str(inspect.getdoc(str.split))
    return {name: t for name, t in texts.items() if len(t.split()) >= 60}


CORPUS = corpus()


def lightly_edited(t: str, seed: int, changes: int = 5) -> str:
    """A few words replaced, one paragraph (not the first) removed when there are several."""
    rng = random.Random(seed)
    tokens = t.split(" ")
    for _ in range(changes):
        tokens[rng.randrange(len(tokens))] = f"edit{rng.randrange(10**6)}"
    paragraphs = " ".join(tokens).split("\n\n")
    if len(paragraphs) > 3:
        longest = max(range(1, len(paragraphs)), key=lambda i: len(paragraphs[i]))
        if len(paragraphs[longest].split()) < len(t.split()) // 3:
            del paragraphs[longest]
    return "\n\n".join(paragraphs)


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 8


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_lightly_edited_text_matches(name: str) -> None:
    original = WORDS.compute_text(CORPUS[name])
    for seed in range(3):
        edited = WORDS.compute_text(lightly_edited(CORPUS[name], seed))
        assert WORDS.similarity(original, edited) >= WORDS.threshold
        assert WORDS.similarity(edited, original) == WORDS.similarity(original, edited)


def test_excerpt_is_contained() -> None:
    full = CORPUS["breast_cancer"]
    excerpt = full[len(full) // 3 : 2 * len(full) // 3]
    a, b = WORDS.compute_text(full), WORDS.compute_text(excerpt)
    assert WORDS.containment(b, a) >= 0.9
    assert WORDS.similarity(a, b) >= 0.9


def test_unrelated_texts_do_not_match() -> None:
    fps = {name: WORDS.compute_text(t) for name, t in CORPUS.items()}
    names = sorted(fps)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert WORDS.similarity(fps[a], fps[b]) <= 0.2, (a, b)


def test_normalisation_case_punctuation_nfkc() -> None:
    plain = "the office finds the flow of data efficient and fine"
    fancy = "The  O\ufb03ce—finds, the ‘ﬂow’ of DATA: e\ufb03cient (and) ﬁne!"
    assert words(fancy) == plain.split()
    assert WORDS.compute_text(fancy).payload == WORDS.compute_text(plain).payload
    assert unicodedata.normalize("NFKC", "\ufb03") == "ffi"


def test_short_text_is_one_shingle() -> None:
    a, b = WORDS.compute_text("Hello, world!"), WORDS.compute_text("hello world")
    assert a.payload == b.payload
    assert WORDS.sketch(a).cardinality == 1
    assert WORDS.similarity(a, WORDS.compute_text("hello there")) == 0.0


def test_file_streaming_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "\n\n".join(CORPUS.values())
    path = tmp_path / "corpus.md"
    path.write_text("\ufeff" + body, encoding="utf-8")
    whole = WORDS.compute_text(body)
    assert WORDS.compute(path).payload == whole.payload
    monkeypatch.setattr(text, "CHUNK_CHARS", 97)
    assert WORDS.compute(path).payload == whole.payload


@pytest.mark.parametrize("k", [3, 5])
def test_other_shingle_sizes(k: int) -> None:
    method = MinHashWords(k)
    a = method.compute_text(CORPUS["wine"])
    assert method.similarity(a, method.compute_text(lightly_edited(CORPUS["wine"], 1))) >= 0.6
    with pytest.raises(ValidationError, match="different parameters"):
        WORDS.similarity(WORDS.compute_text(CORPUS["wine"]), a)


def test_registered_and_round_trips() -> None:
    fp = WORDS.compute_text(CORPUS["iris"])
    assert get_method("minhash-words") is WORDS
    assert (fp.kind, fp.method) == ("text", "minhash-words")
    assert Fingerprint.from_bytes(fp.to_bytes()) == fp
    with pytest.raises(ValidationError):
        Fingerprint.from_bytes(fp.to_bytes()[:-3])


def test_rejects_non_text(tmp_path: Path) -> None:
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), parquet)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café crème brûlée\n".encode("latin-1") * 50)
    symbols = tmp_path / "symbols.txt"
    symbols.write_text("!!! ... ??? --- ***\n", encoding="utf-8")
    png = tmp_path / "x.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for path in (parquet, latin1, symbols, png):
        with pytest.raises(ValidationError):
            WORDS.compute(path)
    with pytest.raises(ValueError):
        MinHashWords(2)
