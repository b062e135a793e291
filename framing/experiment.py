"""Compare frame models: every variant of a config is one mlflow run in one experiment.

A config (``experiments/NAME.yaml``) names the labelled data and a list of
variants. Each variant is cross-validated by article on the train/dev
articles; the comparison reports macro-F1 mean and standard deviation over
folds, per-frame F1, expected calibration error, training time and scoring
speed. :func:`choose_winner` picks the best dev macro-F1; the winner is refit
on all train/dev paragraphs, measured once on the test articles, saved to
``models/framing`` and registered as ``framing@champion``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from framing import config
from framing.embed import Embedder, resolve_model_path
from framing.features import WordFeatures, paragraph_features
from framing.frames import FrameScheme
from framing.labels import frame_matrix
from framing.model import FrameClassifier, sigmoid
from framing.schema import FramingError, read_yaml

KINDS = ("embedding", "tfidf", "zero_shot", "setfit")
SPEED_SAMPLE = 128


@dataclass(frozen=True)
class Variant:
    """One model to compare; ``kind`` says how paragraphs become features."""

    name: str
    kind: str = "embedding"
    embedder: str = config.DEFAULT_EMBEDDER
    context: bool = False
    words: float = 0.0
    """Weight of TF-IDF word features joined to the embeddings; 0 leaves them out."""
    C: float = 1.0
    class_weight: str | None = "balanced"
    calibrate: bool = True
    setfit_iterations: int = 1
    setfit_epochs: int = 1
    setfit_max_steps: int = -1
    tune_epochs: int = 0
    """Epochs of LoRA fine-tuning of the embedding body on the fold's labels (see :mod:`framing.tune`); 0 keeps it frozen."""
    tune_rank: int = 8
    tune_lr: float = 5e-4

    def __post_init__(self):
        if self.kind not in KINDS:
            raise FramingError(f"variant {self.name!r}: unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.words < 0 or (self.words and self.kind != "embedding"):
            raise FramingError(f"variant {self.name!r}: 'words' is a weight of 0 or more, for kind embedding; got {self.words!r}")
        if self.tune_epochs < 0 or (self.tune_epochs and self.kind != "embedding"):
            raise FramingError(f"variant {self.name!r}: 'tune_epochs' is 0 or more, for kind embedding; got {self.tune_epochs!r}")
        if self.tune_rank < 1 or not self.tune_lr > 0:
            raise FramingError(f"variant {self.name!r}: 'tune_rank' must be at least 1 and 'tune_lr' positive")
        if not self.C > 0:
            raise FramingError(f"variant {self.name!r}: The 'C' parameter must be positive. Got {self.C!r} instead.")
        if self.class_weight not in ("balanced", None):
            raise FramingError(f"variant {self.name!r}: 'class_weight' must be 'balanced' or None. Got {self.class_weight!r}.")

    @property
    def learns_features(self) -> bool:
        """Are the features fitted to the labels (a fine-tuned body)? Then only held-out scores can calibrate the head."""
        return self.tune_epochs > 0 or self.kind == "setfit"

    @property
    def exportable(self) -> bool:
        """Can this variant be saved as the pyfunc framing model?"""
        return self.kind == "embedding"


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment: data, folds and the variants to compare."""

    name: str
    variants: tuple[Variant, ...]
    codebook: Path = config.CODEBOOK_PATH
    labels: tuple[Path, ...] = ()
    corpus: Path = config.CORPUS_PATH
    frames: tuple[str, ...] = ()
    folds: int = 5
    seed: int = 0

    @classmethod
    def load(cls, path: str | Path) -> "ExperimentConfig":
        """Read and validate ``path``; every mistake is one clear :class:`FramingError`."""
        path = Path(path)
        raw = read_yaml(path, "experiment config")
        if not isinstance(raw, dict) or not raw.get("variants"):
            raise FramingError(f"{path}: an experiment config needs a list of 'variants'")
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise FramingError(f"{path}: unknown key {sorted(unknown)[0]!r}; expected {sorted(known)}")
        base = path.parent  # relative paths are relative to the config file
        variant_keys = {f.name for f in fields(Variant)}
        variants = []
        for i, entry in enumerate(raw["variants"], start=1):
            if not isinstance(entry, dict) or "name" not in entry:
                raise FramingError(f"{path}: variant {i} needs a 'name'")
            bad = set(entry) - variant_keys
            if bad:
                raise FramingError(f"{path}: variant {entry['name']!r} has unknown key {sorted(bad)[0]!r}")
            variants.append(Variant(**_typed(entry)))
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise FramingError(f"{path}: variant names repeat: {names}")

        def resolve(p) -> Path:
            return Path(p) if Path(p).is_absolute() else (base / p).resolve()

        cfg = cls(
            name=str(raw.get("name") or path.stem),
            variants=tuple(variants),
            codebook=resolve(raw.get("codebook", config.CODEBOOK_PATH)),
            labels=tuple(resolve(p) for p in raw.get("labels", ())),
            corpus=resolve(raw.get("corpus", config.CORPUS_PATH)),
            frames=tuple(raw.get("frames", ())),
            folds=int(raw.get("folds", 5)),
            seed=int(raw.get("seed", 0)),
        )
        scheme = FrameScheme.load(cfg.codebook)
        scheme.check(cfg.frames, where=f"{path}: frames")
        for variant in variants:
            if variant.kind != "tfidf":
                try:
                    resolve_model_path(variant.embedder)
                except FramingError as err:
                    raise FramingError(f"{path}: variant {variant.name!r}: {err}") from None
        if "corpus" in raw and not Path(cfg.corpus).exists():
            raise FramingError(f"{path}: corpus not found at {cfg.corpus}")
        return cfg


def _typed(entry: dict) -> dict:
    """A variant's YAML entry with its numbers as numbers (YAML reads ``5e-4`` as a string)."""
    kinds = {f.name: f.type for f in fields(Variant)}
    out = dict(entry)
    for key, value in entry.items():
        if kinds[key] in ("float", "int") and not isinstance(value, bool):
            try:
                out[key] = float(value) if kinds[key] == "float" else int(value)
            except (TypeError, ValueError):
                raise FramingError(f"variant {entry['name']!r}: {key!r} must be a number; got {value!r}") from None
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(error)


class EmbeddingModel:
    """Sentence embeddings (optionally with context and words) and the frame classifier.

    The body is frozen unless the variant sets ``tune_epochs``: then a LoRA
    adapter is first fine-tuned on the training paragraphs, and the features
    come from the adapted body.
    """

    def __init__(self, variant: Variant, embedder: Embedder, *, progress: bool = False):
        self.variant, self.embedder, self.progress = variant, embedder, progress
        self.words: WordFeatures | None = None
        self.calibration = "inner out-of-fold scores"

    def features(self, frame: pd.DataFrame):
        return paragraph_features(self.embedder, frame, context=self.variant.context, words=self.words, progress=self.progress)

    def fit(self, frame: pd.DataFrame, Y: np.ndarray, groups: np.ndarray) -> "EmbeddingModel":
        v = self.variant
        if v.tune_epochs:
            from framing.tune import fine_tune

            adapter = fine_tune(self.embedder, frame["text"], Y, epochs=v.tune_epochs, rank=v.tune_rank, lr=v.tune_lr, progress=self.progress)
            # each fit has its own body, so its embeddings are never reused: no cache
            self.embedder = Embedder(self.embedder.model, adapter=adapter, cache_dir=None, batch_size=self.embedder.batch_size)
        if v.words:
            self.words = WordFeatures(weight=v.words).fit(frame["text"])
        self.classifier = FrameClassifier(C=v.C, class_weight=v.class_weight, calibrate=v.calibrate)
        self.classifier.fit(self.features(frame), Y, groups=groups)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.classifier.predict_proba(self.features(frame))

    def recalibrate(self, proba: np.ndarray, Y: np.ndarray, source: str) -> "EmbeddingModel":
        """Calibrate the head and set its thresholds on held-out scores ``proba`` (see :meth:`FrameClassifier.recalibrate`)."""
        self.classifier.recalibrate(proba, Y)
        self.calibration = source
        return self

    @property
    def thresholds_(self) -> np.ndarray:
        return self.classifier.thresholds_

    def save(self, output: Path, scheme: FrameScheme, *, log_to=None, register: bool = True, **meta) -> str | None:
        """Write the fitted model as the pyfunc framing model at ``output``; ``meta`` goes into ``head.json``.

        With ``log_to`` (mlflow, in an active run) the same head is logged as the run's model and, unless
        ``register`` is false, registered as champion; returns the registered version. It is logged from
        the head written here, never re-read from ``output``, which a concurrent training may have replaced.
        """
        from framing import tracking

        with tempfile.TemporaryDirectory() as tmp:
            head = Path(tmp) / "head"
            self.classifier.save(
                head,
                frames=scheme.names,
                codebook=scheme.name,
                embedder=self.embedder.identity,
                features={"context": self.variant.context, "words": self.variant.words},
                calibration=self.calibration,
                **meta,
            )
            if self.words is not None:
                self.words.save(head)
            if self.embedder.adapter is not None:
                self.embedder.adapter.save(head)
            tracking.save_pyfunc(head, output)
            if log_to is not None:
                return tracking.log_and_register(log_to, head, register=register)
        return None


class TfidfModel(EmbeddingModel):
    """The classic baseline: TF-IDF word uni- and bigrams, no embeddings."""

    def __init__(self, variant: Variant, embedder=None):
        self.variant = variant

    def fit(self, frame, Y, groups):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, stop_words="english")
        self.vectorizer.fit(frame["text"])
        return super().fit(frame, Y, groups)

    def features(self, frame):
        return self.vectorizer.transform(frame["text"])


