"""Reading and splitting inputs near the size limit, to show the text pipeline is near-linear.

Builds, in a temporary folder, inputs of about ``MAX_ARTICLE_BYTES`` (5 MB) and of half that:
many short lines in one block, the same lines as many blocks, one huge paragraph on one line,
many tiny articles in one JSONL file, and many boilerplate paragraphs each opened by a kept one.
Times ``read_articles`` + ``split_paragraphs`` (the real boilerplate detector, boilerplate kept
so the counts do not depend on its decisions) and prints MB/s and the ratio of the full input's
time to the half's: about 2 when linear, about 4 when quadratic.

Run: .venv/bin/python experiments/benchmark_limits.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from framing.text.boilerplate import BoilerplateDetector
from framing.config import MAX_ARTICLE_BYTES
from framing.text.ingest import read_articles
from framing.text.paragraphs import split_paragraphs

FULL = int(MAX_ARTICLE_BYTES * 0.96)


def manifest_text(folder: Path, text: str) -> Path:
    """A folder holding one ``.txt`` article and its manifest."""
    folder.mkdir()
    (folder / "manifest.csv").write_text("file,outlet,date,title\nbig.txt,Outlet,2024-01-02,Big\n")
    (folder / "big.txt").write_text(text, encoding="utf-8")
    return folder


def short_lines(n: int) -> list[str]:
    """``n`` distinct lines of 10 characters."""
    return [f"L{i:07d} a" for i in range(n)]


def lines_in_one_block(folder: Path, size: int) -> Path:
    """One block of short lines, each twice: the repeated-line rule sees them all."""
    half = short_lines(size // 22)
    return manifest_text(folder, "\n".join(half + half) + "\n")


def lines_as_blocks(folder: Path, size: int) -> Path:
    """Short lines separated by blank lines, each twice: the repeated-paragraph rule sees them all."""
    half = short_lines(size // 24)
    return manifest_text(folder, "\n\n".join(half + half) + "\n")


def one_huge_paragraph(folder: Path, size: int) -> Path:
    """A single line of distinct words."""
    return manifest_text(folder, " ".join(f"w{i:07d}" for i in range(size // 9)) + "\n")


def tiny_articles(folder: Path, size: int) -> Path:
    """A JSONL file of one-line articles of about 100 bytes each."""
    folder.mkdir()
    lines = [
        json.dumps({"id": f"a{i}", "outlet": f"Outlet {i % 5}", "title": "T", "text": f"Article {i:06d} says the council met on Tuesday."})
        for i in range(size // 110)
    ]
    (folder / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def echoes(folder: Path, size: int) -> Path:
    """Blocks that open a longer block ending in "Share this article": the echo rule's worst case."""
    pairs = [f"Read more about story {i:06d}\n\nRead more about story {i:06d} Share this article" for i in range(size // 80)]
    return manifest_text(folder, "\n\n".join(pairs) + "\n")


INPUTS = {
    "short lines, one block": lines_in_one_block,
    "short lines, one block each": lines_as_blocks,
    "one huge paragraph": one_huge_paragraph,
    "tiny articles": tiny_articles,
    "boilerplate echoes": echoes,
}


def run(folder: Path, detector: BoilerplateDetector) -> tuple[float, int, int]:
    """Seconds to read and split ``folder``, its articles and its paragraphs."""
    started = time.perf_counter()
    articles = read_articles([folder])
    paragraphs = split_paragraphs(articles, detector=detector, keep_boilerplate=True, warn=lambda m: None)
    return time.perf_counter() - started, len(articles), len(paragraphs)


def main() -> None:
    detector = BoilerplateDetector.load()
    print(f"{'input':30} {'MB':>5} {'articles':>8} {'paragraphs':>10} {'s':>6} {'MB/s':>5} {'s half':>6} {'ratio':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in INPUTS.items():
            slug = name.replace(" ", "-").replace(",", "")
            full = build(Path(tmp) / slug, FULL)
            half = build(Path(tmp) / f"{slug}-half", FULL // 2)
            mb = sum(f.stat().st_size for f in full.iterdir()) / 1e6
            t_half = min(run(half, detector)[0] for _ in range(2))
            runs = [run(full, detector) for _ in range(2)]
            t_full = min(r[0] for r in runs)
            _, n_articles, n_paragraphs = runs[0]
            print(
                f"{name:30} {mb:5.2f} {n_articles:8d} {n_paragraphs:10d} {t_full:6.2f} "
                f"{mb / t_full:5.2f} {t_half:6.2f} {t_full / t_half:5.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
