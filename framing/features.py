"""What the classifier sees of a paragraph: its embedding, optionally with its context.

With context, a paragraph's features are its own embedding, its headline's
and the mean of its neighbours' (the kept paragraphs before and after it),
concatenated. Training and serving both build features here, so they cannot
drift apart. Missing context (a bare text sent to the model) falls back to the
paragraph's own embedding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTEXT_COLUMNS = ("title", "previous_text", "next_text")


def with_neighbours(paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Add ``previous_text`` and ``next_text``: the kept paragraphs around each one in its article."""
    ordered = paragraphs.sort_values(["article_id", "paragraph_index"])
    grouped = ordered.groupby("article_id", sort=False)["text"]
    out = paragraphs.copy()
    out["previous_text"] = grouped.shift(1).reindex(paragraphs.index)
    out["next_text"] = grouped.shift(-1).reindex(paragraphs.index)
    return out


def _texts_or_none(frame: pd.DataFrame, column: str) -> list[str | None]:
    if column not in frame.columns:
        return [None] * len(frame)
    return [v if isinstance(v, str) and v.strip() else None for v in frame[column]]


def paragraph_features(embedder, frame: pd.DataFrame, *, context: bool = False, progress: bool = False) -> np.ndarray:
    """Feature matrix of shape ``(n, d)``, or ``(n, 3d)`` with context."""
    texts = frame["text"].tolist()
    if not context:
        return embedder.encode(texts, progress=progress)
    columns = {c: _texts_or_none(frame, c) for c in CONTEXT_COLUMNS}
    # neighbours are mostly the paragraphs themselves: embed every distinct text once
    distinct = list(dict.fromkeys([*texts, *(t for col in columns.values() for t in col if t is not None)]))
    lookup = dict(zip(distinct, embedder.encode(distinct, progress=progress)))
    own = np.stack([lookup[t] for t in texts]) if texts else np.zeros((0, embedder.dimension), dtype=np.float32)

    def column(name: str) -> np.ndarray:
        return np.stack([lookup[t] if t is not None else own[i] for i, t in enumerate(columns[name])]) if len(own) else own

    neighbours = (column("previous_text") + column("next_text")) / 2
    return np.hstack([own, column("title"), neighbours]).astype(np.float32)
