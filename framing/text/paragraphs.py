"""Split article bodies into normalised paragraphs and mark boilerplate.

A paragraph is a block of text between blank lines. Its ``paragraph_index`` is
its position among the article's non-empty blocks *before* anything is dropped,
so labels keyed by ``(article_id, paragraph_index, text_hash)`` stay valid
whatever the boilerplate detector decides.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import pandas as pd

from framing.schema import ARTICLE_COLUMNS, PARAGRAPH_COLUMNS, require_columns

_BLANK_LINE = re.compile(r"\n[ \t\u00a0\u200b]*\n")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def normalize_text(text: str) -> str:
    """NFKC-normalise, drop invisible characters and lines repeated within the
    block, and fold all white space to single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    lines: list[str] = []
    for line in text.splitlines():
        line = _SPACE.sub(" ", line).strip()
        if line and line not in lines:
            lines.append(line)
    return " ".join(lines)


def text_hash(text: str) -> str:
    """A short, stable fingerprint of a normalised paragraph (SHA-256, 16 hex)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()[:16]


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """Lower-cased word ``n``-grams of ``text``: the unit of extraction precision and recall."""
    tokens = _WORD.findall(text.lower())
    return {tuple(tokens[i : i + n]) for i in range(max(len(tokens) - n + 1, 1))}


def split_blocks(body: str) -> list[str]:
    """Normalised non-empty blocks of ``body`` in order; blank lines separate them."""
    blocks = (normalize_text(b) for b in _BLANK_LINE.split(body.replace("\r\n", "\n")))
    return [b for b in blocks if b]


def split_paragraphs(
    articles: pd.DataFrame,
    *,
    detector=None,
    keep_boilerplate: bool = False,
) -> pd.DataFrame:
    """One row per paragraph of each article.

    Parameters
    ----------
    articles : DataFrame with columns ``article_id, outlet, date, title, text``.
    detector : object with ``predict(texts) -> bool array`` marking boilerplate;
        the packaged :class:`framing.text.boilerplate.BoilerplateDetector` by default.
    keep_boilerplate : keep boilerplate rows (with ``is_boilerplate`` True) for
        inspection instead of dropping them.

    Returns
    -------
    DataFrame with columns ``article_id, outlet, date, title, paragraph_index,
    text, text_hash, is_boilerplate``. Exact repeats of an earlier paragraph of
    the same article are dropped.
    """
    require_columns(articles, ARTICLE_COLUMNS, step="split_paragraphs")
    if detector is None:
        from framing.text.boilerplate import BoilerplateDetector

        detector = BoilerplateDetector.load()
    rows = []
    for art in articles.itertuples(index=False):
        seen: set[str] = set()
        for index, block in enumerate(split_blocks(art.text)):
            if block in seen:
                continue
            seen.add(block)
            rows.append((art.article_id, art.outlet, art.date, art.title, index, block))
    paragraphs = pd.DataFrame(rows, columns=list(PARAGRAPH_COLUMNS))
    paragraphs["text_hash"] = [text_hash(t) for t in paragraphs["text"]]
    is_headline = paragraphs["text"] == paragraphs["title"].map(lambda t: normalize_text(t or ""))
    paragraphs["is_boilerplate"] = (
        detector.predict(paragraphs["text"].tolist()).astype(bool)
        if len(paragraphs)
        else pd.Series(dtype=bool)
    )
    paragraphs["is_boilerplate"] = _echoes_of_boilerplate(paragraphs) & ~is_headline
    if not keep_boilerplate:
        paragraphs = paragraphs[~paragraphs["is_boilerplate"]].reset_index(drop=True)
    return paragraphs


def _echoes_of_boilerplate(paragraphs: pd.DataFrame) -> pd.Series:
    """``is_boilerplate``, extended to paragraphs that open a boilerplate paragraph."""
    flags = paragraphs["is_boilerplate"].copy()
    for _, part in paragraphs.groupby("article_id", sort=False):
        furniture = part.loc[part["is_boilerplate"], "text"].tolist()
        for index, text in part.loc[~part["is_boilerplate"], "text"].items():
            if len(text) >= 20 and any(b != text and b.startswith(text) for b in furniture):
                flags[index] = True
    return flags
