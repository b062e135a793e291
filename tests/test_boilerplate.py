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


def test_credit_cue_agrees_with_its_regex_on_fuzzed_endings():
    """ends_with_credit is the linear form of _CREDIT.search: the same answer on every string."""
    import random

    from framing.text.boilerplate import _CREDIT, ends_with_credit

    pieces = ["©", "(", ")", "(Photo", "photo", "Source", "sources", "credit", "image", ":", " ", "\n", "\u00a0",
              "!", ".", "a", "x1", "getty", " images", "/AP", "/afp", "/reuters", "s", "é", "ſ", "x" * 41, "!" * 41]
    rng = random.Random(0)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    assert [ends_with_credit(t) for t in texts] == [bool(_CREDIT.search(t)) for t in texts]


def test_credit_cue_takes_linear_time_on_runs_that_made_its_regex_backtrack():
    from framing.text.boilerplate import ends_with_credit
    from test_limits import within

    with within(20):
        assert not ends_with_credit("©" * 1_000_000 + "a" * 50)
        assert not ends_with_credit("source:" + "!" * 1_000_000 + " " + "b" * 50)
        assert not ends_with_credit("(photo " * 200_000 + "a")
        assert ends_with_credit("(photo " * 200_000 + "by Reuters)")
