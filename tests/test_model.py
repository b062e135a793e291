import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from framing.model.classifier import FrameClassifier, best_threshold

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5))
Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5]).astype(int)


def test_fit_predict_shapes_and_frames_learned():
    model = FrameClassifier(C=10.0).fit(X, Y)
    assert model.predict_proba(X).shape == (60, 2)
    assert (model.predict(X) == Y).mean() > 0.9


def test_unfitted_classifier_refuses_to_predict():
    with pytest.raises(NotFittedError):
        FrameClassifier().predict(X)


def test_clone_and_get_params_follow_scikit_learn():
    model = FrameClassifier(C=0.5, class_weight=None)
    assert clone(model).get_params() == {"C": 0.5, "class_weight": None, "threshold_folds": 5, "calibrate": True, "random_state": 0}


def test_frame_without_positives_is_never_predicted():
    model = FrameClassifier().fit(X, np.column_stack([Y[:, 0], np.zeros(60, dtype=int)]))
    assert model.predict(X)[:, 1].sum() == 0


def test_save_load_round_trip(tmp_path):
    model = FrameClassifier().fit(X, Y)
    model.save(tmp_path, frames=["a", "b"])
    again, meta = FrameClassifier.load(tmp_path)
    np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(again.thresholds_, model.thresholds_)
    assert meta == {"frames": ["a", "b"]}


def test_best_threshold_maximises_f1():
    y = np.array([0, 0, 1, 1])
    assert best_threshold(y, np.array([0.1, 0.4, 0.6, 0.9])) == 0.6


def overconfident_scores(n: int = 4000, sharpen: float = 3.0, seed: int = 1):
    """Labels drawn from p = sigmoid(z) and scores sigmoid(sharpen * z): a head that is too sure."""
    z = np.random.default_rng(seed).normal(scale=1.5, size=(n, 2))
    y = (np.random.default_rng(seed + 1).random((n, 2)) < 1 / (1 + np.exp(-z))).astype(int)
    return 1 / (1 + np.exp(-sharpen * z)), y


def test_recalibrate_undoes_overconfidence_seen_on_held_out_scores():
    model = FrameClassifier().fit(X, Y)
    before = model.decision_function(X)
    proba, y = overconfident_scores(sharpen=3.0)
    after = model.recalibrate(proba, y).decision_function(X)
    slope = (after[1] - after[0]) / (before[1] - before[0])
    np.testing.assert_allclose(after, before * slope + (after[0] - before[0] * slope))
    np.testing.assert_allclose(slope, 1 / 3, atol=0.03)


def test_recalibrate_chooses_thresholds_on_the_held_out_scores():
    model = FrameClassifier().fit(X, Y)
    proba, y = overconfident_scores()
    model.recalibrate(proba, y)
    assert list(model.thresholds_) == [best_threshold(y[:, j], model.oof_proba_[:, j]) for j in range(2)]
    assert np.all(np.diff(model.oof_proba_[np.argsort(proba[:, 0]), 0]) >= 0)


def test_recalibrate_never_turns_a_frame_backwards():
    model = FrameClassifier().fit(X, Y)
    before = model.decision_function(X)
    proba, y = overconfident_scores()
    model.recalibrate(1 - proba, y)
    np.testing.assert_allclose(model.decision_function(X), before)
