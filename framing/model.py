"""The frame classifier: one logistic regression per frame on paragraph embeddings.

Each frame gets its own decision threshold, chosen on out-of-fold
probabilities to maximise that frame's F1; a paragraph whose frames all fall
below their thresholds carries none. The fitted state is plain arrays, saved
as ``.npz`` plus JSON, so loading a model never runs pickled code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.utils.validation import check_array, check_is_fitted

from framing.files import model_file, read_model_json
from framing.schema import FramingError

HEAD_ARRAYS = "head.npz"
HEAD_META = "head.json"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def best_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The probability cut that maximises F1 on ``(y_true, proba)``; 0.5 without positives.

    Candidates are the distinct probabilities (to 3 decimals) inside (0.02, 0.98);
    the F1 of every candidate is computed at once from sorted cumulative counts.
    """
    y_true = np.asarray(y_true, dtype=bool)
    proba = np.asarray(proba, dtype=float)
    if y_true.sum() == 0:
        return 0.5
    candidates = np.unique(np.round(proba, 3))
    candidates = candidates[(candidates > 0.02) & (candidates < 0.98)]
    if len(candidates) == 0:
        return 0.5
    order = np.argsort(proba)
    ranked, positives = proba[order], y_true[order]
    start = np.searchsorted(ranked, candidates, side="left")
    predicted = len(ranked) - start
    hits = np.concatenate([np.cumsum(positives[::-1])[::-1], [0]])[start]
    f1 = 2 * hits / (predicted + y_true.sum())
    return float(candidates[int(np.argmax(f1))])


class FrameClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label frame classifier on embeddings.

    Parameters
    ----------
    C : float, inverse regularisation strength of each logistic regression.
    class_weight : ``"balanced"`` or ``None``, weighting of the rare positives.
    threshold_folds : int, folds of the out-of-fold predictions that set the
        per-frame thresholds (grouped by article when ``groups`` is passed to fit).
    calibrate : bool, Platt-scale each frame on the out-of-fold decision values
        and fold the scaling into the weights, so probabilities mean what they say
        (class weighting alone inflates them).
    random_state : int, seed of the folds when no groups are given.

    Attributes
    ----------
    coef_ : ndarray of shape (n_frames, n_features)
    intercept_ : ndarray of shape (n_frames,)
    thresholds_ : ndarray of shape (n_frames,)
    oof_proba_ : ndarray of shape (n_samples, n_frames), the out-of-fold
        probabilities the thresholds were chosen on (after :meth:`recalibrate`,
        the held-out ones it was given).
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        threshold_folds: int = 5,
        calibrate: bool = True,
        random_state: int = 0,
    ):
        self.C = C
        self.class_weight = class_weight
        self.threshold_folds = threshold_folds
        self.calibrate = calibrate
        self.random_state = random_state

    def _fit_heads(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef = np.zeros((Y.shape[1], X.shape[1]))
        intercept = np.zeros(Y.shape[1])
        for j in range(Y.shape[1]):
            positives = Y[:, j].mean()
            if positives in (0.0, 1.0):
                intercept[j] = 20.0 if positives else -20.0
                continue
            head = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
            head.fit(X, Y[:, j])
            coef[j], intercept[j] = head.coef_[0], head.intercept_[0]
        return coef, intercept

    def fit(self, X, Y, groups=None) -> "FrameClassifier":
        """Fit on embeddings ``X`` (n_samples, n_features) and indicators ``Y`` (n_samples, n_frames)."""
        X = check_array(X, dtype=np.float64, accept_sparse="csr")
        Y = check_array(Y, dtype=int, ensure_min_features=1)
        if Y.shape[0] != X.shape[0]:
            raise FramingError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
        self.coef_, self.intercept_ = self._fit_heads(X, Y)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.arange(Y.shape[1])
        Z = self._out_of_fold(X, Y, groups)
        if self.calibrate:
            Z = self._platt(Z, Y)
        self._choose_thresholds(Z, Y)
        return self

    def recalibrate(self, proba, Y) -> "FrameClassifier":
        """Platt-scale each frame again on held-out probabilities, then re-choose the thresholds on them.

        ``proba`` (n_samples, n_frames) are scores that models fitted the same way gave
        paragraphs they never saw, with their indicators ``Y``. Needed when the features were
        learned from the labels (a fine-tuned body): the inner out-of-fold scores of
        :meth:`fit` then come from embeddings that already know their labels, and are too sure.
        With ``calibrate=False`` only the thresholds move.
        """
        check_is_fitted(self, "coef_")
        proba = np.clip(check_array(proba, dtype=np.float64), 1e-6, 1 - 1e-6)
        Y = check_array(Y, dtype=int)
        if proba.shape != Y.shape or Y.shape[1] != len(self.classes_):
            raise FramingError(f"recalibrate needs scores and indicators of shape (n, {len(self.classes_)}); got {proba.shape} and {Y.shape}")
        Z = np.log(proba / (1 - proba))
        if self.calibrate:
            Z = self._platt(Z, Y)
        self._choose_thresholds(Z, Y)
        return self

    def _platt(self, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Fit ``sigmoid(a * z + b)`` per frame on decision values ``Z``; fold it into the weights and return the scaled ``Z``.

        A frame whose scores rank its paragraphs backwards (``a <= 0``, seen only on a
        handful of paragraphs) keeps its scores: flipping the head would be worse.
        """
        Z = Z.copy()
        for j in range(Y.shape[1]):
            if 0 < Y[:, j].sum() < len(Y):
                platt = LogisticRegression(C=1e4).fit(Z[:, [j]], Y[:, j])
                a, b = platt.coef_[0, 0], platt.intercept_[0]
                if a <= 0:
                    continue
                self.coef_[j] *= a
                self.intercept_[j] = a * self.intercept_[j] + b
                Z[:, j] = a * Z[:, j] + b
        return Z

    def _choose_thresholds(self, Z: np.ndarray, Y: np.ndarray) -> None:
        self.oof_proba_ = sigmoid(Z)
        self.thresholds_ = np.array([best_threshold(Y[:, j], self.oof_proba_[:, j]) for j in range(Y.shape[1])])

    def _out_of_fold(self, X: np.ndarray, Y: np.ndarray, groups) -> np.ndarray:
        """Out-of-fold decision values, shape ``(n_samples, n_frames)``."""
        oof = np.zeros(Y.shape)
        if groups is not None and len(set(groups)) >= self.threshold_folds:
            splits = GroupKFold(n_splits=self.threshold_folds).split(X, groups=groups)
        else:
            strata = Y.argmax(axis=1) * Y.any(axis=1)
            if np.bincount(strata).min() < self.threshold_folds:
                strata = np.zeros(len(Y), dtype=int)
            splits = StratifiedKFold(self.threshold_folds, shuffle=True, random_state=self.random_state).split(X, strata)
        for fit_idx, test_idx in splits:
            coef, intercept = self._fit_heads(X[fit_idx], Y[fit_idx])
            oof[test_idx] = X[test_idx] @ coef.T + intercept
        return oof

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = check_array(X, dtype=np.float64, accept_sparse="csr")
        if X.shape[1] != self.n_features_in_:
            raise FramingError(f"X has {X.shape[1]} features, but the classifier expects {self.n_features_in_}")
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each frame, shape ``(n_samples, n_frames)``."""
        return sigmoid(self.decision_function(X))

    def predict(self, X) -> np.ndarray:
        """Frame indicators, shape ``(n_samples, n_frames)``; all zero means none."""
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def save(self, directory: Path, **meta) -> None:
        """Write the arrays to ``head.npz`` and parameters plus ``meta`` to ``head.json``."""
        check_is_fitted(self, "coef_")
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / HEAD_ARRAYS, coef=self.coef_, intercept=self.intercept_, thresholds=self.thresholds_)
        (directory / HEAD_META).write_text(json.dumps({"params": self.get_params(), **meta}, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> tuple["FrameClassifier", dict]:
        """The classifier saved in ``directory`` and the metadata saved with it."""
        meta = read_model_json(directory / HEAD_META)
        with model_file(directory / HEAD_META):
            model = cls(**meta.pop("params"))
        with model_file(directory / HEAD_ARRAYS), np.load(directory / HEAD_ARRAYS, allow_pickle=False) as arrays:
            model.coef_ = arrays["coef"]
            model.intercept_ = arrays["intercept"]
            model.thresholds_ = arrays["thresholds"]
        model.n_features_in_ = model.coef_.shape[1]
        model.classes_ = np.arange(model.coef_.shape[0])
        return model, meta
