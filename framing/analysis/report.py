"""Outlet framing statistics and the self-contained HTML report.

The statistics are pure functions of a scored paragraph table (see
:func:`framing.analysis.score.score_paragraphs`); :func:`write_report` is the only
function that writes files.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from framing.analysis.score import write_table
from framing.files import creatable_folder
from framing.schema import FramingError, frame_columns

PERMUTATIONS = 5000
REPORT_FILES = ("report.html", "outlet_frames.csv", "paragraphs.csv")
"""What a report folder holds; a folder holding anything else is never written into."""


def wilson_interval(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of the proportions ``k / n``."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, 0.0)
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(np.nan_to_num(centre - half), 0, 1), np.clip(np.nan_to_num(centre + half, nan=1.0), 0, 1)


def carries(scored: pd.DataFrame, frames: list[str]) -> pd.DataFrame:
    """Indicator table: does each paragraph carry each frame."""
    return pd.DataFrame({f: [f in row for row in scored["frames"]] for f in frames}, index=scored.index)


def outlet_frames(scored: pd.DataFrame, frames: list[str] | None = None) -> pd.DataFrame:
    """Per outlet: articles, paragraphs, and per frame the count and share of paragraphs carrying it.

    Columns ``outlet, articles, paragraphs`` then ``<frame>_count, <frame>_share``
    for each frame and ``none_count, none_share``.
    """
    frames = frames or frame_columns(scored)
    has = carries(scored, frames)
    has["none"] = ~has.any(axis=1)
    grouped = scored.assign(**{f"_{c}": has[c] for c in has}).groupby("outlet", sort=True)
    table = pd.DataFrame(
        {"articles": grouped["article_id"].nunique(), "paragraphs": grouped.size()}
    )
    for name in [*frames, "none"]:
        table[f"{name}_count"] = grouped[f"_{name}"].sum().astype(int)
        table[f"{name}_share"] = (table[f"{name}_count"] / table["paragraphs"]).round(4)
    return table.reset_index()


def frame_shares(scored: pd.DataFrame, frames: list[str] | None = None) -> pd.DataFrame:
    """Long table ``outlet, frame, n, count, share, ci_low, ci_high`` (95% Wilson)."""
    frames = frames or frame_columns(scored)
    wide = outlet_frames(scored, frames)
    rows = []
    for name in frames:
        low, high = wilson_interval(wide[f"{name}_count"], wide["paragraphs"])
        rows.append(
            pd.DataFrame(
                {
                    "outlet": wide["outlet"],
                    "frame": name,
                    "n": wide["paragraphs"],
                    "count": wide[f"{name}_count"],
                    "share": wide[f"{name}_share"],
                    "ci_low": low.round(4),
                    "ci_high": high.round(4),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def frame_tests(scored: pd.DataFrame, frames: list[str] | None = None, *, seed: int = 0) -> pd.DataFrame:
    """Does the share of paragraphs carrying each frame differ between outlets?

    A chi-square test of homogeneity (outlet x carries-frame) per frame, with a
    permutation p-value (outlet labels shuffled across paragraphs) because
    expected counts are often small, Cramér's V as effect size, and a Holm
    correction across frames.
    """
    frames = frames or frame_columns(scored)
    has = carries(scored, frames)
    outlets = scored["outlet"].to_numpy()
    rng = np.random.default_rng(seed)
    rows = []
    for name in frames:
        y = has[name].to_numpy()
        table = pd.crosstab(outlets, y).reindex(columns=[False, True], fill_value=0).to_numpy()
        if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
            rows.append({"frame": name, "chi2": 0.0, "dof": table.shape[0] - 1, "p_value": 1.0, "cramers_v": 0.0})
            continue
        chi2 = stats.chi2_contingency(table, correction=False)[0]
        _, codes = np.unique(outlets, return_inverse=True)
        sizes = np.bincount(codes)
        exceed = 0
        for _ in range(PERMUTATIONS):
            perm = rng.permutation(y)
            positives = np.bincount(codes, weights=perm, minlength=len(sizes))
            sim = np.column_stack([sizes - positives, positives])
            exceed += stats.chi2_contingency(sim, correction=False)[0] >= chi2 - 1e-9
        n = table.sum()
        rows.append(
            {
                "frame": name,
                "chi2": round(float(chi2), 3),
                "dof": table.shape[0] - 1,
                "p_value": (exceed + 1) / (PERMUTATIONS + 1),
                "cramers_v": round(float(np.sqrt(chi2 / n)), 3),
            }
        )
    tests = pd.DataFrame(rows)
    order = np.argsort(tests["p_value"].to_numpy())
    m = len(tests)
    holm = np.maximum.accumulate([min(1.0, (m - i) * tests["p_value"].iloc[j]) for i, j in enumerate(order)])
    tests.loc[tests.index[order], "p_holm"] = holm
    return tests


def top_paragraphs(scored: pd.DataFrame, frame: str, *, per_outlet: int = 3) -> pd.DataFrame:
    """The paragraphs that carry ``frame`` most confidently, a few per outlet."""
    has = scored[[frame in row for row in scored["frames"]]]
    return (
        has.sort_values(frame, ascending=False)
        .groupby("outlet", sort=True)
        .head(per_outlet)
        .sort_values(["outlet", frame], ascending=[True, False])
    )


def _charts(shares: pd.DataFrame) -> str:
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    fig = go.Figure()
    for frame, part in shares.groupby("frame", sort=False):
        fig.add_bar(
            name=frame,
            x=part["outlet"],
            y=part["share"],
            error_y={"type": "data", "symmetric": False, "array": part["ci_high"] - part["share"], "arrayminus": part["share"] - part["ci_low"]},
            hovertemplate="%{x}<br>" + frame + ": %{y:.0%}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        yaxis={"title": "share of paragraphs", "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 30},
        height=460,
    )
    return (
        f"<script>{get_plotlyjs()}</script>"
        + fig.to_html(full_html=False, include_plotlyjs=False, div_id="frame-shares")
    )


def render_html(scored: pd.DataFrame, *, title: str = "Outlet framing report") -> str:
    """The whole report as one HTML string, scripts inlined so it opens offline."""
    frames = frame_columns(scored)
    wide = outlet_frames(scored, frames)
    shares = frame_shares(scored, frames)
    tests = frame_tests(scored, frames)
    esc = html.escape

    overview = wide[["outlet", "articles", "paragraphs", *(f"{f}_share" for f in [*frames, "none"])]].copy()
    overview.columns = ["outlet", "articles", "paragraphs", *frames, "none"]
    for f in [*frames, "none"]:
        overview[f] = overview[f].map(lambda s: f"{s:.0%}")
    tests_view = tests.assign(
        p_value=tests["p_value"].map(lambda p: f"{p:.4f}"),
        p_holm=tests["p_holm"].map(lambda p: f"{p:.4f}"),
        verdict=np.where(tests["p_holm"] < 0.05, "outlets differ", "no clear difference"),
    )
    sections = []
    for frame in frames:
        rows = "".join(
            f"<tr><td>{esc(r.outlet)}</td><td>{getattr(r, frame):.2f}</td><td>{esc(r.text)}</td></tr>"
            for r in top_paragraphs(scored, frame).itertuples()
        )
        body = f"<table><tr><th>outlet</th><th>p</th><th>paragraph</th></tr>{rows}</table>" if rows else "<p>No paragraph carries this frame.</p>"
        sections.append(f"<h3 id='frame-{esc(frame)}'>{esc(frame)}</h3>{body}")
    n_articles = scored["article_id"].nunique()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 14px; }}
th {{ background: #f4f4f4; }}
.note {{ color: #555; font-size: 13px; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{n_articles} articles, {len(scored)} paragraphs (boilerplate removed), {wide.shape[0]} outlets.
Frames: {', '.join(map(esc, frames))}. A paragraph may carry several frames, or none.</p>
<h2>Share of paragraphs carrying each frame</h2>
{_charts(shares)}
<p class="note">Bars are shares of each outlet's paragraphs; whiskers are 95% Wilson intervals.</p>
{overview.to_html(index=False, escape=True, classes="overview")}
<h2>Do outlets differ?</h2>
<p class="note">Per frame, a chi-square test of homogeneity across outlets with a permutation p-value
({PERMUTATIONS} shuffles of the outlet labels over paragraphs) and Holm's correction over frames.
Cramér's V is the effect size (0 none, 1 complete). Paragraphs of one article are not independent,
so read small p-values from few articles with care.</p>
{tests_view.to_html(index=False, escape=True, classes="tests")}
<h2>Paragraphs that carry each frame</h2>
<p class="note">The most confident paragraphs per outlet; p is the model's probability.</p>
{''.join(sections)}
</body></html>
"""


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


def write_report(scored: pd.DataFrame, out_dir: str | Path, *, title: str = "Outlet framing report") -> Path:
    """Write :data:`REPORT_FILES` into ``out_dir`` (see :func:`check_report_folder` for which folders are refused).

    Files are built in a sibling folder and moved in together, so an existing
    report is never left half-replaced.
    """
    out_dir = check_report_folder(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / "report.html").write_text(render_html(scored, title=title), encoding="utf-8")
        outlet_frames(scored).to_csv(staging / "outlet_frames.csv", index=False)
        write_table(scored, staging / "paragraphs.csv")
        out_dir.mkdir(exist_ok=True)
        for file in staging.iterdir():
            file.replace(out_dir / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "report.html"