class ZeroShotModel(EmbeddingModel):
    """No labels: similarity to each frame's definition and examples, standardised on the texts seen."""

    def __init__(self, variant: Variant, embedder: Embedder, scheme: FrameScheme):
        super().__init__(variant, embedder)
        prototypes = []
        for frame in scheme.frames:
            vectors = embedder.encode([frame.definition, *frame.include])
            mean = vectors.mean(axis=0)
            prototypes.append(mean / np.linalg.norm(mean))
        self.prototypes = np.stack(prototypes)

    def fit(self, frame, Y=None, groups=None):
        similarity = self.embedder.encode(frame["text"].tolist()) @ self.prototypes.T
        self.mean_, self.std_ = similarity.mean(axis=0), similarity.std(axis=0) + 1e-9
        return self

    def predict_proba(self, frame):
        similarity = self.embedder.encode(frame["text"].tolist()) @ self.prototypes.T
        return sigmoid(2.0 * ((similarity - self.mean_) / self.std_ - 1.0))

    @property
    def thresholds_(self):
        return np.full(len(self.prototypes), 0.5)


class SetFitModel(EmbeddingModel):
    """SetFit-style contrastive fine-tuning of the local body, then the frame classifier on top."""

    def fit(self, frame, Y, groups):
        from datasets import Dataset
        from setfit import SetFitModel as Body
        from setfit import Trainer, TrainingArguments
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        path = str(resolve_model_path(self.variant.embedder))
        scratch = tempfile.mkdtemp(prefix="framing-setfit-")  # SetFit writes checkpoints; keep them out of the repo
        args = TrainingArguments(
            output_dir=scratch,
            save_strategy="no",
            num_iterations=self.variant.setfit_iterations,
            num_epochs=self.variant.setfit_epochs,
            max_steps=self.variant.setfit_max_steps,
            batch_size=16,
            max_length=128,
            seed=0,
            report_to="none",
            show_progress_bar=False,
        )
        dataset = Dataset.from_dict({"text": frame["text"].tolist(), "label": Y.tolist()})
        try:
            with _quiet_setfit():
                model = Body.from_pretrained(path, multi_target_strategy="one-vs-rest", local_files_only=True)
                trainer = Trainer(model=model, args=args, train_dataset=dataset)
                for printer in (PrinterCallback, ProgressCallback):
                    trainer.remove_callback(printer)
                trainer.train_embeddings(frame["text"].tolist(), Y.tolist(), args=args)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.body = model.model_body
        return super().fit(frame, Y, groups)

    def features(self, frame):
        return self.body.encode(frame["text"].tolist(), batch_size=32, normalize_embeddings=True)


