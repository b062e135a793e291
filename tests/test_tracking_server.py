"""A team's tracking server: `mlflow server` on PostgreSQL, artifacts uploaded through it to a local folder.

`framing train`, `framing promote` and the registry work against it through MLFLOW_TRACKING_URI alone.
PostgreSQL and the server are started inside the test, on 127.0.0.1 and free ports, and always stopped.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from framing import config

from conftest import free_port, run_cli, running_server

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), the newest version; None if not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def as_postgres_user(folder: Path) -> list[str]:
    """The prefix that runs a PostgreSQL server program as a user it accepts: it refuses root, so root runs it as nobody."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, "nobody")
    return ["runuser", "-u", "nobody", "--"]


def checked(args: list, cwd: Path) -> None:
    """Run a PostgreSQL program; its failure fails the test with the program's own words."""
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode:
        pytest.fail(f"{' '.join(map(str, args))}: {(done.stderr or done.stdout)[-2000:]}")


@contextmanager
def postgresql():
    """A fresh PostgreSQL cluster with a database ``mlflow``; yields its SQLAlchemy URI (the psycopg2 driver).

    Its folder is made by :func:`tempfile.mkdtemp`, not in pytest's tmp_path: under root that is private to
    root, and the server runs as nobody.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql, as .ci/run does")
    folder = Path(tempfile.mkdtemp(prefix="framing-pg-"))
    user = as_postgres_user(folder)
    data, port = folder / "data", free_port()
    try:
        checked([*user, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"], folder)
        checked([*user, bin_dir / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start"], folder)
        try:
            checked([bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"], folder)
            yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"
        finally:
            subprocess.run([*user, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], cwd=folder, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def mlflow_server(backend: str, artifacts: Path, cwd: Path, *, wait: float = 240):
    """`mlflow server` on ``backend`` serving artifacts from ``artifacts``; yields its URL once /health answers, then stops it."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    args = [bin_dir / "mlflow", "server", "--backend-store-uri", backend, "--artifacts-destination", str(artifacts),
            "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    with running_server(args, f"http://127.0.0.1:{port}", "/health", "mlflow server", wait=wait, poll=1, cwd=cwd, env=env) as url:
        yield url


def test_train_promote_and_load_the_champion_through_an_mlflow_server_on_postgresql(tmp_path):
    """About 2.5 minutes: the server's first start migrates the new database, then a 3-fold MiniLM training."""
    import mlflow

    from framing.training.tracking import load_pipeline

    with postgresql() as backend, mlflow_server(backend, tmp_path / "artifacts", tmp_path) as url:
        server = {"MLFLOW_TRACKING_URI": url}
        trained = run_cli("train", "--labels", config.LABELS_DIR / "seeds.csv", "--corpus", tmp_path / "no-corpus.jsonl", "--folds", "3",
                          "--candidates", tmp_path / "c", "--folds-dir", tmp_path / "f", cwd=tmp_path, env=server)
        assert trained.returncode == 0, trained.stderr[-2000:]
        (run_id,) = [p.name for p in (tmp_path / "c").iterdir()]
        assert "registered as framing version 1" in trained.stdout

        promoted = run_cli("promote", run_id, "--output", tmp_path / "shipped", "--candidates", tmp_path / "c", cwd=tmp_path, env=server)
        assert promoted.returncode == 0, promoted.stderr[-2000:]

        client = mlflow.MlflowClient(tracking_uri=url)
        assert client.get_model_version_by_alias("framing", "champion").run_id == run_id
        runs = {r.info.run_name: r for r in client.search_runs([client.get_run(run_id).info.experiment_id])}
        assert sorted(runs) == ["train", "winner-train"] and runs["winner-train"].info.run_id == run_id
        assert runs["train"].data.metrics["dev_macro_f1"] > 0
        assert list((tmp_path / "artifacts").rglob("MLmodel")), "the logged model was not uploaded into the server's artifact folder"

        pipeline = load_pipeline("models:/framing@champion", tracking_uri=url)
        scored = pipeline.predict_frame(pd.DataFrame({"text": ["The Pentagon banned the app from military phones over security fears."]}))
    assert list(scored.columns) == [*FRAMES, "frames"] and "security_risk" in scored["frames"][0]
