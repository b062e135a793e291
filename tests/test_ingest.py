import json
import re
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from framing import config
from framing.text.ingest import read_articles
from framing.text.paragraphs import split_paragraphs
from framing.schema import FramingError

from conftest import copy_seeds, run_cli

SEED_OUTLETS = {
    "nikkei-asian-review": "Nikkei Asian Review",
    "the-telegraph": "The Telegraph",
    "the-hill": "The Hill",
    "bbc-news": "BBC News",
    "sbs-news": "SBS News",
}


def test_seeds_ingest_to_five_articles_with_their_outlets(seed_articles):
    assert dict(zip(seed_articles.article_id, seed_articles.outlet)) == SEED_OUTLETS
    assert set(seed_articles.date) == {"2020-07-10"}


def test_seed_paragraphs_hold_no_hand_labelled_boilerplate(seed_articles):
    labels = pd.read_csv(config.LABELS_DIR / "seeds.csv")
    boilerplate = set(labels.loc[labels.boilerplate, "text_hash"])
    kept = split_paragraphs(seed_articles)
    assert not boilerplate & set(kept.text_hash)
    assert set(kept.article_id) == set(SEED_OUTLETS)


def test_seed_headlines_stay_as_paragraphs(seed_articles):
    kept = split_paragraphs(seed_articles)
    for article in seed_articles.itertuples():
        assert article.title in set(kept.loc[kept.article_id == article.article_id, "text"])


def test_jsonl_and_csv_read_the_corpus_fields(tmp_path):
    record = {"id": "a1", "outlet": "Reuters", "date": "2020-07-11", "url": "http://x", "title": "T", "text": "One.\n\nTwo."}
    (tmp_path / "a.jsonl").write_text(json.dumps(record) + "\n")
    pd.DataFrame([{**record, "id": "a2"}]).to_csv(tmp_path / "b.csv", index=False)
    articles = read_articles([tmp_path / "a.jsonl", tmp_path / "b.csv"])
    assert articles[["article_id", "outlet", "date", "title"]].values.tolist() == [
        ["a1", "Reuters", "2020-07-11", "T"],
        ["a2", "Reuters", "2020-07-11", "T"],
    ]


def test_html_page_text_is_extracted_with_its_site_as_outlet(tmp_path):
    body = "".join(f"<p>Paragraph {i} of a real story about TikTok and the ban, with enough words to count as text.</p>" for i in range(6))
    page = f"<html><head><meta property='og:site_name' content='Example News'><title>Story</title></head><body><article>{body}</article></body></html>"
    (tmp_path / "story.html").write_text(page)
    articles = read_articles([tmp_path / "story.html"])
    assert articles.outlet.tolist() == ["Example News"]
    assert articles.text[0].split("\n\n")[0].startswith("Paragraph 0 of a real story")


def test_txt_without_manifest_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "lonely.txt").write_text("Some text.")
    with pytest.raises(FramingError, match=re.escape(f"{tmp_path / 'lonely.txt'}: no outlet")):
        read_articles([tmp_path / "lonely.txt"])


def test_manifest_row_without_outlet_is_an_error_naming_the_file(tmp_path):
    seeds = copy_seeds(tmp_path)
    manifest = pd.read_csv(seeds / "manifest.csv")
    manifest.loc[1, "outlet"] = ""
    manifest.to_csv(seeds / "manifest.csv", index=False)
    with pytest.raises(FramingError, match=re.escape(f"{seeds / 'the-telegraph.txt'}: no outlet")):
        read_articles([seeds])


@pytest.mark.parametrize(
    "content, message",
    [
        ("caf\xe9 au lait".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 3)"),
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file, not text"),
    ],
    ids=["latin-1", "empty", "binary"],
)
def test_unreadable_text_files_get_one_clear_error(tmp_path, content, message):
    seeds = copy_seeds(tmp_path)
    (seeds / "bbc-news.txt").write_bytes(content)
    with pytest.raises(FramingError, match=re.escape(f"{seeds / 'bbc-news.txt'}: {message}")):
        read_articles([seeds])


