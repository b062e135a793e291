"""The ``framing`` command as a user runs it: real files, real model, exit codes."""

import json
import shutil

import pandas as pd
import pytest

from framing import config

from conftest import copy_seeds, run_cli

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]
SCORE_COLUMNS = ["article_id", "outlet", "date", "paragraph_index", "text", *FRAMES, "frames", "primary_frame"]


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "seeds"
    result = run_cli("report", config.SEEDS_DIR, "-o", out)
    assert result.returncode == 0, result.stderr
    return out, result


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("score", "report", "train"))


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_score_writes_one_row_per_kept_paragraph(tmp_path, suffix):
    out = tmp_path / f"scored{suffix}"
    result = run_cli("score", config.SEEDS_DIR, "-o", out)
    assert result.returncode == 0, result.stderr
    table = {".jsonl": lambda p: pd.read_json(p, lines=True), ".csv": pd.read_csv, ".parquet": pd.read_parquet}[suffix](out)
    assert list(table.columns) == SCORE_COLUMNS
    assert table.article_id.nunique() == 5 and len(table) > 60
    assert set(table.primary_frame) <= {*FRAMES, "none"}


def test_report_writes_html_and_tables(seed_report):
    out, result = seed_report
    assert sorted(p.name for p in out.iterdir()) == [
        "article_shares.csv", "evidence.csv", "jsd.csv", "leading_frames.csv", "log_odds.csv", "model_error.csv",
        "paragraphs.csv", "report.html", "report.json", "review.csv", "shares.csv", "stories.csv", "tests.csv",
    ]
    assert result.stdout.strip() == str((out / "report.html").resolve())
    shares = pd.read_csv(out / "shares.csv")
    assert set(shares.group) == {"Nikkei Asian Review", "The Telegraph", "The Hill", "BBC News", "SBS News"}
    assert (shares.articles == 1).all() and shares.thin.all()
    assert ((shares.share - shares["count"] / shares.paragraphs).abs() < 1e-4).all()
    assert set(pd.read_csv(out / "model_error.csv").frame) == set(FRAMES)


def test_seed_report_leads_with_the_story_view_and_says_one_article_per_outlet_proves_nothing(seed_report):
    """The README's quick-start: the seeds are one story told by five outlets, and no claim about the outlets follows."""
    out, _ = seed_report
    stories = pd.read_csv(out / "stories.csv")
    assert stories.story.nunique() == 1 and stories.outlet.nunique() == 5
    page = (out / "report.html").read_text()
    sentence = "one article per outlet supports no claim about the outlets in general"
    assert sentence in page and sentence in " ".join(json.loads((out / "report.json").read_text())["cannot_conclude"])
    assert page.index("Story view: the outlets side by side") < page.index('id="chart-shares"')
    assert page.count("<div class='card'><h4>") == 5


def test_report_html_is_self_contained(seed_report):
    out, _ = seed_report
    from html.parser import HTMLParser

    class Resources(HTMLParser):
        external: list = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if (tag == "script" and "src" in attrs) or (tag == "link" and "href" in attrs) or (tag == "img" and "src" in attrs):
                self.external.append(attrs)

    parser = Resources()
    parser.feed((out / "report.html").read_text())
    assert parser.external == []


