"""Time every statistic of the outlet report on a synthetic scored table of report scale.

Synthesises a scored table (default 20,000 articles x 24 paragraphs = 480,000
paragraphs; random outlets, dates over a year and probabilities, seeded; no
corpus text), runs each function of :mod:`framing.analysis.statistics` with its
default resamples and the story grouping (on random stand-in embeddings: the
embedder's own time is not part of a report from a scored table's statistics), and prints the seconds each took, the total and the peak
memory of the process (``resource.getrusage``). The requirement (issue 17) is
under 2 minutes on 2 cores and under 4 GB.

    PYTHONPATH=. .venv/bin/python experiments/benchmark_report.py [--articles 20000] [--paragraphs 24]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from framing.analysis import statistics as st
from framing.analysis import stories

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def synthetic_scored(n_articles: int, per_article: int, *, n_outlets: int = 20, seed: int = 0) -> pd.DataFrame:
    """A scored table of ``n_articles`` x ``per_article`` paragraphs with outlet-dependent frame rates."""
    rng = np.random.default_rng(seed)
    n = n_articles * per_article
    article = np.repeat(np.arange(n_articles), per_article)
    outlet_of = rng.integers(0, n_outlets, n_articles)
    day_of = rng.integers(0, 365, n_articles)
    tilt = rng.normal(0, 0.5, (n_outlets, len(FRAMES)))
    lean = rng.normal(0, 1.0, (n_articles, len(FRAMES)))
    logits = -1.5 + tilt[outlet_of][article] + lean[article] + rng.normal(0, 1.5, (n, len(FRAMES)))
    proba = 1 / (1 + np.exp(-logits))
    passed = proba >= 0.5
    names = np.array(FRAMES, dtype=object)
    frames = [list(names[row]) for row in passed]
    masked = np.where(passed, proba, -1)
    dates = (pd.Timestamp("2020-01-01") + pd.to_timedelta(day_of, unit="D")).strftime("%Y-%m-%d").to_numpy()
    table = pd.DataFrame(
        {
            "article_id": np.char.add("a", article.astype(str)),
            "outlet": np.char.add("outlet-", outlet_of[article].astype(str)),
            "date": dates[article],
            "title": np.char.add("title ", article.astype(str)),
            "paragraph_index": np.tile(np.arange(per_article), n_articles),
            "text": "x",
        }
    )
    for j, frame in enumerate(FRAMES):
        table[frame] = proba[:, j]
    table["frames"] = frames
    table["primary_frame"] = np.where(passed.any(axis=1), names[masked.argmax(axis=1)], "none")
    return table


def random_vectors(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Stand-in embeddings (no model: the grouping, not the embedder, is timed): clusters of about five articles."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 5, 1), dim))
    return (centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.5, size=(n, dim))).astype(np.float32)


def peak_gb() -> float:
    """Peak resident memory of this process so far, in GB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--paragraphs", type=int, default=24)
    parser.add_argument("--outlets", type=int, default=20)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    scored = synthetic_scored(args.articles, args.paragraphs, n_outlets=args.outlets)
    print(f"synthetic table: {len(scored):,} paragraphs, {args.articles:,} articles, {args.outlets} outlets "
          f"({time.perf_counter() - started:.1f} s, peak {peak_gb():.2f} GB)")
    steps = {
        "group_shares": lambda: st.group_shares(scored, FRAMES),
        "article_frames": lambda: st.article_frames(scored, FRAMES),
        "leading_frames": lambda: st.leading_frames(scored, FRAMES),
        "dependence_tests": lambda: st.dependence_tests(scored, FRAMES),
        "log_odds": lambda: st.log_odds(scored, FRAMES),
        "jsd_matrix": lambda: st.jsd_matrix(scored, FRAMES),
        "shares_over_time": lambda: st.shares_over_time(scored, FRAMES),
        "story texts": lambda: texts.append(stories.article_texts_for_stories(scored)) or texts[0],
        "find_stories": lambda: ids.append(stories.find_stories(texts[0], random_vectors(len(texts[0])))) or ids[0],
        "story_view": lambda: stories.story_view(scored, FRAMES, ids[0]),
    }
    texts, ids = [], []
    total = 0.0
    for name, step in steps.items():
        t0 = time.perf_counter()
        result = step()
        took = time.perf_counter() - t0
        total += took
        print(f"{name:18s} {took:7.2f} s  {len(result):6d} rows  peak {peak_gb():.2f} GB", flush=True)
    print(f"{'statistics total':18s} {total:7.2f} s")
    print(f"{'wall, with table':18s} {time.perf_counter() - started:7.2f} s")
    print(f"peak memory {peak_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
