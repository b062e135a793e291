"""The model variants an experiment compares, each built from one :class:`Variant` spec.

Every built model has ``fit(frame, Y, groups)``, ``predict_proba(frame)`` and
``thresholds_``; ``frame`` is a DataFrame of paragraphs with ``text`` (and the
context columns). Only embedding variants become a shippable
:class:`~framing.model.pipeline.FramingPipeline`.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from framing import config
from framing.frames import FrameScheme
from framing.model.classifier import FrameClassifier, sigmoid
from framing.model.embed import Embedder, resolve_model_path
from framing.model.features import WordFeatures, word_vectorizer
from framing.model.pipeline import CALIBRATED_IN_FIT, FramingPipeline
from framing.schema import FramingError

KINDS = ("embedding", "tfidf", "zero_shot", "setfit")


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
    """Epochs of LoRA fine-tuning of the embedding body on the fold's labels (see :mod:`framing.model.tune`); 0 keeps it frozen."""
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

    @classmethod
    def from_dict(cls, entry: dict, *, where: str = "variant") -> "Variant":
        """A variant from a config entry, with its numbers as numbers (YAML reads ``5e-4`` as a string)."""
        if not isinstance(entry, dict) or "name" not in entry:
            raise FramingError(f"{where} needs a 'name'")
        types = {f.name: f.type for f in fields(cls)}
        bad = set(entry) - set(types)
        if bad:
            raise FramingError(f"{where}: variant {entry['name']!r} has unknown key {sorted(bad)[0]!r}")
        out = dict(entry)
        for key, value in entry.items():
            if types[key] in ("float", "int") and not isinstance(value, bool):
                try:
                    out[key] = float(value) if types[key] == "float" else int(value)
                except (TypeError, ValueError):
                    raise FramingError(f"variant {entry['name']!r}: {key!r} must be a number; got {value!r}") from None
        return cls(**out)

    def spec(self) -> dict:
        """What the variant computes: every setting but its name (the key of its recorded folds)."""
        return {k: v for k, v in asdict(self).items() if k != "name"}

    def params(self) -> dict[str, str]:
        """The variant's settings as mlflow parameters."""
        return {k: str(v) for k, v in asdict(self).items()}

    @property
    def learns_features(self) -> bool:
        """Are the features fitted to the labels (a fine-tuned body)? Then only held-out scores can calibrate the head."""
        return self.tune_epochs > 0 or self.kind == "setfit"

    @property
    def exportable(self) -> bool:
        """Can this variant be saved as the framing model?"""
        return self.kind == "embedding"


@functools.lru_cache(maxsize=None)
def shared_embedder(name: str) -> Embedder:
    """One embedder per model name in a process, so folds and variants share its loaded weights and cache."""
    return Embedder(name, cache_dir=config.cache_dir())


def build(variant: Variant, scheme: FrameScheme, *, progress: bool = False):
    """An unfitted model of ``variant``'s kind."""
    if variant.kind == "tfidf":
        return TfidfModel(variant)
    if variant.kind == "zero_shot":
        return ZeroShotModel(variant, shared_embedder(variant.embedder), scheme)
    if variant.kind == "setfit":
        return SetFitModel(variant)
    return EmbeddingModel(variant, shared_embedder(variant.embedder), scheme, progress=progress)


class EmbeddingModel:
    """Sentence embeddings (optionally with context and words) under the frame classifier.

    The body is frozen unless the variant sets ``tune_epochs``: then a LoRA adapter
    is first fine-tuned on the training paragraphs, and the features come from the
    adapted body. Fitting yields ``pipeline_``, the shippable model.
    """

    def __init__(self, variant: Variant, embedder: Embedder, scheme: FrameScheme, *, progress: bool = False):
        self.variant, self.embedder, self.scheme, self.progress = variant, embedder, scheme, progress

    def fit(self, frame: pd.DataFrame, Y: np.ndarray, groups: np.ndarray) -> "EmbeddingModel":
        v = self.variant
        embedder = self.embedder
        if v.tune_epochs:
            from framing.model.tune import fine_tune

            adapter = fine_tune(embedder, frame["text"], Y, epochs=v.tune_epochs, rank=v.tune_rank, lr=v.tune_lr, progress=self.progress)
            # each fit has its own body, so its embeddings are never reused: no cache
            embedder = Embedder(embedder.model, adapter=adapter, cache_dir=None, batch_size=embedder.batch_size)
        words = WordFeatures(weight=v.words).fit(frame["text"]) if v.words else None
        classifier = FrameClassifier(C=v.C, class_weight=v.class_weight, calibrate=v.calibrate)
        self.pipeline_ = FramingPipeline(embedder, classifier, self.scheme.names, context=v.context, words=words,
                                         meta={"codebook": self.scheme.name, "calibration": CALIBRATED_IN_FIT})
        classifier.fit(self.pipeline_.features(frame, progress=self.progress), Y, groups=groups)
        return self

    @property
    def embedder_(self) -> Embedder:
        return self.pipeline_.embedder

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(frame, progress=self.progress)

    @property
    def thresholds_(self) -> np.ndarray:
        return self.pipeline_.thresholds_

    def recalibrate(self, proba: np.ndarray, Y: np.ndarray, source: str) -> "EmbeddingModel":
        """Calibrate the head and set its thresholds on held-out scores ``proba`` (see :meth:`FrameClassifier.recalibrate`)."""
        self.pipeline_.classifier.recalibrate(proba, Y)
        self.pipeline_.meta["calibration"] = source
        return self


class TfidfModel:
    """The classic baseline: the project's TF-IDF of word uni- and bigrams, no embeddings."""

    def __init__(self, variant: Variant):
        self.variant = variant

    def fit(self, frame, Y, groups):
        self.vectorizer_ = word_vectorizer(min_df=2).fit(frame["text"])
        self.classifier_ = FrameClassifier(C=self.variant.C, class_weight=self.variant.class_weight, calibrate=self.variant.calibrate)
        self.classifier_.fit(self.vectorizer_.transform(frame["text"]), Y, groups=groups)
        return self

    def predict_proba(self, frame):
        return self.classifier_.predict_proba(self.vectorizer_.transform(frame["text"]))

    @property
    def thresholds_(self):
        return self.classifier_.thresholds_


class ZeroShotModel:
    """No labels: similarity to each frame's definition and examples, standardised on the texts seen."""

    def __init__(self, variant: Variant, embedder: Embedder, scheme: FrameScheme):
        self.variant, self.embedder = variant, embedder
        prototypes = []
        for frame in scheme.frames:
            mean = embedder.encode([frame.definition, *frame.include]).mean(axis=0)
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


class SetFitModel:
    """SetFit-style contrastive fine-tuning of the local body, then the frame classifier on its embeddings."""

    def __init__(self, variant: Variant):
        self.variant = variant

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
        self.body_ = model.model_body
        self.classifier_ = FrameClassifier(C=self.variant.C, class_weight=self.variant.class_weight, calibrate=self.variant.calibrate)
        self.classifier_.fit(self._encode(frame), Y, groups=groups)
        return self

    def _encode(self, frame):
        return self.body_.encode(frame["text"].tolist(), batch_size=32, normalize_embeddings=True)

    def predict_proba(self, frame):
        return self.classifier_.predict_proba(self._encode(frame))

    def recalibrate(self, proba, Y, source: str) -> "SetFitModel":
        self.classifier_.recalibrate(proba, Y)
        return self

    @property
    def thresholds_(self):
        return self.classifier_.thresholds_


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
