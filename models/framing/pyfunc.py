"""The MLflow pyfunc face of a framing model (logged as "models from code"): a thin shim over
:class:`~framing.model.pipeline.FramingPipeline`.

``mlflow.pyfunc.load_model(path).predict(pd.DataFrame({"text": [...]}))`` returns one row per
text: a probability column per frame and ``frames``, the frames that pass their thresholds
(empty for none). Optional ``title``, ``previous_text`` and ``next_text`` columns give a context
model its context. Run-time settings come through mlflow's ``model_config``: ``cache_dir``, a
folder for the embedding cache (none by default).

Bad input is refused with an ``MlflowException`` of ``INVALID_PARAMETER_VALUE``, which
``mlflow models serve`` answers with HTTP 400: a text that is not a string (a number, a list,
null) or is longer than :data:`MAX_TEXT_CHARS`. A blank text gets the probabilities the model
gives the empty text and no frames; no rows give no rows.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model

from framing.model.pipeline import FramingPipeline


MAX_TEXT_CHARS = 100_000
"""The longest text scored: ten times a long news article; longer ones are refused, not truncated."""


class FramingModel(mlflow.pyfunc.PythonModel):
    """The pipeline saved in the model's ``head`` artifact."""

    def load_context(self, context) -> None:
        cache_dir = (context.model_config or {}).get("cache_dir")
        self.pipeline = FramingPipeline.load(Path(context.artifacts["head"]), cache_dir=Path(cache_dir) if cache_dir else None)

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        frame = as_input_frame(model_input)
        out = self.pipeline.predict_frame(frame)
        out["frames"] = [[] if text == "" else frames for text, frames in zip(frame["text"], out["frames"])]
        return out


def as_input_frame(model_input) -> pd.DataFrame:
    """The input as a DataFrame with a string ``text`` column (blank texts made ``""``) and any context columns.

    Refuses, naming the record: no ``text`` column, a text that is not a string, a text over :data:`MAX_TEXT_CHARS`.
    """
    if isinstance(model_input, pd.DataFrame):
        if "text" not in model_input.columns:
            raise _invalid(f"input needs a 'text' column; found {[str(c) for c in model_input.columns]}")
        frame = model_input.reset_index(drop=True)
    elif isinstance(model_input, (pd.Series, list, tuple, np.ndarray)):
        frame = pd.DataFrame({"text": pd.Series(list(model_input), dtype=object)})
    else:
        raise _invalid(f"input must be a DataFrame with a 'text' column, got {type(model_input).__name__}")
    for row, value in enumerate(frame["text"]):
        _check_text(row, value)
    return frame.assign(text=[v if v.strip() else "" for v in frame["text"]])


def _check_text(row: int, value) -> None:
    """A text must be a string of at most :data:`MAX_TEXT_CHARS` characters."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise _invalid(f"record {row}: 'text' has {len(value):,} characters, over the limit of {MAX_TEXT_CHARS:,}; "
                           "send it as shorter paragraphs")
        return
    if pd.api.types.is_scalar(value) and pd.isna(value):
        raise _invalid(f"record {row}: 'text' is null; send a string (\"\" for an empty text)")
    raise _invalid(f"record {row}: 'text' must be a string, got {type(value).__name__} {_shown(value)}")


def _shown(value) -> str:
    """A short printable form of a bad value for a message."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _invalid(message: str) -> MlflowException:
    """An input error that mlflow's scoring server answers with HTTP 400 and ``message``."""
    return MlflowException.invalid_parameter_value(message)


set_model(FramingModel())