@contextlib.contextmanager
def _quiet_setfit():
    """Silence SetFit's and datasets' per-step logs and bars, which would bury the experiment's own output."""
    import datasets
    from setfit import logging as setfit_logging

    verbosity, bars = setfit_logging.get_verbosity(), datasets.is_progress_bar_enabled()
    setfit_logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pin_memory.*")
            yield
    finally:
        setfit_logging.set_verbosity(verbosity)
        if bars:
            datasets.enable_progress_bars()


def build(variant: Variant, scheme: FrameScheme, embedders: dict[str, Embedder], *, progress: bool = False):
    if variant.kind == "tfidf":
        return TfidfModel(variant)
    if variant.embedder not in embedders:
        embedders[variant.embedder] = Embedder(variant.embedder)
    embedder = embedders[variant.embedder]
    if variant.kind == "zero_shot":
        return ZeroShotModel(variant, embedder, scheme)
    if variant.kind == "setfit":
        return SetFitModel(variant, embedder)
    return EmbeddingModel(variant, embedder, progress=progress)


def cross_validate(variant, data, Y, groups, scheme, embedders, folds: int, *, progress: bool = False) -> dict:
    """Grouped cross-validation of one variant: each fold's model scores the articles it never saw.

    Returns the held-out ``oof_proba`` and ``oof_pred`` (at each fold model's thresholds),
    ``fold_macro_f1`` and ``cv_seconds``.
    """
    proba = np.zeros(Y.shape)
    pred = np.zeros_like(Y)
    fold_f1 = []
    started = time.perf_counter()
    for fit_idx, test_idx in GroupKFold(n_splits=folds).split(data, groups=groups):
        model = build(variant, scheme, embedders, progress=progress).fit(data.iloc[fit_idx], Y[fit_idx], groups[fit_idx])
        proba[test_idx] = model.predict_proba(data.iloc[test_idx])
        pred[test_idx] = proba[test_idx] >= model.thresholds_
        fold_f1.append(f1_score(Y[test_idx], pred[test_idx], average="macro", zero_division=0))
    return {"oof_proba": proba, "oof_pred": pred, "fold_macro_f1": fold_f1, "cv_seconds": time.perf_counter() - started}


