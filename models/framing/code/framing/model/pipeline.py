"""A trained framing model, whole: embedder, features and frame classifier, and its one saved form.

:class:`FramingPipeline` is the only code that writes or reads a model's head
folder (``head.npz`` + ``head.json``, with ``words.*`` and ``adapter.*`` when the
model has word features or a fine-tuned body). Training builds one, the pyfunc
wraps one, and ``framing score`` loads one: all three predict through
:meth:`FramingPipeline.predict_frame`, so they cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from framing.model.classifier import HEAD_META, FrameClassifier
from framing.model.embed import Embedder
from framing.model.features import CONTEXT_COLUMNS, WordFeatures, paragraph_features
from framing.model.tune import LoraAdapter
from framing.files import DAMAGED, model_file, read_model_json
from framing.schema import FramingError

CALIBRATED_IN_FIT = "inner out-of-fold scores"


class FramingPipeline:
    """Paragraph texts in, frame probabilities and frames out.

    Parameters
    ----------
    embedder : :class:`~framing.model.embed.Embedder`, with its fine-tuned adapter if any.
    classifier : fitted :class:`~framing.model.classifier.FrameClassifier`.
    frames : frame names, in the classifier's column order.
    context : whether features include the headline's and neighbours' embeddings
        (input columns ``title``, ``previous_text``, ``next_text``).
    words : fitted :class:`~framing.model.features.WordFeatures`, or ``None``.
    meta : provenance written to ``head.json`` (codebook, run id, metrics, calibration, ...).
    """

    def __init__(self, embedder: Embedder, classifier: FrameClassifier, frames, *, context: bool = False,
                 words: WordFeatures | None = None, meta: dict | None = None):
        self.embedder = embedder
        self.classifier = classifier
        self.frames = list(frames)
        self.context = context
        self.words = words
        self.meta = dict(meta or {})

    @property
    def thresholds_(self) -> np.ndarray:
        """Per-frame probability cuts, shape ``(n_frames,)``."""
        return self.classifier.thresholds_

    def features(self, frame: pd.DataFrame, *, progress: bool = False):
        """The classifier's input for the paragraphs of ``frame`` (column ``text``, optionally the context columns)."""
        return paragraph_features(self.embedder, frame, context=self.context, words=self.words, progress=progress)

    def predict_proba(self, frame: pd.DataFrame, *, progress: bool = False) -> np.ndarray:
        """Probability of each frame, shape ``(n_paragraphs, n_frames)``."""
        if not len(frame):
            return np.zeros((0, len(self.frames)))
        return self.classifier.predict_proba(self.features(frame, progress=progress))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Frame indicators, shape ``(n_paragraphs, n_frames)``; a row of zeros carries no frame."""
        return (self.predict_proba(frame) >= self.thresholds_).astype(int)

    def predict_frame(self, frame: pd.DataFrame, *, progress: bool = False) -> pd.DataFrame:
        """The model's contract: a probability column per frame and ``frames``, the list of those passing their thresholds."""
        proba = self.predict_proba(frame, progress=progress)
        out = pd.DataFrame(proba, columns=self.frames)
        out["frames"] = [[f for f, on in zip(self.frames, row) if on] for row in proba >= self.thresholds_]
        return out

    @property
    def fingerprint(self) -> str:
        """A digest of everything that decides the output: frames, settings, the head's arrays, words and the embedder's weights."""
        import hashlib
        import json

        digest = hashlib.sha256(json.dumps(
            {"frames": self.frames, "context": self.context, "embedder": self.embedder.identity,
             "words": [self.words.weight, self.words.size] if self.words else None},
            sort_keys=True,
        ).encode())
        arrays = [self.classifier.coef_, self.classifier.intercept_, self.thresholds_]
        if self.words is not None:
            arrays.append(self.words.vectorizer_.idf_)
        for array in arrays:
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return digest.hexdigest()[:16]

    @property
    def input_columns(self) -> list[str]:
        """The columns :meth:`predict_frame` reads."""
        return ["text", *CONTEXT_COLUMNS] if self.context else ["text"]

    def save(self, directory: Path) -> Path:
        """Write the head folder: classifier arrays, metadata, word features and adapter."""
        directory = Path(directory)
        self.classifier.save(
            directory,
            **self.meta,
            frames=self.frames,
            embedder=self.embedder.identity,
            features={"context": self.context, "words": self.words.weight if self.words else 0.0},
        )
        if self.words is not None:
            self.words.save(directory)
        if self.embedder.adapter is not None:
            self.embedder.adapter.save(directory)
        return directory

    @classmethod
    def load(cls, directory: Path, *, cache_dir: Path | None = None) -> "FramingPipeline":
        """The pipeline saved in ``directory``; refuses a damaged folder, or a head whose embedder here is not the one it was trained on."""
        directory = Path(directory)
        classifier, meta = FrameClassifier.load(directory)
        with model_file(directory / HEAD_META):
            frames = list(meta.pop("frames"))
            features = dict(meta.pop("features", {}))
            expected = {key: meta["embedder"][key] for key in ("name", "dimension", "fingerprint")} | meta.pop("embedder")
        embedder = Embedder(expected["name"], adapter=LoraAdapter.load(directory), cache_dir=cache_dir)
        pipeline = cls(embedder, classifier, frames, context=bool(features.get("context", False)),
                       words=WordFeatures.load(directory), meta=meta)
        pipeline._check(expected, directory)
        return pipeline

    def _check(self, expected: dict, directory: Path) -> None:
        found = self.embedder.identity
        if expected.get("adapter") and found.get("adapter") != expected["adapter"]:
            raise FramingError(
                f"{directory / HEAD_META}: the head was trained with LoRA adapter {expected['adapter']}, "
                f"but the folder holds {found.get('adapter') or 'none'}; {DAMAGED}"
            )
        if found["dimension"] != expected["dimension"]:
            raise FramingError(
                f"{directory / HEAD_META}: the head was trained on {expected['dimension']}-d embeddings from "
                f"{expected['name']!r}, but {expected['name']!r} here gives {found['dimension']}-d; "
                "install the embedding model it was trained on, or train the model again"
            )
        parts = [f"{found['dimension']}-d embeddings" + (" x3 with context (paragraph, headline, neighbours)" if self.context else "")]
        width = found["dimension"] * (3 if self.context else 1)
        if self.words:
            parts.append(f"{self.words.size} word features of words.json")
            width += self.words.size
        if self.classifier.n_features_in_ != width:
            raise FramingError(
                f"{directory / 'head.npz'}: the head's weights take {self.classifier.n_features_in_} features, but head.json's settings "
                f"make {width} ({' + '.join(parts)}); the head's files do not belong together: {DAMAGED}"
            )
        if found["fingerprint"] != expected["fingerprint"]:
            raise FramingError(
                f"embedding model {expected['name']!r} here (fingerprint {found['fingerprint']}) is not "
                f"the one the head was trained on ({expected['fingerprint']}); retrain or install that model"
            )


def read_meta(directory: Path) -> dict:
    """The provenance a head folder records (``head.json``), without loading the model."""
    return read_model_json(Path(directory) / HEAD_META)
