"""The framing report: built from a scored table, written as HTML/JSON/CSV/Markdown, read in a real browser, re-cut by the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from framing.analysis.report import (
    REPORT_FILES,
    TABLES,
    add_groups,
    build_report,
    check_by,
    check_formats,
    is_scored_table,
    parse_date,
    read_scored,
    render_html,
    select,
    write_report,
)
from framing.analysis.score import write_table
from framing.schema import FramingError

from conftest import run_cli

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]
HOSTILE = {
    "outlet": "<script>alert(1)</script> & Co",
    "title": "<img src=x onerror=alert(1)> \"quoted\" & 'single'",
    "text": "He said \"ban it\" & left. <script>alert(1)</script><img src=x onerror=alert(1)>",
    "url": "javascript:alert(1)",
}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")


def synthetic_scored(outlets=("Alpha", "Beta", "Gamma"), *, articles=8, paragraphs=6, days=90, seed=0, lean=0.15) -> pd.DataFrame:
    """A scored table like ``framing score`` writes, with title and url; outlet i leans towards security_risk by ``lean * i``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, outlet in enumerate(outlets):
        for a in range(articles):
            date = (pd.Timestamp("2020-07-01") + pd.Timedelta(days=int(rng.integers(0, days)))).date().isoformat()
            for p in range(paragraphs):
                proba = rng.random(4) * np.array([0.5 + lean * i, 0.6, 0.4, 0.5])
                rows.append({
                    "article_id": f"{outlet[:2].lower()}-{a}", "outlet": outlet, "date": date, "paragraph_index": p,
                    "text": f"Paragraph {p} of article {a} from {outlet}.", **dict(zip(FRAMES, proba.round(4))),
                    "frames": [f for f, v in zip(FRAMES, proba) if v > 0.3], "title": f"{outlet} story {a}",
                    "url": f"https://news.example/{outlet.lower()}/{a}",
                })
    table = pd.DataFrame(rows)
    table["primary_frame"] = [max(f, key=lambda x, r=r: r[x]) if f else "none" for f, (_, r) in zip(table["frames"], table.iterrows())]
    return table


def hostile_scored() -> pd.DataFrame:
    """Two outlets, one of them named, titled, linked and written as an attack on the page."""
    table = synthetic_scored(("Plain", "Other"), articles=2, paragraphs=3, days=3)
    hostile = table["outlet"] == "Plain"
    for column, value in HOSTILE.items():
        table.loc[hostile, column] = value
    return table


def browse(html_file, tmp_path) -> tuple[str, object]:
    """The DOM headless chromium built from ``html_file`` (offline, 5 s of virtual time) and a screenshot path."""
    shot = tmp_path / "report.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
              "--virtual-time-budget=5000"]
    dom = subprocess.run([*common, "--dump-dom", html_file.as_uri()], capture_output=True, text=True, timeout=180).stdout
    subprocess.run([*common, "--window-size=1200,2400", f"--screenshot={shot}", html_file.as_uri()], capture_output=True, timeout=180)
    print(f"screenshot: {shot}")
    return dom, shot


def chart_parts(dom: str) -> dict[str, str]:
    """Each chart's div in the dumped DOM, by id, up to the next chart or section heading."""
    starts = [(m.group(1), m.start()) for m in re.finditer(r'<div id="(chart-[a-z]+)"', dom)]
    parts = {}
    for k, (name, start) in enumerate(starts):
        end = dom.find("<h2", start)
        end = min(end if end >= 0 else len(dom), starts[k + 1][1] if k + 1 < len(starts) else len(dom))
        parts[name] = dom[start:end]
    return parts


@pytest.fixture(scope="module")
def report():
    return build_report(synthetic_scored(), FRAMES, model_meta={"metrics": {
        f"test_{f}_{m}": v for f in FRAMES for m, v in (("precision", 0.84), ("recall", 0.73))}})


# ---------------------------------------------------------------- escaping


def test_article_text_is_escaped_everywhere_in_the_html():
    page = render_html(build_report(hostile_scored(), FRAMES))
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "He said &quot;ban it&quot; &amp; left." in page
    assert 'href="javascript' not in page.lower()
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page  # chart labels: escaped for plotly, then safe inside a script


@needs_chromium
def test_hostile_article_text_shows_as_text_in_a_real_browser(tmp_path):
    folder = write_report(build_report(hostile_scored(), FRAMES), tmp_path / "report")
    dom, _ = browse(folder / "report.html", tmp_path)
    assert 'data-js-errors="0"' in dom and 'data-alerts="0"' in dom
    assert "<img" not in dom
    body = dom[dom.index("<body"):]
    assert body.count("<script>") == body.count("Plotly.newPlot")  # only the report's own chart scripts
    assert "He said \"ban it\" &amp; left. &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in dom