def evaluate_variant(variant, data, Y, groups, scheme, embedders, folds: int, *, speed: bool = True, progress: bool = False) -> dict:
    """Grouped cross-validation of one variant, then a refit on all of ``data``.

    A variant that learns its features from the labels is calibrated on the folds'
    held-out scores (cross-fitting), as its own inner scores are too sure.
    Returns ``metrics`` (fold macro-F1 mean and std, pooled per-frame F1 and ECE,
    timings, and with ``speed`` the scoring speed on fresh text), the refit
    ``model``, and what :func:`cross_validate` returns.
    """
    cv = cross_validate(variant, data, Y, groups, scheme, embedders, folds, progress=progress)
    proba, pred, fold_f1 = cv["oof_proba"], cv["oof_pred"], cv["fold_macro_f1"]
    started = time.perf_counter()
    final = build(variant, scheme, embedders, progress=progress).fit(data, Y, groups)
    if variant.learns_features:
        final.recalibrate(proba, Y, source=f"held-out scores of the {folds} cross-validation folds")
    metrics = {
        "dev_macro_f1": float(np.mean(fold_f1)),
        "dev_macro_f1_std": float(np.std(fold_f1)),
        "train_seconds": time.perf_counter() - started,
        "cv_seconds": cv["cv_seconds"],
    }
    if speed:
        metrics["scoring_paragraphs_per_second"] = scoring_speed(final, data)
    for j, name in enumerate(scheme.names):
        metrics[f"dev_{name}_f1"] = float(f1_score(Y[:, j], pred[:, j], zero_division=0))
        metrics[f"dev_{name}_ece"] = expected_calibration_error(Y[:, j], proba[:, j])
    metrics["dev_max_ece"] = max(metrics[f"dev_{n}_ece"] for n in scheme.names)
    return {"metrics": metrics, "model": final, **cv}


