"""How a model variant is measured: one metric vocabulary, grouped cross-validation that resumes, the test part.

The vocabulary, the same in prints, mlflow and ``head.json``:

- ``macro_f1``: the unweighted mean over frames of each frame's F1 (a frame never
  predicted and never present counts 0), :func:`macro_f1`;
- ``dev_*``: grouped cross-validation on the train/dev articles. ``dev_macro_f1`` is
  the mean of the folds' macro-F1 (``dev_macro_f1_std`` their spread);
  ``dev_<frame>_f1`` and ``dev_<frame>_ece`` pool every fold's held-out paragraphs;
- ``test_*``: the held-back test articles of ``data/split.csv``, scored once by the
  model fitted on all train/dev paragraphs;
- ``ece``: expected calibration error, :func:`expected_calibration_error`.

Each fold's held-out scores are recorded in a :class:`FoldStore` the moment the fold
finishes, keyed by the variant's spec, the number of folds and the data's digest, so an
interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from framing import config
from framing.files import atomic_path
from framing.frames import FrameScheme
from framing.schema import FramingError
from framing.training.labels import frame_matrix, labelled_paragraphs
from framing.training.variants import Variant, build

SPEED_SAMPLE = 128


def macro_f1(Y: np.ndarray, P: np.ndarray) -> float:
    """The project's macro-F1: the unweighted mean over frames of each frame's F1."""
    return float(f1_score(Y, P, average="macro", zero_division=0))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over equal-width probability bins, weighted by bin size."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    which = np.clip(np.digitize(p, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    gap = np.abs(np.bincount(which, y, minlength=bins) - np.bincount(which, p, minlength=bins))
    return float(gap.sum() / max(len(p), 1))


def frame_metrics(Y: np.ndarray, proba: np.ndarray, P: np.ndarray, frames: list[str], prefix: str) -> dict[str, float]:
    """``{prefix}_macro_f1`` and per frame ``{prefix}_{frame}_precision|recall|f1|ece``."""
    precision, recall, f1, _ = precision_recall_fscore_support(Y, P, average=None, zero_division=0, labels=range(len(frames)))
    metrics = {f"{prefix}_macro_f1": macro_f1(Y, P)}
    for j, name in enumerate(frames):
        metrics |= {
            f"{prefix}_{name}_precision": float(precision[j]),
            f"{prefix}_{name}_recall": float(recall[j]),
            f"{prefix}_{name}_f1": float(f1[j]),
            f"{prefix}_{name}_ece": expected_calibration_error(Y[:, j], proba[:, j]),
        }
    return metrics


@dataclass(frozen=True)
class LabelledData:
    """The labelled paragraphs as ``data/split.csv`` divides them.

    ``dev`` (train/dev articles, for cross-validation and the final fit) and ``test``
    are DataFrames with ``article_id, paragraph_index, text_hash, outlet, title, text,
    previous_text, next_text, frames``; ``Y`` and ``Y_test`` their frame indicators in
    the order of ``frames``.
    """

    dev: pd.DataFrame
    Y: np.ndarray
    test: pd.DataFrame
    Y_test: np.ndarray
    frames: list[str]
    all: pd.DataFrame = field(repr=False)

    @classmethod
    def load(cls, scheme: FrameScheme, *, labels=(), corpus: Path | None = config.CORPUS_PATH, frames=()) -> "LabelledData":
        """Read the label files (default: every file in ``data/labels/``) with their text; ``frames`` selects a subset."""
        data = labelled_paragraphs(scheme, labels=labels or None, corpus=corpus)
        names = scheme.check(frames, where="frames") if frames else scheme.names
        Y = frame_matrix(data["frames"], names)
        is_test = (data["split"] == "test").to_numpy()
        return cls(data[~is_test].reset_index(drop=True), Y[~is_test], data[is_test].reset_index(drop=True), Y[is_test], names, data)

    @property
    def groups(self) -> np.ndarray:
        return self.dev["article_id"].to_numpy()

    @property
    def digest(self) -> str:
        """What the labelled data is: keys, frames and split of every paragraph (16 hex)."""
        keys = self.all[["article_id", "paragraph_index", "text_hash", "split"]].astype(str).agg("|".join, axis=1)
        frames = [";".join(f) for f in self.all["frames"]]
        payload = "\n".join(f"{k}|{f}" for k, f in zip(keys, frames)) + "\n" + ",".join(self.frames)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def folds(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``n`` grouped folds of ``dev``: an article's paragraphs never straddle two."""
        n = min(n, len(set(self.groups)))
        if n < 2:
            raise FramingError("cross-validation needs labelled paragraphs from at least two articles")
        return list(GroupKFold(n_splits=n).split(self.dev, groups=self.groups))


@dataclass
class FoldResult:
    """What one fold's model said about the articles it never saw."""

    fold: int
    test_idx: np.ndarray
    proba: np.ndarray
    thresholds: np.ndarray
    seconds: float

    @property
    def pred(self) -> np.ndarray:
        return (self.proba >= self.thresholds).astype(int)


