"""Score paragraphs with a trained frame model and write the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from framing.files import atomic_path, writable_file
from framing.model.features import with_neighbours
from framing.model.pipeline import FramingPipeline
from framing.schema import SCORED_COLUMNS, FramingError, require_columns

OUTPUT_COLUMNS = SCORED_COLUMNS
TABLE_FORMATS = (".jsonl", ".csv", ".parquet")


def score_paragraphs(paragraphs: pd.DataFrame, pipeline: FramingPipeline, *, progress: bool = False) -> pd.DataFrame:
    """Frame probabilities of each paragraph.

    Parameters
    ----------
    paragraphs : DataFrame with ``article_id, outlet, date, paragraph_index, text`` (and
        ``title``, for a context model), the kept paragraphs of whole articles.
    pipeline : a loaded :class:`~framing.model.pipeline.FramingPipeline`.

    Returns
    -------
    The paragraph columns, a probability column per frame, ``frames`` (list of
    frames passing their thresholds) and ``primary_frame`` (the most probable of
    those, or ``"none"``).
    """
    require_columns(paragraphs, OUTPUT_COLUMNS, step="score")
    framed = with_neighbours(paragraphs.reset_index(drop=True))
    out = pipeline.predict_frame(framed, progress=progress)
    scored = paragraphs[list(OUTPUT_COLUMNS)].reset_index(drop=True).join(out)
    proba = out[pipeline.frames].to_numpy()
    passed = np.zeros(proba.shape, dtype=bool)
    for i, frames in enumerate(out["frames"]):
        passed[i, [pipeline.frames.index(f) for f in frames]] = True
    masked = np.where(passed, proba, -1.0)
    best = masked.argmax(axis=1) if len(masked) else np.zeros(0, dtype=int)
    scored["primary_frame"] = np.where(passed.any(axis=1), np.array(pipeline.frames, dtype=object)[best], "none")
    return scored


def check_table_path(path: str | Path) -> Path:
    """Refuse, before any work, a table path of unknown format, one that is a folder, or one whose folder's parent is missing."""
    path = Path(path)
    if path.is_dir():
        raise FramingError(f"{path} is a folder; give a file path such as {path / 'scored.jsonl'}")
    if path.suffix.lower() not in TABLE_FORMATS:
        raise FramingError(f"{path}: unknown output format {path.suffix.lower()!r}; use one of {', '.join(TABLE_FORMATS)}")
    return writable_file(path)


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` as JSONL, CSV or Parquet by suffix, atomically."""
    path = check_table_path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".jsonl":
            table.to_json(tmp, orient="records", lines=True, force_ascii=False)
        elif suffix == ".csv":
            flat = table.copy()
            if "frames" in flat:
                flat["frames"] = [";".join(f) for f in flat["frames"]]
            flat.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    return path
