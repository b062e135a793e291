"""Group framing statistics against hand-checked values on small tables."""

from __future__ import annotations

import math
import re
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from framing import config
from framing.analysis import statistics as st

FRAMES = ["x", "y", "z"]


def table(articles: dict[tuple[str, str], list[str]], *, frames=FRAMES, dates: dict[str, str] | None = None) -> pd.DataFrame:
    """A scored table from ``{(outlet, article_id): ["x", "xy", "", ...]}``: one string per paragraph, a letter per frame carried.

    Probabilities are 0.8 for a carried frame and 0.1 otherwise, so expected counts are checkable by hand.
    """
    rows = []
    for (outlet, article), paragraphs in articles.items():
        for i, letters in enumerate(paragraphs):
            carried = [f for f in frames if f in letters]
            rows.append(
                {
                    "article_id": article,
                    "outlet": outlet,
                    "date": (dates or {}).get(article),
                    "paragraph_index": i,
                    "text": f"{article} paragraph {i}",
                    **{f: 0.8 if f in carried else 0.1 for f in frames},
                    "frames": carried,
                    "primary_frame": carried[0] if carried else "none",
                }
            )
    return pd.DataFrame(rows)


def three_outlets() -> pd.DataFrame:
    """Three outlets of four to six articles, with different frame mixes."""
    spec = {}
    for i in range(5):
        spec[("A", f"a{i}")] = ["x", "xy", "", "x"][: 2 + i % 3]
    for i in range(4):
        spec[("B", f"b{i}")] = ["y", "y", "yz", ""][: 2 + i % 3]
    for i in range(6):
        spec[("C", f"c{i}")] = ["z", "x", "", "z"][: 1 + i % 4]
    return table(spec)


def counts_by_hand(scored: pd.DataFrame) -> np.ndarray:
    """outlet x frame paragraph counts, the plain way."""
    return np.array([[sum(f in fs for fs in part["frames"]) for f in FRAMES] for _, part in scored.groupby("outlet")])


def test_chi2_of_all_frames_and_of_each_frame_equals_scipys_chi2_contingency():
    scored = three_outlets()
    tests = st.dependence_tests(scored, FRAMES, n_perm=200).set_index("test")
    observed = counts_by_hand(scored)
    expected = chi2_contingency(observed, correction=False)
    assert tests.loc["all frames", "chi2"] == pytest.approx(expected.statistic)
    assert tests.loc["all frames", "p_chi2"] == pytest.approx(expected.pvalue)
    assert tests.loc["all frames", "dof"] == expected.dof == 4
    paragraphs = scored.groupby("outlet").size().to_numpy()
    for j, frame in enumerate(FRAMES):
        per_frame = chi2_contingency(np.column_stack([observed[:, j], paragraphs - observed[:, j]]), correction=False)
        assert tests.loc[frame, "chi2"] == pytest.approx(per_frame.statistic)
        assert tests.loc[frame, "p_chi2"] == pytest.approx(per_frame.pvalue)


def test_cramers_v_of_a_perfect_and_of_no_association():
    assert st.cramers_v([[10, 0], [0, 10]]) == pytest.approx(1.0)
    assert st.cramers_v([[5, 5], [5, 5]]) == pytest.approx(0.0)
    assert st.cramers_v([[10, 0, 0], [0, 10, 0], [0, 0, 10]]) == pytest.approx(1.0)