def test_report_renders_in_a_real_browser(seed_report, tmp_path):
    """Headless chromium draws every chart of the seed report (its SVG marks, not the inlined library's text), with no script error."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    from test_report import browse, chart_parts

    out, _ = seed_report
    dom, shot = browse(out / "report.html", tmp_path)
    assert 'data-js-errors="0"' in dom
    charts = chart_parts(dom)
    assert set(charts) == {"chart-shares", "chart-logodds", "chart-jsd"}  # one day of articles: no time chart
    assert charts["chart-shares"].count('<g class="point"') >= 5 * 3  # every outlet has bars for its frames
    assert "<image" in charts["chart-logodds"] and "<image" in charts["chart-jsd"]
    assert shot.exists()


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: (d / "bbc-news.txt").write_bytes("caf\xe9".encode("latin-1")), "not UTF-8 text"),
        (lambda d: (d / "bbc-news.txt").write_bytes(b""), "file is empty"),
        (lambda d: (d / "bbc-news.txt").write_bytes(b"\x00\x01\x02binary"), "binary file, not text"),
        (lambda d: (d / "extra.txt").write_text("An article with no outlet."), "extra.txt: no outlet"),
    ],
    ids=["latin-1", "empty", "binary", "no-outlet"],
)
def test_bad_input_is_one_line_and_exit_1_and_keeps_earlier_output(tmp_path, setup, message):
    seeds = copy_seeds(tmp_path)
    setup(seeds)
    out = tmp_path / "scored.csv"
    out.write_text("earlier results\n")
    result = run_cli("score", seeds, "-o", out)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text() == "earlier results\n"


def test_skip_bad_goes_on_with_a_warning(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "bbc-news.txt").write_bytes(b"")
    out = tmp_path / "scored.jsonl"
    result = run_cli("score", seeds, "-o", out, "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert "warning: skipped:" in result.stderr
    assert pd.read_json(out, lines=True).article_id.nunique() == 4


def test_unknown_output_format_is_refused_before_any_work(tmp_path):
    result = run_cli("score", config.SEEDS_DIR, "-o", tmp_path / "out.xlsx")
    assert result.returncode == 1 and "unknown output format '.xlsx'" in result.stderr


def test_missing_input_path_is_a_clear_error(tmp_path):
    result = run_cli("score", tmp_path / "nowhere")
    assert result.returncode == 1 and "no such file or folder" in result.stderr


def test_report_keeps_the_old_report_when_it_fails(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("old report")
    result = run_cli("report", tmp_path / "nowhere", "-o", out)
    assert result.returncode == 1
    assert (out / "report.html").read_text() == "old report"


def test_score_writes_jsonl_to_stdout_without_output(tmp_path):
    seeds = copy_seeds(tmp_path)
    for name in ("nikkei-asian-review", "the-telegraph", "the-hill", "sbs-news"):
        (seeds / f"{name}.txt").unlink()
    manifest = pd.read_csv(seeds / "manifest.csv")
    manifest[manifest.file == "bbc-news.txt"].to_csv(seeds / "manifest.csv", index=False)
    result = run_cli("score", seeds)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["outlet"] for r in rows} == {"BBC News"}


def test_annotate_export_random_draw_needs_no_model(tmp_path, seed_articles):
    unlabelled = tmp_path / "articles.jsonl"
    seed_articles.assign(id="copy-" + seed_articles.article_id).to_json(unlabelled, orient="records", lines=True)
    out = tmp_path / "batch" / "batch.csv"
    result = run_cli("annotate", "export", unlabelled, "--strategy", "random", "-n", "10", "--model", tmp_path / "none", "-o", out)
    assert result.returncode == 0, result.stderr
    batch = pd.read_csv(out)
    assert len(batch) == 10 and batch.outlet.nunique() == 5
    assert sorted(p.name for p in out.parent.iterdir()) == ["batch.csv", "batch.labelstudio.json", "batch.labelstudio.xml"]


def test_annotate_export_of_the_test_part_draws_only_test_articles(tmp_path, seed_articles):
    test_ids = pd.read_csv(config.SPLIT_PATH).query("split == 'test'").article_id.head(2).tolist()
    ids = [*test_ids, *("copy-" + seed_articles.article_id[2:])]
    articles = tmp_path / "articles.jsonl"
    seed_articles.assign(id=ids).to_json(articles, orient="records", lines=True)
    out = tmp_path / "batch.csv"
    result = run_cli("annotate", "export", articles, "--part", "test", "--strategy", "random", "-n", "100", "-o", out)
    assert result.returncode == 0, result.stderr
    assert set(pd.read_csv(out).article_id) == set(test_ids)


def test_annotate_export_of_the_test_part_refuses_uncertainty_sampling(tmp_path):
    result = run_cli("annotate", "export", config.SEEDS_DIR, "--part", "test", "-o", tmp_path / "batch.csv")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --part test draws at random: pass --strategy random (a model must not pick its own test paragraphs)"
    assert not (tmp_path / "batch.csv").exists()


def test_annotate_export_with_nothing_left_to_pick_is_a_clear_error(tmp_path):
    result = run_cli("annotate", "export", config.SEEDS_DIR, "--strategy", "random", "-o", tmp_path / "batch.csv")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no unlabelled paragraphs to pick from the train part's articles"
