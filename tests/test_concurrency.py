"""Several framing processes at once: trainings sharing an output folder or a new mlflow store, readers during a swap."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd

from framing import config, files
from framing.files import replace_folder, staging_folder
from framing.training.tracking import load_model

from conftest import FRAMING

ROOT = str(config.PROJ_ROOT)


def start(*command) -> subprocess.Popen:
    """A process running ``command`` with this checkout's framing, started now, not waited for."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(list(map(str, command)), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def python(script: str, *args) -> subprocess.Popen:
    return start(sys.executable, "-c", script, *args)


def finish(process: subprocess.Popen, timeout: int = 600) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


SAVE_MODEL = """
import sys
from pathlib import Path
from framing.model.pipeline import FramingPipeline
from framing.training.tracking import save_model
pipeline = FramingPipeline.load(Path(sys.argv[1]))
for _ in range(3):
    save_model(pipeline, Path(sys.argv[2]))
"""


def test_two_processes_saving_one_model_folder_both_succeed_and_leave_one_complete_model(trained_seed_model, tmp_path):
    heads = {}
    for writer in ("a", "b"):
        heads[writer] = tmp_path / writer / "head"  # mlflow names the artifact folder after it
        shutil.copytree(trained_seed_model[0].candidate / "artifacts" / "head", heads[writer])
        meta = json.loads((heads[writer] / "head.json").read_text())
        (heads[writer] / "head.json").write_text(json.dumps({**meta, "writer": writer}))
    output = tmp_path / "out" / "model"
    processes = [python(SAVE_MODEL, heads[w], output) for w in heads]
    results = [finish(p) for p in processes]
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    writer = json.loads((output / "artifacts" / "head" / "head.json").read_text())["writer"]
    saved = output / "artifacts" / "head"
    def contents(head):
        return {p.name: json.loads(p.read_text()) if p.suffix == ".json" else p.read_bytes() for p in head.iterdir()}

    assert contents(saved) == contents(heads[writer])
    out = load_model(output).predict(pd.DataFrame({"text": ["Pompeo said the US may ban Chinese apps."]}))
    assert list(out.columns) == [*json.loads((saved / "head.json").read_text())["frames"], "frames"]
    assert [p.name for p in output.parent.iterdir()] == ["model"]


def test_saving_a_model_leaves_no_staging_folder_behind(trained_seed_model, tmp_path):
    from framing.model.pipeline import FramingPipeline
    from framing.training.tracking import save_model

    pipeline = FramingPipeline.load(trained_seed_model[0].candidate / "artifacts" / "head")
    save_model(pipeline, tmp_path / "model")
    save_model(pipeline, tmp_path / "model")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


SWAP = """
import sys
from pathlib import Path
from framing.files import replace_folder, staging_folder
target = Path(sys.argv[1])
for i in range(200):
    staging = staging_folder(target)
    staging.mkdir()
    (staging / "MLmodel").write_text(str(i))
    replace_folder(staging, target)
"""


def test_a_reader_never_finds_the_folder_missing_while_it_is_replaced_200_times(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "MLmodel").write_text("first")
    swapper = python(SWAP, target)
    looks = misses = 0
    while swapper.poll() is None:
        looks += 1
        misses += not (target.exists() and (target / "MLmodel").exists())
    result = finish(swapper)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (target / "MLmodel").read_text() == "199"
    assert looks > 200 and misses == 0
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_replacing_a_folder_that_does_not_exist_yet_moves_the_staged_one_there(tmp_path):
    staging = staging_folder(tmp_path / "model")
    staging.mkdir()
    (staging / "MLmodel").write_text("new")
    replace_folder(staging, tmp_path / "model")
    assert (tmp_path / "model" / "MLmodel").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_without_renameat2_a_folder_is_still_replaced_by_two_renames(tmp_path, monkeypatch):
    """The fallback for systems without ``renameat2``, simulated by hiding the call."""
    monkeypatch.setattr(files, "_renameat2", lambda: None)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("old")
    staging = staging_folder(tmp_path / "model")
    staging.mkdir()
    (staging / "MLmodel").write_text("new")
    replace_folder(staging, tmp_path / "model")
    assert (tmp_path / "model" / "MLmodel").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_staging_folders_are_hidden_beside_their_target_and_never_shared(tmp_path):
    names = {staging_folder(tmp_path / "model") for _ in range(100)}
    assert len(names) == 100
    assert all(p.parent == tmp_path and p.name.startswith(f".model.{os.getpid()}.") for p in names)


def test_two_trainings_started_together_on_a_new_sqlite_store_both_complete_and_are_recorded(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    processes = [start(FRAMING, "train", "--labels", config.LABELS_DIR / "seeds.csv", "--corpus", tmp_path / "no-corpus.jsonl", "--folds", 3,
                       "--candidates", tmp_path / "candidates", "--folds-dir", tmp_path / "folds", "--tracking-uri", uri) for _ in range(2)]
    results = [finish(p) for p in processes]
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["experiment-train"], output_format="list")
    assert sorted(r.info.run_name for r in runs) == ["train", "train", "winner-train", "winner-train"]
    assert all(r.info.status == "FINISHED" for r in runs)
    versions = mlflow.MlflowClient().search_model_versions(f"name='{config.REGISTERED_MODEL}'")
    winners = sorted(r.info.run_id for r in runs if r.info.run_name == "winner-train")
    assert sorted(v.run_id for v in versions) == winners
    assert sorted(p.name for p in (tmp_path / "candidates").iterdir()) == winners
    for version in versions:  # each run logged its own head
        logged = mlflow.artifacts.download_artifacts(f"models:/{config.REGISTERED_MODEL}/{version.version}/artifacts/head/head.json")
        assert json.loads(Path(logged).read_text())["run_id"] == version.run_id