def test_files_too_large_to_be_articles_are_refused(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "bbc-news.txt").write_bytes(b"word " * (config.MAX_ARTICLE_BYTES // 5 + 1))
    with pytest.raises(FramingError, match="too large for an article"):
        read_articles([seeds])


def test_skip_bad_skips_the_bad_file_and_warns(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "bbc-news.txt").write_bytes(b"")
    warned = []
    articles = read_articles([seeds], skip_bad=True, warn=warned.append)
    assert len(articles) == 4
    assert warned == [f"skipped: {seeds / 'bbc-news.txt'}: file is empty"]


def test_gzipped_benchmark_page_is_read(tmp_path):
    page = next((config.HTML_BENCHMARK_DIR / "html").glob("*.html.gz"), None)
    if page is None:
        pytest.skip("html-benchmark not present")
    shutil.copy(page, tmp_path / page.name)
    articles = read_articles([tmp_path / page.name])
    assert len(articles) == 1 and articles.text[0].count("\n\n") >= 3


def test_html_page_without_site_name_takes_its_domain_as_outlet(tmp_path):
    body = "".join(f"<p>Paragraph {i} of a story about data privacy rules, long enough to be kept as article text.</p>" for i in range(6))
    page = f"<html><head><link rel='canonical' href='https://www.example.org/news/1'><title>Story</title></head><body><article>{body}</article></body></html>"
    (tmp_path / "story.html").write_text(page)
    assert read_articles([tmp_path / "story.html"]).outlet.tolist() == ["example.org"]


# Hostile and odd input (issue 15)

def _append_manifest_row(folder, row: str) -> None:
    with open(folder / "manifest.csv", "a", encoding="utf-8") as manifest:
        manifest.write(row + "\n")


def _jsonl(path, *records) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")


def _article(i, **fields) -> dict:
    return {"id": f"a{i}", "outlet": "Reuters", "text": f"Article {i} about TikTok.", **fields}


def test_manifest_refuses_a_path_outside_its_folder(tmp_path):
    seeds = copy_seeds(tmp_path)
    (tmp_path / "secret.txt").write_text("A private note.")
    _append_manifest_row(seeds, "../secret.txt,Evil,2020-07-10,T")
    expected = (
        f"{seeds / 'manifest.csv'} line 7: '../secret.txt' is outside {seeds}; "
        "a manifest may only name files in its own folder"
    )
    with pytest.raises(FramingError, match=re.escape(expected)):
        read_articles([seeds])


def test_manifest_refuses_an_absolute_path(tmp_path):
    seeds = copy_seeds(tmp_path)
    _append_manifest_row(seeds, "/etc/passwd,Evil,2020-07-10,T")
    expected = f"{seeds / 'manifest.csv'} line 7: '/etc/passwd' is outside {seeds}; a manifest may only name files in its own folder"
    with pytest.raises(FramingError, match=re.escape(expected)):
        read_articles([seeds])


def test_manifest_refuses_a_symlink_resolving_outside_its_folder(tmp_path):
    seeds = copy_seeds(tmp_path)
    (tmp_path / "secret.txt").write_text("A private note.")
    (seeds / "link.txt").symlink_to(tmp_path / "secret.txt")
    _append_manifest_row(seeds, "link.txt,Evil,2020-07-10,T")
    expected = f"{seeds / 'manifest.csv'} line 7: 'link.txt' is outside {seeds} (it resolves to {tmp_path / 'secret.txt'})"
    with pytest.raises(FramingError, match=re.escape(expected)):
        read_articles([seeds])


def test_skip_bad_skips_only_the_manifest_row_outside_the_folder(tmp_path):
    seeds = copy_seeds(tmp_path)
    _append_manifest_row(seeds, "/etc/passwd,Evil,2020-07-10,T")
    warned = []
    articles = read_articles([seeds], skip_bad=True, warn=warned.append)
    assert set(articles.article_id) == set(SEED_OUTLETS)
    assert warned == [
        f"skipped: {seeds / 'manifest.csv'} line 7: '/etc/passwd' is outside {seeds}; "
        "a manifest may only name files in its own folder"
    ]


def test_manifest_may_name_symlinks_and_subfolders_inside_its_folder(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "archive").mkdir()
    (seeds / "bbc-news.txt").rename(seeds / "archive" / "bbc.txt")
    (seeds / "bbc-news.txt").symlink_to(seeds / "archive" / "bbc.txt")
    manifest = pd.read_csv(seeds / "manifest.csv")
    manifest.loc[manifest.file == "the-hill.txt", "file"] = "archive/../the-hill.txt"
    manifest.to_csv(seeds / "manifest.csv", index=False)
    articles = read_articles([seeds])
    assert dict(zip(articles.article_id, articles.outlet)) == SEED_OUTLETS
    assert articles.text[articles.article_id == "bbc-news"].item() == (seeds / "archive" / "bbc.txt").read_text()


def test_input_folder_refuses_a_symlink_to_a_file_outside_it(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _jsonl(folder / "good.jsonl", _article(1))
    _jsonl(tmp_path / "private.jsonl", _article(2))
    (folder / "more.jsonl").symlink_to(tmp_path / "private.jsonl")
    expected = f"{folder / 'more.jsonl'}: a symlink to {tmp_path / 'private.jsonl'}, outside the input folder {folder}"
    with pytest.raises(FramingError, match=re.escape(expected)):
        read_articles([folder])
    warned = []
    assert read_articles([folder], skip_bad=True, warn=warned.append).article_id.tolist() == ["a1"]
    assert warned == [f"skipped: {expected}; copy the file into the folder to read it"]


def test_numbers_as_id_outlet_and_title_become_text(tmp_path):
    path = tmp_path / "a.jsonl"
    _jsonl(path, {"id": 12, "outlet": 7, "title": 2020, "text": "One."}, {"id": 13.0, "outlet": "R", "title": 2.5, "text": "Two."})
    articles = read_articles([path])
    assert articles[["article_id", "outlet", "title"]].values.tolist() == [["12", "7", "2020"], ["13", "R", "2.5"]]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("outlet", {"name": "Reuters"}, "outlet is a JSON object; expected text"),
        ("title", ["a", "b"], "title is a JSON array; expected text"),
        ("id", True, "id is true; expected text"),
    ],
    ids=["object-outlet", "list-title", "bool-id"],
)
def test_a_field_that_is_not_text_or_a_number_is_an_error_naming_the_line(tmp_path, field, value, message):
    path = tmp_path / "a.jsonl"
    _jsonl(path, _article(1), _article(2, **{field: value}))
    with pytest.raises(FramingError, match=re.escape(f"{path} line 2: {message}")):
        read_articles([path])


@pytest.mark.parametrize(
    "written",
    ["2020-07-10", "2020-07-10T08:00:00Z", "2020-07-10T23:30:00-05:00", "2020-07-10 08:00", "2020/07/10", "20200710",
     "10 July 2020", "July 10, 2020", "Fri, 10 Jul 2020 08:00:00 +0000"],
)
def test_unambiguous_dates_become_iso_days(tmp_path, written):
    path = tmp_path / "a.jsonl"
    _jsonl(path, _article(1, date=written))
    warned = []
    assert read_articles([path], warn=warned.append).date.tolist() == ["2020-07-10"]
    assert warned == []


def test_ambiguous_or_invalid_dates_are_left_empty_with_one_warning_per_file(tmp_path):
    path = tmp_path / "a.jsonl"
    dates = ["yesterday", "2020-13-45", 12345, "07/10/2020", "July 2020"]
    _jsonl(path, *(_article(i, date=d) for i, d in enumerate(dates)))
    warned = []
    articles = read_articles([path], warn=warned.append)
    assert articles.date.isna().all()
    assert warned == [
        f"{path}: left 5 dates empty, not an unambiguous date "
        "(line 1: 'yesterday'; line 2: '2020-13-45'; line 3: '12345'; ...); write dates as YYYY-MM-DD"
    ]


def test_manifest_dates_are_normalised_and_bad_ones_left_empty(tmp_path):
    seeds = copy_seeds(tmp_path)
    manifest = pd.read_csv(seeds / "manifest.csv")
    manifest["date"] = ["10 July 2020", "2020/07/10", "yesterday", "2020-07-10T08:00:00Z", "2020-07-10"]
    manifest.to_csv(seeds / "manifest.csv", index=False)
    warned = []
    articles = read_articles([seeds], warn=warned.append)
    assert articles.date.fillna("").tolist() == ["2020-07-10", "2020-07-10", "", "2020-07-10", "2020-07-10"]
    assert warned == [
        f"{seeds / 'manifest.csv'}: left 1 date empty, not an unambiguous date (line 4: 'yesterday'); write dates as YYYY-MM-DD"
    ]


def test_articles_with_odd_field_types_write_to_parquet(tmp_path):
    path = tmp_path / "a.jsonl"
    _jsonl(path, _article(1, date=12345, title=2020), _article(2, date="2020-07-10", title="T"), {**_article(3), "id": 7})
    read_articles([path], warn=lambda m: None).to_parquet(tmp_path / "a.parquet")
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert str(pq.read_schema(tmp_path / "a.parquet").field("date").type) in {"string", "large_string"}
    assert back.date.fillna("").tolist() == ["", "2020-07-10", ""]
    assert back.title.fillna("").tolist() == ["2020", "T", ""] and back.article_id.tolist() == ["a1", "a2", "7"]


def test_skip_bad_skips_only_the_bad_lines_of_a_jsonl_file(tmp_path):
    path = tmp_path / "x.jsonl"
    records = [_article(i) for i in range(10)]
    records[2] = "{not json"
    records[6] = {**records[6], "outlet": ""}
    _jsonl(path, *records)
    warned = []
    articles = read_articles([path], skip_bad=True, warn=warned.append)
    assert articles.article_id.tolist() == [f"a{i}" for i in (0, 1, 3, 4, 5, 7, 8, 9)]
    assert warned == [
        f"skipped 2 of 10 lines of {path}: line 3: not valid JSON (Expecting property name enclosed in double quotes); "
        "line 7: no outlet"
    ]


def test_without_skip_bad_the_first_bad_line_is_the_error(tmp_path):
    path = tmp_path / "x.jsonl"
    _jsonl(path, _article(1), "[1, 2]", "{not json")
    with pytest.raises(FramingError, match=re.escape(f"{path} line 2: expected a JSON object")):
        read_articles([path])


def test_skip_bad_skips_only_the_bad_rows_of_a_csv_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        'id,outlet,date,title,text\n'
        'a1,Reuters,2020-07-10,T,"One.\n\nTwo."\n'
        'a2,Reuters,2020-07-10,T,Three.,extra\n'
        'a3,,2020-07-10,T,Four.\n'
        'a4,Reuters,2020-07-10,T,Five.\n'
    )
    warned = []
    articles = read_articles([path], skip_bad=True, warn=warned.append)
    assert articles.article_id.tolist() == ["a1", "a4"]
    assert warned == [f"skipped 2 of 4 lines of {path}: line 5: 6 fields, but the header has 5; line 6: no outlet"]


