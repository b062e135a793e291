"""How long training takes on 1,500 labelled paragraphs with cached embeddings (target: < 60 s).

The settings are the champion's: all-mpnet-base-v2 with context and word features.

Prints wall-clock seconds for (1) reading labels and cached embeddings, (2) fitting the shipped
classifier (per-frame heads, out-of-fold thresholds, calibration) and (3) the whole `framing train`
path (5-fold grouped CV, final fit, mlflow run, saved model), each with its ratio to a baseline run in
the same process: a plain one-vs-rest LogisticRegression on the same matrix.

Run: .venv/bin/python experiments/benchmark_training.py
"""

import tempfile
import time
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from framing import config
from framing.frames import FrameScheme
from framing.model.classifier import FrameClassifier
from framing.model.embed import Embedder
from framing.model.features import WordFeatures, join_words, paragraph_features
from framing.training.evaluation import LabelledData
from framing.training.experiment import run_experiment, single_variant
from framing.training.variants import Variant


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main(n: int = 1500) -> None:
    scheme = FrameScheme.load()
    variant = Variant(name="train", embedder="all-mpnet-base-v2", context=True, words=2.0)
    labelled = LabelledData.load(scheme)
    data = labelled.dev.head(n)
    embedder = Embedder(variant.embedder, cache_dir=config.cache_dir())
    paragraph_features(embedder, data, context=True)  # warm the cache: the benchmark is about training
    dense, load_s = timed(lambda: paragraph_features(embedder, data, context=True))
    X = join_words(dense, WordFeatures(weight=variant.words).fit(data["text"]), data["text"])
    Y = labelled.Y[:n]
    groups = data["article_id"].to_numpy()
    _, baseline_s = timed(lambda: OneVsRestClassifier(LogisticRegression(max_iter=2000)).fit(X, Y))
    _, fit_s = timed(lambda: FrameClassifier().fit(X, Y, groups=groups))
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        cfg = single_variant(variant)
        _, train_s = timed(lambda: run_experiment(cfg, tracking_uri=uri, candidates_dir=Path(tmp), folds_dir=None, speed=False))
    print(f"{len(data)} paragraphs, {X.shape[1]} features")
    print(f"baseline OvR logistic regression fit: {baseline_s:6.1f} s  (1.0x)")
    print(f"cached embeddings lookup:            {load_s:6.1f} s  ({load_s / baseline_s:.1f}x)")
    print(f"FrameClassifier.fit:                 {fit_s:6.1f} s  ({fit_s / baseline_s:.1f}x)")
    print(f"FrameClassifier.fit on {len(data)} paragraphs is the training the target is about (< 60 s)")
    print(f"whole `framing train` on all {len(labelled.dev)} train/dev paragraphs (5-fold CV + fit + mlflow run + saved model): "
          f"{train_s:.1f} s ({train_s / baseline_s:.1f}x)")


if __name__ == "__main__":
    main()
