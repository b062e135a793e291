"""The framing report: statistics of a scored paragraph table, in words, charts and tables.

:func:`build_report` is one pure function from a scored table to a :class:`Report`
(the statistics are those of :mod:`framing.analysis.statistics`, the story view that of
:mod:`framing.analysis.stories`); :func:`write_report` is the only function that writes files.

Files of a report folder (:data:`REPORT_FILES`)
-----------------------------------------------
``report.html``  the report for a reader, one self-contained file (plotly inlined, no external requests).
``report.md``    a Markdown summary for a pull request or notebook (with ``formats`` including ``"md"``).
``report.json``  every number, with this schema (version 1)::

    {"schema": 1, "title": str, "by": str, "frames": [str],
     "overview": {"articles": int, "paragraphs": int, "groups": int, "date_from": str|null, "date_to": str|null},
     "summary": [str],            # the strongest findings, in words
     "cannot_conclude": [str],    # what the data cannot say, in words
     "model": str|null,           # which model scored the paragraphs
     "tables": {NAME: [row, ...]}}  # one list of records per table below; missing numbers are null

``NAME.csv``     one CSV per table, the same rows as ``report.json``'s ``tables[NAME]``:

==================  ====================================================================================
table               columns
==================  ====================================================================================
``shares``          group, frame, articles, paragraphs, count, share, share_low, share_high, expected,
                    expected_share, expected_low, expected_high, thin (95% intervals resample whole articles)
``article_shares``  group, frame, articles, articles_with_frame, article_share, article_share_low, article_share_high
``leading_frames``  article_id, outlet, date, title, leading_frame, leading_paragraph_index, leading_text, leading_probability
``tests``           test ("all frames" or a frame), chi2, dof, p_chi2, cramers_v, p_permutation, p_holm, testable, reason
``log_odds``        group, frame, log_odds, z
``jsd``             group_a, group_b, jsd, jsd_low, jsd_high
``over_time``       group, period, frame, articles, share, share_low, share_high (only when dates span enough)
``stories``         story, outlet, articles, leading_frame, leading_text, frames, probability (with an embedder)
``evidence``        group, frame, rank, probability, article_id, paragraph_index, outlet, date, title, url, text
``model_error``     frame, precision, recall (the model's test part, from its metadata)
==================  ====================================================================================

``review.csv``      the evidence paragraphs in ``framing annotate export``'s columns (article_id, paragraph_index,
                    text_hash, outlet, title, text, frames, boilerplate) with the predicted frames filled in:
                    correct ``frames`` and read it back with ``framing annotate import``.
``paragraphs.csv``  the scored paragraphs the report was built from: ``framing report`` re-cuts it without a model.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from framing.files import creatable_folder
from framing.schema import FramingError, FramingWarning, frame_columns

TABLES = ("shares", "article_shares", "leading_frames", "tests", "log_odds", "jsd", "over_time", "stories", "evidence", "model_error")
"""The report's tables, each written as ``NAME.csv`` and under ``tables`` in ``report.json``."""
FORMATS = ("html", "md")
REPORT_FILES = ("report.html", "report.md", "report.json", *(f"{t}.csv" for t in TABLES), "review.csv", "paragraphs.csv")
"""What a report folder holds; a folder holding anything else is never written into."""
DERIVED_GROUPS = ("month", "week")
"""Group columns derived from ``date`` when asked for by ``by``."""
EVIDENCE_PER_CELL = 3
REVIEW_COLUMNS = ("article_id", "paragraph_index", "text_hash", "outlet", "title", "text", "frames", "boilerplate")
PLAIN_COLUMNS = ("article_id", "outlet", "date", "title", "url", "paragraph_index", "text")


@dataclass
class Report:
    """Everything a report shows: its tables (see the module docstring), and the sentences that read them."""

    title: str
    by: str
    frames: list[str]
    overview: dict
    shares: pd.DataFrame
    article_shares: pd.DataFrame
    leading_frames: pd.DataFrame
    tests: pd.DataFrame
    log_odds: pd.DataFrame
    jsd: pd.DataFrame
    evidence: pd.DataFrame
    model_error: pd.DataFrame
    over_time: pd.DataFrame | None = None
    stories: pd.DataFrame | None = None
    summary: list[str] = field(default_factory=list)
    cannot_conclude: list[str] = field(default_factory=list)
    model: str | None = None
    paragraphs: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by name, in :data:`TABLES` order."""
        return {name: getattr(self, name) for name in TABLES if getattr(self, name) is not None}


def _warn_default(message: str) -> None:
    warnings.warn(message, FramingWarning, stacklevel=3)


# ---------------------------------------------------------------- selecting and grouping


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """``value`` as a date, or one line saying what a date looks like."""
    if value is None:
        return None
    try:
        return pd.to_datetime(value, format="ISO8601")
    except (ValueError, TypeError):
        raise FramingError(f"{option} {value!r} is not a date; give one such as 2020-07-10") from None


def select(table: pd.DataFrame, *, outlets: Sequence[str] = (), since=None, until=None) -> pd.DataFrame:
    """The rows of ``table`` (articles or scored paragraphs) from ``outlets`` dated from ``since`` to ``until`` (inclusive).

    An outlet name with no row is an error naming the outlets there are; so is a selection left empty.
    """
    if outlets:
        known = set(table["outlet"])
        unknown = [o for o in outlets if o not in known]
        if unknown:
            shown = ", ".join(sorted(known)[:10])
            raise FramingError(f"--outlet {unknown[0]!r}: no article from that outlet; the outlets are {shown}")
        table = table[table["outlet"].isin(outlets)]
    if since is not None or until is not None:
        dates = pd.to_datetime(table["date"], errors="coerce")
        keep = dates.notna()
        keep &= dates >= since if since is not None else keep
        keep &= dates <= until if until is not None else keep
        table = table[keep.to_numpy()]
    if table.empty:
        raise FramingError("no article is left after --outlet/--since/--until; widen the selection")
    return table


def read_groups(path: str | Path) -> pd.DataFrame:
    """An outlet attribute table (``outlet`` plus columns such as ``lean``), one row per outlet."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise FramingError(f"{path}: groups file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise FramingError(f"{path}: not a readable CSV ({err.__class__.__name__})") from None
    if "outlet" not in table.columns:
        raise FramingError(f"{path}: needs an 'outlet' column beside the attribute columns; found {', '.join(table.columns)}")
    twice = table["outlet"][table["outlet"].duplicated()]
    if len(twice):
        raise FramingError(f"{path}: outlet {twice.iloc[0]!r} appears twice; give one row per outlet")
    return table


