import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from framing.model.classifier import FrameClassifier, best_threshold
from framing.schema import FramingError

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


def checks_that_cannot_apply(estimator) -> dict[str, str]:
    """scikit-learn checks that assume what a frame classifier is not, each with the reason."""
    return {
        "check_classifiers_train": "predict cuts at each frame's tuned threshold, not at probability 0.5 (as TunedThresholdClassifierCV)",
        "check_supervised_y_2d": "a one-column Y is a one-frame indicator matrix (a scheme may have one frame), kept 2-D rather than raveled",
    }


@parametrize_with_checks([FrameClassifier()], expected_failed_checks=checks_that_cannot_apply, xfail_strict=True)
def test_frame_classifier_passes_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_tags_declare_multi_label_binary_only_and_sparse_input():
    tags = get_tags(FrameClassifier())
    assert (tags.classifier_tags.multi_label, tags.classifier_tags.multi_class, tags.input_tags.sparse, tags.target_tags.multi_output) == (True, False, True, False)


def test_one_d_y_is_one_frame_labelled_by_its_classes():
    labels = np.where(Y[:, 0] == 1, "framed", "other")
    model = FrameClassifier().fit(X, labels)
    as_frame = FrameClassifier().fit(X, (labels == "other").astype(int)[:, None])
    assert list(model.classes_) == ["framed", "other"]
    np.testing.assert_array_equal(model.predict_proba(X)[:, 1], as_frame.predict_proba(X)[:, 0])
    np.testing.assert_array_equal(model.predict(X), np.where(as_frame.predict(X)[:, 0] == 1, "other", "framed"))
    np.testing.assert_array_equal(model.decision_function(X), as_frame.decision_function(X)[:, 0])


def test_one_d_y_with_three_labels_is_refused():
    with pytest.raises(FramingError, match=re.escape("Only binary classification is supported. The type of the target is multiclass: a 1-D y is one frame, pass a 2-D indicator matrix Y for several frames")):
        FrameClassifier().fit(X, np.arange(60) % 3)


def test_one_d_y_with_one_label_is_refused():
    with pytest.raises(FramingError, match=re.escape("y holds one class (np.int64(1)): a frame needs paragraphs with and without it")):
        FrameClassifier().fit(X, np.ones(60, dtype=int))


def test_continuous_y_is_refused_as_scikit_learn_words_it():
    with pytest.raises(ValueError, match=re.escape("Unknown label type: continuous.")):
        FrameClassifier().fit(X, X[:, 0])


def test_indicators_other_than_zero_or_one_are_refused():
    with pytest.raises(FramingError, match=re.escape("Y must hold 0 or 1 per paragraph and frame; got values [0, 1, 2]")):
        FrameClassifier().fit(X, Y + Y[:, ::-1] * Y)


def test_embeddings_of_another_width_are_refused_in_scikit_learn_wording():
    model = FrameClassifier().fit(X, Y)
    with pytest.raises(FramingError, match=re.escape("X has 3 features, but FrameClassifier is expecting 5 features as input.")):
        model.predict_proba(X[:, :3])


def test_save_load_round_trip_keeps_the_labels_of_a_one_d_y(tmp_path):
    labels = np.where(Y[:, 0] == 1, "framed", "other")
    model = FrameClassifier().fit(X, labels)
    model.save(tmp_path)
    again, _ = FrameClassifier.load(tmp_path)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