def test_a_file_with_no_good_line_is_skipped_whole_and_nothing_read_is_an_error(tmp_path):
    path = tmp_path / "x.jsonl"
    _jsonl(path, "{oops", {"id": "a1", "text": "No outlet."})
    warned = []
    with pytest.raises(FramingError, match=re.escape(f"no articles found in {path}")):
        read_articles([path], skip_bad=True, warn=warned.append)
    assert warned == [
        f"skipped: {path}: none of its 2 lines could be read "
        "(line 1: not valid JSON (Expecting property name enclosed in double quotes); line 2: no outlet)"
    ]


def test_skip_bad_with_nothing_readable_exits_1(tmp_path):
    path = tmp_path / "x.jsonl"
    _jsonl(path, "{oops")
    result = run_cli("score", path, "--skip-bad")
    assert result.returncode == 1 and f"error: no articles found in {path}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_text_is_read(tmp_path, encoding):
    """``utf-16``/``utf-32`` write a byte-order mark; ``utf-16-le``/``-be`` do not, and are told by their NULs."""
    seeds = copy_seeds(tmp_path)
    text = (seeds / "bbc-news.txt").read_text(encoding="utf-8")
    (seeds / "bbc-news.txt").write_bytes(text.encode(encoding))
    articles = read_articles([seeds])
    assert articles.text[articles.article_id == "bbc-news"].item() == text


