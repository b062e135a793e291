import numpy as np

from framing.text.boilerplate import BoilerplateDetector


def test_shipped_detector_separates_page_furniture_from_prose():
    detector = BoilerplateDetector.load()
    texts = [
        "Sign up for our newsletter",
        "Advertisement",
        "Share this article on Facebook",
        "The Commerce Department said on Friday it would bar downloads of the app from Sunday.",
        "\"We have never provided user data to the Chinese government,\" the company said.",
    ]
    assert detector.predict(texts).tolist() == [True, True, True, False, False]


def test_save_and_load_round_trip_gives_the_same_probabilities(tmp_path):
    texts = ["Read more", "Click here to subscribe", "Lawmakers voted on the bill.", "The firm denied it."] * 3
    detector = BoilerplateDetector(C=1.0).fit(texts, [1, 1, 0, 0] * 3)
    detector.save(tmp_path / "bp")
    again = BoilerplateDetector.load(tmp_path / "bp")
    np.testing.assert_allclose(again.predict_proba(texts), detector.predict_proba(texts), rtol=1e-5)
    assert again.get_params() == {"C": 1.0, "threshold": 0.5}
