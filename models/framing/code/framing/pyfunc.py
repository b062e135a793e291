"""The MLflow pyfunc face of a trained framing model (logged as "models from code").

``mlflow.pyfunc.load_model(path).predict(pd.DataFrame({"text": [...]}))`` returns
one row per text: a probability column per frame and ``frames``, the list of
frames that pass their thresholds (empty for none). Loading refuses a head
trained on another embedding model or dimension.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import set_model

from framing.embed import Embedder
from framing.model import FrameClassifier
from framing.schema import FramingError


class FramingModel(mlflow.pyfunc.PythonModel):
    """Embedder plus frame classifier, loaded from the model's ``head`` artifact."""

    def load_context(self, context) -> None:
        self.load_head(Path(context.artifacts["head"]))

    def load_head(self, directory: Path) -> "FramingModel":
        self.classifier, meta = FrameClassifier.load(directory)
        self.frames: list[str] = meta["frames"]
        expected = meta["embedder"]
        cache = os.environ.get("FRAMING_CACHE_DIR")
        self.embedder = Embedder(expected["name"], cache_dir=Path(cache) if cache else None)
        found = self.embedder.identity
        if found["dimension"] != expected["dimension"] or self.classifier.n_features_in_ != found["dimension"]:
            raise FramingError(
                f"model head expects {expected['dimension']}-d embeddings from {expected['name']!r}, "
                f"but that embedder gives {found['dimension']}-d"
            )
        if found["fingerprint"] != expected["fingerprint"]:
            raise FramingError(
                f"embedding model {expected['name']!r} here (fingerprint {found['fingerprint']}) is not "
                f"the one the head was trained on ({expected['fingerprint']}); retrain or install that model"
            )
        return self

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        texts = _texts(model_input)
        proba = self.classifier.predict_proba(self.embedder.encode(texts, progress=len(texts) > 200))
        passed = proba >= self.classifier.thresholds_
        out = pd.DataFrame(proba, columns=self.frames)
        out["frames"] = [[f for f, on in zip(self.frames, row) if on] for row in passed]
        return out


def _texts(model_input) -> list[str]:
    if isinstance(model_input, pd.DataFrame):
        if "text" not in model_input.columns:
            raise FramingError(f"input needs a 'text' column; found {list(model_input.columns)}")
        values = model_input["text"]
    elif isinstance(model_input, (pd.Series, list, tuple, np.ndarray)):
        values = model_input
    else:
        raise FramingError(f"input must be a DataFrame with a 'text' column, got {type(model_input).__name__}")
    return ["" if v is None else str(v) for v in values]


set_model(FramingModel())
