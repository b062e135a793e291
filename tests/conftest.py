"""Shared fixtures: the real small embedding model, a scratch mlflow store, the seeds."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from framing import config

ROOT = config.PROJ_ROOT
FRAMING = str(Path(sys.executable).with_name("framing"))


def _repository_state() -> str:
    """What git sees in the working tree, ignored files included (Python's own bytecode caches aside)."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=ROOT,
                            capture_output=True, text=True).stdout
    return "\n".join(line for line in status.splitlines() if "__pycache__" not in line and ".pytest_cache" not in line)


@pytest.fixture(scope="session", autouse=True)
def offline_and_isolated(tmp_path_factory):
    """No hub, and caches and stores under a temporary folder: the suite leaves the repository as it found it."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "FRAMING_CACHE_DIR": str(cache)})
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    before = _repository_state()
    yield
    after = _repository_state()
    assert after == before, f"the test suite changed the repository:\n{after}"


@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    from framing.model.embed import Embedder

    return Embedder(cache_dir=tmp_path_factory.mktemp("embeddings"))


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


@pytest.fixture(scope="session")
def seed_articles() -> pd.DataFrame:
    from framing.text.ingest import read_articles

    return read_articles([config.SEEDS_DIR])


def train_on_seeds(base: Path, **settings):
    """``framing train`` on the seed labels only (3 folds), in its own store and candidates folder under ``base``.

    Returns the experiment result (its candidate is the trained model folder) and the store's URI.
    """
    from framing.training.experiment import run_experiment, single_variant
    from framing.training.variants import Variant

    uri = f"sqlite:///{base / 'mlflow.db'}"
    cfg = single_variant(Variant(name="train", **settings), labels=(config.LABELS_DIR / "seeds.csv",), corpus=None, folds=3)
    result = run_experiment(cfg, tracking_uri=uri, candidates_dir=base / "candidates", folds_dir=base / "folds", speed=False)
    return result, uri


@pytest.fixture(scope="session")
def trained_seed_model(tmp_path_factory):
    """A MiniLM model trained on the seed labels only, in its own mlflow store."""
    return train_on_seeds(tmp_path_factory.mktemp("seed-model"))


def run_cli(*args, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    """The installed ``framing`` command, as a user runs it."""
    return subprocess.run([FRAMING, *map(str, args)], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


def copy_seeds(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(config.SEEDS_DIR, target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(args: list, url: str, probe: str, name: str, *, wait: float, poll: float = 0.5, **popen):
    """Start ``args`` as a server, yield ``url`` once ``url + probe`` answers, and always stop it (its whole process group)."""
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, **popen)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                urllib.request.urlopen(f"{url}{probe}", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"{name} exited: {process.stderr.read().decode()[-2000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not answer within {wait:.0f} s")
                time.sleep(poll)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
