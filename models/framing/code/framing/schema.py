"""Column contracts of the DataFrames that flow between stages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

ARTICLE_COLUMNS = ("article_id", "outlet", "date", "title", "text")
PARAGRAPH_COLUMNS = ("article_id", "outlet", "date", "title", "paragraph_index", "text")
LABEL_KEY = ("article_id", "paragraph_index", "text_hash")
SCORED_COLUMNS = ("article_id", "outlet", "date", "paragraph_index", "text")
"""The paragraph columns of a scored table, before its per-frame probabilities, ``frames`` and ``primary_frame``."""


class FramingError(ValueError):
    """A problem with the user's input, reported as one line without a traceback."""


class FramingWarning(UserWarning):
    """Something the user should know, shown as one line by the CLI."""


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, step: str) -> None:
    """Raise :class:`FramingError` naming the missing columns of ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FramingError(
            f"{step} expected columns {sorted(columns)} but found {sorted(df.columns)}; "
            f"missing {missing}."
        )


def read_yaml(path: str | Path, what: str):
    """The parsed YAML of ``path``; a missing or malformed file is one :class:`FramingError`."""
    import yaml

    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FramingError(f"{path}: {what} not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise FramingError(f"{path}: not valid YAML ({err.__class__.__name__})") from None


def frame_columns(scored: pd.DataFrame) -> list[str]:
    """The per-frame probability columns of a scored table, in model order."""
    fixed = {*SCORED_COLUMNS, "frames", "primary_frame", "title", "url", "source", "text_hash", "is_boilerplate"}
    return [c for c in scored.columns if c not in fixed]
