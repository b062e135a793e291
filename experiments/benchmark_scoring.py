"""Speed and memory of ``framing score`` around the model, measured side by side in one run.

Prints three figures:

1. end-to-end scoring (``score_stream``, the code ``framing score`` runs: reading JSONL, splitting,
   boilerplate, features, head, writing JSONL) in paragraphs/s against bare
   ``SentenceTransformer.encode`` of the same embedding model on the same texts, both embedding
   every text afresh (the end-to-end run gets an empty cache folder), the model loaded beforehand
   for both, alternating the two measurements ``--rounds`` times on the same texts;
2. re-scoring paragraphs whose embeddings are cached, in paragraphs/s: the model's path
   (``score_paragraphs``: cache lookups, features, head) and the whole ``framing score`` command;
3. peak memory (RSS) of ``framing score`` over a JSONL of 100,000 paragraphs, run as its own
   process so that its peak is its own (its ``VmHWM``).

The inputs are built under a temporary folder from the real corpus (``../shared/corpus``) and
never kept: (1) uses its first articles as they are; (2) and (3) use 4,100 articles of 25 corpus
paragraphs drawn at random (so paragraphs repeat, and after the distinct ones are embedded once
every paragraph comes from the cache: 100,000 fresh paragraphs would take about 25 minutes
with MiniLM on 2 cores, and memory is a property of the pipeline, not of the model).

Run: .venv/bin/python experiments/benchmark_scoring.py --model MODEL_FOLDER
(any trained model; the MiniLM model ``framing train`` makes takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from framing import config


def corpus_articles(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def first_articles(articles: list[dict], paragraphs: int, out: Path) -> Path:
    """The corpus's first articles holding about ``paragraphs`` paragraphs, as JSONL."""
    from framing.text.paragraphs import split_blocks

    with out.open("w", encoding="utf-8") as stream:
        total = 0
        for article in articles:
            stream.write(json.dumps(article) + "\n")
            total += len(split_blocks(article["text"]))
            if total >= paragraphs:
                break
    return out


def repeated_corpus(articles: list[dict], out: Path, n_articles: int = 4_100, per_article: int = 25) -> list[str]:
    """Write ``n_articles`` articles of ``per_article`` corpus paragraphs drawn at random, with their own ids.

    Returns the texts they are drawn from: the paragraphs and titles to embed once.
    """
    from framing.text.paragraphs import split_blocks

    pool = [block for article in articles for block in split_blocks(article["text"]) if len(block) > 80]
    titles = [article["title"] for article in articles if article.get("title")]
    draw = random.Random(0)
    with out.open("w", encoding="utf-8") as stream:
        for i in range(n_articles):
            record = {"id": f"synthetic-{i}", "outlet": f"Outlet {i % 7}", "date": "2020-07-10",
                      "title": draw.choice(titles), "text": "\n\n".join(draw.sample(pool, per_article))}
            stream.write(json.dumps(record) + "\n")
    return list(dict.fromkeys(pool + titles))


def embedded_texts(inputs: Path, pipeline) -> tuple[list[str], int]:
    """The distinct texts scoring ``inputs`` embeds (kept paragraphs, and titles for a context model), and the number of paragraphs."""
    from framing.text.ingest import read_articles
    from framing.text.paragraphs import split_paragraphs

    paragraphs = split_paragraphs(read_articles([inputs]))
    texts = paragraphs["text"].tolist()
    if pipeline.context:
        texts += [t for t in paragraphs["title"] if isinstance(t, str) and t.strip()]
    return list(dict.fromkeys(texts)), len(paragraphs)


def load(model: str, cache: Path | None):
    from framing.training.tracking import load_pipeline

    return load_pipeline(model, cache_dir=cache)


def end_to_end_ratio(model: str, inputs: Path, work: Path, rounds: int) -> None:
    """(1) score_stream against bare SentenceTransformer.encode, alternating, each embedding afresh."""
    from framing.analysis.stream import score_stream

    pipeline = load(model, None)
    texts, n_paragraphs = embedded_texts(inputs, pipeline)
    body = pipeline.embedder._model  # the loaded SentenceTransformer (with any adapter merged)
    body.encode(texts[:64], batch_size=pipeline.embedder.batch_size, normalize_embeddings=True)
    bare, whole = [], []
    for r in range(rounds):
        start = time.perf_counter()
        body.encode(texts, batch_size=pipeline.embedder.batch_size, normalize_embeddings=True)
        bare.append(n_paragraphs / (time.perf_counter() - start))
        fresh = load(model, work / f"fresh-cache-{r}")
        fresh.embedder.__dict__["_model"] = body  # the same loaded weights; the cache starts empty
        start = time.perf_counter()
        score_stream([inputs], fresh, work / f"scored-{r}.jsonl")
        whole.append(n_paragraphs / (time.perf_counter() - start))
        print(f"  round {r + 1}: bare encode {bare[-1]:.1f} paragraphs/s, framing score {whole[-1]:.1f} paragraphs/s")
    ratio = statistics.median(w / b for w, b in zip(whole, bare))
    print(f"(1) {n_paragraphs} paragraphs ({len(texts)} texts embedded): framing score / bare encode = {ratio:.3f} "
          f"(median of {rounds} alternating rounds; target >= 0.9)")


