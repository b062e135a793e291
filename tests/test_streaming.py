"""``framing score`` in chunks: reading a batch at a time, writing as chunks finish, resuming after an interruption."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from framing import config
from framing.analysis.stream import partial_path, record_path, score_stream
from framing.schema import FramingError
from framing.text.ingest import iter_articles, read_articles
from framing.text.paragraphs import split_paragraphs

from conftest import FRAMING, run_cli

READERS = {".jsonl": lambda p: pd.read_json(p, lines=True), ".csv": pd.read_csv, ".parquet": pd.read_parquet}


@pytest.fixture(scope="module")
def seed_paragraphs() -> list[str]:
    """The kept paragraphs of the seed articles: real news text to build larger inputs from."""
    return split_paragraphs(read_articles([config.SEEDS_DIR]))["text"].tolist()


def corpus(path: Path, texts: list[str], articles: int, per_article: int = 6) -> Path:
    """A JSONL corpus of ``articles`` articles whose paragraphs join two seed paragraphs each, so no two are alike."""
    n = len(texts)
    with path.open("w", encoding="utf-8") as out:
        for a in range(articles):
            body = [f"{texts[(a * per_article + p) % n]} {texts[(a * 7 + p * 3 + 1) % n]}" for p in range(per_article)]
            record = {"id": f"a{a:04d}", "outlet": f"Outlet {a % 3}", "date": "2020-07-10" if a % 4 else None,
                      "title": texts[a % n][:80], "text": "\n\n".join(body)}
            out.write(json.dumps(record) + "\n")
    return path


@pytest.fixture(scope="module")
def model(trained_seed_model) -> Path:
    result, _ = trained_seed_model
    return Path(result.candidate)


@pytest.fixture(scope="module")
def pipeline(model, tmp_path_factory):
    from framing.training.tracking import load_pipeline

    return load_pipeline(model, cache_dir=tmp_path_factory.mktemp("stream-cache"))


@pytest.fixture(scope="module")
def small_corpus(seed_paragraphs, tmp_path_factory) -> Path:
    return corpus(tmp_path_factory.mktemp("corpus") / "articles.jsonl", seed_paragraphs, 12)


def interrupted_run(inputs, pipeline, output: Path, **kwargs) -> None:
    """Score with Ctrl-C arriving while the second chunk is scored.

    The real pipeline does the work; only the keypress is simulated, so that tests of what a partial
    output allows need no subprocess (a real kill of the CLI is tested separately).
    """
    from framing.analysis.stream import Interrupted
    from framing.model.pipeline import FramingPipeline

    class CtrlCOnSecondChunk(FramingPipeline):
        calls = 0

        def predict_frame(self, frame, **options):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return super().predict_frame(frame, **options)

    stand_in = CtrlCOnSecondChunk(pipeline.embedder, pipeline.classifier, pipeline.frames, context=pipeline.context,
                                  words=pipeline.words, meta=pipeline.meta)
    with pytest.raises(Interrupted):
        score_stream(inputs, stand_in, output, chunk_articles=3, **kwargs)
    assert partial_path(output).exists() and not output.exists()


def test_iter_articles_yields_batches_that_join_to_read_articles(small_corpus):
    batches = list(iter_articles([small_corpus, config.SEEDS_DIR], batch=5))
    assert [len(b) for b in batches] == [5, 5, 5, 2]
    whole = read_articles([small_corpus, config.SEEDS_DIR])
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)


def test_an_article_id_repeated_in_a_later_batch_is_refused(tmp_path):
    path = tmp_path / "a.jsonl"
    records = [{"id": name, "outlet": "O", "text": f"Text {i}."} for i, name in enumerate(["x0", "x1", "x2", "x3", "x1"])]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    batches = iter_articles([path], batch=2)
    assert len(next(batches)) == 2
    with pytest.raises(FramingError, match=re.escape("article id 'x1' occurs more than once in the inputs")):
        list(batches)


def test_a_jsonl_corpus_larger_than_an_article_may_be_is_read_a_line_at_a_time(tmp_path):
    path = tmp_path / "big.jsonl"
    line = json.dumps({"id": "", "outlet": "O", "text": "A sentence of news. " * 2_000}) + "\n"
    with path.open("w") as out:
        for i in range(int(config.MAX_ARTICLE_BYTES * 1.2 / len(line)) + 1):
            out.write(line.replace('"id": ""', f'"id": "n{i}"'))
    assert path.stat().st_size > config.MAX_ARTICLE_BYTES
    batches = list(iter_articles([path], batch=50))
    assert sum(map(len, batches)) == int(config.MAX_ARTICLE_BYTES * 1.2 / len(line)) + 1


def test_a_jsonl_line_longer_than_an_article_may_be_is_a_bad_line(tmp_path):
    path = tmp_path / "a.jsonl"
    huge = json.dumps({"id": "huge", "outlet": "O", "text": "x" * config.MAX_ARTICLE_BYTES})
    path.write_text(json.dumps({"id": "ok", "outlet": "O", "text": "Fine."}) + "\n" + huge + "\n"
                    + json.dumps({"id": "ok2", "outlet": "O", "text": "Also fine."}) + "\n")
    with pytest.raises(FramingError, match=re.escape(f"{path} line 2: longer than 5 MB, too large for an article")):
        read_articles([path])
    warned = []
    assert read_articles([path], skip_bad=True, warn=warned.append).article_id.tolist() == ["ok", "ok2"]
    assert warned == [f"skipped 1 of 3 lines of {path}: line 2: longer than 5 MB, too large for an article"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_chunked_output_equals_the_one_shot_output(pipeline, small_corpus, tmp_path, suffix):
    chunked, whole = tmp_path / f"chunked{suffix}", tmp_path / f"whole{suffix}"
    assert score_stream([small_corpus], pipeline, chunked, chunk_articles=5) == (12, 72)
    assert score_stream([small_corpus], pipeline, whole, chunk_articles=1000) == (12, 72)
    pd.testing.assert_frame_equal(READERS[suffix](chunked), READERS[suffix](whole))
    if suffix != ".parquet":
        assert chunked.read_bytes() == whole.read_bytes()
    else:
        import pyarrow.parquet as pq

        assert pq.ParquetFile(chunked).num_row_groups == 3
    assert not partial_path(chunked).exists() and not record_path(chunked).exists()


def test_chunks_stream_to_stdout_as_jsonl(pipeline, small_corpus, tmp_path):
    import io

    out = io.StringIO()
    score_stream([small_corpus], pipeline, chunk_articles=5, stdout=out)
    score_stream([small_corpus], pipeline, tmp_path / "whole.jsonl")
    assert out.getvalue() == (tmp_path / "whole.jsonl").read_text()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_an_interrupted_run_resumes_to_the_rows_of_an_uninterrupted_one(pipeline, small_corpus, tmp_path, suffix):
    out, whole = tmp_path / f"scored{suffix}", tmp_path / f"whole{suffix}"
    interrupted_run([small_corpus], pipeline, out)
    assert json.loads(record_path(out).read_text())["articles"] == 3
    assert score_stream([small_corpus], pipeline, out, chunk_articles=3, resume=True) == (12, 72)
    score_stream([small_corpus], pipeline, whole, chunk_articles=3)
    pd.testing.assert_frame_equal(READERS[suffix](out), READERS[suffix](whole))
    assert not partial_path(out).exists() and not record_path(out).exists()


def test_resume_refuses_a_changed_input(pipeline, seed_paragraphs, tmp_path):
    inputs = corpus(tmp_path / "articles.jsonl", seed_paragraphs, 9)
    out = tmp_path / "scored.jsonl"
    interrupted_run([inputs], pipeline, out)
    with inputs.open("a") as more:
        more.write(json.dumps({"id": "late", "outlet": "O", "text": "A late article."}) + "\n")
    expected = (f"cannot resume {partial_path(out)}: it was scored from other inputs (or they changed since); "
                f"run the interrupted command unchanged, or delete {partial_path(out)} to start over")
    with pytest.raises(FramingError, match=re.escape(expected)):
        score_stream([inputs], pipeline, out, chunk_articles=3, resume=True)
    assert partial_path(out).exists()


def test_resume_refuses_another_model(pipeline, small_corpus, tmp_path):
    out = tmp_path / "scored.jsonl"
    interrupted_run([small_corpus], pipeline, out)
    other = copy.copy(pipeline)
    other.classifier = copy.deepcopy(pipeline.classifier)
    other.classifier.thresholds_ = pipeline.thresholds_ + 0.01
    expected = (f"cannot resume {partial_path(out)}: it was scored with another model; "
                f"run the interrupted command unchanged, or delete {partial_path(out)} to start over")
    with pytest.raises(FramingError, match=re.escape(expected)):
        score_stream([small_corpus], other, out, chunk_articles=3, resume=True)


def test_an_existing_partial_output_without_resume_is_a_one_line_error(small_corpus, tmp_path):
    out = tmp_path / "scored.jsonl"
    partial_path(out).write_text("")
    result = run_cli("score", small_corpus, "-o", out)
    assert result.returncode == 1
    expected = (f"error: {partial_path(out)} holds the output of an interrupted run; "
                "pass --resume to continue it, or delete it to start over")
    assert result.stderr.strip() == expected


def _interrupt_after_first_chunk(args: list, out: Path, sig: int) -> subprocess.CompletedProcess:
    """Start ``framing score`` and send ``sig`` as soon as its first chunk is recorded."""
    process = subprocess.Popen([FRAMING, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "FRAMING_CACHE_DIR": str(out.parent / "cache")})
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if json.loads(record_path(out).read_text())["articles"] > 0:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_a_killed_cli_run_leaves_whole_chunks_and_resume_gives_the_uninterrupted_rows(model, seed_paragraphs, tmp_path, sig):
    inputs = corpus(tmp_path / "articles.jsonl", seed_paragraphs, 15, per_article=4)
    out = tmp_path / "scored.jsonl"
    args = ["score", inputs, "-m", model, "-o", out, "--chunk-articles", "3"]
    killed = _interrupt_after_first_chunk(args, out, sig)
    assert killed.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130), killed.stderr
    assert not out.exists()
    record = json.loads(record_path(out).read_text())
    kept = pd.read_json(partial_path(out), lines=True)
    assert 0 < record["articles"] < 15 and record["articles"] % 3 == 0
    assert len(kept) == record["paragraphs"] and kept.article_id.nunique() == record["articles"]
    if sig == signal.SIGINT:
        assert f"are kept in {partial_path(out)}; run the same command with --resume to continue" in killed.stderr
    env = {"FRAMING_CACHE_DIR": str(tmp_path / "cache")}
    resumed = run_cli(*args, "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole.jsonl"
    assert run_cli("score", inputs, "-m", model, "-o", whole, "--chunk-articles", "3", env=env).returncode == 0
    assert out.read_bytes() == whole.read_bytes()
    assert len(pd.read_json(out, lines=True)) == 15 * 4


def test_an_input_of_boilerplate_alone_is_one_error_before_a_model_is_loaded(tmp_path):
    path = tmp_path / "furniture.jsonl"
    path.write_text("".join(json.dumps({"id": f"f{i}", "outlet": "O", "text": "Share this article\n\nSign up"}) + "\n"
                            for i in range(5)))
    result = run_cli("score", path, "-m", tmp_path / "no-model-here", "--chunk-articles", "2")
    assert result.returncode == 1
    assert result.stderr == "error: no paragraphs left in the input after removing boilerplate (5 articles read)\n"