# ---------------------------------------------------------------- the page in a browser


@needs_chromium
def test_every_chart_draws_its_marks_in_a_real_browser_without_errors(report, tmp_path):
    folder = write_report(report, tmp_path / "report")
    dom, shot = browse(folder / "report.html", tmp_path)
    assert 'data-js-errors="0"' in dom, "a script failed in the page"
    charts = chart_parts(dom)
    assert set(charts) == {"chart-shares", "chart-logodds", "chart-jsd", "chart-time"}
    assert charts["chart-shares"].count('<g class="point"') == 3 * len(FRAMES)  # a bar per outlet and frame
    assert "<image" in charts["chart-logodds"] and "<image" in charts["chart-jsd"]  # heatmaps paint an image
    periods = report.over_time.groupby(["group", "frame"]).size().sum()
    assert charts["chart-time"].count('class="point"') == periods  # a marker per group, frame and month
    assert shot.stat().st_size > 10_000


# ---------------------------------------------------------------- words and numbers


def test_one_article_per_outlet_is_said_to_support_no_claim_about_the_outlets():
    scored = synthetic_scored(("A", "B", "C", "D", "E"), articles=1, days=1)
    report = build_report(scored, FRAMES)
    said = " ".join(report.cannot_conclude)
    assert "one article per outlet supports no claim about the outlets in general" in said
    assert "No test of whether framing depends on the outlet can be made" in said
    assert not any("Framing depends" in s for s in report.summary)
    assert "one article per outlet supports no claim about the outlets in general" in render_html(report)


def test_thin_groups_carry_a_warning_next_to_their_numbers():
    scored = pd.concat([synthetic_scored(("Big",), articles=8), synthetic_scored(("Small",), articles=2, seed=1)])
    report = build_report(scored, FRAMES)
    page = render_html(report)
    assert "Small <span class='warn' title='fewer than 5 articles'>⚠ thin: 2 articles</span>" in page
    assert "Big <span class='warn'" not in page
    assert any("Small has fewer than 5 articles" in s for s in report.cannot_conclude)


def test_model_test_precision_and_recall_stand_next_to_the_shares(report):
    assert report.model_error.to_dict("records")[0] == {"frame": "security_risk", "precision": 0.84, "recall": 0.73}
    page = render_html(report)
    assert page.count("<td class='num'>84% / 73%</td>") == len(report.shares)
    assert any("finds 73% of the paragraphs that carry" in s for s in report.cannot_conclude)


def test_evidence_holds_the_strongest_paragraphs_of_every_group_and_frame(report):
    top = report.evidence[(report.evidence.group == "Alpha") & (report.evidence.frame == "competition")]
    scored = synthetic_scored()
    carrying = scored[(scored.outlet == "Alpha") & scored.frames.map(lambda f: "competition" in f)]
    assert top["probability"].tolist() == carrying["competition"].nlargest(3).tolist()
    assert (report.evidence.groupby(["group", "frame"]).size() == 3).all()


def test_report_json_has_every_table_and_md_is_written(report, tmp_path):
    folder = write_report(report, tmp_path / "report", formats=("html", "md"))
    written = json.loads((folder / "report.json").read_text())
    assert set(written["tables"]) == set(TABLES) - {"stories"}  # no embedder, no story view
    assert written["tables"]["shares"] == json.loads(report.shares.to_json(orient="records"))
    for name in written["tables"]:
        assert len(pd.read_csv(folder / f"{name}.csv")) == len(written["tables"][name])
    assert written["overview"] == {"articles": 24, "paragraphs": 144, "groups": 3, "date_from": report.overview["date_from"],
                                   "date_to": report.overview["date_to"]}
    md = (folder / "report.md").read_text()
    assert md.startswith("# Framing report\n") and "| outlet | security_risk |" in md and "## Tests" in md
    assert {p.name for p in folder.iterdir()} <= set(REPORT_FILES)


def test_a_new_report_removes_the_earlier_reports_files_it_does_not_write(report, tmp_path):
    folder = write_report(report, tmp_path / "report", formats=("md",))
    write_report(report, folder, formats=("html",))
    assert (folder / "report.html").exists() and not (folder / "report.md").exists()


def test_unknown_format_is_refused():
    assert check_formats(["html,md", "md"]) == ("html", "md")
    with pytest.raises(FramingError, match=re.escape("--format 'pdf': unknown; use html or md (JSON and CSV are always written)")):
        check_formats(["pdf"])