def test_log_odds_with_informative_prior_matches_the_formula_worked_by_hand():
    """Two outlets, frames x and y: A has x 6, y 1; B has x 2, y 3 (one frame per paragraph)."""
    scored = table(
        {("A", f"a{i}"): ["x", "x", "x"] for i in range(2)} | {("A", "a2"): ["y"]} | {("B", "b0"): ["x", "x", "y"], ("B", "b1"): ["y", "y"]},
        frames=["x", "y"],
    )
    got = st.log_odds(scored, ["x", "y"]).set_index(["group", "frame"])
    # prior: 10 pseudo-counts per frame (a0 = 20), spread as (overall count + 1/2) / (12 + 1): x 8.5/13, y 4.5/13
    ax, ay = 20 * 8.5 / 13, 20 * 4.5 / 13
    delta = math.log((6 + ax) / (7 + 20 - 6 - ax)) - math.log((2 + ax) / (5 + 20 - 2 - ax))
    variance = 1 / (6 + ax) + 1 / (2 + ax)
    assert got.loc[("A", "x"), "log_odds"] == pytest.approx(delta)
    assert got.loc[("A", "x"), "log_odds"] == pytest.approx(0.460398, abs=1e-6)
    assert got.loc[("A", "x"), "variance"] == pytest.approx(variance)
    assert got.loc[("A", "x"), "z"] == pytest.approx(delta / math.sqrt(variance))
    assert got.loc[("A", "x"), "z"] == pytest.approx(1.336053, abs=1e-6)
    delta_y = math.log((1 + ay) / (7 + 20 - 1 - ay)) - math.log((3 + ay) / (5 + 20 - 3 - ay))
    assert got.loc[("A", "y"), "log_odds"] == pytest.approx(delta_y)
    assert got.loc[("B", "x"), "log_odds"] == pytest.approx(-delta)
    assert list(got["count"]) == [6, 1, 2, 3]