class FoldStore:
    """Held-out scores of finished folds on disk, one ``.npz`` per fold, written atomically."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @staticmethod
    def key(variant: Variant, data: LabelledData, n_folds: int) -> str:
        spec = json.dumps({**variant.spec(), "folds": n_folds, "data": data.digest, "frames": data.frames}, sort_keys=True)
        return hashlib.sha256(spec.encode()).hexdigest()[:16]

    def _path(self, key: str, fold: int) -> Path:
        return self.directory / key / f"fold{fold}.npz"

    def get(self, key: str, fold: int) -> FoldResult | None:
        path = self._path(key, fold)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as saved:
            return FoldResult(fold, saved["test_idx"], saved["proba"], saved["thresholds"], float(saved["seconds"]))

    def put(self, key: str, result: FoldResult, variant: Variant) -> None:
        self._path(key, 0).parent.mkdir(parents=True, exist_ok=True)
        spec = self._path(key, 0).with_name("variant.json")
        if not spec.exists():
            spec.write_text(json.dumps(variant.spec(), indent=2) + "\n")
        with atomic_path(self._path(key, result.fold)) as tmp:
            with open(tmp, "wb") as out:
                np.savez(out, test_idx=result.test_idx, proba=result.proba, thresholds=result.thresholds, seconds=result.seconds)


@dataclass
class Evaluation:
    """A variant's cross-validation, its refit on all train/dev paragraphs, and the figures of both."""

    variant: Variant
    folds: list[FoldResult]
    model: object
    metrics: dict[str, float]
    held_out: np.ndarray
    """Pooled held-out probabilities, shape ``(n_dev, n_frames)``."""

    @property
    def fold_macro_f1(self) -> list[float]:
        return [self.metrics[f"fold{f.fold}_macro_f1"] for f in self.folds]


def evaluate(
    variant: Variant,
    data: LabelledData,
    scheme: FrameScheme,
    *,
    n_folds: int = 5,
    store: FoldStore | None = None,
    speed: bool = True,
    on_step: Callable[[str], None] | None = None,
    progress: bool = False,
) -> Evaluation:
    """Grouped cross-validation of ``variant``, resumed from ``store``, then a refit on all of ``data.dev``.

    A variant that learns its features from the labels is calibrated on the folds'
    held-out scores (cross-fitting), as its own inner scores are too sure. ``on_step``
    hears each finished step (``"fold 1/5"``, ..., ``"final fit"``).
    """
    on_step = on_step or (lambda step: None)
    splits = data.folds(n_folds)
    key = FoldStore.key(variant, data, len(splits)) if store else ""
    results = []
    for fold, (fit_idx, test_idx) in enumerate(splits):
        done = store.get(key, fold) if store else None
        if done is None or not np.array_equal(done.test_idx, test_idx):
            started = time.perf_counter()
            model = build(variant, scheme, progress=progress).fit(data.dev.iloc[fit_idx], data.Y[fit_idx], data.groups[fit_idx])
            done = FoldResult(fold, test_idx, model.predict_proba(data.dev.iloc[test_idx]), model.thresholds_, time.perf_counter() - started)
            if store:
                store.put(key, done, variant)
        results.append(done)
        on_step(f"fold {fold + 1}/{len(splits)}")
    held_out = np.zeros(data.Y.shape)
    pred = np.zeros_like(data.Y)
    for done in results:
        held_out[done.test_idx], pred[done.test_idx] = done.proba, done.pred
    started = time.perf_counter()
    final = build(variant, scheme, progress=progress).fit(data.dev, data.Y, data.groups)
    if variant.learns_features:
        final.recalibrate(held_out, data.Y, source=f"held-out scores of the {len(splits)} cross-validation folds")
    on_step("final fit")
    fold_f1 = [macro_f1(data.Y[d.test_idx], d.pred) for d in results]
    metrics = frame_metrics(data.Y, held_out, pred, data.frames, "dev")
    metrics |= {
        "dev_macro_f1": float(np.mean(fold_f1)),
        "dev_macro_f1_std": float(np.std(fold_f1)),
        "dev_max_ece": max(metrics[f"dev_{n}_ece"] for n in data.frames),
        "train_seconds": time.perf_counter() - started,
        "cv_seconds": float(sum(d.seconds for d in results)),
        **{f"fold{d.fold}_macro_f1": f for d, f in zip(results, fold_f1)},
    }
    if speed:
        metrics["scoring_paragraphs_per_second"] = scoring_speed(final, data.dev)
    return Evaluation(variant, results, final, metrics, held_out)


def test_metrics(model, data: LabelledData) -> dict[str, float]:
    """``test_*`` figures of a fitted model on the held-back test articles; empty when there are none."""
    if not len(data.test):
        return {}
    proba = model.predict_proba(data.test)
    return frame_metrics(data.Y_test, proba, (proba >= model.thresholds_).astype(int), data.frames, "test")


test_metrics.__test__ = False  # a function of the package, not a pytest test


def scoring_speed(model, frame: pd.DataFrame) -> float:
    """Paragraphs per second on new text: embeddings computed afresh, not read from the cache."""
    sample = frame.head(SPEED_SAMPLE)
    embedder = getattr(model, "embedder_", None) or getattr(model, "embedder", None)
    started = time.perf_counter()
    if embedder is None:
        model.predict_proba(sample)
    else:
        with embedder.uncached():
            model.predict_proba(sample)
    return len(sample) / max(time.perf_counter() - started, 1e-9)
