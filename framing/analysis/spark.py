"""Score paragraphs on Spark with the model's mlflow UDF: the same rows as :func:`framing.analysis.score.score_paragraphs`.

The model runs inside Spark's Python workers through :func:`mlflow.pyfunc.spark_udf`, typed by
the model's signature (a double per frame and ``frames``). A context model's ``previous_text``
and ``next_text`` are built in Spark with window functions over each article's paragraphs, in
the JVM and partitioned by article, so the executors need only what the model folder itself
needs (its ``code/`` and ``requirements.txt``), not framing installed; a test pins them to
:func:`framing.model.features.with_neighbours`.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from framing.analysis.score import OUTPUT_COLUMNS
from framing.model.features import CONTEXT_COLUMNS
from framing.schema import FramingError, require_columns
from framing.training.tracking import spark_udf

KEY_COLUMNS = ("article_id", "paragraph_index", "text")
ROW = "_framing_row"
OUT = "_framing_out"


def spark_session(master: str = "local[2]"):
    """A SparkSession on ``master``; on a local master its Python workers run this interpreter, bound to 127.0.0.1, no UI.

    PySpark takes the workers' interpreter from ``PYSPARK_PYTHON`` when the context starts
    (not from ``spark.pyspark.python``); unset, it is ``python3`` on PATH, without framing's packages.
    """
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("framing score")
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (builder.config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false"))
    try:
        spark = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate()
    except PySparkRuntimeError as err:
        raise FramingError(f"Spark could not start on master {master!r} ({str(err).splitlines()[0]}); check the master URL "
                           "and that Java 17 is installed (java on PATH, or JAVA_HOME)") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def with_context(frame, partitions: int | None = None):
    """``frame`` with ``title`` (null if absent), ``previous_text`` and ``next_text``: its article's kept paragraphs just before and after.

    The Spark form of :func:`framing.model.features.with_neighbours` for scoring whole
    articles; rows are spread over ``partitions`` (default: the session's parallelism) by article.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    partitions = partitions or frame.sparkSession.sparkContext.defaultParallelism
    article = Window.partitionBy("article_id").orderBy("paragraph_index")
    if "title" not in frame.columns:
        frame = frame.withColumn("title", F.lit(None).cast("string"))
    return (frame.repartition(partitions, "article_id")
            .withColumn("previous_text", F.lag("text").over(article))
            .withColumn("next_text", F.lead("text").over(article)))


def primary_frame(out, frames: list[str]):
    """The most probable of the frames in ``out.frames`` (the first in model order on a tie), or ``"none"``."""
    from pyspark.sql import functions as F

    ranked = F.array(*[F.struct(out[f].alias("p"), F.lit(-i).alias("order"), F.lit(f).alias("name")) for i, f in enumerate(frames)])
    passed = F.filter(ranked, lambda c: F.array_contains(out["frames"], c["name"]))
    return F.coalesce(F.array_max(passed)["name"], F.lit("none"))


def score_frame(frame, model: str | Path, *, partitions: int | None = None, env_manager: str = "local", tracking_uri: str | None = None):
    """Score a Spark DataFrame of whole articles' kept paragraphs; lazy, for a pipeline that stays in Spark.

    Parameters
    ----------
    frame : Spark DataFrame with ``article_id, paragraph_index, text`` (and ``title`` for a context model).
    model : model folder, or a ``models:/`` / ``runs:/`` URI.

    Returns
    -------
    Spark DataFrame: ``frame``'s columns, a probability column per frame, ``frames`` and ``primary_frame``;
    in no particular order.
    """
    from pyspark.sql import functions as F

    require_columns(pd.DataFrame(columns=frame.columns), KEY_COLUMNS, step="score")
    udf = spark_udf(frame.sparkSession, model, env_manager=env_manager, tracking_uri=tracking_uri)
    inputs = F.struct(*[F.col(c).cast("string").alias(c) for c in ("text", *CONTEXT_COLUMNS)])
    scored = with_context(frame, partitions).withColumn(OUT, udf(inputs))
    frames = [f for f in scored.schema[OUT].dataType.fieldNames() if f != "frames"]
    out = F.col(OUT)
    added = [out[f].alias(f) for f in frames] + [out["frames"].alias("frames"), primary_frame(out, frames).alias("primary_frame")]
    return scored.select(*[F.col(c) for c in frame.columns], *added)


def score_with_spark(paragraphs: pd.DataFrame, model_folder: str | Path, *, master: str = "local[2]", spark=None,
                     env_manager: str = "local", tracking_uri: str | None = None) -> pd.DataFrame:
    """Frame probabilities of each paragraph, computed on Spark: the rows and columns of :func:`~framing.analysis.score.score_paragraphs`.

    Parameters
    ----------
    paragraphs : DataFrame with ``article_id, outlet, date, paragraph_index, text`` (and ``title``).
    model_folder : model folder, or a ``models:/`` / ``runs:/`` URI.
    master : where a new session runs (``local[2]``, ``spark://host:7077``, ``yarn``); ignored when ``spark`` is given.
    spark : a SparkSession you already have; left running. A session made here is stopped at the end.
    env_manager : ``"local"``: the executors' own Python runs the model; ``"virtualenv"``: mlflow rebuilds the
        model's ``requirements.txt`` on each executor (needs PyPI access there).
    """
    from pyspark.sql import SparkSession

    require_columns(paragraphs, OUTPUT_COLUMNS, step="score")
    table = paragraphs.reset_index(drop=True)
    own = spark is None and SparkSession.getActiveSession() is None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        return table[list(OUTPUT_COLUMNS)].join(_scored_on(spark or spark_session(master), table, model_folder, own,
                                                           env_manager=env_manager, tracking_uri=tracking_uri))


def _strings(table: pd.DataFrame, column: str) -> list[str | None]:
    """``column``'s values, with anything but a string (NaN, a missing column) as null."""
    values = table[column] if column in table else [None] * len(table)
    return [v if isinstance(v, str) else None for v in values]


def _scored_on(spark, table: pd.DataFrame, model_folder, own: bool, *, env_manager: str, tracking_uri: str | None) -> pd.DataFrame:
    """The added columns of ``table``'s rows, in its order, scored on ``spark``; the session is stopped if ``own``."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    try:
        schema = StructType([StructField(ROW, LongType()), StructField("article_id", StringType()),
                             StructField("paragraph_index", LongType()), StructField("text", StringType()),
                             StructField("title", StringType())])
        sent = pd.DataFrame({
            ROW: np.arange(len(table), dtype=np.int64),
            "article_id": table["article_id"].astype(str).astype(object),
            "paragraph_index": table["paragraph_index"].astype(np.int64),
            "text": _strings(table, "text"),
            "title": _strings(table, "title"),
        })
        scored = score_frame(spark.createDataFrame(sent, schema=schema), model_folder, env_manager=env_manager,
                             tracking_uri=tracking_uri)
        added = [c for c in scored.columns if c not in schema.fieldNames()]
        back = scored.select(ROW, *added).toPandas().sort_values(ROW).reset_index(drop=True)
    finally:
        if own:
            spark.stop()
    back["frames"] = [list(v) for v in back["frames"]]
    return back[added]