def check_by(by: str, columns: Sequence[str]) -> None:
    """Refuse, before any work, a ``--by`` column the data will not have."""
    available = sorted({*columns, *DERIVED_GROUPS})
    if by not in available:
        raise FramingError(f"--by {by!r}: no such column; use one of {', '.join(available)}")


def add_groups(scored: pd.DataFrame, by: str, groups: pd.DataFrame | None = None, *, warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """``scored`` with the outlet attributes of ``groups`` joined and ``month``/``week`` derived from ``date`` when ``by`` asks.

    Rows left without a value of ``by`` are dropped with a warning.
    """
    warn = warn or _warn_default
    if groups is not None:
        clash = [c for c in groups.columns if c != "outlet" and c in scored.columns]
        if clash:
            raise FramingError(f"the groups file's column {clash[0]!r} is also a column of the articles; rename it")
        missing = sorted(set(scored["outlet"]) - set(groups["outlet"]))
        if missing:
            warn(f"the groups file has no row for {', '.join(missing)}; their articles have no {', '.join(c for c in groups.columns if c != 'outlet')}")
        scored = scored.merge(groups, on="outlet", how="left")
    if by in DERIVED_GROUPS and by not in scored.columns:
        dates = pd.to_datetime(scored["date"], errors="coerce")
        scored = scored.assign(**{by: dates.dt.strftime("%Y-%m") if by == "month" else dates.dt.strftime("%G-W%V")})
    if by not in scored.columns:
        raise FramingError(f"--by {by!r}: no such column in the data")
    empty = scored[by].isna() | (scored[by].astype(str).str.strip() == "")
    if empty.any():
        warn(f"{scored.loc[empty, 'article_id'].nunique()} articles have no {by} and are left out")
        scored = scored[~empty.to_numpy()]
    if scored.empty:
        raise FramingError(f"no article has a {by}; nothing to report")
    return scored.assign(**{by: scored[by].astype(str)})


def drop_small_groups(scored: pd.DataFrame, by: str, min_articles: int, *, warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """``scored`` without the groups of fewer than ``min_articles`` articles (named in a warning)."""
    if min_articles <= 1:
        return scored
    sizes = scored.groupby(by)["article_id"].nunique()
    small = sorted(sizes[sizes < min_articles].index)
    if small:
        (warn or _warn_default)(f"left out, fewer than {min_articles} articles: {', '.join(small)}")
    kept = scored[~scored[by].isin(small)]
    if kept.empty:
        raise FramingError(f"no {by} has {min_articles} articles; lower --min-articles")
    return kept


# ---------------------------------------------------------------- scored tables as input


def table_columns(path: Path) -> list[str] | None:
    """The columns of a table file, read cheaply; ``None`` for anything that is not a JSONL, CSV or Parquet file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix == ".csv":
            return list(pd.read_csv(path, nrows=0).columns)
        if suffix == ".jsonl":
            with open(path, encoding="utf-8") as handle:
                first = next((line for line in handle if line.strip()), "{}")
            return list(json.loads(first))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


def is_scored_table(path: Path) -> bool:
    """Is ``path`` a ``framing score`` output: a table with ``frames`` and frame probability columns."""
    columns = table_columns(Path(path)) if Path(path).is_file() else None
    return bool(columns) and "frames" in columns and bool(frame_columns(pd.DataFrame(columns=columns)))


def read_scored(paths: Sequence[Path]) -> tuple[pd.DataFrame, list[str]]:
    """Scored tables read back: one table and its frames (the numeric columns besides the paragraph columns)."""
    parts = []
    for path in paths:
        suffix = Path(path).suffix.lower()
        try:
            if suffix == ".parquet":
                part = pd.read_parquet(path)
            elif suffix == ".csv":
                part = pd.read_csv(path, dtype={"article_id": str, "outlet": str, "date": str, "title": str, "url": str})
            else:
                part = pd.read_json(path, lines=True, dtype={"article_id": str, "date": str}, convert_dates=False)
        except (OSError, ValueError) as err:
            raise FramingError(f"{path}: not a readable scored table ({err.__class__.__name__})") from None
        parts.append(part.assign(frames=[_frame_list(v) for v in part["frames"]]))
    scored = pd.concat(parts, ignore_index=True)
    frames = [c for c in frame_columns(scored) if pd.api.types.is_numeric_dtype(scored[c])]
    if not frames:
        raise FramingError(f"{paths[0]}: a scored table needs a probability column per frame")
    scored["article_id"] = scored["article_id"].astype(str)
    return scored, frames


def _frame_list(value) -> list[str]:
    """A ``frames`` cell as a list: JSON and Parquet keep lists, CSV joins them with ``;``."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if not isinstance(value, str):
        return []
    return [f.strip() for f in value.split(";") if f.strip() and f.strip() != "none"]


def model_error(meta: dict | None, frames: Sequence[str]) -> pd.DataFrame:
    """The model's test-part precision and recall per frame, from its ``head.json`` metrics (empty when unknown)."""
    metrics = (meta or {}).get("metrics", {})
    rows = [
        {"frame": f, "precision": metrics.get(f"test_{f}_precision"), "recall": metrics.get(f"test_{f}_recall")}
        for f in frames
        if f"test_{f}_precision" in metrics or f"test_{f}_recall" in metrics
    ]
    return pd.DataFrame(rows, columns=["frame", "precision", "recall"])


# ---------------------------------------------------------------- building


def evidence(scored: pd.DataFrame, frames: Sequence[str], *, by: str, per_cell: int = EVIDENCE_PER_CELL) -> pd.DataFrame:
    """For every group and frame, the ``per_cell`` paragraphs carrying the frame with the highest probability."""
    columns = ["group", "frame", "rank", "probability", *PLAIN_COLUMNS, "frames"]
    parts = []
    carried = scored["frames"].map(set)
    for frame in frames:
        has = scored[carried.map(lambda s, f=frame: f in s).to_numpy(dtype=bool)]
        if has.empty:
            continue
        top = has.sort_values(frame, ascending=False, kind="stable").groupby(by, sort=True).head(per_cell)
        top = top.assign(group=top[by].astype(str), frame=frame, probability=top[frame].round(4))
        top["rank"] = top.groupby("group").cumcount() + 1
        parts.append(top.reindex(columns=columns))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True).sort_values(["group", "frame", "rank"], ignore_index=True)


def review_table(evidence_rows: pd.DataFrame) -> pd.DataFrame:
    """The evidence paragraphs once each, in ``framing annotate export``'s columns, predicted frames filled in."""
    from framing.text.paragraphs import text_hash

    rows = evidence_rows.drop_duplicates(["article_id", "paragraph_index"])
    return pd.DataFrame(
        {
            "article_id": rows["article_id"].astype(str),
            "paragraph_index": rows["paragraph_index"].astype(int),
            "text_hash": [text_hash(t) for t in rows["text"]],
            "outlet": rows["outlet"],
            "title": rows["title"].fillna(""),
            "text": rows["text"],
            "frames": [";".join(f) for f in rows["frames"]],
            "boilerplate": "",
        },
        columns=list(REVIEW_COLUMNS),
    )


def story_table(scored: pd.DataFrame, frames: Sequence[str], embedder) -> pd.DataFrame:
    """Articles grouped into stories by date and embedding similarity; per story and outlet its leading frame."""
    from framing.analysis import stories

    articles = stories.article_texts_for_stories(scored)
    vectors = embedder.encode(articles["text"].tolist())
    ids = stories.find_stories(articles, vectors)
    return stories.story_view(scored, list(frames), articles.assign(story=ids))


def build_report(
    scored: pd.DataFrame,
    frames: Sequence[str],
    *,
    by: str = "outlet",
    groups: pd.DataFrame | None = None,
    model_meta: dict | None = None,
    embedder=None,
    seed: int = 0,
    min_articles: int = 0,
    title: str = "Framing report",
    model: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Report:
    """The whole report of a scored paragraph table, grouped by ``by``.

    Parameters
    ----------
    scored : scored paragraphs (``framing score`` output), ``title`` and ``url`` used when present.
    frames : the frame probability columns.
    groups : outlet attributes (``outlet`` plus columns such as ``lean``) joined on ``outlet``, so ``by`` may name them.
    model_meta : the model's ``head.json`` (its test precision and recall per frame are shown).
    embedder : encodes articles to group them into stories; ``None`` leaves the story view out.
    min_articles : groups with fewer articles are left out.
    """
    from framing.analysis import statistics as st

    frames = list(frames)
    plain = scored.reindex(columns=[*dict.fromkeys([*PLAIN_COLUMNS, *scored.columns])])
    plain["article_id"] = plain["article_id"].astype(str)
    data = drop_small_groups(add_groups(plain, by, groups, warn=warn), by, min_articles, warn=warn)
    report = Report(
        title=title, by=by, frames=frames, overview=_overview(data, by), model=model,
        shares=st.group_shares(data, frames, by=by, seed=seed),
        article_shares=st.article_frames(data, frames, by=by, lead=3, n_boot=2000, seed=seed),
        leading_frames=st.leading_frames(data, frames, lead=3),
        tests=st.dependence_tests(data, frames, by=by, seed=seed),
        log_odds=st.log_odds(data, frames, by=by),
        jsd=st.jsd_matrix(data, frames, by=by, seed=seed),
        over_time=st.shares_over_time(data, frames, by=by, seed=seed),
        stories=story_table(data, frames, embedder) if embedder is not None else None,
        evidence=evidence(data, frames, by=by),
        model_error=model_error(model_meta, frames),
        paragraphs=scored,
    )
    report.summary, report.cannot_conclude = summarise(report)
    return report


def _overview(data: pd.DataFrame, by: str) -> dict:
    dates = pd.to_datetime(data["date"], errors="coerce").dropna()
    return {
        "articles": int(data["article_id"].nunique()),
        "paragraphs": int(len(data)),
        "groups": int(data[by].nunique()),
        "date_from": dates.min().date().isoformat() if len(dates) else None,
        "date_to": dates.max().date().isoformat() if len(dates) else None,
    }


# ---------------------------------------------------------------- words


def _plural(by: str) -> str:
    return by if by.endswith("s") else f"{by}es" if by.endswith(("sh", "ch", "x")) else f"{by}s"


def _p(p: float) -> str:
    return "below 0.001" if p < 0.001 else f"{p:.3f}"


def _strength(v: float) -> str:
    return "weak" if v < 0.1 else "modest" if v < 0.3 else "moderate" if v < 0.5 else "strong"


def summarise(report: Report) -> tuple[list[str], list[str]]:
    """Plain-words findings (strongest differences first) and what the data cannot say."""
    by, plural = report.by, _plural(report.by)
    sizes = report.shares.drop_duplicates("group").set_index("group")["articles"]
    overall = report.tests[report.tests["test"] == "all frames"]
    testable = bool(len(overall)) and bool(overall["testable"].iloc[0])
    findings = _findings(report, testable)
    limits = []
    if len(sizes) < 2:
        limits.append(f"Only one {by} is in the data, so nothing can be compared between {plural}.")
    if len(sizes) and sizes.max() <= 1:
        limits.append(
            f"Each {by} here has a single article: one article per {by} supports no claim about the {plural} in general, "
            f"only about these articles. The story view below compares them side by side."
        )
    else:
        thin = report.shares.loc[report.shares["thin"].astype(bool), "group"].drop_duplicates().tolist()
        if thin:
            limits.append(
                f"{_join(thin)} {'has' if len(thin) == 1 else 'have'} fewer than {_min_articles()} articles: their numbers carry "
                "a warning and wide intervals, and say little about the " + (by if len(thin) == 1 else plural) + " in general."
            )
    if len(overall) and not testable:
        reason = str(overall["reason"].iloc[0] or "too little data").rstrip(".")
        limits.append(f"No test of whether framing depends on the {by} can be made: {reason}.")
    limits.append(_model_limit(report.model_error))
    limits.append(
        f"Differences are associations in these articles: they do not say why framing differs between {plural}, "
        "how readers take it, or how the articles were chosen."
    )
    return findings, limits


def _min_articles() -> int:
    from framing.analysis.statistics import MIN_ARTICLES

    return MIN_ARTICLES


def _join(names: Sequence[str]) -> str:
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _findings(report: Report, testable: bool) -> list[str]:
    by, plural = report.by, _plural(report.by)
    o = report.overview
    span = f", {o['date_from']} to {o['date_to']}" if o.get("date_from") and o["date_from"] != o["date_to"] else (
        f", {o['date_from']}" if o.get("date_from") else "")
    out = [f"{o['articles']} articles ({o['paragraphs']} paragraphs) from {o['groups']} {plural if o['groups'] != 1 else by}{span}."]
    tests = report.tests
    if testable:
        row = tests[tests["test"] == "all frames"].iloc[0]
        p = float(row["p_permutation"])
        if p < 0.05:
            out.append(
                f"Framing depends on the {by}: differences this large would arise by chance with probability {_p(p)} "
                f"if the {plural} framed alike (whole articles shuffled); the association is {_strength(float(row['cramers_v']))} "
                f"(Cramér's V {float(row['cramers_v']):.2f})."
            )
        else:
            out.append(f"There is no clear evidence that framing depends on the {by} (permutation p = {_p(p)}).")
        per_frame = tests[(tests["test"] != "all frames") & tests["testable"].astype(bool)]
        differ = per_frame[per_frame["p_holm"] < 0.05].sort_values("p_holm")
        if len(differ):
            out.append(f"Frames whose use differs between {plural} (Holm-corrected p < 0.05): "
                       + ", ".join(f"{r.test} (p {_p(float(r.p_holm))})" for r in differ.itertuples()) + ".")
        out.extend(_strongest(report, 3))
    else:
        out.extend(_descriptive(report))
    if report.stories is not None and len(report.stories):
        shared = report.stories.groupby("story")["outlet"].nunique()
        shared = shared[shared > 1]
        if len(shared):
            story = report.stories[report.stories["story"] == shared.idxmax()]
            leads = "; ".join(f"{r.outlet}: {r.leading_frame}" for r in story.itertuples())
            out.append(
                f"{len(shared)} {'story was' if len(shared) == 1 else 'stories were'} covered by more than one outlet. "
                f"In the most widely covered ({shared.max()} outlets) the leading frames are {leads}."
            )
    return out


def _others_share(shares: pd.DataFrame, group, frame) -> float:
    rest = shares[(shares["frame"] == frame) & (shares["group"] != group)]
    return float(rest["count"].sum() / rest["paragraphs"].sum()) if rest["paragraphs"].sum() else float("nan")


def _strongest(report: Report, n: int) -> list[str]:
    """The ``n`` largest log-odds z-scores beyond ±1.96, in words."""
    z = report.log_odds.dropna(subset=["z"])
    z = z[z["z"].abs() >= 1.96].reindex(z["z"].abs().sort_values(ascending=False).index).dropna(subset=["z"]).head(n)
    shares = report.shares.set_index(["group", "frame"])
    out = []
    for r in z.itertuples():
        share = shares.loc[(r.group, r.frame), "share"] if (r.group, r.frame) in shares.index else float("nan")
        others = _others_share(report.shares, r.group, r.frame)
        more = "more" if r.z > 0 else "less"
        out.append(f"{r.group} uses {r.frame} {more} than the other {_plural(report.by)}: {share:.0%} of its paragraphs against "
                   f"{others:.0%} (log-odds z {r.z:+.1f}).")
    return out


def _descriptive(report: Report) -> list[str]:
    """Without a test: the frame whose share differs most between groups, described as what these articles show."""
    if report.shares["group"].nunique() < 2:
        return []
    spread = report.shares.groupby("frame")["share"].agg(lambda s: s.max() - s.min())
    frame = spread.idxmax()
    part = report.shares[report.shares["frame"] == frame].sort_values("share")
    low, high = part.iloc[0], part.iloc[-1]
    return [f"In these articles {high.group} gave the largest share of its paragraphs to {frame} ({high.share:.0%}) and "
            f"{low.group} the smallest ({low.share:.0%}); this describes these articles, not the {_plural(report.by)}."]


def _model_limit(errors: pd.DataFrame) -> str:
    if errors.empty:
        return ("The frames are the model's reading, not a person's, and this report does not know the model's error "
                "(a scored table does not record it): check the evidence paragraphs.")
    worst = errors.sort_values("recall").iloc[0]
    return (f"The frames are the model's reading, not a person's: on its test articles it finds {worst.recall:.0%} of the "
            f"paragraphs that carry {worst.frame} (its weakest recall), and its precision per frame is "
            f"{errors['precision'].min():.0%}–{errors['precision'].max():.0%}; shares inherit these errors.")


# ---------------------------------------------------------------- HTML

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: .6em 0 1.2em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 14px; }
th { background: #f4f4f4; } td.num { text-align: right; white-space: nowrap; }
.note { color: #555; font-size: 13px; } .warn { color: #a15c00; font-weight: 600; white-space: nowrap; }
.summary li { margin: .3em 0; } .limits { background: #fff7e6; border-left: 4px solid #e0a030; padding: .4em 1em; }
.story { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 1.5em; }
.card { flex: 1 1 170px; border: 1px solid #ccc; border-radius: 6px; padding: 8px 10px; font-size: 14px; }
blockquote { margin: .5em 0 0; padding-left: .6em; border-left: 3px solid #ccc; }
.card h4 { margin: 0 0 .3em; } .frame { font-weight: 600; color: #1f4e99; }
details { margin: .4em 0; } summary { cursor: pointer; }
"""
GUARD = """<script>
(function () {
  var root = document.documentElement;
  root.dataset.jsErrors = "0"; root.dataset.alerts = "0";
  function count() { root.dataset.jsErrors = String(Number(root.dataset.jsErrors) + 1); }
  window.onerror = count;
  window.addEventListener("unhandledrejection", count);
  window.alert = function () { root.dataset.alerts = String(Number(root.dataset.alerts) + 1); };
})();
</script>"""


def esc(value) -> str:
    """Any value as HTML text (quotes too, so it is also safe inside an attribute)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def link(url, label) -> str:
    """``label`` linked to ``url`` when it is an http(s) URL; plain escaped text otherwise."""
    if isinstance(url, str) and urlparse(url.strip()).scheme.lower() in ("http", "https"):
        return f'<a href="{esc(url.strip())}" rel="noopener noreferrer">{esc(label)}</a>'
    return esc(label)


def _pct(x) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):.0%}"


def _interval(share, low, high, articles) -> str:
    """A share with its 95% interval; one article gives no interval (nothing to resample)."""
    if int(articles) <= 1:
        return f"{_pct(share)} (one article: no interval)"
    return f"{_pct(share)} ({_pct(low)}–{_pct(high)})"


def _num(x, digits: int = 2) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):.{digits}f}"


def _table(head: Sequence[str], rows: list[list[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table of cells that are already HTML (escaped by the caller)."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _plotly_label(value) -> str:
    """A label for plotly, which reads a few tags and entities in text: escaped, so it shows as written."""
    return html.escape(str(value), quote=False)


def _chart(div_id: str, fig) -> str:
    """A plotly figure drawn into ``div_id`` by the inlined library; its JSON cannot close the script element."""
    spec = fig.to_json().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f'<div id="{div_id}" class="chart"></div>'
            f"<script>(function () {{ var f = {spec}; Plotly.newPlot({json.dumps(div_id)}, f.data, f.layout, "
            "{displaylogo: false, responsive: true}); })();</script>")


def _thin_groups(report: Report) -> set:
    return set(report.shares.loc[report.shares["thin"].astype(bool), "group"])


def _group_label(group, thin: set) -> str:
    return f"{group} (thin)" if group in thin else str(group)


def shares_chart(report: Report) -> str:
    import plotly.graph_objects as go

    thin = _thin_groups(report)
    fig = go.Figure()
    for frame in report.frames:
        part = report.shares[report.shares["frame"] == frame]
        fig.add_bar(
            name=_plotly_label(frame),
            x=[_plotly_label(_group_label(g, thin)) for g in part["group"]],
            y=part["share"].tolist(),
            error_y={"type": "data", "symmetric": False, "array": (part["share_high"] - part["share"]).tolist(),
                     "arrayminus": (part["share"] - part["share_low"]).tolist(), "color": "#333"},
            hovertemplate="%{x}<br>" + _plotly_label(frame) + ": %{y:.0%}<extra></extra>",
        )
    fig.update_layout(barmode="stack", yaxis={"title": "share of paragraphs", "tickformat": ".0%"},
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 20}, height=460)
    return _chart("chart-shares", fig)


def _heatmap(div_id: str, z, x, y, *, title: str, zmid=None, colorscale="RdBu", reverse=True, fmt=".1f") -> str:
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(
        z=z, x=[_plotly_label(v) for v in x], y=[_plotly_label(v) for v in y], zmid=zmid, colorscale=colorscale,
        reversescale=reverse, texttemplate="%{z:" + fmt + "}", colorbar={"title": {"text": title}},
        hovertemplate="%{y} / %{x}: %{z:" + fmt + "}<extra></extra>",
    ))
    fig.update_layout(margin={"t": 20}, height=max(260, 60 + 40 * len(y)), yaxis={"autorange": "reversed"})
    return _chart(div_id, fig)


def log_odds_chart(report: Report) -> str:
    grid = report.log_odds.pivot(index="group", columns="frame", values="z").reindex(columns=report.frames)
    z = grid.to_numpy(dtype=float)
    return _heatmap("chart-logodds", np.where(np.isnan(z), None, z).tolist(), report.frames, grid.index.tolist(), title="z", zmid=0)


def jsd_chart(report: Report) -> str:
    names = sorted(set(report.jsd["group_a"]) | set(report.jsd["group_b"]), key=str)
    grid = pd.DataFrame(0.0, index=names, columns=names)
    for r in report.jsd.itertuples():
        grid.loc[r.group_a, r.group_b] = grid.loc[r.group_b, r.group_a] = r.jsd
    return _heatmap("chart-jsd", grid.round(3).to_numpy().tolist(), names, names, title="JSD", colorscale="Blues",
                    reverse=False, fmt=".2f")


def time_chart(report: Report) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frames = report.frames
    fig = make_subplots(rows=len(frames), cols=1, shared_xaxes=True, subplot_titles=[_plotly_label(f) for f in frames])
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    for gi, (group, part) in enumerate(report.over_time.groupby("group", sort=True)):
        for fi, frame in enumerate(frames):
            line = part[part["frame"] == frame].sort_values("period")
            fig.add_trace(go.Scatter(
                x=line["period"].astype(str).tolist(), y=line["share"].tolist(), mode="lines+markers",
                name=_plotly_label(group), legendgroup=_plotly_label(group), showlegend=fi == 0,
                line={"color": colours[gi % len(colours)]},
                error_y={"type": "data", "symmetric": False, "array": (line["share_high"] - line["share"]).tolist(),
                         "arrayminus": (line["share"] - line["share_low"]).tolist(), "thickness": 1},
            ), row=fi + 1, col=1)
            fig.update_yaxes(tickformat=".0%", row=fi + 1, col=1)
    fig.update_layout(height=220 * len(frames) + 80, margin={"t": 40}, legend={"orientation": "h", "y": -0.08})
    periods = sorted(report.over_time["period"].astype(str).unique())
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=periods)
    return _chart("chart-time", fig)


def _shares_table(report: Report) -> str:
    thin, n_min = _thin_groups(report), _min_articles()
    errors = report.model_error.set_index("frame") if len(report.model_error) else None
    rows = []
    for r in report.shares.sort_values(["group", "frame"], key=lambda s: s.map(str)).itertuples():
        warn = f" <span class='warn' title='fewer than {n_min} articles'>⚠ thin: {int(r.articles)} article{'s' if r.articles != 1 else ''}</span>" if r.group in thin else ""
        err = (f"{_pct(errors.loc[r.frame, 'precision'])} / {_pct(errors.loc[r.frame, 'recall'])}"
               if errors is not None and r.frame in errors.index else "unknown")
        rows.append([esc(r.group) + warn, esc(r.frame), str(int(r.articles)), str(int(r.paragraphs)), str(int(r.count)),
                     _interval(r.share, r.share_low, r.share_high, r.articles),
                     _interval(r.expected_share, r.expected_low, r.expected_high, r.articles), err])
    return _table([report.by, "frame", "articles", "paragraphs", "paragraphs with frame", "share (95% interval)",
                   "expected share from probabilities (95% interval)", "model precision / recall on its test part"],
                  rows, numeric=(2, 3, 4, 5, 6, 7))


def _article_table(report: Report) -> str:
    thin = _thin_groups(report)
    rows = [[esc(r.group) + (" <span class='warn'>⚠ thin</span>" if r.group in thin else ""), esc(r.frame),
             f"{int(r.articles_with_frame)} of {int(r.articles)}",
             _interval(r.article_share, r.article_share_low, r.article_share_high, r.articles)]
            for r in report.article_shares.itertuples()]
    return _table([report.by, "frame", "articles carrying it", "share of articles (95% interval)"], rows, numeric=(2, 3))


def _tests_table(report: Report) -> str:
    rows, first_reason = [], None
    for r in report.tests.itertuples():
        said = "as above" if r.reason == first_reason and r.test != "all frames" else r.reason
        first_reason = r.reason if r.test == "all frames" else first_reason
        if bool(r.testable):
            rows.append([esc(r.test), _num(r.chi2), str(int(r.dof)), _num(r.cramers_v), _p(float(r.p_permutation)),
                         "" if pd.isna(r.p_holm) else _p(float(r.p_holm)), esc(r.reason)])
        else:
            rows.append([esc(r.test), "", "", "", "", "", "<span class='warn'>no test possible</span>: " + esc(said)])
    return _table(["test", "chi-square", "df", "Cramér's V", "p (permutation of articles)", "p (Holm)", "note"], rows,
                  numeric=(1, 2, 3, 4, 5))


def _leading_table(report: Report) -> str:
    lead = report.leading_frames
    title = lead["title"] if "title" in lead else lead["article_id"]
    rows = [[esc(r.outlet), esc(r.date), esc(t), f"<span class='frame'>{esc(r.leading_frame)}</span>",
             _num(r.leading_probability), esc(r.leading_text)] for r, t in zip(lead.itertuples(), title)]
    return _table(["outlet", "date", "article", "leading frame", "p", "paragraph that carries it"], rows[:200], numeric=(4,))


def _stories_html(report: Report) -> str:
    out = []
    urls = report.paragraphs.drop_duplicates("article_id").set_index("article_id")["url"] if report.paragraphs is not None and "url" in report.paragraphs else pd.Series(dtype=object)
    sizes = report.stories.groupby("story")["outlet"].nunique().sort_values(ascending=False, kind="stable")
    shared = sizes[sizes > 1]
    if shared.empty:
        return "<p>No story was covered by more than one outlet.</p>"
    for story in shared.index[:30]:
        part = report.stories[report.stories["story"] == story]
        cards = "".join(
            f"<div class='card'><h4>{esc(r.outlet)}</h4><div>{int(r.articles)} article{'s' if r.articles != 1 else ''}"
            f"{': ' + link(urls.get(r.article_id), r.title) if int(r.articles) == 1 and isinstance(r.title, str) else ''}</div>"
            f"<div>leading frame: <span class='frame'>{esc(r.leading_frame)}</span> ({_num(r.probability)})</div>"
            f"<div class='note'>frames: {esc(r.frames if isinstance(r.frames, str) else ', '.join(map(str, r.frames)))}</div>"
            f"<blockquote>{esc(r.leading_text)}</blockquote></div>"
            for r in part.itertuples()
        )
        out.append(f"<h3>Story {esc(story)}: {int(sizes[story])} outlet{'s' if sizes[story] != 1 else ''}</h3><div class='story'>{cards}</div>")
    return "".join(out)


def _evidence_html(report: Report) -> str:
    out = []
    for (group, frame), part in report.evidence.groupby(["group", "frame"], sort=True):
        rows = [[str(int(r.rank)), _num(r.probability), link(r.url, r.title if isinstance(r.title, str) and r.title else r.article_id),
                 esc(r.date), esc(r.text)] for r in part.itertuples()]
        out.append(f"<details><summary>{esc(group)} · {esc(frame)} ({len(part)})</summary>"
                   + _table(["#", "p", "article", "date", "paragraph"], rows, numeric=(0, 1)) + "</details>")
    return "".join(out) or "<p>No paragraph carries any frame.</p>"


METHOD_NOTES = """
<ul class="note">
<li><b>Share of paragraphs</b>: the paragraphs of a group the model gives the frame (above its threshold), over all its
paragraphs; a paragraph may carry several frames or none, so a bar may pass or fall short of 100%. The <b>expected share</b>
adds the probabilities instead (a paragraph at 0.6 counts 0.6). The 95% intervals come from a bootstrap that resamples whole
articles, because paragraphs of one article are not independent. They cover sampling error among these articles, not the model's
own error nor how the articles were chosen.</li>
<li><b>Share of articles</b>: the articles that carry the frame at all. The <b>leading frame</b> of an article is the frame
carried most strongly by its headline and first paragraphs.</li>
<li><b>Tests</b>: a chi-square test of group × frame with Cramér's V as effect size (0 no association, 1 complete), and a
p-value from shuffling whole articles between groups; per frame the same, Holm-corrected over frames. A small p says the
groups' framing is unlikely to differ this much by chance; it does not say the difference is large or important: read V.
With too few articles no test is made.</li>
<li><b>Log-odds z-scores</b> (Monroe, Colaresi and Quinn 2008): how much more (positive) or less (negative) a group uses a frame than
the others, with an informative Dirichlet prior that tames small counts. |z| above about 2 is notable; the z-scores count
paragraphs as independent, so with few articles they overstate certainty.</li>
<li><b>Jensen-Shannon divergence</b>: the distance between two groups' frame distributions, from 0 (identical) to 1 (nothing
in common), with a bootstrap interval over articles. It says how different, not in which frames: see the z-scores.</li>
<li><b>Stories</b>: articles grouped by date (within a week) and the similarity of their text's embeddings. Grouping may
join or split stories wrongly; check the titles.</li>
<li><b>Model error</b>: precision (of the paragraphs the model gives a frame, the share that carry it) and recall (of the
paragraphs that carry it, the share it finds), measured on the model's held-back test articles.</li>
</ul>
"""


def render_html(report: Report) -> str:
    """The whole report as one HTML string, plotly inlined once, every piece of data escaped."""
    from plotly.offline import get_plotlyjs

    stories = report.stories is not None and len(report.stories) > 0
    untestable = not report.tests.loc[report.tests["test"] == "all frames", "testable"].astype(bool).any()
    story_section = ("<h2 id='stories'>Story view: the outlets side by side</h2><p class='note'>Per story, each outlet's "
                     "leading frame and the paragraph that carries it.</p>" + _stories_html(report)) if stories else ""
    sections = [
        f"<h1>{esc(report.title)}</h1>",
        "<h2>Summary</h2><ul class='summary'>" + "".join(f"<li>{esc(s)}</li>" for s in report.summary) + "</ul>",
        "<div class='limits'><h3>What these data cannot tell</h3><ul>" + "".join(f"<li>{esc(s)}</li>" for s in report.cannot_conclude) + "</ul></div>",
        story_section if untestable else "",
        f"<h2>Share of each {esc(report.by)}'s paragraphs carrying each frame</h2>",
        shares_chart(report),
        "<p class='note'>A paragraph may carry several frames (or none), so a bar can rise above or stay below 100%. "
        "Whiskers: 95% intervals from resampling whole articles. “(thin)”: fewer than "
        f"{_min_articles()} articles.</p>",
        _shares_table(report),
        f"<h2>Which frames each {esc(report.by)} over- and under-uses</h2>", log_odds_chart(report),
        f"<h2>How far apart the {esc(_plural(report.by))}' framing is</h2>", jsd_chart(report),
        "<h2>Does framing depend on the " + esc(report.by) + "?</h2>", _tests_table(report),
        "<h2>Articles</h2>", _article_table(report),
        "<h3>The frame that leads each article</h3>", _leading_table(report),
    ]
    if report.over_time is not None and len(report.over_time):
        sections += ["<h2>Frames over time</h2>", time_chart(report)]
    if not untestable:
        sections.append(story_section)
    sections += [
        "<h2>Evidence: the paragraphs that carry each frame most strongly</h2><p class='note'>Check the model here; "
        "review.csv beside this file lists these paragraphs with their predicted frames, to correct and import with "
        "<code>framing annotate import review.csv --into data/labels/NAME.csv</code>.</p>", _evidence_html(report),
        "<h2>Method notes</h2>", METHOD_NOTES,
        f"<p class='note'>{esc(report.model or 'Scored table given as input; no model was loaded.')}</p>",
    ]
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(report.title)}</title>"
            f"<style>{CSS}</style>{GUARD}<script>{get_plotlyjs()}</script></head><body>\n"
            + "\n".join(sections) + "\n</body></html>\n")


