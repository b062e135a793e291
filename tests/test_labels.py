import re

import pandas as pd
import pytest

from framing import config
from framing.frames import FrameScheme
from framing.training.labels import attach_text, load_label_files, read_label_file
from framing.training.labels import test_articles as held_back_articles  # renamed so pytest does not collect it
from framing.schema import FramingError

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def test_codebook_defines_the_four_frames():
    scheme = FrameScheme.load()
    assert scheme.names == FRAMES
    assert all(f.definition and f.include for f in scheme.frames)


def test_repository_label_files_validate():
    labels = load_label_files()
    assert not labels.duplicated(["article_id", "paragraph_index"]).any()
    assert all(set(f) <= set(FRAMES) for f in labels.frames)


def test_seed_labels_cover_every_block_and_match_their_text():
    labels = read_label_file(config.LABELS_DIR / "seeds.csv")
    with_text = attach_text(labels, corpus=None)
    assert len(with_text) == len(labels) == 118


def test_misspelled_frame_is_an_error_naming_the_row(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("article_id,paragraph_index,text_hash,boilerplate,frames\nbbc-news,0,e4626bbe75c8859c,False,securty_risk\n")
    with pytest.raises(FramingError, match=re.escape(f"{path} row 2: unknown frame 'securty_risk'")):
        read_label_file(path)


def test_duplicate_label_is_an_error(tmp_path):
    path = tmp_path / "labels.csv"
    row = "bbc-news,0,e4626bbe75c8859c,False,\n"
    path.write_text("article_id,paragraph_index,text_hash,boilerplate,frames\n" + row + row)
    with pytest.raises(FramingError, match="bbc-news#0 is labelled more than once"):
        read_label_file(path)


def test_hash_mismatch_is_an_error_naming_the_paragraph(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("article_id,paragraph_index,text_hash,boilerplate,frames\nbbc-news,3,0000000000000000,False,\n")
    with pytest.raises(FramingError, match=re.escape("label for paragraph bbc-news#3 does not match the text")):
        attach_text(read_label_file(path), corpus=None)


def test_without_the_corpus_only_labels_with_text_in_data_remain(tmp_path):
    labels = load_label_files()
    with pytest.warns(UserWarning, match="no corpus at"):
        with_text = attach_text(labels, corpus=tmp_path / "missing.jsonl")
    assert set(with_text.article_id) == {"nikkei-asian-review", "the-telegraph", "the-hill", "bbc-news", "sbs-news"}


def test_labels_never_store_corpus_text():
    for path in config.LABELS_DIR.rglob("*.csv"):
        if path.name != "seeds.csv":
            assert "text" not in pd.read_csv(path, nrows=1).columns, path


def test_test_articles_are_the_split_files_test_rows(tmp_path):
    split = tmp_path / "split.csv"
    split.write_text("article_id,split\nabp-1,train\nabp-2,test\nhn24-3,test\n")
    assert held_back_articles(split) == {"abp-2", "hn24-3"}


def test_without_a_split_file_no_article_is_held_back(tmp_path):
    assert held_back_articles(tmp_path / "split.csv") == set()
