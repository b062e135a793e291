import json
import re
import shutil

import pandas as pd
import pytest

from framing import config
from framing.text.ingest import read_articles
from framing.text.paragraphs import split_paragraphs
from framing.schema import FramingError

from conftest import copy_seeds

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
