"""Shared fixtures: the real small embedding model, a scratch mlflow store, the seeds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from framing import config

ROOT = config.PROJ_ROOT
FRAMING = str(Path(sys.executable).with_name("framing"))


@pytest.fixture(scope="session", autouse=True)
def offline_and_isolated(tmp_path_factory):
    """No hub, and caches and stores under a temporary folder, never in the repository."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "FRAMING_CACHE_DIR": str(cache)})
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield


@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    from framing.embed import Embedder

    return Embedder(cache_dir=tmp_path_factory.mktemp("embeddings"))


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


@pytest.fixture(scope="session")
def seed_articles() -> pd.DataFrame:
    from framing.ingest import read_articles

    return read_articles([config.SEEDS_DIR])


@pytest.fixture(scope="session")
def trained_seed_model(tmp_path_factory):
    """A model trained on the seed labels only, in its own mlflow store."""
    from framing.train import TrainConfig, train

    base = tmp_path_factory.mktemp("seed-model")
    uri = f"sqlite:///{base / 'mlflow.db'}"
    cfg = TrainConfig(labels=(config.LABELS_DIR / "seeds.csv",), corpus=None, folds=3)
    result = train(cfg, output=base / "model", tracking_uri=uri)
    return result, uri


def run_cli(*args, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    """The installed ``framing`` command, as a user runs it."""
    return subprocess.run([FRAMING, *map(str, args)], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


def copy_seeds(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(config.SEEDS_DIR, target)
    return target
