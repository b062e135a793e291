"""The MLflow pyfunc face of a framing model (logged as "models from code"): a thin shim over
:class:`~framing.model.pipeline.FramingPipeline`.

``mlflow.pyfunc.load_model(path).predict(pd.DataFrame({"text": [...]}))`` returns one row per
text: a probability column per frame and ``frames``, the frames that pass their thresholds
(empty for none). Optional ``title``, ``previous_text`` and ``next_text`` columns give a context
model its context. Run-time settings come through mlflow's ``model_config``: ``cache_dir``, a
folder for the embedding cache (none by default).
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import set_model

from framing.model.pipeline import FramingPipeline
from framing.schema import FramingError


class FramingModel(mlflow.pyfunc.PythonModel):
    """The pipeline saved in the model's ``head`` artifact."""

    def load_context(self, context) -> None:
        cache_dir = (context.model_config or {}).get("cache_dir")
        self.pipeline = FramingPipeline.load(Path(context.artifacts["head"]), cache_dir=Path(cache_dir) if cache_dir else None)

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        return self.pipeline.predict_frame(as_input_frame(model_input))


def as_input_frame(model_input) -> pd.DataFrame:
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
