"""Inputs near the size limit are read and split in near-linear time, with exact results.

Each test runs under a generous alarm instead of a timing ratio: timings on two shared cores are
too noisy to pin, but the quadratic code these tests replace ran for minutes on the same inputs.
``experiments/benchmark_limits.py`` prints the times and ratios.
"""

from __future__ import annotations

import json
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framing.text.boilerplate import BoilerplateDetector
from framing.config import MAX_ARTICLE_BYTES
from framing.text.ingest import read_articles
from framing.text.paragraphs import normalize_text, split_paragraphs

SECONDS = 60


class _Overran(Exception):
    """Raised by the alarm inside the timed block."""


@contextmanager
def within(seconds: int = SECONDS):
    """Fail the test if the block runs longer than ``seconds``.

    The failure is raised outside the interrupted frames, whose traceback pytest cannot always render.
    """

    def stop(signum, frame):
        raise _Overran

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    overran = False
    try:
        yield
    except _Overran:
        overran = True
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if overran:
        pytest.fail(f"took longer than {seconds} s", pytrace=False)


@pytest.fixture(scope="module")
def detector():
    return BoilerplateDetector.load()


def short_lines(n: int) -> list[str]:
    return [f"L{i:07d} a" for i in range(n)]


def one_text_article(tmp_path: Path, text: str) -> Path:
    (tmp_path / "manifest.csv").write_text("file,outlet,date,title\nbig.txt,Outlet,2024-01-02,Big\n")
    (tmp_path / "big.txt").write_text(text, encoding="utf-8")
    assert (tmp_path / "big.txt").stat().st_size < MAX_ARTICLE_BYTES
    return tmp_path


def read_and_split(folder: Path, detector, **kwargs):
    with within():
        return split_paragraphs(read_articles([folder]), detector=detector, keep_boilerplate=True, **kwargs)


def test_normalize_text_drops_repeats_among_440k_short_lines_in_time():
    half = short_lines(220_000)
    with within():
        assert normalize_text("\n".join(half + half)) == " ".join(half)


def test_440k_short_lines_in_one_block_make_one_paragraph_of_their_first_occurrences(tmp_path, detector):
    half = short_lines(220_000)
    rows = read_and_split(one_text_article(tmp_path, "\n".join(half + half)), detector)
    assert rows["paragraph_index"].tolist() == [0]
    assert rows["text"].iloc[0] == " ".join(half)


def test_400k_short_blocks_keep_their_first_occurrences_with_their_indices(tmp_path, detector):
    half = short_lines(200_000)
    rows = read_and_split(one_text_article(tmp_path, "\n\n".join(half + half)), detector)
    assert rows["text"].tolist() == half
    assert rows["paragraph_index"].tolist() == list(range(200_000))
    assert rows["text_hash"].nunique() == 200_000


def test_one_huge_line_is_one_paragraph(tmp_path, detector):
    words = [f"w{i:07d}" for i in range(500_000)]
    rows = read_and_split(one_text_article(tmp_path, " ".join(words) + "\n"), detector)
    assert len(rows) == 1
    assert rows["text"].iloc[0] == " ".join(words)


def test_20000_one_line_articles_give_one_paragraph_each(tmp_path, detector):
    lines = [
        json.dumps({"id": f"a{i}", "outlet": f"Outlet {i % 5}", "title": "T", "text": f"Article {i} says the council met on Tuesday."})
        for i in range(20_000)
    ]
    (tmp_path / "tiny.jsonl").write_text("\n".join(lines) + "\n")
    rows = read_and_split(tmp_path, detector)
    assert rows["article_id"].tolist() == [f"a{i}" for i in range(20_000)]
    assert rows["paragraph_index"].tolist() == [0] * 20_000


def test_30000_paragraphs_that_open_boilerplate_are_all_found_in_time():
    """A stand-in detector marks the longer block of each pair: this test is about the echo rule's cost."""

    class MarksShareLines:
        def predict(self, texts):
            return np.array([t.endswith("Share this article") for t in texts])

    pairs = [f"Read more about story {i:06d}\n\nRead more about story {i:06d} Share this article" for i in range(30_000)]
    articles = pd.DataFrame(
        [{"article_id": "a", "outlet": "O", "date": None, "title": None, "text": "Prose first.\n\n" + "\n\n".join(pairs)}]
    )
    with within():
        rows = split_paragraphs(articles, detector=MarksShareLines())
    assert rows["text"].tolist() == ["Prose first."]