# ---------------------------------------------------------------- selecting and grouping


def test_by_month_is_derived_from_the_date():
    grouped = add_groups(synthetic_scored(), "month")
    assert set(grouped["month"]) == {"2020-07", "2020-08", "2020-09"}
    report = build_report(synthetic_scored(), FRAMES, by="month")
    assert set(report.shares["group"]) == {"2020-07", "2020-08", "2020-09"}


def test_groups_file_joins_outlet_attributes_and_warns_of_a_missing_outlet():
    groups = pd.DataFrame({"outlet": ["Alpha", "Beta"], "lean": ["left", "right"]})
    warned = []
    report = build_report(synthetic_scored(), FRAMES, by="lean", groups=groups, warn=warned.append)
    assert warned == ["the groups file has no row for Gamma; their articles have no lean", "8 articles have no lean and are left out"]
    assert set(report.shares["group"]) == {"left", "right"}
    assert report.overview["articles"] == 16


def test_min_articles_leaves_out_small_groups():
    scored = pd.concat([synthetic_scored(("Big",), articles=6), synthetic_scored(("Small",), articles=2, seed=1)])
    warned = []
    report = build_report(scored, FRAMES, min_articles=3, warn=warned.append)
    assert warned == ["left out, fewer than 3 articles: Small"]
    assert set(report.shares["group"]) == {"Big"}


def test_select_filters_outlets_and_dates():
    scored = synthetic_scored()
    kept = select(scored, outlets=["Beta"], since=parse_date("2020-08-01", "--since"), until=parse_date("2020-08-31", "--until"))
    assert set(kept["outlet"]) == {"Beta"}
    assert kept["date"].between("2020-08-01", "2020-08-31").all() and len(kept) > 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_by("lean", ["outlet", "date"]), "--by 'lean': no such column; use one of date, month, outlet, week"),
        (lambda: parse_date("July", "--since"), "--since 'July' is not a date; give one such as 2020-07-10"),
        (lambda: select(synthetic_scored(), outlets=["Delta"]), "--outlet 'Delta': no article from that outlet; the outlets are Alpha, Beta, Gamma"),
        (lambda: select(synthetic_scored(), since=pd.Timestamp("2030-01-01")), "no article is left after --outlet/--since/--until; widen the selection"),
    ],
    ids=["by", "date", "outlet", "empty"],
)
def test_bad_selection_is_one_line(call, message):
    with pytest.raises(FramingError, match=re.escape(message)):
        call()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_scored_table_is_recognised_and_read_back(tmp_path, suffix):
    scored = synthetic_scored()
    path = write_table(scored, tmp_path / f"scored{suffix}")
    assert is_scored_table(path)
    back, frames = read_scored([path])
    assert frames == FRAMES
    assert back["frames"].tolist() == scored["frames"].tolist()
    assert not is_scored_table(tmp_path)


# ---------------------------------------------------------------- the review loop


def test_review_csv_goes_back_through_annotate_import_after_correction(report, tmp_path):
    from framing.training.annotate import import_labels
    from framing.training.labels import read_label_file

    folder = write_report(report, tmp_path / "report")
    review = pd.read_csv(folder / "review.csv", dtype=str, keep_default_na=False)
    assert list(review.columns) == ["article_id", "paragraph_index", "text_hash", "outlet", "title", "text", "frames", "boilerplate"]
    assert len(review) == len(report.evidence.drop_duplicates(["article_id", "paragraph_index"]))
    review.loc[0, "frames"] = "user_privacy"
    review.loc[1, "boilerplate"] = "yes"
    review.to_csv(tmp_path / "corrected.csv", index=False)
    labels = tmp_path / "labels"
    total = import_labels(tmp_path / "corrected.csv", labels / "review.csv", labels_dir=labels)
    assert total == len(review)
    imported = read_label_file(labels / "review.csv").set_index(["article_id", "paragraph_index"])
    assert imported.loc[(review.article_id[0], int(review.paragraph_index[0])), "frames"] == ["user_privacy"]
    assert imported.loc[(review.article_id[1], int(review.paragraph_index[1])), "boilerplate"]


# ---------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def scored_file(tmp_path_factory):
    return write_table(synthetic_scored(), tmp_path_factory.mktemp("scored") / "scored.jsonl")


