"""The MLflow pyfunc face of a trained framing model (logged as "models from code").

``mlflow.pyfunc.load_model(path).predict(pd.DataFrame({"text": [...]}))`` returns
one row per text: a probability column per frame and ``frames``, the list of
frames that pass their thresholds (empty for none). Optional ``title``,
``previous_text`` and ``next_text`` columns give a context model its context. A
head saved with word features (``words.json``) joins them on; one saved with a LoRA
adapter (``adapter.json``) merges it into the packaged body. Loading refuses a head
trained on another embedding model, dimension or adapter.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import set_model

from framing.embed import Embedder
from framing.features import WordFeatures, paragraph_features
from framing.files import model_file
from framing.model import FrameClassifier
from framing.schema import FramingError
from framing.tune import LoraAdapter


class FramingModel(mlflow.pyfunc.PythonModel):
    """Embedder plus frame classifier, loaded from the model's ``head`` artifact."""

    def load_context(self, context) -> None:
        self.load_head(Path(context.artifacts["head"]))

    def load_head(self, directory: Path) -> "FramingModel":
        self.classifier, meta = FrameClassifier.load(directory)
        with model_file(directory / "head.json"):
            self.frames: list[str] = list(meta["frames"])
            self.context: bool = bool(meta.get("features", {}).get("context", False))
            expected = {key: meta["embedder"][key] for key in ("name", "dimension", "fingerprint")} | meta["embedder"]
        self.words = WordFeatures.load(directory)
        cache = os.environ.get("FRAMING_CACHE_DIR")
        adapter = LoraAdapter.load(directory)
        self.embedder = Embedder(expected["name"], adapter=adapter, cache_dir=Path(cache) if cache else None)
        found = self.embedder.identity
        if expected.get("adapter") and found.get("adapter") != expected["adapter"]:
            raise FramingError(
                f"model head was trained with LoRA adapter {expected['adapter']}, "
                f"but its folder holds {found.get('adapter') or 'none'}; save the model again from training"
            )
        if found["dimension"] != expected["dimension"]:
            raise FramingError(
                f"{directory / 'head.json'}: the head was trained on {expected['dimension']}-d embeddings from "
                f"{expected['name']!r}, but {expected['name']!r} here gives {found['dimension']}-d; "
                "install the embedding model it was trained on, or train the model again"
            )
        self._check_width(directory, found["dimension"])
        if found["fingerprint"] != expected["fingerprint"]:
            raise FramingError(
                f"embedding model {expected['name']!r} here (fingerprint {found['fingerprint']}) is not "
                f"the one the head was trained on ({expected['fingerprint']}); retrain or install that model"
            )
        return self

    def _check_width(self, directory: Path, dimension: int) -> None:
        """The head's weights must cover exactly the features its settings make: embeddings (x3 with context) plus word columns."""
        parts = [f"{dimension}-d embeddings" + (" x3 with context (paragraph, headline, neighbours)" if self.context else "")]
        width = dimension * (3 if self.context else 1)
        if self.words:
            parts.append(f"{self.words.size} word features of words.json")
            width += self.words.size
        if self.classifier.n_features_in_ != width:
            raise FramingError(
                f"{directory / 'head.npz'}: the head's weights take {self.classifier.n_features_in_} features, but head.json's settings "
                f"make {width} ({' + '.join(parts)}); the head's files do not belong together: restore the model folder or train the model again"
            )

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        frame = _frame(model_input)
        X = paragraph_features(self.embedder, frame, context=self.context, words=self.words, progress=len(frame) > 200)
        proba = self.classifier.predict_proba(X)
        passed = proba >= self.classifier.thresholds_
        out = pd.DataFrame(proba, columns=self.frames)
        out["frames"] = [[f for f, on in zip(self.frames, row) if on] for row in passed]
        return out


def _frame(model_input) -> pd.DataFrame:
    """The input as a DataFrame with a string ``text`` column (and any context columns)."""
    if isinstance(model_input, pd.DataFrame):
        if "text" not in model_input.columns:
            raise FramingError(f"input needs a 'text' column; found {list(model_input.columns)}")
        frame = model_input.reset_index(drop=True)
    elif isinstance(model_input, (pd.Series, list, tuple, np.ndarray)):
        frame = pd.DataFrame({"text": list(model_input)})
    else:
        raise FramingError(f"input must be a DataFrame with a 'text' column, got {type(model_input).__name__}")
    return frame.assign(text=["" if v is None else str(v) for v in frame["text"]])


set_model(FramingModel())
