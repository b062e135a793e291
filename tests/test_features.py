import numpy as np
import pandas as pd

from framing.features import paragraph_features, with_neighbours


class CountingEmbedder:
    """Stand-in encoder: this test is about which texts get embedded, not about their vectors."""

    dimension = 2

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, progress=False):
        self.seen += list(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32).reshape(-1, 2)


PARAGRAPHS = pd.DataFrame(
    {"article_id": ["a", "a", "a"], "paragraph_index": [0, 2, 5], "title": ["Head", "Head", "Head"], "text": ["one", "three", "fives"]}
)


def test_neighbours_are_the_kept_paragraphs_around_each_one():
    framed = with_neighbours(PARAGRAPHS)
    assert framed.previous_text.isna().tolist() == [True, False, False]
    assert framed.previous_text.tolist()[1:] == ["one", "three"]
    assert framed.next_text.isna().tolist() == [False, False, True]
    assert framed.next_text.tolist()[:2] == ["three", "fives"]


def test_context_features_embed_each_distinct_text_once():
    embedder = CountingEmbedder()
    X = paragraph_features(embedder, with_neighbours(PARAGRAPHS), context=True)
    assert sorted(embedder.seen) == ["Head", "fives", "one", "three"]
    assert X.shape == (3, 6)
    np.testing.assert_array_equal(X[1], [5, 1, 4, 1, 4, 1])  # own, title, mean of "one" and "fives"
