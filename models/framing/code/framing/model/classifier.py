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
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

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

    ``fit`` takes indicators ``Y`` of shape (n_samples, n_frames), and then predicts
    indicators of that shape; or one frame's two labels ``y`` of shape (n_samples,),
    and then predicts those labels, as scikit-learn's binary classifiers do.

    Attributes
    ----------
    classes_ : ndarray, the frame numbers ``0 .. n_frames - 1``, or the two labels of a 1-D ``y``
    outputs_2d_ : bool, whether ``fit`` was given indicators ``Y`` (predictions are 2-D)
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

    def __sklearn_tags__(self):
        """Multi-label on a 2-D ``Y``, binary only on a 1-D ``y``; sparse ``X`` is accepted (as CSR)."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = True
        return tags

    def _validate(self, *data, reset: bool, **check_params):
        """``X`` (and ``y``) validated by scikit-learn, ``X`` as float64 or CSR; what it refuses is a one-line FramingError."""
        try:
            return validate_data(self, *data, reset=reset, accept_sparse="csr", dtype=np.float64, **check_params)
        except FramingError:
            raise
        except ValueError as error:
            raise FramingError(" ".join(str(error).split())) from error

    def _indicators(self, y) -> np.ndarray:
        """``y`` as frame indicators (n_samples, n_frames), setting ``classes_`` and ``outputs_2d_``.

        A 2-D ``Y`` holds one 0/1 column per frame; a 1-D ``y`` is one frame with two labels,
        the larger one (``classes_[1]``) meaning the frame is present.
        """
        check_classification_targets(y)
        if y.ndim == 2:
            Y = y.toarray() if hasattr(y, "toarray") else y
            if not np.isin(Y, (0, 1)).all():
                raise FramingError(f"Y must hold 0 or 1 per paragraph and frame; got values {np.unique(Y)[:5].tolist()}")
            self.outputs_2d_, self.classes_ = True, np.arange(Y.shape[1])
            return Y.astype(int)
        kind = type_of_target(y, input_name="y")
        if kind != "binary":
            raise FramingError(f"Only binary classification is supported. The type of the target is {kind}: a 1-D y is one frame, pass a 2-D indicator matrix Y for several frames")
        classes = np.unique(y)
        if len(classes) < 2:
            raise FramingError(f"y holds one class ({classes[0]!r}): a frame needs paragraphs with and without it")
        self.outputs_2d_, self.classes_ = False, classes
        return (y == self.classes_[1]).astype(int)[:, None]

    def fit(self, X, y, groups=None) -> "FrameClassifier":
        """Fit on embeddings ``X`` (n_samples, n_features) and indicators ``Y`` (n_samples, n_frames), or one frame's labels ``y`` (n_samples,)."""
        X, y = self._validate(X, y, reset=True, multi_output=True)
        Y = self._indicators(y)
        self.coef_, self.intercept_ = self._fit_heads(X, Y)
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
        if proba.shape != Y.shape or Y.shape[1] != len(self.thresholds_):
            raise FramingError(f"recalibrate needs scores and indicators of shape (n, {len(self.thresholds_)}); got {proba.shape} and {Y.shape}")
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

    def _frame_scores(self, X) -> np.ndarray:
        """Decision values of every frame, shape ``(n_samples, n_frames)``."""
        check_is_fitted(self, "coef_")
        X = self._validate(X, reset=False)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of each frame, shape ``(n_samples, n_frames)``; ``(n_samples,)`` after a fit on a 1-D ``y``."""
        scores = self._frame_scores(X)
        return scores if self.outputs_2d_ else scores[:, 0]

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each frame, shape ``(n_samples, n_frames)``; of each class in ``classes_`` after a fit on a 1-D ``y``."""
        proba = sigmoid(self._frame_scores(X))
        return proba if self.outputs_2d_ else np.column_stack([1 - proba[:, 0], proba[:, 0]])

    def predict(self, X) -> np.ndarray:
        """Frame indicators cut at each frame's threshold, shape ``(n_samples, n_frames)``; all zero means none.

        After a fit on a 1-D ``y``, the labels of ``classes_``, shape ``(n_samples,)``.
        """
        passed = (sigmoid(self._frame_scores(X)) >= self.thresholds_).astype(int)
        return passed if self.outputs_2d_ else self.classes_[passed[:, 0]]

    def save(self, directory: Path, **meta) -> None:
        """Write the arrays to ``head.npz`` and parameters plus ``meta`` to ``head.json``."""
        check_is_fitted(self, "coef_")
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"coef": self.coef_, "intercept": self.intercept_, "thresholds": self.thresholds_}
        if not self.outputs_2d_:
            arrays["classes"] = np.asarray(self.classes_.tolist())
        np.savez(directory / HEAD_ARRAYS, **arrays)
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
            model.outputs_2d_ = "classes" not in arrays
            model.classes_ = np.arange(model.coef_.shape[0]) if model.outputs_2d_ else arrays["classes"]
        model.n_features_in_ = model.coef_.shape[1]
        return model, meta