@dataclass
class Parts:
    """The labelled paragraphs as ``data/split.csv`` divides them: train/dev for CV and fitting, test for final figures."""

    dev: pd.DataFrame
    Y: np.ndarray
    groups: np.ndarray
    folds: int
    test: pd.DataFrame
    Y_test: np.ndarray


def split_parts(data: pd.DataFrame, Y_all: np.ndarray, folds: int) -> Parts:
    """Split ``data`` (with its indicators ``Y_all``) by its ``split`` column; ``folds`` is capped by the articles."""
    is_test = (data["split"] == "test").to_numpy()
    dev = data[~is_test].reset_index(drop=True)
    groups = dev["article_id"].to_numpy()
    folds = min(folds, len(set(groups)))
    if folds < 2:
        raise FramingError("cross-validation needs labelled paragraphs from at least two articles")
    return Parts(dev, Y_all[~is_test], groups, folds, data[is_test].reset_index(drop=True), Y_all[is_test])


def score_test_part(model, test: pd.DataFrame, Y_test: np.ndarray, names: list[str]) -> dict[str, float]:
    """Macro-F1 and per-frame F1 and ECE of a fitted ``model`` on the test part; empty without one."""
    if not len(test):
        return {}
    proba = model.predict_proba(test)
    pred = (proba >= model.thresholds_).astype(int)
    metrics = {"test_macro_f1": float(f1_score(Y_test, pred, average="macro", zero_division=0))}
    for j, name in enumerate(names):
        metrics[f"test_{name}_f1"] = float(f1_score(Y_test[:, j], pred[:, j], zero_division=0))
        metrics[f"test_{name}_ece"] = expected_calibration_error(Y_test[:, j], proba[:, j])
    return metrics


def scoring_speed(model, data: pd.DataFrame) -> float:
    """Paragraphs per second on new text: embeddings computed afresh, not read from the cache."""
    sample = data.head(SPEED_SAMPLE)
    embedder = getattr(model, "embedder", None)
    started = time.perf_counter()
    if embedder is None:
        model.predict_proba(sample)
    else:
        with embedder.uncached():
            model.predict_proba(sample)
    return len(sample) / max(time.perf_counter() - started, 1e-9)


def choose_winner(results: pd.DataFrame) -> str:
    """The rule: the highest dev macro-F1 among exportable variants; ties go to the faster scorer."""
    pool = results[results["exportable"]]
    if pool.empty:
        raise FramingError("no variant of this experiment can be saved as the framing model")
    best = pool.sort_values(["dev_macro_f1", "scoring_paragraphs_per_second"], ascending=False)
    return str(best.iloc[0]["variant"])


@dataclass
class ExperimentResult:
    table: pd.DataFrame
    winner: str | None
    test_metrics: dict = field(default_factory=dict)
    run_ids: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    """Each variant refit on all train/dev paragraphs, by name."""