def test_report_on_a_scored_table_needs_no_model(scored_file, tmp_path):
    out = tmp_path / "report"
    result = run_cli("report", scored_file, "-o", out, "--model", tmp_path / "no-model", "--no-stories", "--format", "md")
    assert result.returncode == 0, result.stderr
    assert "scored table: 144 paragraphs; no model loaded" in result.stderr
    assert result.stdout.strip() == str((out / "report.md").resolve())
    assert not (out / "report.html").exists()
    assert json.loads((out / "report.json").read_text())["overview"]["articles"] == 24


def test_report_command_filters_and_groups_by_an_outlet_attribute(scored_file, tmp_path):
    groups = tmp_path / "outlets.csv"
    pd.DataFrame({"outlet": ["Alpha", "Beta"], "lean": ["left", "right"]}).to_csv(groups, index=False)
    out = tmp_path / "report"
    result = run_cli("report", scored_file, "-o", out, "--groups", groups, "--by", "lean", "--outlet", "Alpha", "--outlet", "Beta",
                     "--since", "2020-07-15", "--no-stories")
    assert result.returncode == 0, result.stderr
    shares = pd.read_csv(out / "shares.csv")
    assert set(shares["group"]) == {"left", "right"}
    paragraphs = synthetic_scored()
    expected = paragraphs[paragraphs.outlet.isin(["Alpha", "Beta"]) & (paragraphs.date >= "2020-07-15")]
    assert shares.drop_duplicates("group")["articles"].sum() == expected.article_id.nunique()


def test_report_command_warns_of_an_outlet_missing_from_the_groups_file(scored_file, tmp_path):
    groups = tmp_path / "outlets.csv"
    pd.DataFrame({"outlet": ["Alpha", "Beta"], "lean": ["left", "right"]}).to_csv(groups, index=False)
    result = run_cli("report", scored_file, "-o", tmp_path / "report", "--groups", groups, "--by", "lean", "--no-stories")
    assert result.returncode == 0, result.stderr
    assert "warning: the groups file has no row for Gamma; their articles have no lean" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--by", "lean"], "error: --by 'lean': no such column; use one of article_id, date, month, outlet, primary_frame, title, url, week\n"),
        (["--since", "yesterday-ish"], "error: --since 'yesterday-ish' is not a date; give one such as 2020-07-10"),
        (["--format", "pdf"], "error: --format 'pdf': unknown; use html or md (JSON and CSV are always written)"),
    ],
    ids=["by", "since", "format"],
)
def test_report_command_refuses_bad_options_in_one_line_before_any_work(scored_file, tmp_path, args, message):
    out = tmp_path / "report"
    result = run_cli("report", scored_file, "-o", out, *args)
    assert result.returncode == 1
    assert result.stderr.strip() == message.strip()
    assert not out.exists()


def test_report_command_logs_the_report_to_mlflow(scored_file, tmp_path, tracking_uri):
    result = run_cli("report", scored_file, "-o", tmp_path / "report", "--no-stories", "--log-to-mlflow", "--tracking-uri", tracking_uri)
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"logged to mlflow experiment 'reports', run ([0-9a-f]{32})", result.stderr).group(1)
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "report")}
    assert {"report/report.html", "report/report.json", "report/shares.csv", "report/review.csv"} <= logged


def test_report_command_groups_a_scored_table_into_stories_with_minilm(tmp_path):
    scored = synthetic_scored(("Alpha", "Beta"), articles=1, days=1)
    scored["title"] = "Amazon tells staff to delete TikTok, then calls the email an error"
    scored["text"] = scored["text"] + " Amazon asked employees to remove TikTok from phones that access company email."
    path = write_table(scored, tmp_path / "scored.parquet")
    result = run_cli("report", path, "-o", tmp_path / "report")
    assert result.returncode == 0, result.stderr
    stories = pd.read_csv(tmp_path / "report" / "stories.csv")
    assert set(stories["outlet"]) == {"Alpha", "Beta"} and stories["story"].nunique() == 1
    assert "Story view: the outlets side by side" in (tmp_path / "report" / "report.html").read_text()


def test_report_command_leaves_the_story_view_out_of_a_large_table_unless_asked(tmp_path):
    from framing.cli import STORY_ARTICLES

    scored = synthetic_scored(("Alpha", "Beta"), articles=STORY_ARTICLES // 2 + 1, paragraphs=1)
    path = write_table(scored, tmp_path / "scored.parquet")
    result = run_cli("report", path, "-o", tmp_path / "report")
    assert result.returncode == 0, result.stderr
    assert f"warning: story view left out: embedding {2 * (STORY_ARTICLES // 2 + 1):,} articles takes minutes; pass --stories to build it" in result.stderr
    assert not (tmp_path / "report" / "stories.csv").exists()
