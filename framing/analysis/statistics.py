"""Group framing statistics that respect articles: shares, tests, log-odds, divergence, time.

Every function is a pure function of a scored paragraph table (see
:func:`framing.analysis.score.score_paragraphs`): columns ``article_id``, the
group column ``by`` (``outlet`` by default), ``date``, ``paragraph_index``,
``text``, one probability column per frame, ``frames`` (list of frames the
paragraph carries) and optionally ``title``.

Paragraphs of one article are not independent: they share an author, an angle
and an event. So every interval resamples whole articles (a cluster bootstrap)
and every permutation test shuffles whole articles between groups. Both are
vectorised: the table is first reduced to an article x frame count matrix,
and resamples are rows of a weight matrix, drawn in chunks.

Multi-label counting: a paragraph carrying two frames counts once for each of
them, so a group's frame counts may add up to more than its paragraphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import special, stats

from framing.schema import FramingError, require_columns

MIN_ARTICLES = 5
"""A group with fewer articles than this is ``thin``: its numbers come with a warning."""

CHUNK_CELLS = 4_000_000
"""Resample weight-matrix cells drawn at once (x 8 bytes): bounds the memory of every bootstrap."""

PRIOR_PER_FRAME = 10.0
"""Pseudo-counts per frame of the log-odds prior (total prior weight = this x number of frames)."""

ALPHA = 0.05
MISSING_GROUP = "(missing)"


@dataclass(frozen=True)
class ArticleCounts:
    """A scored table reduced to one row per article.

    Attributes
    ----------
    article_ids : (n_articles,) the article ids, in order of first appearance.
    groups : (n_groups,) group names, sorted.
    group : (n_articles,) index into ``groups`` of each article's group.
    paragraphs : (n_articles,) number of paragraphs.
    hard : (n_articles, n_frames) paragraphs carrying each frame.
    soft : (n_articles, n_frames) sum of each frame's probability.
    """

    article_ids: np.ndarray
    groups: np.ndarray
    group: np.ndarray
    paragraphs: np.ndarray
    hard: np.ndarray
    soft: np.ndarray

    def members(self, g: int) -> np.ndarray:
        """Indices of the articles of group ``g``."""
        return np.flatnonzero(self.group == g)


def frame_lists(values) -> list[list[str]]:
    """Each ``frames`` cell as a list: a list or array as is, a ``"a;b"`` string (a CSV table) split, missing as empty."""
    out = []
    for v in values:
        if isinstance(v, str):
            out.append([f for f in v.split(";") if f])
        elif v is None or (isinstance(v, float) and v != v):
            out.append([])
        else:
            out.append(list(v))
    return out


def carried(scored: pd.DataFrame, frames: list[str]) -> np.ndarray:
    """(n_paragraphs, n_frames) bool: does each paragraph carry each frame (its ``frames`` list)."""
    lists = frame_lists(scored["frames"])
    lengths = np.fromiter(map(len, lists), dtype=int, count=len(lists))
    rows = np.repeat(np.arange(len(lists)), lengths)
    column = pd.Index(frames).get_indexer([f for fs in lists for f in fs])
    out = np.zeros((len(lists), len(frames)), dtype=bool)
    ok = column >= 0
    out[rows[ok], column[ok]] = True
    return out


def sum_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """(n, n_columns) column sums of ``values`` (n_rows, n_columns) over rows sharing a code in ``0..n-1``."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n)
    return np.column_stack([np.bincount(codes, weights=values[:, j], minlength=n) for j in range(values.shape[1])]).reshape(n, values.shape[1])


def group_labels(scored: pd.DataFrame, by: str) -> pd.Series:
    """The group of each paragraph: column ``by``, missing values as ``(missing)``."""
    require_columns(scored, ("article_id", by, "frames"), step=f"statistics by {by!r}")
    values = scored[by].astype(object)
    return values.where(values.notna(), MISSING_GROUP).astype(str)