def run_experiment(
    cfg: ExperimentConfig,
    *,
    tracking_uri: str | None = None,
    save_winner: bool = True,
    output: Path = config.MODEL_DIR,
    on_variant=None,
    progress: bool = False,
) -> ExperimentResult:
    """Evaluate every variant as an mlflow run; optionally ship the winner. ``progress`` shows bars on long steps."""
    from framing import tracking
    from framing.train import TrainConfig, load_training_data

    scheme = FrameScheme.load(cfg.codebook)
    names = list(cfg.frames) or scheme.names
    data = load_training_data(TrainConfig(codebook=cfg.codebook, labels=cfg.labels, corpus=cfg.corpus), scheme)
    Y_all = frame_matrix(data["frames"], scheme.names)[:, [scheme.names.index(n) for n in names]]
    scheme_view = FrameScheme(name=scheme.name, frames=tuple(f for f in scheme.frames if f.name in names))
    parts = split_parts(data, Y_all, cfg.folds)
    experiment_name = f"experiment-{cfg.name}"
    embedders: dict[str, Embedder] = {}
    rows, models, run_ids = [], {}, {}
    for variant in cfg.variants:
        with tracking.run(variant.name, tracking_uri=tracking_uri, experiment=experiment_name, tags={"kind": variant.kind}) as mlflow:
            digest = tracking.log_labels(mlflow, data)
            mlflow.log_params({k: str(v) for k, v in asdict(variant).items()} | {"folds": parts.folds, "n_paragraphs": len(parts.dev)})
            outcome = evaluate_variant(variant, parts.dev, parts.Y, parts.groups, scheme_view, embedders, parts.folds, progress=progress)
            mlflow.log_metrics(outcome["metrics"])
            held_out = parts.dev[["article_id", "paragraph_index"]].assign(**dict(zip(names, outcome["oof_proba"].T)))
            mlflow.log_table(held_out, "held_out_proba.json")
            for fold, value in enumerate(outcome["fold_macro_f1"]):
                mlflow.log_metric("fold_macro_f1", value, step=fold)
            run_ids[variant.name] = mlflow.active_run().info.run_id
        models[variant.name] = outcome["model"]
        rows.append({"variant": variant.name, "kind": variant.kind, "exportable": variant.exportable, **outcome["metrics"]})
        if on_variant:
            on_variant(rows[-1])
    table = pd.DataFrame(rows)
    winner = choose_winner(table) if save_winner else None
    test_metrics = {}
    if winner is not None:
        variant = next(v for v in cfg.variants if v.name == winner)
        model = models[winner]
        test_metrics = score_test_part(model, parts.test, parts.Y_test, names)
        ship_winner(model, variant, scheme_view, output=output, digest=digest, experiment=experiment_name,
                    tracking_uri=tracking_uri, test_metrics=test_metrics, dev_metrics=table.set_index("variant").loc[winner].to_dict(),
                    run_id=run_ids[winner])
    return ExperimentResult(table=table, winner=winner, test_metrics=test_metrics, run_ids=run_ids, models=models)


def ship_winner(model, variant, scheme, *, output, digest, experiment, tracking_uri, test_metrics, dev_metrics, run_id) -> None:
    """Save the winner as the pyfunc model and register it as champion, with its provenance."""
    from framing import tracking

    with tracking.run(f"champion-{variant.name}", tracking_uri=tracking_uri, experiment=experiment,
                      tags={"winner_of": experiment, "winner_run_id": run_id, "rule": "highest dev macro-F1"}) as mlflow:
        mlflow.log_metrics(test_metrics)
        mlflow.log_params({"variant": variant.name, "data_digest": digest})
        model.save(
            output,
            scheme,
            log_to=mlflow,
            data_digest=digest,
            experiment=experiment,
            variant=variant.name,
            run_id=run_id,
            metrics={k: round(float(v), 4) for k, v in {**test_metrics, "dev_macro_f1": dev_metrics["dev_macro_f1"]}.items()},
        )
