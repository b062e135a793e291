"""Train the frame classifier on the labelled paragraphs, evaluate it, track it in mlflow.

A training run is one embedding variant of :mod:`framing.experiment`,
evaluated the same way: cross-validation grouped by article on the train/dev
articles (paragraphs of one article never straddle folds), plus the held-back
test articles of ``data/split.csv`` when there are any. The shipped model is
then fit on all train/dev paragraphs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from framing import config
from framing.embed import Embedder
from framing.experiment import Variant, evaluate_variant, score_test_part, split_parts
from framing.features import paragraph_features
from framing.frames import FrameScheme
from framing.labels import article_texts, attach_text, frame_matrix, label_files, load_label_files, test_articles
from framing.schema import FramingError


@dataclass(frozen=True)
class TrainConfig:
    """What a training run depends on; ``to_dict()`` is logged as the run's parameters."""

    codebook: Path = config.CODEBOOK_PATH
    labels: tuple[Path, ...] = ()
    corpus: Path = config.CORPUS_PATH
    embedder: str = config.DEFAULT_EMBEDDER
    C: float = 1.0
    class_weight: str | None = "balanced"
    calibrate: bool = True
    context: bool = False
    words: float = 0.0
    tune_epochs: int = 0
    folds: int = 5

    def __post_init__(self):
        if self.folds < 2:
            raise FramingError(f"The 'folds' parameter must be at least 2. Got {self.folds!r} instead.")
        self.variant()  # checks C, class_weight and words as an experiment variant's

    def variant(self) -> Variant:
        """The experiment variant this run trains."""
        return Variant(name="train", embedder=self.embedder, context=self.context, words=self.words,
                       C=self.C, class_weight=self.class_weight, calibrate=self.calibrate, tune_epochs=self.tune_epochs)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["labels"] = ",".join(str(p) for p in (self.labels or label_files()))
        return {k: str(v) for k, v in out.items()}


@dataclass
class TrainResult:
    run_id: str | None
    metrics: dict[str, float]
    per_frame: pd.DataFrame
    model_dir: Path
    n_paragraphs: int
    n_articles: int
    registered_version: str | None = None
    notes: list[str] = field(default_factory=list)


def load_training_data(cfg: TrainConfig, scheme: FrameScheme) -> pd.DataFrame:
    """Labelled news paragraphs with text, context, ``split`` and frame lists; boilerplate removed.

    Context (``previous_text``, ``next_text``) comes from the kept paragraphs of
    the whole article, as it will when the model scores new articles.
    """
    labels = load_label_files(cfg.labels or None, scheme)
    labels = labels[~labels["boilerplate"]]
    articles = article_texts(corpus=cfg.corpus)
    table = attach_text(labels, articles=articles)
    if not table.empty:
        table = _add_neighbours(table, articles[0])
    if table.empty:
        raise FramingError("no labelled paragraphs with text are available to train on")
    table["split"] = np.where(table["article_id"].isin(test_articles()), "test", "train")
    return table.reset_index(drop=True)


def _add_neighbours(table: pd.DataFrame, articles: dict[str, dict]) -> pd.DataFrame:
    import bisect

    from framing.paragraphs import split_paragraphs

    kept = split_paragraphs(pd.DataFrame([articles[a] for a in table["article_id"].unique()]))
    by_article = {a: (part["paragraph_index"].tolist(), part["text"].tolist()) for a, part in kept.groupby("article_id")}
    previous, following = [], []
    for article_id, index in zip(table["article_id"], table["paragraph_index"]):
        indices, texts = by_article.get(article_id, ([], []))
        at = bisect.bisect_left(indices, index)
        previous.append(texts[at - 1] if at > 0 else None)
        after = at + 1 if at < len(indices) and indices[at] == index else at
        following.append(texts[after] if after < len(indices) else None)
    return table.assign(previous_text=previous, next_text=following)


def per_frame_scores(Y: np.ndarray, P: np.ndarray, names: list[str]) -> pd.DataFrame:
    p, r, f, s = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    return pd.DataFrame({"frame": names, "precision": p, "recall": r, "f1": f, "support": s})


def pr_figure(Y: np.ndarray, proba: np.ndarray, names: list[str]):
    """Per-frame precision-recall curves of the out-of-fold probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax = plt.subplots(figsize=(6, 5))
    for j, name in enumerate(names):
        if Y[:, j].any():
            PrecisionRecallDisplay.from_predictions(Y[:, j], proba[:, j], name=name, ax=ax)
    ax.set_title("Cross-validated precision-recall per frame")
    return fig


def train(
    cfg: TrainConfig = TrainConfig(),
    *,
    output: Path = config.MODEL_DIR,
    tracking_uri: str | None = None,
    register: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Cross-validate, fit and save the frame model; log everything as one mlflow run."""
    from framing import tracking

    scheme = FrameScheme.load(cfg.codebook)
    embedder = Embedder(cfg.embedder)
    data = load_training_data(cfg, scheme)
    if not cfg.tune_epochs:
        paragraph_features(embedder, data, context=cfg.context, progress=progress)  # embed once; the folds read the cache
    parts = split_parts(data, frame_matrix(data["frames"], scheme.names), cfg.folds)
    Y, groups = parts.Y, parts.groups

    outcome = evaluate_variant(cfg.variant(), parts.dev, Y, groups, scheme, {cfg.embedder: embedder}, parts.folds,
                               speed=False, progress=progress)
    model, proba = outcome["model"], outcome["oof_proba"]
    scores = per_frame_scores(Y, outcome["oof_pred"], scheme.names)
    metrics = {"cv_macro_f1": float(scores["f1"].mean())}
    for row in scores.itertuples():
        metrics |= {f"cv_{row.frame}_{m}": float(getattr(row, m)) for m in ("precision", "recall", "f1")}
    metrics["fit_seconds"] = outcome["metrics"]["train_seconds"]
    metrics["cv_seconds"] = outcome["metrics"]["cv_seconds"]
    metrics |= score_test_part(model, parts.test, parts.Y_test, scheme.names)

    with tracking.run("train", tracking_uri=tracking_uri, tags={"codebook": scheme.name}) as mlflow:
        digest = tracking.log_labels(mlflow, data)
        mlflow.log_params(cfg.to_dict() | {"n_paragraphs": len(parts.dev), "n_articles": len(set(groups))})
        mlflow.log_metrics(metrics)
        mlflow.log_figure(pr_figure(Y, proba, scheme.names), "precision_recall.png")
        mlflow.log_table(scores, "per_frame_cv.json")
        run_id = mlflow.active_run().info.run_id
        version = model.save(output, scheme, log_to=mlflow, register=register, data_digest=digest, run_id=run_id,
                             metrics={k: round(v, 4) for k, v in metrics.items()})
    return TrainResult(
        run_id=run_id,
        metrics=metrics,
        per_frame=scores,
        model_dir=output,
        n_paragraphs=len(parts.dev),
        n_articles=len(set(groups)),
        registered_version=version,
    )