def test_utf16_jsonl_is_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes((json.dumps(_article(1, title="Café")) + "\n").encode("utf-16"))
    assert read_articles([path]).title.tolist() == ["Café"]


def test_a_nul_byte_anywhere_is_refused_as_binary_naming_its_offset(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "bbc-news.txt").write_bytes(b"word " * 2000 + b"\x00 tail")
    expected = f"{seeds / 'bbc-news.txt'}: binary file, not text (NUL byte at offset 10000)"
    with pytest.raises(FramingError, match=re.escape(expected)):
        read_articles([seeds])


def test_a_record_of_only_invisible_spaces_has_no_text(tmp_path):
    path = tmp_path / "a.jsonl"
    _jsonl(path, _article(1), _article(2, text="\u200b\u00a0\u200b\n\ufeff\u2060"))
    with pytest.raises(FramingError, match=re.escape(f"{path} line 2: no text")):
        read_articles([path])


def test_a_text_file_of_only_invisible_spaces_has_no_text(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "bbc-news.txt").write_text("\u200b\u00a0\n\u200b", encoding="utf-8")
    with pytest.raises(FramingError, match=re.escape(f"{seeds / 'bbc-news.txt'}: no text, only invisible characters")):
        read_articles([seeds])


def test_a_gzipped_page_expanding_beyond_the_size_limit_is_refused(tmp_path):
    import gzip

    page = tmp_path / "bomb.html.gz"
    page.write_bytes(gzip.compress(b"<html><body>" + b" " * (config.MAX_ARTICLE_BYTES + 1) + b"</body></html>"))
    with pytest.raises(FramingError, match=re.escape(f"{page}: expands to more than 5 MB, too large for an article")):
        read_articles([page])