def cached_rescoring(model: str, inputs: Path, cache: Path, work: Path) -> None:
    """(2) the model's path and the whole command over paragraphs already in the cache."""
    from framing.analysis.score import score_paragraphs
    from framing.analysis.stream import score_stream
    from framing.text.ingest import iter_articles
    from framing.text.paragraphs import split_paragraphs

    pipeline = load(model, cache)
    batch = next(iter_articles([inputs], batch=500))
    paragraphs = split_paragraphs(batch)
    score_paragraphs(paragraphs, pipeline)  # any text not yet cached is embedded here, outside the timing
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        score_paragraphs(paragraphs, pipeline)
        rates.append(len(paragraphs) / (time.perf_counter() - start))
    print(f"(2) re-scoring {len(paragraphs):,} cached paragraphs, model path (cache lookups, features, head): "
          f"{statistics.median(rates):,.0f} paragraphs/s, median of 5 (min {min(rates):,.0f}; target >= 20,000)")
    start = time.perf_counter()
    articles, n = score_stream([inputs], pipeline, work / "rescored.jsonl")
    print(f"    whole framing score from the cache (read, split, boilerplate, model path, write): "
          f"{n / (time.perf_counter() - start):,.0f} paragraphs/s over {n:,} paragraphs")


def warm(model: str, texts: list[str], cache: Path) -> None:
    """Embed every text the repeated corpus is drawn from once, so (2) and (3) read them from the cache."""
    pipeline = load(model, cache)
    start = time.perf_counter()
    pipeline.embedder.encode(texts)
    print(f"    cache warmed with {len(texts):,} distinct texts in {time.perf_counter() - start:.0f} s")


def peak_memory(model: str, inputs: Path, cache: Path, work: Path) -> None:
    """(3) ``framing score`` over ``inputs`` as its own process, its peak RSS read from ``/proc``.

    ``VmHWM`` is the process's own high-water mark since its ``exec``, read every 50 ms until it
    exits; ``wait4``'s ``ru_maxrss`` would not do: Linux folds the parent's peak into the child's at ``exec``.
    """
    framing = Path(sys.executable).with_name("framing")
    out = work / "scored-100k.parquet"
    env = {**os.environ, "FRAMING_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    start = time.perf_counter()
    process = subprocess.Popen([str(framing), "score", str(inputs), "-m", model, "-o", str(out)], env=env,
                               stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _high_water_kb(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"framing score failed (exit {process.returncode})")
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(out).metadata.num_rows
    print(f"(3) framing score of {rows:,} paragraphs (4,100 articles, from the cache): peak RSS "
          f"{peak / 1024 ** 2:.2f} GB (target < 2 GB), {seconds:.0f} s with start-up, {rows / seconds:,.0f} paragraphs/s")


def _high_water_kb(pid: int) -> int:
    """The peak resident set size of process ``pid`` so far, in kB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(config.MODEL_DIR), help="model folder (any trained model)")
    parser.add_argument("--corpus", type=Path, default=config.CORPUS_PATH)
    parser.add_argument("--paragraphs", type=int, default=1_000, help="fresh paragraphs for (1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", default="", help="parts to leave out, e.g. 1 or 13")
    parser.add_argument("--cache", type=Path, help="embedding cache folder to keep between runs (default: a temporary one)")
    args = parser.parse_args()
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    articles = corpus_articles(args.corpus)
    with tempfile.TemporaryDirectory(prefix="framing-benchmark-") as folder:
        work = Path(folder)
        print(f"model {args.model}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        if "1" not in args.skip:
            end_to_end_ratio(args.model, first_articles(articles, args.paragraphs, work / "first.jsonl"), work, args.rounds)
        repeated = work / "repeated.jsonl"
        drawn = repeated_corpus(articles, repeated)
        cache = args.cache or work / "cache"
        if "2" not in args.skip or "3" not in args.skip:
            warm(args.model, drawn, cache)
        if "2" not in args.skip:
            cached_rescoring(args.model, repeated, cache, work)
        if "3" not in args.skip:
            peak_memory(args.model, repeated, cache, work)
        print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
