"""A learned detector of boilerplate paragraphs: navigation, captions, prompts, widgets.

The detector is a logistic regression over hashed word and character n-grams
plus a few layout cues (length, closing punctuation, capitalisation, digits,
glued words such as "IconIcon"). It is trained by ``experiments/boilerplate.py``
on labelled blocks from real web pages and articles, and shipped as plain
arrays in ``framing/text/resources/`` so loading it runs no pickled code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

RESOURCE = Path(__file__).parent / "resources" / "boilerplate"

_WORDS = HashingVectorizer(n_features=2**16, ngram_range=(1, 2), alternate_sign=False, norm="l2")
_CHARS = HashingVectorizer(
    n_features=2**16, analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False, norm="l2"
)
_HASHER = _WORDS._get_hasher()
_CHAR_NGRAMS = _CHARS.build_analyzer()
_TOKEN = re.compile(r"\w+")
_GLUED = re.compile(r"[a-z][A-Z]")
_CREDIT = re.compile(
    r"(getty( images)?|/afp|/reuters|/ap|\(photo[^)]*\)|\b(source|credit|photo|image)s?:\s*\S+.{0,40}|©.{0,40})\W*$",
    re.IGNORECASE,
)
_NEWS_AGENCY = re.compile(r"(getty( images)?|/afp|/reuters|/ap)\Z", re.IGNORECASE)
_COPYRIGHT = re.compile(r"©.{0,40}\Z", re.IGNORECASE)
_PHOTO_OPEN = re.compile(r"\(photo", re.IGNORECASE)
_SOURCE_LABEL = re.compile(r"\b(source|credit|photo|image)s?:", re.IGNORECASE)
_NON_WORDS = re.compile(r"\W*")
_NON_SPACE = re.compile(r"\S")
_SPACE = re.compile(r"\s")
_STOPWORDS = frozenset(
    "the a an of to in and or is are was were be been has have had that this it its for on with as by "
    "at from but not they he she we you said says will would could".split()
)
LAYOUT_FEATURES = (
    "log_words",
    "ends_sentence",
    "share_capitalised",
    "share_digits",
    "share_stopwords",
    "glued_words",
    "has_quote",
    "short",
    "ends_with_credit",
)


def layout_features(texts: list[str]) -> np.ndarray:
    """Cues that separate prose from page furniture, shape ``(n_texts, 9)``."""
    rows = []
    for text in texts:
        tokens = _TOKEN.findall(text)
        n = max(len(tokens), 1)
        rows.append(
            (
                np.log1p(len(tokens)),
                float(text.rstrip().endswith((".", "?", "!", '"', "”", "’", "'", ":"))),
                sum(t[:1].isupper() for t in tokens) / n,
                sum(map(str.isdigit, text)) / max(len(text), 1),
                sum(t.lower() in _STOPWORDS for t in tokens) / n,
                min(len(_GLUED.findall(text)), 5) / 5,
                float(any(q in text for q in '"“”')),
                float(len(tokens) < 6),
                float(ends_with_credit(text)),
            )
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(LAYOUT_FEATURES))


def ends_with_credit(text: str) -> bool:
    """Whether ``_CREDIT.search(text)`` finds a photo credit or source line closing ``text``, in linear time.

    The regex backtracks quadratically on long runs of punctuation or of ``©``, so each of its
    alternatives is checked where it must end: at or after the text's closing run of non-word characters.
    """
    cut = len(text) - _NON_WORDS.match(text[::-1]).end()
    body, closing = text[:cut], text[cut:]
    if _NEWS_AGENCY.search(body[-12:]) or "©" in closing or _COPYRIGHT.search(body[-41:]):
        return True
    if ")" in closing and _PHOTO_OPEN.search(body, body.rfind(")") + 1):
        return True
    return _source_reaches(text, cut)


def _source_reaches(text: str, cut: int) -> bool:
    """Whether a ``source:``-style label's ``\\s*\\S+.{0,40}`` can run on to ``cut``.

    Its reach grows with the label's position, so the last label followed by a non-space decides.
    """
    label = None
    for found in _SOURCE_LABEL.finditer(text):
        start = _NON_SPACE.search(text, found.end())
        if start is None:
            break
        label = start.start()
    if label is None:
        return False
    space = _SPACE.search(text, label)
    run_end = space.start() if space else len(text)
    newline = text.find("\n", run_end)
    reach = min(run_end + 40, newline if newline >= 0 else len(text))
    return reach >= cut


def featurize(texts: list[str]) -> sparse.csr_matrix:
    """Hashed n-grams and layout cues of ``texts``; stateless, so nothing to fit.

    The character n-grams are the matrix ``_CHARS.transform`` gives, built three times faster:
    a ``char_wb`` n-gram never crosses a word, so each distinct word's n-grams are hashed once
    a batch rather than once an occurrence.
    """
    words = [text.lower().split() for text in texts]
    return sparse.hstack(
        [
            _WORDS.transform(texts),
            normalize(_hashed_counts(words, _CHAR_NGRAMS), norm="l2", copy=False),
            sparse.csr_matrix(layout_features(texts)),
        ]
    ).tocsr()


def _hashed_counts(units: list[list[str]], ngrams: Callable[[str], list[str]]) -> sparse.csr_matrix:
    """Hashed n-gram counts of each text, the n-grams of text ``i`` being ``ngrams(u)`` for each word ``u`` of ``units[i]``.

    Counts are whole numbers, so summing each distinct word's hashed row gives the hasher's own result exactly.
    """
    flat = np.empty(sum(map(len, units)), dtype=object)
    flat[:] = list(chain.from_iterable(units))
    indices, distinct = pd.factorize(flat)
    indptr = np.cumsum([0, *map(len, units)])
    per_text = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(units), len(distinct)))
    if len(distinct):
        per_unit = _HASHER.transform(ngrams(unit) for unit in distinct)
    else:
        per_unit = sparse.csr_matrix((0, _HASHER.n_features))
    counts = sparse.csr_matrix(per_text @ per_unit)
    counts.sum_duplicates()
    return counts


class BoilerplateDetector(ClassifierMixin, BaseEstimator):
    """Says which paragraphs are boilerplate (``True``) rather than news text.

    Parameters
    ----------
    C : float, inverse regularisation strength of the logistic regression.
    threshold : float, probability above which a paragraph is boilerplate.

    Examples
    --------
    >>> detector = BoilerplateDetector.load()
    >>> detector.predict(["Share this article", "The senator said the bill would pass."]).tolist()
    [True, False]
    """

    def __init__(self, *, C: float = 4.0, threshold: float = 0.5):
        self.C = C
        self.threshold = threshold

    def fit(self, texts: list[str], y) -> "BoilerplateDetector":
        """Fit on paragraph texts and labels (1 for boilerplate)."""
        head = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        head.fit(featurize(list(texts)), np.asarray(y, dtype=int))
        self.coef_ = head.coef_.ravel()
        self.intercept_ = float(head.intercept_[0])
        self.classes_ = np.array([False, True])
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities of ``[news, boilerplate]``, shape ``(n_texts, 2)``."""
        check_is_fitted(self, "coef_")
        if len(texts) == 0:
            return np.zeros((0, 2))
        p = 1.0 / (1.0 + np.exp(-(featurize(list(texts)) @ self.coef_ + self.intercept_)))
        return np.column_stack([1 - p, p])

    def predict(self, texts: list[str]) -> np.ndarray:
        """Boolean array, ``True`` where a paragraph is boilerplate."""
        return self.predict_proba(texts)[:, 1] > self.threshold

    def save(self, path: Path = RESOURCE) -> None:
        """Write the weights as ``path.npz`` and the settings as ``path.json``."""
        check_is_fitted(self, "coef_")
        path.parent.mkdir(parents=True, exist_ok=True)
        coef = sparse.csr_matrix(self.coef_.astype(np.float32))
        sparse.save_npz(path.with_suffix(".npz"), coef, compressed=True)
        settings = {**self.get_params(), "intercept": self.intercept_, "n_features": coef.shape[1]}
        path.with_suffix(".json").write_text(json.dumps(settings, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path = RESOURCE) -> "BoilerplateDetector":
        """The detector saved at ``path`` (by default the one shipped with framing)."""
        settings = json.loads(path.with_suffix(".json").read_text())
        detector = cls(C=settings["C"], threshold=settings["threshold"])
        detector.coef_ = sparse.load_npz(path.with_suffix(".npz")).toarray().ravel().astype(np.float64)
        detector.intercept_ = settings["intercept"]
        detector.classes_ = np.array([False, True])
        return detector
