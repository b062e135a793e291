"""Stories: the same event across outlets, grouped by date window and embedding similarity."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from framing import config
from framing.analysis.stories import STORY_THRESHOLD, article_texts_for_stories, find_stories, story_similarities, story_view
from framing.schema import FramingError

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def articles(dates: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"article_id": [f"a{i}" for i in range(len(dates))], "outlet": "O", "date": dates, "title": None})


def unit(*angles: float) -> np.ndarray:
    """2-d unit vectors at these angles (degrees): cosine similarity is the cosine of the angle between them."""
    radians = np.radians(angles)
    return np.column_stack([np.cos(radians), np.sin(radians)])


def test_similar_articles_a_few_days_apart_share_a_story_and_far_apart_ones_do_not():
    got = find_stories(articles(["2020-07-10", "2020-07-12", "2020-08-30"]), unit(0, 5, 0), threshold=0.9)
    assert got.tolist() == [0, 0, 1]


def test_dissimilar_articles_on_the_same_day_are_different_stories():
    got = find_stories(articles(["2020-07-10", "2020-07-10"]), unit(0, 60), threshold=0.9)
    assert got.tolist() == [0, 1]


def test_stories_link_by_single_linkage_within_the_window():
    """a0-a1 and a1-a2 are similar enough, a0-a2 (40 degrees apart) is not: still one story."""
    got = find_stories(articles(["2020-07-10", "2020-07-11", "2020-07-12"]), unit(0, 20, 40), threshold=0.9)
    assert got.tolist() == [0, 0, 0]


def test_an_undated_article_joins_its_most_similar_story_but_never_bridges_two():
    """Two dated stories a year apart; an undated article similar to both joins the nearer one only."""
    got = find_stories(articles(["2020-07-10", None, "2021-07-10"]), unit(0, 12, 20), threshold=0.9)
    assert got.tolist() == [0, 1, 1]
    alone = find_stories(articles([None, None, "2020-07-10"]), unit(0, 5, 90), threshold=0.9)
    assert alone.tolist() == [0, 0, 1]


def test_find_stories_compares_in_blocks_as_it_would_all_at_once(monkeypatch):
    import framing.analysis.stories as stories

    rng = np.random.default_rng(0)
    dates = (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 60, 300), unit="D")).strftime("%Y-%m-%d").tolist()
    dates[::17] = [None] * len(dates[::17])
    vectors = rng.normal(size=(300, 8)) + np.repeat(rng.normal(size=(30, 8)) * 3, 10, axis=0)
    whole = find_stories(articles(dates), vectors, threshold=0.8)
    monkeypatch.setattr(stories, "BLOCK", 7)
    assert find_stories(articles(dates), vectors, threshold=0.8).tolist() == whole.tolist()
    assert 1 < len(set(whole)) < 300


def test_find_stories_refuses_vectors_that_do_not_match_the_articles():
    with pytest.raises(FramingError, match=re.escape("find_stories got 2 articles but 3 vectors; embed one text per article")):
        find_stories(articles(["2020-07-10", None]), unit(0, 1, 2))


@pytest.fixture(scope="module")
def seed_paragraphs(seed_articles) -> pd.DataFrame:
    from framing.text.paragraphs import split_paragraphs

    return split_paragraphs(seed_articles)


@pytest.fixture(scope="module")
def hand_scored_seeds(seed_paragraphs) -> pd.DataFrame:
    """The seeds' paragraphs with their hand labels (data/labels/seeds.csv) as frames, 0.9 / 0.05 as probabilities.

    A stand-in for the model's scores: the story view's grouping, not the model, is under test.
    """
    labels = pd.read_csv(config.LABELS_DIR / "seeds.csv", keep_default_na=False)
    frames = dict(zip(zip(labels["article_id"], labels["paragraph_index"]), labels["frames"]))
    scored = seed_paragraphs[["article_id", "outlet", "date", "title", "paragraph_index", "text"]].copy()
    scored["frames"] = [[f for f in frames.get(key, "").split(";") if f] for key in zip(scored["article_id"], scored["paragraph_index"])]
    for name in FRAMES:
        scored[name] = [0.9 if name in fs else 0.05 for fs in scored["frames"]]
    return scored


def test_story_text_is_the_title_then_the_first_paragraphs_without_repeating_the_headline(hand_scored_seeds):
    texts = article_texts_for_stories(hand_scored_seeds, lead=2).set_index("article_id")
    hill = hand_scored_seeds.query("article_id == 'the-hill'").sort_values("paragraph_index")
    body = [t for t in hill["text"] if t != hill["title"].iloc[0]][:2]
    assert texts.loc["the-hill", "text"] == "\n".join([hill["title"].iloc[0], *body])
    assert list(texts.columns) == ["outlet", "date", "title", "text"]


def test_the_seeds_are_one_story_of_five_outlets_with_the_real_embedder(hand_scored_seeds, embedder):
    texts = article_texts_for_stories(hand_scored_seeds)
    vectors = embedder.encode(texts["text"].tolist())
    similarity = story_similarities(vectors)
    assert similarity[np.triu_indices(5, 1)].min() > STORY_THRESHOLD + 0.05
    stories = find_stories(texts, vectors)
    assert stories.tolist() == [0] * 5

    view = story_view(hand_scored_seeds, FRAMES, stories)
    assert sorted(view["outlet"]) == sorted(hand_scored_seeds["outlet"].unique())
    assert (view["story"] == 0).all() and (view["story_outlets"] == 5).all() and (view["articles"] == 1).all()
    for row in view.itertuples():
        paragraphs = hand_scored_seeds.query("outlet == @row.outlet")
        carried = {f for fs in paragraphs["frames"] for f in fs}
        assert row.frames == [f for f in FRAMES if f in carried]
        if row.leading_frame != "none":
            assert row.leading_text in set(paragraphs.loc[[row.leading_frame in fs for fs in paragraphs["frames"]], "text"])
            assert row.probability == 0.9


def test_other_tiktok_stories_of_the_corpus_stay_out_of_the_seeds_story(hand_scored_seeds, embedder):
    """The corpus articles nearest to the seeds are other TikTok events of 2020 and 2024 (0.63-0.71 similar)."""
    if not config.CORPUS_PATH.exists():
        pytest.skip(f"no corpus at {config.CORPUS_PATH}")
    from framing.text.ingest import read_articles

    corpus = read_articles([config.CORPUS_PATH])
    corpus = corpus[corpus["title"].str.contains("TikTok", na=False)]
    assert len(corpus) >= 10
    paragraphs = pd.concat(
        [
            hand_scored_seeds[["article_id", "outlet", "date", "title", "paragraph_index", "text"]],
            corpus.assign(text=corpus["text"].str.split("\n\n")).explode("text").assign(
                paragraph_index=lambda t: t.groupby("article_id").cumcount()
            )[["article_id", "outlet", "date", "title", "paragraph_index", "text"]],
        ],
        ignore_index=True,
    )
    texts = article_texts_for_stories(paragraphs)
    vectors = embedder.encode(texts["text"].tolist())
    nearest = story_similarities(vectors)[:5, 5:].max()
    assert 0.6 < nearest < STORY_THRESHOLD
    stories = find_stories(texts, vectors)
    assert (stories[:5] == 0).all() and (stories[5:] != 0).all()
    undated = find_stories(texts.assign(date=None), vectors)
    assert (undated[:5] == 0).all() and (undated[5:] != 0).all()


def test_story_view_puts_each_outlets_articles_of_a_story_together(hand_scored_seeds):
    ids = pd.unique(hand_scored_seeds["article_id"])
    two = {a: (0 if a in ("bbc-news", "sbs-news") else 1) for a in ids}
    view = story_view(hand_scored_seeds, FRAMES, two)
    assert view["story"].tolist() == [1, 1, 1, 0, 0]
    assert view[["story_articles", "story_outlets"]].drop_duplicates().values.tolist() == [[3, 3], [2, 2]]
    same = story_view(hand_scored_seeds, FRAMES, pd.DataFrame({"article_id": list(two), "story": list(two.values())}))
    pd.testing.assert_frame_equal(view, same)

    one_outlet = hand_scored_seeds.assign(outlet="Wire")
    pooled = story_view(one_outlet, FRAMES, np.zeros(len(ids), dtype=int))
    assert pooled[["outlet", "articles", "story_articles", "story_outlets"]].values.tolist() == [["Wire", 5, 5, 1]]


def test_story_view_refuses_an_article_without_a_story(hand_scored_seeds):
    with pytest.raises(FramingError, match=re.escape("story_view: article 'nikkei-asian-review' has no story id; group every article of the table")):
        story_view(hand_scored_seeds, FRAMES, {"bbc-news": 0})
