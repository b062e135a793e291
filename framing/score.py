"""Score paragraphs with a trained frame model and write the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from framing.features import CONTEXT_COLUMNS, with_neighbours
from framing.files import atomic_path, writable_file
from framing.schema import FramingError, require_columns

OUTPUT_COLUMNS = ("article_id", "outlet", "date", "paragraph_index", "text")
TABLE_FORMATS = (".jsonl", ".csv", ".parquet")


def score_paragraphs(paragraphs: pd.DataFrame, model) -> pd.DataFrame:
    """Frame probabilities of each paragraph.

    Parameters
    ----------
    paragraphs : DataFrame with ``article_id, outlet, date, paragraph_index, text``.
    model : a loaded pyfunc framing model.

    Returns
    -------
    The paragraph columns, a probability column per frame, ``frames`` (list of
    frames passing their thresholds) and ``primary_frame`` (the most probable of
    those, or ``"none"``).
    """
    require_columns(paragraphs, OUTPUT_COLUMNS, step="score")
    framed = with_neighbours(paragraphs)
    columns = [c for c in ("text", *CONTEXT_COLUMNS) if c in framed.columns]
    out = model.predict(framed[columns].reset_index(drop=True))
    frames = [c for c in out.columns if c != "frames"]
    scored = paragraphs[list(OUTPUT_COLUMNS)].reset_index(drop=True).join(out)
    proba = scored[frames].to_numpy()
    masked = np.where([[f in row for f in frames] for row in scored["frames"]], proba, -1.0)
    scored["primary_frame"] = [
        frames[int(np.argmax(row))] if row.max() >= 0 else "none" for row in masked.reshape(len(scored), len(frames))
    ]
    return scored


def frame_columns(scored: pd.DataFrame) -> list[str]:
    """The per-frame probability columns of a scored table, in model order."""
    fixed = {*OUTPUT_COLUMNS, "frames", "primary_frame", "title", "text_hash", "is_boilerplate"}
    return [c for c in scored.columns if c not in fixed]


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
