"""Split article bodies into normalised paragraphs and mark boilerplate.

A paragraph is a block of text between blank lines. Its ``paragraph_index`` is
its position among the article's non-empty blocks *before* anything is dropped,
so labels keyed by ``(article_id, paragraph_index, text_hash)`` stay valid
whatever the boilerplate detector decides.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from framing.schema import ARTICLE_COLUMNS, PARAGRAPH_COLUMNS, FramingError, FramingWarning, require_columns

_BLANK_LINE = re.compile(r"\n[ \t\u00a0\u200b]*\n")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def normalize_text(text: str) -> str:
    """NFKC-normalise, drop invisible characters and lines repeated within the
    block, and fold all white space to single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return " ".join(dict.fromkeys(line for line in lines if line))


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
    warn: Callable[[str], None] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """One row per paragraph of each article.

    Parameters
    ----------
    articles : DataFrame with columns ``article_id, outlet, date, title, text``.
    detector : object with ``predict(texts) -> bool array`` marking boilerplate;
        the packaged :class:`framing.text.boilerplate.BoilerplateDetector` by default.
    keep_boilerplate : keep boilerplate rows (with ``is_boilerplate`` True) for
        inspection instead of dropping them.
    warn : called with a one-line message naming each article left with no
        paragraphs; by default a :class:`~framing.schema.FramingWarning`.
    allow_empty : return no rows, rather than raise, when no article has a
        paragraph left (for one batch of a larger input).

    Returns
    -------
    DataFrame with columns ``article_id, outlet, date, title, paragraph_index,
    text, text_hash, is_boilerplate``. Exact repeats of an earlier paragraph of
    the same article are dropped.

    Raises
    ------
    FramingError
        If no article has a paragraph left (unless ``allow_empty``).
    """
    require_columns(articles, ARTICLE_COLUMNS, step="split_paragraphs")
    if detector is None:
        from framing.text.boilerplate import BoilerplateDetector

        detector = BoilerplateDetector.load()
    rows, is_headline = [], []
    for art in articles.itertuples(index=False):
        headline = normalize_text(art.title) if isinstance(art.title, str) else None
        seen: set[str] = set()
        for index, block in enumerate(split_blocks(art.text)):
            if block in seen:
                continue
            seen.add(block)
            rows.append((art.article_id, art.outlet, art.date, art.title, index, block))
            is_headline.append(block == headline)
    paragraphs = pd.DataFrame(rows, columns=list(PARAGRAPH_COLUMNS))
    paragraphs["text_hash"] = [text_hash(t) for t in paragraphs["text"]]
    paragraphs["is_boilerplate"] = (
        detector.predict(paragraphs["text"].tolist()).astype(bool) if len(paragraphs) else np.zeros(0, dtype=bool)
    )
    paragraphs["is_boilerplate"] = _echoes_of_boilerplate(paragraphs) & ~np.asarray(is_headline, dtype=bool)
    if not keep_boilerplate:
        paragraphs = paragraphs[~paragraphs["is_boilerplate"]].reset_index(drop=True)
    _report_empty_articles(articles["article_id"], paragraphs["article_id"], warn, allow_empty)
    return paragraphs


def no_paragraphs_left(read: int) -> FramingError:
    """The error for an input whose every article was boilerplate or blank."""
    return FramingError(f"no paragraphs left in the input after removing boilerplate ({read} article{'' if read == 1 else 's'} read)")


def _report_empty_articles(read: pd.Series, kept: pd.Series, warn: Callable[[str], None] | None, allow_empty: bool) -> None:
    """Warn about each article with no paragraph left; raise if no article has one, unless ``allow_empty``."""
    if kept.empty and not allow_empty:
        raise no_paragraphs_left(len(read))
    warn = warn or (lambda message: warnings.warn(message, FramingWarning, stacklevel=4))
    for article_id in read[~read.isin(set(kept))]:
        warn(f"{article_id}: no paragraphs left after removing boilerplate; skipped")


def _echoes_of_boilerplate(paragraphs: pd.DataFrame) -> np.ndarray:
    """``is_boilerplate``, extended to paragraphs that open a boilerplate paragraph of their article."""
    flags = paragraphs["is_boilerplate"].to_numpy(dtype=bool)
    articles, texts = paragraphs["article_id"].tolist(), paragraphs["text"].tolist()
    furniture: dict[str, list[str]] = {}
    for article, text, flag in zip(articles, texts, flags):
        if flag:
            furniture.setdefault(article, []).append(text)
    for found in furniture.values():
        found.sort()
    echoes = flags.copy()
    for row, (article, text, flag) in enumerate(zip(articles, texts, flags)):
        if not flag and len(text) >= 20 and article in furniture:
            echoes[row] = _opens_a_longer(text, furniture[article])
    return echoes


def _opens_a_longer(text: str, ordered: list[str]) -> bool:
    """Whether some string of the sorted list ``ordered`` starts with ``text`` and is not ``text``.

    Strings that start with ``text`` sort right after it, so only the first one above it is checked.
    """
    above = bisect.bisect_right(ordered, text)
    return above < len(ordered) and ordered[above].startswith(text)
