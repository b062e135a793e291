import json
import re

import pandas as pd
import pytest

from framing.schema import FramingError, FramingWarning
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


def test_articles_with_and_without_a_title_split_together():
    """pandas stores a missing title beside present ones as NaN, which is no headline."""
    articles = pd.DataFrame(
        [
            {"article_id": "a", "outlet": "O", "date": None, "title": None, "text": "Untitled news."},
            {"article_id": "b", "outlet": "O", "date": None, "title": "Big headline", "text": "Big headline\n\nNews."},
        ]
    )
    rows = split_paragraphs(articles, detector=NoBoilerplate())
    assert rows[["article_id", "text"]].values.tolist() == [["a", "Untitled news."], ["b", "Big headline"], ["b", "News."]]


def two_articles(first: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"article_id": "empty", "outlet": "O", "date": None, "title": None, "text": first},
            {"article_id": "news", "outlet": "O", "date": None, "title": "T", "text": "The senator said the bill would pass on Friday."},
        ]
    )


def test_an_article_of_only_invisible_spaces_is_skipped_with_a_warning_naming_it():
    messages = []
    rows = split_paragraphs(two_articles("\u200b\u00a0\u200b"), detector=NoBoilerplate(), warn=messages.append)
    assert rows["article_id"].tolist() == ["news"]
    assert messages == ["empty: no paragraphs left after removing boilerplate; skipped"]


def test_an_article_of_only_boilerplate_is_skipped_with_a_framing_warning():
    with pytest.warns(FramingWarning, match=re.escape("empty: no paragraphs left after removing boilerplate; skipped")):
        rows = split_paragraphs(two_articles("Share this article on Facebook\n\nSign up for our newsletter"))
    assert rows["article_id"].tolist() == ["news"]


def test_input_with_no_paragraphs_at_all_is_one_error():
    articles = two_articles("\u200b\u00a0\u200b").assign(text=["\u200b\u00a0\u200b", "\u00a0\n\n\ufeff"])
    with pytest.raises(FramingError, match=re.escape("no paragraphs left in the input after removing boilerplate (2 articles read)")):
        split_paragraphs(articles, detector=NoBoilerplate())


def test_score_of_input_with_no_paragraphs_is_one_error_line_before_loading_a_model(tmp_path):
    from conftest import run_cli

    path = tmp_path / "blank.jsonl"
    path.write_text(json.dumps({"id": "z", "outlet": "O", "text": "Share this article on Facebook\n\nSign up for our newsletter"}) + "\n")
    result = run_cli("score", path, "--skip-bad", "--model", tmp_path / "no-model")
    assert result.returncode == 1
    assert result.stderr == "error: no paragraphs left in the input after removing boilerplate (1 article read)\n"
