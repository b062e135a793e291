"""The Spark engine: the model's mlflow UDF on a local PySpark session gives the local engine's rows."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli, train_on_seeds
from framing import config
from framing.schema import FramingError

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def context_model(tmp_path_factory):
    """A MiniLM context model trained on the seed labels: its rows depend on each paragraph's neighbours and headline."""
    result, _ = train_on_seeds(tmp_path_factory.mktemp("spark-model"), context=True)
    return result.candidate


@pytest.fixture(scope="module")
def spark():
    from framing.analysis.spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def paragraphs(seed_articles):
    """The seeds and the first corpus articles: about 300 kept paragraphs of 15 articles, in reading order."""
    from framing.text.ingest import read_articles
    from framing.text.paragraphs import split_paragraphs

    corpus = read_articles([config.CORPUS_PATH]).head(10)
    found = split_paragraphs(pd.concat([seed_articles, corpus], ignore_index=True))
    assert 250 <= len(found) <= 400 and found["article_id"].nunique() == 15
    return found


def strings(values) -> list[str | None]:
    """The values, with a missing one (None or NaN, as pandas reads a null string) as None."""
    return [v if isinstance(v, str) else None for v in values]


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame, frames: list[str]) -> None:
    """Same columns in the same order, same rows, same frames; probabilities within TOLERANCE."""
    assert list(got.columns) == list(expected.columns)
    others = [c for c in expected.columns if c not in frames]
    pd.testing.assert_frame_equal(got[others].reset_index(drop=True), expected[others].reset_index(drop=True), check_dtype=False)
    assert np.abs(got[frames].to_numpy(dtype=float) - expected[frames].to_numpy(dtype=float)).max() <= TOLERANCE


def test_spark_udf_result_type_follows_the_model_signature(spark, context_model):
    from framing.training.tracking import load_pipeline, spark_udf

    frames = load_pipeline(context_model).frames
    udf = spark_udf(spark, context_model)
    column = spark.createDataFrame([("Officials said the app posed a security risk.",)], "text string").select(udf("text").alias("out"))
    assert column.schema["out"].dataType.simpleString() == "struct<" + ",".join(f"{f}:double" for f in frames) + ",frames:array<string>>"


def test_spark_context_columns_are_the_neighbours_of_the_local_engine(spark, paragraphs):
    from framing.analysis.spark import with_context
    from framing.model.features import with_neighbours

    shuffled = paragraphs[["article_id", "paragraph_index", "text", "title"]].sample(frac=1, random_state=0)
    got = with_context(spark.createDataFrame(shuffled)).toPandas().sort_values(["article_id", "paragraph_index"])
    expected = with_neighbours(shuffled).sort_values(["article_id", "paragraph_index"])
    for column in ("title", "previous_text", "next_text"):
        assert strings(got[column]) == strings(expected[column])


def test_spark_engine_scores_the_same_rows_as_the_local_engine(spark, context_model, paragraphs):
    from framing.analysis.score import score_paragraphs
    from framing.analysis.spark import score_with_spark
    from framing.training.tracking import load_pipeline

    pipeline = load_pipeline(context_model)
    expected = score_paragraphs(paragraphs, pipeline)
    got = score_with_spark(paragraphs, context_model, spark=spark)
    assert_same_rows(got, expected, pipeline.frames)
    assert (expected["primary_frame"] != "none").any() and (expected["primary_frame"] == "none").any()


def test_score_with_spark_leaves_a_session_it_was_given_running(spark, context_model, seed_articles):
    from framing.analysis.spark import score_with_spark
    from framing.text.paragraphs import split_paragraphs

    score_with_spark(split_paragraphs(seed_articles.head(1)), context_model, spark=spark)
    assert spark.range(3).count() == 3


def test_score_frame_names_the_missing_columns(spark, context_model):
    from framing.analysis.spark import score_frame

    frame = spark.createDataFrame([("a1", "Officials said so.")], "article_id string, body string")
    message = "score expected columns ['article_id', 'paragraph_index', 'text'] but found ['article_id', 'body']; missing ['paragraph_index', 'text']."
    with pytest.raises(FramingError, match=re.escape(message)):
        score_frame(frame, context_model)


def test_cli_spark_engine_writes_the_local_engines_rows(context_model):
    from framing.training.tracking import load_pipeline

    local = run_cli("score", config.SEEDS_DIR, "--model", context_model)
    on_spark = run_cli("score", config.SEEDS_DIR, "--model", context_model, "--engine", "spark", "--master", "local[2]")
    assert local.returncode == 0 and on_spark.returncode == 0, on_spark.stderr[-2000:]
    expected, got = (pd.read_json(io.StringIO(r.stdout), lines=True, dtype=False) for r in (local, on_spark))
    assert len(expected) > 0
    assert_same_rows(got, expected, load_pipeline(context_model).frames)


def test_cli_spark_engine_without_java_is_one_clear_error(tmp_path, context_model):
    result = run_cli("score", config.SEEDS_DIR, "--model", context_model, "--engine", "spark", env={"JAVA_HOME": str(tmp_path / "no-java")})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "error: Spark could not start on master 'local[2]' ([JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port "
        "number.); check the master URL and that Java 17 is installed (java on PATH, or JAVA_HOME)")
