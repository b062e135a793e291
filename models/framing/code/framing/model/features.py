"""What the classifier sees of a paragraph: its embedding, optionally with its context and its words.

With context, a paragraph's features are its own embedding, its headline's
and the mean of its neighbours' (the kept paragraphs before and after it),
concatenated. With :class:`WordFeatures`, the TF-IDF of the paragraph's words
is joined on: the names of agencies, laws and companies that a sentence
embedding blurs. Training and serving both build features here, so they cannot
drift apart. Missing context (a bare text sent to the model) falls back to the
paragraph's own embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from framing.files import model_file, read_model_json

CONTEXT_COLUMNS = ("title", "previous_text", "next_text")


def with_neighbours(paragraphs: pd.DataFrame, kept: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add ``previous_text`` and ``next_text``: the kept paragraphs just before and after each one in its article.

    ``kept`` (``article_id, paragraph_index, text``) are the article's kept paragraphs;
    by default ``paragraphs`` themselves, as when scoring whole articles. Training passes
    the kept paragraphs of the labelled articles, so a labelled paragraph sees the
    neighbours it will see when its article is scored.
    """
    kept = paragraphs if kept is None else kept
    codes, _ = pd.factorize(pd.concat([kept["article_id"], paragraphs["article_id"]], ignore_index=True))
    indices = np.concatenate([kept["paragraph_index"].to_numpy(dtype=np.int64), paragraphs["paragraph_index"].to_numpy(dtype=np.int64)])
    stride = int(indices.max(initial=0)) + 2
    kept_keys = codes[: len(kept)].astype(np.int64) * stride + kept["paragraph_index"].to_numpy(dtype=np.int64)
    order = np.argsort(kept_keys, kind="stable")
    kept_keys, kept_texts = kept_keys[order], kept["text"].to_numpy(dtype=object)[order]
    own = codes[len(kept):].astype(np.int64)
    keys = own * stride + paragraphs["paragraph_index"].to_numpy(dtype=np.int64)

    def neighbour(at: np.ndarray) -> list:
        inside = (at >= 0) & (at < len(kept_keys))
        same = np.zeros(len(at), dtype=bool)
        same[inside] = kept_keys[at[inside]] // stride == own[inside]
        return [kept_texts[i] if ok else None for i, ok in zip(at, same)]

    out = paragraphs.copy()
    out["previous_text"] = neighbour(np.searchsorted(kept_keys, keys, side="left") - 1)
    out["next_text"] = neighbour(np.searchsorted(kept_keys, keys, side="right"))
    return out


def _texts_or_none(frame: pd.DataFrame, column: str) -> list[str | None]:
    if column not in frame.columns:
        return [None] * len(frame)
    return [v if isinstance(v, str) and v.strip() else None for v in frame[column]]


def word_vectorizer(**kwargs):
    """The one TF-IDF set-up of the project: word uni- and bigrams, sublinear counts, English stop words removed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english", **kwargs)


WORDS_VOCABULARY = "words.json"
WORDS_IDF = "words.npz"


class WordFeatures:
    """TF-IDF of a paragraph's word uni- and bigrams (sublinear, L2-normalised), times ``weight``.

    ``weight`` sets how much the words count against the unit-length
    embeddings under the classifier's one regularisation strength.
    """

    def __init__(self, weight: float = 2.0, min_df: int = 2):
        self.weight = weight
        self.min_df = min_df

    def _vectorizer(self, **kwargs):
        return word_vectorizer(**kwargs)

    def fit(self, texts) -> "WordFeatures":
        self.vectorizer_ = self._vectorizer(min_df=self.min_df).fit(list(texts))
        return self

    def transform(self, texts) -> sp.csr_matrix:
        return (self.weight * self.vectorizer_.transform(list(texts))).tocsr()

    @property
    def size(self) -> int:
        return len(self.vectorizer_.vocabulary_)

    def save(self, directory: Path) -> None:
        """Parameters and the vocabulary (terms in column order, alphabetical) as JSON, inverse document frequencies as ``.npz``."""
        terms = sorted(self.vectorizer_.vocabulary_, key=self.vectorizer_.vocabulary_.get)
        meta = {"weight": self.weight, "min_df": self.min_df, "terms": terms}
        (directory / WORDS_VOCABULARY).write_text(json.dumps(meta, ensure_ascii=False))
        np.savez(directory / WORDS_IDF, idf=self.vectorizer_.idf_)

    @classmethod
    def load(cls, directory: Path) -> "WordFeatures | None":
        """The word features saved in ``directory``, or None for a model without them."""
        if not (directory / WORDS_VOCABULARY).exists():
            return None
        with model_file(directory / WORDS_VOCABULARY):
            meta = read_model_json(directory / WORDS_VOCABULARY)
            words = cls(weight=meta["weight"], min_df=meta["min_df"])
            words.vectorizer_ = words._vectorizer(vocabulary={term: i for i, term in enumerate(meta["terms"])})
        with model_file(directory / WORDS_IDF), np.load(directory / WORDS_IDF, allow_pickle=False) as arrays:
            words.vectorizer_.idf_ = arrays["idf"]
        return words


def paragraph_features(
    embedder, frame: pd.DataFrame, *, context: bool = False, words: WordFeatures | None = None, progress: bool = False
):
    """Feature matrix of shape ``(n, d)``, ``(n, 3d)`` with context, plus the vocabulary's columns with words.

    Dense without words; a CSR matrix with them.
    """
    return join_words(_embedding_features(embedder, frame, context=context, progress=progress), words, frame["text"])


def join_words(dense: np.ndarray, words: WordFeatures | None, texts):
    """``dense`` with the word features of ``texts`` joined on as columns; ``dense`` itself without words."""
    if words is None:
        return dense
    return sp.hstack([sp.csr_matrix(dense), words.transform(texts)]).tocsr()


def _embedding_features(embedder, frame: pd.DataFrame, *, context: bool, progress: bool) -> np.ndarray:
    texts = frame["text"].tolist()
    if not context:
        return embedder.encode(texts, progress=progress)
    columns = {c: _texts_or_none(frame, c) for c in CONTEXT_COLUMNS}
    # neighbours are mostly the paragraphs themselves: embed every distinct text once
    row = {t: i for i, t in enumerate(dict.fromkeys([*texts, *(t for col in columns.values() for t in col if t is not None)]))}
    if not texts:
        return np.zeros((0, 3 * embedder.dimension), dtype=np.float32)
    vectors = embedder.encode(list(row), progress=progress)
    own = vectors[np.fromiter((row[t] for t in texts), dtype=np.intp, count=len(texts))]

    def column(name: str) -> np.ndarray:
        at = np.fromiter((-1 if t is None else row[t] for t in columns[name]), dtype=np.intp, count=len(texts))
        return np.where((at >= 0)[:, None], vectors[at], own)

    neighbours = (column("previous_text") + column("next_text")) / 2
    return np.hstack([own, column("title"), neighbours]).astype(np.float32)