def test_jsd_of_known_distributions():
    assert st.jsd([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)
    assert st.jsd([1, 0], [0, 1]) == pytest.approx(1.0)
    assert st.jsd([5, 5, 0, 0], [0, 0, 3, 7]) == pytest.approx(1.0)
    # m = (0.75, 0.25): (log2(4/3) + (0.5 log2(2/3) + 0.5 log2 2)) / 2
    assert st.jsd([1, 0], [1, 1]) == pytest.approx((math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2)


def test_jsd_matrix_is_zero_for_identical_outlets_and_one_for_disjoint_ones():
    scored = table(
        {("A", f"a{i}"): ["x", "y"] for i in range(3)}
        | {("B", f"b{i}"): ["y", "x"] for i in range(3)}
        | {("C", f"c{i}"): ["z", ""] for i in range(3)}
    )
    pairs = st.jsd_matrix(scored, FRAMES, n_boot=200).set_index(["group_a", "group_b"])
    assert pairs.loc[("A", "B"), "jsd"] == pytest.approx(0.0)
    assert pairs.loc[("A", "C"), ["jsd", "jsd_low", "jsd_high"]].tolist() == pytest.approx([1.0, 1.0, 1.0])
    square = st.jsd_square(pairs.reset_index())
    assert square.loc["C", "B"] == square.loc["B", "C"] == pytest.approx(1.0)
    assert square.loc["A", "A"] == 0.0


def clustered() -> dict:
    """Ten articles of one outlet: five carry x in all four paragraphs, five in none."""
    return {("A", f"a{i}"): ["x"] * 4 if i < 5 else [""] * 4 for i in range(10)}


def width(scored: pd.DataFrame) -> float:
    row = st.group_shares(scored, FRAMES, n_boot=4000).query("frame == 'x'").iloc[0]
    return row["share_high"] - row["share_low"]


def each_paragraph_its_own_article(scored: pd.DataFrame) -> pd.DataFrame:
    """The same paragraphs, treated as independent (what a paragraph bootstrap assumes)."""
    return scored.assign(article_id=[f"p{i}" for i in range(len(scored))])


def test_bootstrap_interval_does_not_narrow_when_one_articles_paragraphs_are_duplicated():
    base = clustered()
    duplicated = dict(base)
    duplicated[("A", "a0")] = base[("A", "a0")] * 3
    base_t, dup_t = table(base), table(duplicated)
    assert dup_t["article_id"].nunique() == base_t["article_id"].nunique() == 10
    assert len(dup_t) == len(base_t) + 8

    assert width(dup_t) >= width(base_t)
    assert width(each_paragraph_its_own_article(dup_t)) < width(each_paragraph_its_own_article(base_t))
    assert width(base_t) > 1.5 * width(each_paragraph_its_own_article(base_t))


def test_group_shares_counts_hard_labels_and_expected_probabilities():
    scored = table({("A", "a0"): ["x", "xy", ""], ("A", "a1"): ["y"]})
    shares = st.group_shares(scored, FRAMES, n_boot=100).set_index("frame")
    assert shares.loc["x", ["articles", "paragraphs", "count"]].tolist() == [2, 4, 2]
    assert shares.loc["x", "share"] == pytest.approx(0.5)
    assert shares.loc["x", "expected"] == pytest.approx(0.8 + 0.8 + 0.1 + 0.1)
    assert shares.loc["y", "expected_share"] == pytest.approx((0.1 + 0.8 + 0.1 + 0.8) / 4)
    assert (shares["share_low"] <= shares["share"]).all() and (shares["share"] <= shares["share_high"]).all()


def test_a_frame_nobody_uses_gives_zeros_and_a_reason_not_nan_or_inf():
    scored = three_outlets()
    frames = [*FRAMES, "unused"]
    scored["unused"] = 0.01
    shares = st.group_shares(scored, frames, n_boot=100)
    assert not shares.drop(columns=["thin"]).select_dtypes("number").isna().any().any()
    assert (shares.query("frame == 'unused'")[["count", "share", "share_low", "share_high"]] == 0).all().all()
    odds = st.log_odds(scored, frames)
    assert np.isfinite(odds[["log_odds", "variance", "z"]].to_numpy()).all()
    assert (odds.query("frame == 'unused'")["z"].abs() < 1).all()
    tests = st.dependence_tests(scored, frames, n_perm=100).set_index("test")
    assert tests.loc["unused", "reason"] == "no paragraph carries unused"
    assert not tests.loc["unused", "testable"] and np.isnan(tests.loc["unused", "p_permutation"])
    assert tests.loc["all frames", "testable"] and tests.loc["all frames", "dof"] == 4
    assert np.isfinite(st.jsd_matrix(scored, frames, n_boot=50)[["jsd", "jsd_low", "jsd_high"]].to_numpy()).all()
    assert np.isfinite(st.article_frames(scored, frames, n_boot=50).select_dtypes("number").to_numpy()).all()


def test_a_single_group_is_not_testable_and_says_why():
    scored = table({("A", f"a{i}"): ["x", "y"] for i in range(8)})
    tests = st.dependence_tests(scored, FRAMES, n_perm=100)
    assert not tests["testable"].any()
    assert set(tests["reason"]) == {"only one group: there are no other outlets to compare with"}
    assert tests[["p_chi2", "p_permutation", "p_holm"]].isna().all().all()
    assert st.jsd_matrix(scored, FRAMES).empty


def test_a_group_with_one_article_is_thin_and_gets_no_interval():
    scored = table({("A", "a0"): ["x"]} | {("B", f"b{i}"): ["y", "x" if i % 2 else ""] for i in range(st.MIN_ARTICLES)})
    shares = st.group_shares(scored, FRAMES, n_boot=50)
    assert shares.groupby("group")["thin"].first().to_dict() == {"A": True, "B": False}
    one = shares.query("group == 'A'")
    assert one[["share_low", "share_high", "expected_low", "expected_high"]].isna().all().all()
    assert one["share"].tolist() == [1.0, 0.0, 0.0]
    assert shares.query("group == 'B'")[["share_low", "share_high"]].notna().all().all()
    assert st.jsd_matrix(scored, FRAMES, n_boot=50)[["jsd_low", "jsd_high"]].isna().all().all()
    assert st.article_frames(scored, FRAMES, n_boot=50).groupby("group")["thin"].first().to_dict() == {"A": True, "B": False}


@pytest.fixture(scope="module")
def hand_labelled_seeds(seed_articles) -> pd.DataFrame:
    """The five seed articles with the frames of their hand labels (data/labels/seeds.csv) as a scored table."""
    labels = pd.read_csv(config.LABELS_DIR / "seeds.csv", keep_default_na=False)
    labels = labels[labels["boilerplate"].astype(str) != "True"]
    frames = [[f for f in str(v).split(";") if f] for v in labels["frames"]]
    scored = labels[["article_id", "paragraph_index", "text"]].merge(seed_articles[["article_id", "outlet", "date", "title"]], on="article_id")
    names = ["security_risk", "political_power_play", "user_privacy", "competition"]
    for name in names:
        scored[name] = [0.9 if name in fs else 0.05 for fs in frames]
    return scored.assign(frames=frames)


def test_one_article_per_outlet_as_in_the_seeds_supports_no_test(hand_labelled_seeds):
    names = ["security_risk", "political_power_play", "user_privacy", "competition"]
    tests = st.dependence_tests(hand_labelled_seeds, names)
    sentence = (
        "every group has one article: no test of outlets in general can be made from one article each "
        "(any difference between two articles would look like a difference between their outlets)"
    )
    assert tests["reason"].tolist() == [sentence] * 5
    assert not tests["testable"].any()
    assert tests[["p_chi2", "p_permutation", "p_holm"]].isna().all().all()
    shares = st.group_shares(hand_labelled_seeds, names, n_boot=50)
    assert shares["thin"].all() and shares["share_low"].isna().all()


def test_too_few_articles_for_any_p_value_below_five_percent_is_said_in_words():
    scored = table({("A", "a0"): ["x", "x"], ("A", "a1"): ["x"], ("B", "b0"): ["y"], ("B", "b1"): ["y", ""], ("B", "b2"): ["y"]})
    tests = st.dependence_tests(scored, FRAMES)
    assert tests.loc[0, "reason"] == (
        "too few articles: 5 articles in 2 groups can be shared between the groups in only 10 ways, so no p-value could fall below 0.05"
    )
    assert tests["p_permutation"].isna().all()


def test_holm_against_a_hand_example():
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    got = st.holm([np.nan, 0.01, 0.04])
    assert np.isnan(got[0]) and got[1:] == pytest.approx([0.02, 0.04])


def two_outlets_of_four() -> pd.DataFrame:
    return table(
        {("A", "a0"): ["x", "x"], ("A", "a1"): ["x", "y"], ("A", "a2"): ["x"], ("A", "a3"): ["x", "x", ""]}
        | {("B", "b0"): ["y", "x"], ("B", "b1"): ["y"], ("B", "b2"): ["", "y"], ("B", "b3"): ["x", "y", "y"]}
    )


def test_permutation_p_value_is_in_zero_one_and_reproducible_with_the_seed():
    scored = two_outlets_of_four()
    first = st.dependence_tests(scored, FRAMES, n_perm=500, seed=3)
    again = st.dependence_tests(scored, FRAMES, n_perm=500, seed=3)
    pd.testing.assert_frame_equal(first, again)
    p = first["p_permutation"].dropna()
    assert len(p) == 3 and ((p > 0) & (p <= 1)).all()
    assert first.loc[0, "p_holm"] == first.loc[0, "p_permutation"]


def test_permutation_p_value_agrees_with_the_exact_one_over_all_70_ways_to_split_the_articles():
    """Eight articles, four per outlet: the exact p-value enumerates every way to give four articles to A."""
    scored = two_outlets_of_four()
    counts = st.article_counts(scored, FRAMES)
    observed = st.chi2_statistic(np.stack([counts.hard[counts.group == g].sum(axis=0) for g in (0, 1)])[:, :2])
    ways = list(combinations(range(8), 4))
    hits = 0
    for chosen in ways:
        a = np.isin(np.arange(8), chosen)
        t = np.stack([counts.hard[a].sum(axis=0), counts.hard[~a].sum(axis=0)])[:, :2]
        hits += st.chi2_statistic(t) >= observed - 1e-9
    exact = hits / len(ways)
    tests = st.dependence_tests(scored, FRAMES, n_perm=20000, seed=1).set_index("test")
    assert tests.loc["all frames", "dof"] == 1
    assert tests.loc["all frames", "p_permutation"] == pytest.approx(exact, abs=0.01)
    assert tests.loc["all frames", "p_chi2"] < exact


def test_article_frames_counts_articles_that_carry_a_frame_at_all():
    scored = table({("A", "a0"): ["x", "x", "x"], ("A", "a1"): ["", "y"], ("A", "a2"): ["", ""]})
    got = st.article_frames(scored, FRAMES, n_boot=100).set_index("frame")
    assert got.loc["x", ["articles", "articles_with_frame"]].tolist() == [3, 1]
    assert got.loc["y", "article_share"] == pytest.approx(1 / 3)
    assert got.loc["x", "leading_articles"] == 1 and got.loc["y", "leading_articles"] == 1


def test_leading_frame_is_read_from_the_headline_and_first_paragraphs():
    scored = table({("A", "a0"): ["", "y", "", "x", "x", "x"], ("A", "a1"): ["", "", "", "x"]})
    scored["title"] = "Headline"
    scored.loc[1, "text"] = "Headline"
    scored.loc[1, "y"] = 0.95
    lead = st.leading_frames(scored, FRAMES, lead=3).set_index("article_id")
    assert lead.loc["a0", "leading_frame"] == "y"
    assert lead.loc["a0", ["leading_paragraph_index", "leading_text", "leading_probability"]].tolist() == [1, "Headline", 0.95]
    assert lead.loc["a0", "lead_paragraphs"] == 4
    assert lead.loc["a1", "leading_frame"] == "none"
    assert lead.loc["a1", "leading_text"] == "" and np.isnan(lead.loc["a1", "leading_probability"])
    assert list(lead.columns[:3]) == ["outlet", "date", "title"]


def test_shares_over_time_needs_a_month_of_dates_and_picks_weeks_or_months():
    spec = {("A", f"a{i}"): ["x", ""] for i in range(6)}
    short = {f"a{i}": f"2020-07-{10 + i:02d}" for i in range(6)}
    assert st.shares_over_time(table(spec, dates=short), FRAMES) is None
    assert st.shares_over_time(table(spec), FRAMES) is None
    weeks = {f"a{i}": (pd.Timestamp("2020-07-01") + pd.Timedelta(days=7 * i)).strftime("%Y-%m-%d") for i in range(6)}
    by_week = st.shares_over_time(table(spec, dates=weeks), FRAMES)
    assert sorted(set(by_week["period"]))[:2] == ["2020-06-29", "2020-07-06"]
    assert (by_week.query("frame == 'x'")["share"] == 0.5).all()
    months = {f"a{i}": f"2020-{1 + 2 * i:02d}-15" for i in range(6)}
    by_month = st.shares_over_time(table(spec, dates=months), FRAMES)
    assert sorted(set(by_month["period"])) == [f"2020-{1 + 2 * i:02d}-01" for i in range(6)]
    assert list(by_month.columns[:8]) == ["group", "period", "frame", "articles", "paragraphs", "share", "share_low", "share_high"]


def test_group_by_another_column_and_refuse_a_missing_frame_column():
    scored = three_outlets().assign(lean=lambda t: t["outlet"].map({"A": "left", "B": "left", "C": "right"}))
    shares = st.group_shares(scored, FRAMES, by="lean", n_boot=50)
    assert sorted(set(shares["group"])) == ["left", "right"]
    assert shares.query("group == 'left'")["articles"].iloc[0] == 9
    with pytest.raises(st.FramingError, match=re.escape("the scored table has no probability column for frames ['w']")):
        st.group_shares(scored, [*FRAMES, "w"])
