import pandas as pd

from framing.text.paragraphs import normalize_text, split_blocks, split_paragraphs, text_hash


class NoBoilerplate:
    """Stand-in detector: these tests are about splitting, not about boilerplate."""

    def predict(self, texts):
        import numpy as np

        return np.zeros(len(texts), dtype=bool)


def article(text: str, title: str = "T") -> pd.DataFrame:
    return pd.DataFrame([{"article_id": "a", "outlet": "O", "date": None, "title": title, "text": text}])


def test_split_blocks_splits_on_blank_lines_only():
    assert split_blocks("One\nline.\n\n  \nTwo.\r\n\r\nThree.") == ["One line.", "Two.", "Three."]


def test_normalize_text_folds_unicode_and_white_space():
    assert normalize_text("ﬁne\u00a0 print\u200b here ") == "fine print here"


def test_normalize_text_drops_a_line_repeated_inside_a_block():
    assert normalize_text("Caption - AFP\nCaption - AFP") == "Caption - AFP"


def test_exact_repeats_are_dropped_but_indices_stay_those_of_the_source():
    rows = split_paragraphs(article("A.\n\nB.\n\nA.\n\nC."), detector=NoBoilerplate())
    assert rows[["paragraph_index", "text"]].values.tolist() == [[0, "A."], [1, "B."], [3, "C."]]


def test_text_hash_ignores_white_space_differences():
    assert text_hash("Amazon  said\nso.") == text_hash("Amazon said so.")
    assert len(text_hash("x")) == 16


def test_title_is_never_boilerplate():
    class Everything(NoBoilerplate):
        def predict(self, texts):
            import numpy as np

            return np.ones(len(texts), dtype=bool)

    rows = split_paragraphs(article("Big headline\n\nShare", title="Big headline"), detector=Everything())
    assert rows.text.tolist() == ["Big headline"]


def test_shingles_are_lower_cased_word_four_grams():
    from framing.text.paragraphs import shingles

    assert shingles("The app was Banned today.") == {("the", "app", "was", "banned"), ("app", "was", "banned", "today")}
    assert shingles("Too short") == {("too", "short")}