def test_csv_reads_an_article_longer_than_the_csv_modules_default_field_limit(tmp_path):
    """Python's csv module refuses fields over 128 KiB unless told otherwise."""
    text = "A long paragraph about TikTok. " * 10_000
    pd.DataFrame([_article(1, text=text)]).to_csv(tmp_path / "a.csv", index=False)
    assert read_articles([tmp_path / "a.csv"]).text.tolist() == [text]


def test_a_symlink_loop_in_an_input_folder_is_one_error(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").symlink_to(folder / "b.jsonl")
    (folder / "b.jsonl").symlink_to(folder / "a.jsonl")
    with pytest.raises(FramingError, match=re.escape(f"{folder / 'a.jsonl'}: cannot follow its symlinks")):
        read_articles([folder])


def test_files_named_one_by_one_parse_their_manifest_once(tmp_path, monkeypatch):
    """``framing score folder/*.txt`` must stay linear: the manifest beside the files is read once, not once per file."""
    from framing.text import ingest

    rows = ["file,outlet,date,title"] + [f"a{i}.txt,Outlet,2020-07-10,T{i}" for i in range(300)]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    for i in range(300):
        (tmp_path / f"a{i}.txt").write_text(f"Paragraph of article {i}.")
    parsed = []
    real = ingest._read_manifest
    monkeypatch.setattr(ingest, "_read_manifest", lambda path: parsed.append(path) or real(path))
    articles = read_articles(sorted(tmp_path.glob("a*.txt")))
    assert len(articles) == 300 and set(articles.outlet) == {"Outlet"}
    assert len(parsed) == 1