# ---------------------------------------------------------------- Markdown and JSON


def _md(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """A short Markdown summary: findings, limits, shares with intervals, tests, stories, model error."""
    thin = _thin_groups(report)
    lines = [f"# {_md(report.title)}", "", *(f"- {_md(s)}" for s in report.summary), "", "**What these data cannot tell**", "",
             *(f"- {_md(s)}" for s in report.cannot_conclude), "", f"## Share of paragraphs per {report.by} (95% interval)", "",
             f"| {report.by} | " + " | ".join(report.frames) + " |", "|---" * (len(report.frames) + 1) + "|"]
    for group, part in report.shares.groupby("group", sort=True):
        cells = part.set_index("frame").reindex(report.frames)
        lines.append(f"| {_md(group)}{' ⚠ thin' if group in thin else ''} | "
                     + " | ".join(_interval(r.share, r.share_low, r.share_high, r.articles) for r in cells.itertuples()) + " |")
    lines += ["", "## Tests", "", "| test | Cramér's V | p (permutation) | p (Holm) | note |", "|---|---|---|---|---|"]
    for r in report.tests.itertuples():
        cells = [_num(r.cramers_v), _p(float(r.p_permutation)), "" if pd.isna(r.p_holm) else _p(float(r.p_holm))] if bool(r.testable) else ["", "", ""]
        lines.append(f"| {_md(r.test)} | " + " | ".join(cells) + f" | {_md(r.reason if isinstance(r.reason, str) else '')} |")
    if report.stories is not None and len(report.stories):
        lines += ["", "## Stories", "", "| story | outlet | leading frame | paragraph |", "|---|---|---|---|"]
        lines += [f"| {_md(r.story)} | {_md(r.outlet)} | {_md(r.leading_frame)} | {_md(r.leading_text)} |" for r in report.stories.itertuples()]
    if len(report.model_error):
        lines += ["", "## Model error (test part)", "", "| frame | precision | recall |", "|---|---|---|"]
        lines += [f"| {_md(r.frame)} | {_num(r.precision, 3)} | {_num(r.recall, 3)} |" for r in report.model_error.itertuples()]
    return "\n".join(lines) + "\n"


def _records(table: pd.DataFrame) -> list[dict]:
    flat = table.copy()
    for column in flat.columns:
        if flat[column].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            flat[column] = flat[column].map(lambda v: list(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    return json.loads(flat.to_json(orient="records", date_format="iso", force_ascii=False, default_handler=str))


def report_json(report: Report) -> dict:
    """Every number of the report (schema in the module docstring)."""
    return {
        "schema": 1, "title": report.title, "by": report.by, "frames": list(report.frames), "overview": report.overview,
        "summary": report.summary, "cannot_conclude": report.cannot_conclude, "model": report.model,
        "tables": {name: _records(table) for name, table in report.tables().items()},
    }


def _csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    flat = table.copy()
    for column in flat.columns:
        if flat[column].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            flat[column] = flat[column].map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    return flat


# ---------------------------------------------------------------- files


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """``--format`` values (repeated or comma-separated) checked: html and/or md."""
    chosen = [f.strip().lower() for value in formats for f in str(value).split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise FramingError(f"--format {unknown[0]!r}: unknown; use html or md (JSON and CSV are always written)")
    return tuple(dict.fromkeys(chosen)) or ("html",)


def check_report_folder(out_dir: str | Path) -> Path:
    """The report folder, resolved, once it is sure a report there mixes with or replaces nothing but an earlier report.

    Refused: an existing file, the filesystem root, the current folder, a folder
    holding anything besides :data:`REPORT_FILES`, and a folder whose parent is
    missing (only the last folder is made). Called before any work.
    """
    given = Path(out_dir)
    folder = given.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise FramingError(f"{given} is a file; the report needs a folder, such as reports/NAME")
    if folder == Path(folder.anchor):
        raise FramingError(f"{given} is the filesystem root; give a folder of its own for the report, such as reports/NAME")
    if folder == Path.cwd().resolve():
        raise FramingError(f"{given} is the current folder; give a folder of its own for the report, such as reports/NAME")
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if p.name not in REPORT_FILES)
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise FramingError(
                f"{given} holds files that are not a report's ({shown}); give a new or empty folder, or an earlier report's folder"
            )
    return creatable_folder(folder, output=given)


def write_report(report: Report, out_dir: str | Path, formats: Sequence[str] = ("html",)) -> Path:
    """Write the report's files into ``out_dir``: ``report.html``/``report.md`` by ``formats``, always JSON and CSVs.

    Files are built in a sibling folder and moved in together, and an earlier report's files this one does not
    write are removed, so the folder never mixes two reports. Returns the folder.
    """
    formats = check_formats(formats)
    out_dir = check_report_folder(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        if "html" in formats:
            (staging / "report.html").write_text(render_html(report), encoding="utf-8")
        if "md" in formats:
            (staging / "report.md").write_text(render_markdown(report), encoding="utf-8")
        (staging / "report.json").write_text(json.dumps(report_json(report), ensure_ascii=False, indent=1), encoding="utf-8")
        for name, table in report.tables().items():
            _csv_ready(table).to_csv(staging / f"{name}.csv", index=False)
        review_table(report.evidence).to_csv(staging / "review.csv", index=False)
        if report.paragraphs is not None:
            _csv_ready(report.paragraphs).to_csv(staging / "paragraphs.csv", index=False)
        out_dir.mkdir(exist_ok=True)
        written = {p.name for p in staging.iterdir()}
        for file in staging.iterdir():
            file.replace(out_dir / file.name)
        for name in set(REPORT_FILES) - written:
            (out_dir / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir
