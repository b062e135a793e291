"""HTML ingest on 181 real pages: kept paragraphs against each page's hand-checked article body.

Scores 4-token shingle precision and recall per page, averaged over pages (the benchmark's own
metric), for trafilatura alone and for framing's ingest (trafilatura, then paragraph splitting and
the boilerplate detector). Reads ../shared/html-benchmark; nothing of it is committed.

Run: .venv/bin/python experiments/html_benchmark.py
"""

import json
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import trafilatura

from framing.config import HTML_BENCHMARK_DIR
from framing.text.ingest import read_articles
from framing.text.paragraphs import shingles, split_paragraphs

def prf(predicted: str, truth: str) -> tuple[float, float, float]:
    p_set, t_set = shingles(predicted), shingles(truth)
    if not p_set or not t_set:
        return 0.0, 0.0, 0.0
    hit = len(p_set & t_set)
    p, r = hit / len(p_set), hit / len(t_set)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    import gzip

    truth = json.loads((HTML_BENCHMARK_DIR / "ground-truth.json").read_text())
    paths = [HTML_BENCHMARK_DIR / "html" / f"{page}.html.gz" for page in sorted(truth)]
    started = time.perf_counter()
    alone = [prf(trafilatura.extract(gzip.decompress(p.read_bytes()), favor_recall=True) or "", truth[p.name.split(".")[0]]["articleBody"]) for p in paths]
    alone_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for path in paths:
            (folder / path.name).symlink_to(path)
            url = truth[path.name.split(".")[0]]["url"]
            rows.append({"file": path.name, "outlet": urlparse(url).hostname, "date": "", "title": "", "url": url})
        pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
        started = time.perf_counter()
        articles = read_articles([folder])
        every = split_paragraphs(articles, keep_boilerplate=True)
        ours_s = time.perf_counter() - started

    def score(paragraphs):
        bodies = paragraphs.groupby("article_id")["text"].apply("\n\n".join)
        return [prf(bodies.get(p.name.split(".")[0], ""), truth[p.name.split(".")[0]]["articleBody"]) for p in paths]

    results = (
        ("trafilatura alone", alone, alone_s),
        ("+ splitting only", score(every), ours_s),
        ("+ boilerplate det.", score(every[~every["is_boilerplate"]]), ours_s),
    )
    for name, scores, seconds in results:
        p, r, f = np.mean(scores, axis=0)
        print(f"{name:18s} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  ({len(paths)} pages, {seconds:.1f} s)")


if __name__ == "__main__":
    main()