def article_counts(scored: pd.DataFrame, frames: list[str], *, by: str = "outlet") -> ArticleCounts:
    """Reduce ``scored`` to per-article paragraph and frame counts; an article's group is that of its first paragraph."""
    if not len(scored):
        raise FramingError("the scored table has no paragraphs; there is nothing to report")
    missing = [f for f in frames if f not in scored.columns]
    if missing:
        raise FramingError(f"the scored table has no probability column for frames {missing}; score it with the model that has them")
    labels = group_labels(scored, by)
    codes, ids = pd.factorize(scored["article_id"], sort=False)
    n = len(ids)
    first = np.unique(codes, return_index=True)[1]
    groups, group = np.unique(labels.to_numpy()[first], return_inverse=True)
    hard = sum_by(codes, carried(scored, frames), n)
    soft = sum_by(codes, scored[frames].to_numpy(dtype=float), n)
    return ArticleCounts(np.asarray(ids, dtype=object), groups, group, np.bincount(codes, minlength=n).astype(float), hard, soft)


def _weight_chunks(rng: np.random.Generator, n: int, n_boot: int):
    """Yield (chunk, n) matrices of how often each of ``n`` articles is drawn in each bootstrap resample."""
    size = max(1, CHUNK_CELLS // max(n, 1))
    done = 0
    while done < n_boot:
        k = min(size, n_boot - done)
        picks = rng.integers(0, n, size=(k, n)) + (np.arange(k) * n)[:, None]
        yield np.bincount(picks.ravel(), minlength=k * n).reshape(k, n).astype(float)
        done += k


def bootstrap_ratio(num: np.ndarray, den: np.ndarray, *, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_columns) resampled ``sum(num) / sum(den)``, articles drawn with replacement.

    ``num`` is (n_articles, n_columns), ``den`` (n_articles,). A resample whose
    denominator is zero gives NaN, and so does every resample of fewer than two
    articles: one article says nothing about how much articles vary, and an
    interval of zero width around it would claim certainty.
    """
    n = len(den)
    if n < 2:
        return np.full((n_boot, num.shape[1]), np.nan)
    parts = []
    for weights in _weight_chunks(rng, n, n_boot):
        top, bottom = weights @ num, weights @ den
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(np.where(bottom[:, None] > 0, top / bottom[:, None], np.nan))
    return np.concatenate(parts)


def _interval(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5th and 97.5th percentiles of ``draws`` along the resamples, NaN resamples ignored."""
    if np.isnan(draws).all(axis=0).any():
        low = np.full(draws.shape[1], np.nan)
        high = low.copy()
        ok = ~np.isnan(draws).all(axis=0)
        if ok.any():
            low[ok], high[ok] = np.nanpercentile(draws[:, ok], [2.5, 97.5], axis=0)
        return low, high
    low, high = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return low, high


def _safe_div(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.asarray(b) > 0, np.asarray(a, dtype=float) / np.asarray(b, dtype=float), np.nan)


def group_shares(scored: pd.DataFrame, frames: list[str], *, by: str = "outlet", n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Share of each group's paragraphs that carry each frame, with 95% intervals over articles.

    Returns
    -------
    DataFrame, one row per group x frame: ``group, frame, articles, paragraphs,
    count`` (paragraphs carrying the frame, hard labels), ``share, share_low,
    share_high``, ``expected`` (sum of the frame's probabilities: a paragraph at
    0.6 counts 0.6), ``expected_share, expected_low, expected_high`` and ``thin``
    (fewer than :data:`MIN_ARTICLES` articles). Intervals are 95% percentile
    bootstrap intervals resampling whole articles within the group; NaN for a
    group of one article.
    """
    counts = article_counts(scored, frames, by=by)
    rng = np.random.default_rng(seed)
    k = len(frames)
    rows = []
    for g, name in enumerate(counts.groups):
        idx = counts.members(g)
        draws = bootstrap_ratio(np.hstack([counts.hard[idx], counts.soft[idx]]), counts.paragraphs[idx], n_boot=n_boot, rng=rng)
        low, high = _interval(draws)
        paragraphs = counts.paragraphs[idx].sum()
        hard, soft = counts.hard[idx].sum(axis=0), counts.soft[idx].sum(axis=0)
        rows.append(
            pd.DataFrame(
                {
                    "group": name,
                    "frame": frames,
                    "articles": len(idx),
                    "paragraphs": int(paragraphs),
                    "count": hard.astype(int),
                    "share": hard / paragraphs,
                    "share_low": low[:k],
                    "share_high": high[:k],
                    "expected": soft,
                    "expected_share": soft / paragraphs,
                    "expected_low": low[k:],
                    "expected_high": high[k:],
                    "thin": len(idx) < MIN_ARTICLES,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _lead_rows(scored: pd.DataFrame, codes: np.ndarray, lead: int) -> np.ndarray:
    """Bool per paragraph: the headline (a paragraph equal to the title) or one of the first ``lead`` other paragraphs."""
    headline = np.zeros(len(scored), dtype=bool)
    if "title" in scored.columns:
        title = scored["title"].astype(object).where(scored["title"].notna(), "")
        headline = (_squash(title) == _squash(scored["text"].astype(object).fillna(""))).to_numpy() & (title != "").to_numpy()
    order = np.lexsort((scored["paragraph_index"].to_numpy(), codes))
    body = (~headline[order]).astype(int)
    rank = np.empty(len(scored), dtype=int)
    rank[order] = pd.Series(body).groupby(codes[order]).cumsum().to_numpy() - 1
    return headline | (rank < lead)


def _squash(values: pd.Series) -> pd.Series:
    return values.map(lambda s: " ".join(str(s).split()).casefold())


def leading_frames(scored: pd.DataFrame, frames: list[str], *, lead: int = 3) -> pd.DataFrame:
    """The frame that leads each article: its headline and first ``lead`` paragraphs.

    The leading frame is, of the frames carried by at least one of those
    paragraphs, the one with the highest mean probability over them; ``"none"``
    when none of them carries a frame. The headline is a paragraph equal to the
    ``title`` (white space and case aside), when the table has titles.

    Returns
    -------
    DataFrame, one row per article (order of first appearance): ``article_id``,
    ``outlet, date, title, url`` (those present), ``leading_frame``,
    ``leading_paragraph_index, leading_text, leading_probability`` (the lead
    paragraph carrying the leading frame most strongly, and its probability of
    it; missing values and ``""`` when the leading frame is ``"none"``),
    ``leading_mean`` (the frame's mean probability over the lead) and
    ``lead_paragraphs``.
    """
    require_columns(scored, ("article_id", "paragraph_index", "text", "frames"), step="leading_frames")
    codes, ids = pd.factorize(scored["article_id"], sort=False)
    in_lead = _lead_rows(scored, codes, lead)
    part = scored[in_lead]
    summary = lead_summary(part, codes[in_lead], len(ids), frames)
    out = _article_columns(scored, ids)
    rows = part.iloc[summary["row"].clip(lower=0).to_numpy()] if len(part) else part
    framed = (summary["row"] >= 0).to_numpy()
    out["leading_frame"] = summary["leading_frame"].to_numpy()
    out["leading_paragraph_index"] = pd.array(np.where(framed, rows["paragraph_index"].to_numpy(), None), dtype="Int64")
    out["leading_text"] = np.where(framed, rows["text"].to_numpy(dtype=object), "")
    for column in ("leading_probability", "leading_mean", "lead_paragraphs"):
        out[column] = summary[column].to_numpy()
    return out


def lead_summary(part: pd.DataFrame, codes: np.ndarray, n: int, frames: list[str]) -> pd.DataFrame:
    """The leading frame of each of ``n`` pools of lead paragraphs (``part``, pool ``codes``).

    Of the frames carried by at least one paragraph of a pool, the one with the
    highest mean probability over the pool; ``"none"`` when none is carried.
    Columns ``leading_frame``, ``row`` (position in ``part`` of the paragraph
    carrying it most strongly, -1 for none), ``leading_probability`` (that
    paragraph's probability of it), ``leading_mean`` and ``lead_paragraphs``.
    """
    proba = part[frames].to_numpy(dtype=float)
    has = carried(part, frames)
    sizes = np.bincount(codes, minlength=n)
    mean = _safe_div(sum_by(codes, proba, n), sizes[:, None])
    any_has = sum_by(codes, has, n) > 0
    best = np.where(any_has, np.nan_to_num(mean, nan=-1.0), -np.inf).argmax(axis=1)
    framed = any_has.any(axis=1)
    own = best[codes]
    at = np.arange(len(part))
    strength = np.where(has[at, own], proba[at, own], -np.inf)
    pick = pd.Series(strength).groupby(codes).idxmax().reindex(range(n), fill_value=-1).to_numpy().astype(int)
    pick = np.where(framed, pick, -1)
    return pd.DataFrame(
        {
            "leading_frame": np.where(framed, np.array(frames, dtype=object)[best], "none"),
            "row": pick,
            "leading_probability": np.where(framed, strength[np.maximum(pick, 0)] if len(part) else np.nan, np.nan),
            "leading_mean": np.where(framed, mean[np.arange(n), best], np.nan),
            "lead_paragraphs": sizes,
        }
    )


def _article_columns(scored: pd.DataFrame, ids) -> pd.DataFrame:
    """One row per article in ``ids`` order with the article-level columns present in ``scored``."""
    keep = ["article_id", *[c for c in ("outlet", "date", "title", "url") if c in scored.columns]]
    first = scored.drop_duplicates("article_id")[keep].set_index("article_id")
    return first.reindex(pd.Index(ids, name="article_id")).reset_index()


def article_frames(
    scored: pd.DataFrame, frames: list[str], *, by: str = "outlet", lead: int = 3, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Share of each group's articles that carry each frame at all, and that it leads.

    Returns
    -------
    DataFrame, one row per group x frame: ``group, frame, articles,
    articles_with_frame, article_share, article_share_low, article_share_high``
    (95% bootstrap over articles), ``leading_articles, leading_share`` (articles
    whose :func:`leading_frames` is this frame, with the first ``lead``
    paragraphs) and ``thin``.
    """
    counts = article_counts(scored, frames, by=by)
    leaders = leading_frames(scored, frames, lead=lead)["leading_frame"].to_numpy()
    rng = np.random.default_rng(seed)
    rows = []
    for g, name in enumerate(counts.groups):
        idx = counts.members(g)
        with_frame = (counts.hard[idx] > 0).astype(float)
        low, high = _interval(bootstrap_ratio(with_frame, np.ones(len(idx)), n_boot=n_boot, rng=rng))
        leading = np.array([(leaders[idx] == f).sum() for f in frames])
        rows.append(
            pd.DataFrame(
                {
                    "group": name,
                    "frame": frames,
                    "articles": len(idx),
                    "articles_with_frame": with_frame.sum(axis=0).astype(int),
                    "article_share": with_frame.mean(axis=0),
                    "article_share_low": low,
                    "article_share_high": high,
                    "leading_articles": leading,
                    "leading_share": leading / len(idx),
                    "thin": len(idx) < MIN_ARTICLES,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of ``pvalues`` (NaN stay NaN and do not count among the tests)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order]) if m else np.zeros(0)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def chi2_statistic(tables: np.ndarray) -> np.ndarray:
    """Pearson's chi-square (no continuity correction) of each table over the last two axes.

    Rows or columns that are all zero contribute nothing (their expected counts are zero).
    """
    t = np.asarray(tables, dtype=float)
    total = t.sum(axis=(-2, -1), keepdims=True)
    expected = _safe_div(t.sum(axis=-1, keepdims=True) * t.sum(axis=-2, keepdims=True), total)
    with np.errstate(invalid="ignore", divide="ignore"):
        cells = np.where(expected > 0, (t - expected) ** 2 / expected, 0.0)
    return cells.sum(axis=(-2, -1))


def cramers_v(table) -> float:
    """Cramér's V of a contingency table: 0 no association, 1 complete; all-zero rows and columns dropped."""
    t = _nonzero(np.asarray(table, dtype=float))
    n, k = t.sum(), min(t.shape) - 1
    if n == 0 or k < 1:
        return float("nan")
    return float(np.sqrt(chi2_statistic(t) / (n * k)))


def _nonzero(t: np.ndarray) -> np.ndarray:
    return t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]


def _group_word(by: str) -> str:
    return "outlets" if by == "outlet" else f"{by} groups"


def _why_untestable(sizes: np.ndarray, by: str) -> str:
    """In words, why no test of the groups can be made from articles in groups of these sizes; empty if one can."""
    word = _group_word(by)
    if len(sizes) < 2:
        return f"only one group: there are no other {word} to compare with"
    if (sizes == 1).all():
        singular = "outlet" if by == "outlet" else f"{by} group"
        return f"every group has one article: no test of {word} in general can be made from one article each (any difference between two articles would look like a difference between their {singular}s)"
    log_ways = special.gammaln(sizes.sum() + 1) - special.gammaln(sizes + 1).sum()
    if log_ways <= np.log(1 / ALPHA) + 1e-9:
        return (
            f"too few articles: {int(sizes.sum())} articles in {len(sizes)} groups can be shared between the groups in only "
            f"{int(round(np.exp(log_ways)))} ways, so no p-value could fall below {ALPHA:g}"
        )
    return ""


def dependence_tests(scored: pd.DataFrame, frames: list[str], *, by: str = "outlet", n_perm: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Does framing depend on the group? Chi-square, Cramér's V and an article permutation test.

    The "all frames" row tests the group x frame table of paragraph counts (a
    frame nobody uses is left out); each frame's row tests group x {carries,
    does not carry}. ``p_chi2`` is the asymptotic chi-square p-value
    (:func:`scipy.stats.chi2_contingency`, no continuity correction), which
    treats paragraphs as independent and so is too small when articles differ;
    ``p_permutation`` shuffles whole articles between groups, keeping each
    group's number of articles, and counts how often the chi-square statistic
    is at least the observed one ((hits + 1) / (n_perm + 1)). ``p_holm`` is the
    permutation p-value Holm-corrected over the per-frame rows (for "all
    frames", its own permutation p-value).

    When no test can be made (one group; one article per group; too few
    articles for any p-value below 0.05; a frame no paragraph or every
    paragraph carries) ``testable`` is False, ``reason`` says why in words and
    every p-value is NaN.

    Returns
    -------
    DataFrame with ``test, chi2, dof, p_chi2, cramers_v, p_permutation, p_holm, testable, reason``.
    """
    counts = article_counts(scored, frames, by=by)
    sizes = np.bincount(counts.group, minlength=len(counts.groups))
    why = _why_untestable(sizes, by)
    n_groups = len(counts.groups)
    observed = _group_table(counts.group, counts.hard, counts.paragraphs, n_groups)
    used = observed[:, :-1].sum(axis=0) > 0

    rows = [_test_row("all frames", observed[:, :-1][:, used], why or ("" if used.sum() >= 2 else "fewer than two frames are carried by any paragraph"))]
    for i, frame in enumerate(frames):
        table = np.column_stack([observed[:, i], observed[:, -1] - observed[:, i]])
        reason = why
        if not reason and table[:, 0].sum() == 0:
            reason = f"no paragraph carries {frame}"
        elif not reason and table[:, 1].sum() == 0:
            reason = f"every paragraph carries {frame}"
        rows.append(_test_row(frame, table, reason))
    tests = pd.DataFrame(rows)

    if tests["testable"].any():
        hits = _permutation_hits(counts, used, tests["chi2"].to_numpy(), n_perm, np.random.default_rng(seed))
        p = (hits + 1) / (n_perm + 1)
        tests["p_permutation"] = np.where(tests["testable"], p, np.nan)
    per_frame = tests.index[1:]
    tests.loc[per_frame, "p_holm"] = holm(tests.loc[per_frame, "p_permutation"].to_numpy())
    tests.loc[0, "p_holm"] = tests.loc[0, "p_permutation"]
    return tests


def _group_table(group: np.ndarray, hard: np.ndarray, paragraphs: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, n_frames + 1): paragraphs carrying each frame, then all paragraphs, per group."""
    return sum_by(group, np.column_stack([hard, paragraphs]), n_groups)


def _test_row(name: str, table: np.ndarray, reason: str) -> dict:
    """One row of :func:`dependence_tests` for ``table``; p-values only when ``reason`` is empty."""
    t = _nonzero(table)
    computable = t.ndim == 2 and min(t.shape) >= 2
    chi2 = float(chi2_statistic(t)) if computable else float("nan")
    dof = (t.shape[0] - 1) * (t.shape[1] - 1) if computable else 0
    p_chi2 = float("nan")
    if computable and not reason:
        p_chi2 = float(stats.chi2_contingency(t, correction=False).pvalue)
    return {
        "test": name,
        "chi2": chi2,
        "dof": dof,
        "p_chi2": p_chi2,
        "cramers_v": cramers_v(t) if computable else float("nan"),
        "p_permutation": float("nan"),
        "p_holm": float("nan"),
        "testable": not reason and computable,
        "reason": reason if reason or computable else "the table has fewer than two non-empty rows or columns",
    }


def _permutation_hits(counts: ArticleCounts, used: np.ndarray, observed: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Per test row, how many of ``n_perm`` article shuffles give a chi-square at least the observed one."""
    n, n_groups = len(counts.group), len(counts.groups)
    values = np.column_stack([counts.hard, counts.paragraphs])
    hits = np.zeros(len(observed))
    tolerance = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(observed)))
    size = max(1, CHUNK_CELLS // max(n * values.shape[1], 1))
    done = 0
    while done < n_perm:
        k = min(size, n_perm - done)
        labels = rng.permuted(np.broadcast_to(counts.group, (k, n)), axis=1)
        flat = (labels + (np.arange(k) * n_groups)[:, None]).ravel()
        tables = np.stack(
            [np.bincount(flat, weights=np.tile(values[:, j], k), minlength=k * n_groups) for j in range(values.shape[1])], axis=-1
        ).reshape(k, n_groups, values.shape[1])
        stats_ = [chi2_statistic(tables[:, :, :-1][:, :, used])]
        for i in range(values.shape[1] - 1):
            stats_.append(chi2_statistic(np.stack([tables[:, :, i], tables[:, :, -1] - tables[:, :, i]], axis=-1)))
        hits += (np.column_stack(stats_) >= observed - tolerance).sum(axis=0)
        done += k
    return hits


def log_odds(
    scored: pd.DataFrame, frames: list[str], *, by: str = "outlet", prior: str = "informative", prior_per_frame: float = PRIOR_PER_FRAME
) -> pd.DataFrame:
    """Frames each group over- and under-uses relative to all other groups (Monroe, Colaresi and Quinn 2008).

    The "Fightin' Words" log-odds ratio with a Dirichlet prior. Counts are
    frame occurrences: a paragraph carrying two frames counts once for each,
    and paragraphs with no frame count for none, so the statistic compares the
    *mix* of frames among framed paragraphs. The prior's total weight is
    ``prior_per_frame`` x the number of frames pseudo-paragraphs (40 for four
    frames: it steadies a group with few paragraphs and vanishes against a big
    one). ``"informative"`` spreads it in proportion to each frame's overall
    count across all groups (plus one half, so a frame nobody uses keeps a
    small positive prior); ``"uniform"`` spreads it evenly.

    For group i, frame w, with ``a_w`` the prior, ``a0`` its total, ``n`` counts:
    ``delta = log((y_iw + a_w) / (n_i + a0 - y_iw - a_w)) - log((y_jw + a_w) / (n_j + a0 - y_jw - a_w))``
    where j is all other groups together, ``variance = 1 / (y_iw + a_w) + 1 / (y_jw + a_w)``
    and ``z = delta / sqrt(variance)``. The z-score treats paragraphs as
    independent: read it as a ranking of differences, not as a test.

    Returns
    -------
    DataFrame, one row per group x frame: ``group, frame, count, other_count,
    log_odds, variance, z``.
    """
    if prior not in ("informative", "uniform"):
        raise FramingError(f"unknown log-odds prior {prior!r}; use 'informative' or 'uniform'")
    counts = article_counts(scored, frames, by=by)
    y = _group_table(counts.group, counts.hard, counts.paragraphs, len(counts.groups))[:, :-1]
    total = y.sum(axis=0)
    a0 = prior_per_frame * len(frames)
    weights = (total + 0.5) / (total.sum() + 0.5 * len(frames)) if prior == "informative" else np.full(len(frames), 1 / len(frames))
    a = a0 * weights
    yi, yj = y, total - y
    ni, nj = yi.sum(axis=1, keepdims=True), yj.sum(axis=1, keepdims=True)
    delta = np.log((yi + a) / (ni + a0 - yi - a)) - np.log((yj + a) / (nj + a0 - yj - a))
    variance = 1 / (yi + a) + 1 / (yj + a)
    return pd.DataFrame(
        {
            "group": np.repeat(counts.groups, len(frames)),
            "frame": np.tile(frames, len(counts.groups)),
            "count": yi.ravel().astype(int),
            "other_count": yj.ravel().astype(int),
            "log_odds": delta.ravel(),
            "variance": variance.ravel(),
            "z": (delta / np.sqrt(variance)).ravel(),
        }
    )


def jsd(p, q) -> float:
    """Jensen-Shannon divergence (base 2: 0 identical, 1 disjoint) of two distributions, normalised first."""
    return float(_jsd_rows(np.asarray(p, dtype=float)[None], np.asarray(q, dtype=float)[None])[0])


def _jsd_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise JSD of count or probability rows; a row summing to zero gives NaN."""
    p = _safe_div(p, p.sum(axis=-1, keepdims=True))
    q = _safe_div(q, q.sum(axis=-1, keepdims=True))
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(b > 0, b, 1)), 0.0).sum(axis=-1)

    out = (kl(p, m) + kl(q, m)) / 2
    out = np.where(np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1), np.nan, out)
    return np.clip(out, 0.0, 1.0)


def jsd_matrix(scored: pd.DataFrame, frames: list[str], *, by: str = "outlet", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Jensen-Shannon divergence between each pair of groups' frame distributions.

    A group's distribution is its frame counts (hard labels) normalised. The
    interval resamples articles within each group independently (95%
    percentile; NaN when either group has one article); a resampled JSD is
    biased upwards, so two groups drawn from the same distribution still get an
    interval above zero.

    Returns
    -------
    DataFrame, one row per unordered pair (``group_a`` before ``group_b`` in
    sorted order): ``group_a, group_b, jsd, jsd_low, jsd_high``; see
    :func:`jsd_square` for the symmetric matrix.
    """
    counts = article_counts(scored, frames, by=by)
    rng = np.random.default_rng(seed)
    point, draws = [], []
    for g in range(len(counts.groups)):
        idx = counts.members(g)
        point.append(counts.hard[idx].sum(axis=0))
        draws.append(bootstrap_ratio(counts.hard[idx], np.ones(len(idx)), n_boot=n_boot, rng=rng))
    rows = []
    for a, b in combinations(range(len(counts.groups)), 2):
        low, high = _interval(_jsd_rows(draws[a], draws[b])[:, None])
        rows.append(
            {
                "group_a": counts.groups[a],
                "group_b": counts.groups[b],
                "jsd": jsd(point[a], point[b]),
                "jsd_low": float(low[0]),
                "jsd_high": float(high[0]),
            }
        )
    return pd.DataFrame(rows, columns=["group_a", "group_b", "jsd", "jsd_low", "jsd_high"])


def jsd_square(pairs: pd.DataFrame) -> pd.DataFrame:
    """The symmetric group x group matrix of :func:`jsd_matrix`'s ``jsd`` (zero on the diagonal)."""
    names = sorted(set(pairs["group_a"]) | set(pairs["group_b"]))
    square = pd.DataFrame(0.0, index=names, columns=names)
    for row in pairs.itertuples():
        square.loc[row.group_a, row.group_b] = square.loc[row.group_b, row.group_a] = row.jsd
    return square


def _period_starts(dates: pd.Series, freq: str) -> pd.Series:
    """ISO date of the start of each date's week (Monday) or month."""
    if freq == "W":
        start = dates - pd.to_timedelta(dates.dt.weekday, unit="D")
    else:
        start = dates.dt.to_period("M").dt.start_time
    return start.dt.strftime("%Y-%m-%d")


def time_frequency(dates: pd.Series) -> str | None:
    """``"W"`` or ``"M"`` bins for these dates, or None when they span less than four weeks."""
    parsed = pd.to_datetime(pd.Series(pd.unique(dates.dropna())), errors="coerce", format="ISO8601").dropna()
    if parsed.empty or (parsed.max() - parsed.min()) < pd.Timedelta(weeks=4):
        return None
    return "M" if (parsed.max() - parsed.min()) > pd.Timedelta(days=183) else "W"


def shares_over_time(
    scored: pd.DataFrame, frames: list[str], *, by: str = "outlet", freq: str | None = None, n_boot: int = 500, seed: int = 0
) -> pd.DataFrame | None:
    """Per group, period and frame, the share of paragraphs carrying the frame, with 95% intervals over articles.

    None when the dates are missing or span less than four weeks. Bins are
    weeks (starting Monday) or, for a span over six months, calendar months;
    ``freq`` ("W" or "M") overrides. An article belongs to the period of its
    date; articles without a date are left out.

    Returns
    -------
    DataFrame ``group, period, frame, articles, paragraphs, share, share_low, share_high, thin``
    (``period`` is the ISO date the bin starts).
    """
    if "date" not in scored.columns:
        return None
    chosen = time_frequency(scored["date"])
    if chosen is None:
        return None
    freq = freq or chosen
    if freq not in ("W", "M"):
        raise FramingError(f"unknown time bin {freq!r}; use 'W' (weeks) or 'M' (months)")
    counts = article_counts(scored, frames, by=by)
    dates = pd.to_datetime(_article_columns(scored, counts.article_ids)["date"], errors="coerce", format="ISO8601")
    dated = dates.notna().to_numpy()
    periods = _period_starts(dates[dated], freq).to_numpy()
    cells = pd.DataFrame({"g": counts.group[dated], "period": periods, "i": np.flatnonzero(dated)})
    rng = np.random.default_rng(seed)
    rows = []
    for (g, period), cell in cells.groupby(["g", "period"], sort=True):
        idx = cell["i"].to_numpy()
        low, high = _interval(bootstrap_ratio(counts.hard[idx], counts.paragraphs[idx], n_boot=n_boot, rng=rng))
        paragraphs = counts.paragraphs[idx].sum()
        rows.append(
            pd.DataFrame(
                {
                    "group": counts.groups[g],
                    "period": period,
                    "frame": frames,
                    "articles": len(idx),
                    "paragraphs": int(paragraphs),
                    "share": counts.hard[idx].sum(axis=0) / paragraphs,
                    "share_low": low,
                    "share_high": high,
                    "thin": len(idx) < MIN_ARTICLES,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
