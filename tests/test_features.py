import numpy as np
import pandas as pd

from framing.model.features import paragraph_features, with_neighbours


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


NEWS = ["The FTC sued Meta over Instagram.", "The NSA collected phone records.", "Huawei denied the FTC claims.", "Meta bought Instagram."]


def test_word_features_survive_save_and_load(tmp_path):
    from framing.model.features import WordFeatures

    words = WordFeatures(weight=2.0, min_df=1).fit(NEWS)
    words.save(tmp_path)
    again = WordFeatures.load(tmp_path)
    assert again.weight == 2.0 and again.size == words.size
    assert abs(again.transform(NEWS) - words.transform(NEWS)).max() == 0


def test_word_features_are_weighted_unit_rows():
    from framing.model.features import WordFeatures

    rows = WordFeatures(weight=2.0, min_df=1).fit(NEWS).transform(NEWS)
    np.testing.assert_allclose(np.sqrt(rows.multiply(rows).sum(axis=1)).A1, 2.0)


def test_words_join_the_embedding_columns():
    from framing.model.features import WordFeatures

    frame = pd.DataFrame({"text": NEWS})
    words = WordFeatures(min_df=1).fit(NEWS)
    X = paragraph_features(CountingEmbedder(), frame, words=words)
    assert X.shape == (4, 2 + words.size)
    np.testing.assert_array_equal(X[:, :2].toarray(), CountingEmbedder().encode(NEWS))


def test_a_model_without_words_loads_none(tmp_path):
    from framing.model.features import WordFeatures

    assert WordFeatures.load(tmp_path) is None


def test_training_and_scoring_give_an_articles_paragraphs_the_same_features(embedder):
    """Context comes from one function in both paths, so a labelled paragraph is trained on what it is scored with."""
    from framing import config
    from framing.frames import FrameScheme
    from framing.text.ingest import read_articles
    from framing.text.paragraphs import split_paragraphs
    from framing.training.evaluation import LabelledData

    labelled = LabelledData.load(FrameScheme.load(), labels=(config.LABELS_DIR / "seeds.csv",), corpus=None).all
    scored = with_neighbours(split_paragraphs(read_articles([config.SEEDS_DIR])))
    key = ["article_id", "paragraph_index"]
    both = labelled[key].merge(scored[key].reset_index(), on=key)
    assert len(both) == len(labelled) > 60
    trained = paragraph_features(embedder, labelled, context=True)
    served = paragraph_features(embedder, scored.iloc[both["index"]], context=True)
    np.testing.assert_array_equal(trained, served)
