"""Everything that talks to mlflow: the store, runs, saved and logged models, the registry.

The only module that imports mlflow, apart from the pyfunc shim that mlflow itself loads
(:mod:`framing.model.pyfunc`).
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from framing import config
from framing.files import DAMAGED, replace_folder, staging_folder
from framing.model.embed import model_packages
from framing.model.features import CONTEXT_COLUMNS
from framing.model.pipeline import FramingPipeline, read_meta
from framing.schema import FramingError

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PYFUNC_FILE = PACKAGE_DIR / "model" / "pyfunc.py"
HEAD = Path("artifacts") / "head"


def _quiet() -> None:
    """Keep mlflow's start-up chatter (database migrations, type-hint advice) off the console."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    import mlflow  # noqa: F401  (configures its loggers on import; quieten them afterwards)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*type hints.*", category=UserWarning)


@contextmanager
def _store_lock(uri: str):
    """Hold an inter-process lock on a SQLite store (a ``.lock`` file beside it); other stores need none.

    mlflow creates and migrates a new SQLite store on first use and creates experiments on demand;
    two processes doing either at once collide, so both happen under this lock.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    db = Path(uri.removeprefix("sqlite:///"))
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def connect(tracking_uri: str | None = None, experiment: str = config.EXPERIMENT_NAME):
    """Point mlflow at the store (created and migrated on first use, once) and select ``experiment``."""
    _quiet()
    import mlflow

    uri = config.tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    try:
        with _store_lock(uri):
            found = mlflow.get_experiment_by_name(experiment)  # the first call creates and migrates the store
            if found is None:
                location = None
                if uri.startswith("sqlite:///"):
                    location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
                mlflow.create_experiment(experiment, artifact_location=location)
            mlflow.set_experiment(experiment)
    except Exception as err:  # mlflow raises many types for an unreachable store
        raise FramingError(f"cannot use the mlflow store at {uri}: {str(err).splitlines()[0]}") from None
    return mlflow


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.PROJ_ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


@contextmanager
def run(name: str, *, tracking_uri: str | None = None, experiment: str = config.EXPERIMENT_NAME, tags: dict | None = None):
    """An mlflow run tagged with the git commit; yields the active run."""
    mlflow = connect(tracking_uri, experiment)
    with mlflow.start_run(run_name=name) as active:
        commit = git_commit()
        mlflow.set_tags({**({"git_commit": commit} if commit else {}), **(tags or {})})
        yield active


def log_params(params: dict) -> None:
    import mlflow

    mlflow.log_params(params)


def log_metrics(metrics: dict[str, float]) -> None:
    import mlflow

    mlflow.log_metrics(metrics)


REPORTS_EXPERIMENT = "reports"


def log_report(folder: Path, *, tracking_uri: str | None = None, params: dict | None = None) -> str:
    """Log a report folder's files as the artifacts of a new run in experiment ``reports``; returns the run id."""
    import mlflow

    with run(Path(folder).name, tracking_uri=tracking_uri, experiment=REPORTS_EXPERIMENT) as active:
        if params:
            mlflow.log_params(params)
        mlflow.log_artifacts(str(folder), artifact_path="report")
        return active.info.run_id


def log_labels(data: pd.DataFrame) -> str:
    """Log the labelled paragraphs' keys, split and frames (never their text) as the dataset ``framing-labels``; returns its digest."""
    import mlflow

    keys = data[["article_id", "paragraph_index", "text_hash", "split"]].assign(frames=[";".join(f) for f in data["frames"]])
    dataset = mlflow.data.from_pandas(keys, name="framing-labels")
    mlflow.log_input(dataset, context="training")
    return dataset.digest


def log_evaluation(evaluation, data) -> None:
    """A variant's figures, per-fold macro-F1, held-out probabilities (keys only) and precision-recall curves."""
    import mlflow

    metrics = {k: v for k, v in evaluation.metrics.items() if not k.startswith("fold")}
    mlflow.log_metrics(metrics)
    for fold, value in enumerate(evaluation.fold_macro_f1):
        mlflow.log_metric("fold_macro_f1", value, step=fold)
    held_out = data.dev[["article_id", "paragraph_index"]].assign(**dict(zip(data.frames, evaluation.held_out.T)))
    mlflow.log_table(held_out, "held_out_proba.json")
    mlflow.log_figure(_pr_figure(data.Y, evaluation.held_out, data.frames), "precision_recall.png")


def _pr_figure(Y: np.ndarray, proba: np.ndarray, names: list[str]):
    """Per-frame precision-recall curves of the held-out probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax = plt.subplots(figsize=(6, 5))
    for j, name in enumerate(names):
        if Y[:, j].any():
            PrecisionRecallDisplay.from_predictions(Y[:, j], proba[:, j], name=name, ax=ax)
    ax.set_title("Cross-validated precision-recall per frame")
    plt.close(fig)
    return fig


def model_requirements(embedder: str = config.DEFAULT_EMBEDDER) -> list[str]:
    """What ``mlflow models serve`` installs to rebuild a framing model: pinned, never inferred
    (inference lists torch with a ``+cpu`` tag and misses the embedding package)."""
    from importlib.metadata import version

    names = ["torch", "sentence-transformers", "transformers", *model_packages(embedder), "scikit-learn",
             "scipy", "numpy", "pandas", "pyyaml", "mlflow"]
    return [f"{name}=={version(name).split('+')[0]}" for name in names]


def model_signature(frames: list[str]):
    """Inputs: ``text``, with optional context columns; outputs: a probability per frame and ``frames``."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.types.schema import Array

    inputs = [ColSpec("string", "text")] + [ColSpec("string", c, required=False) for c in CONTEXT_COLUMNS]
    outputs = [ColSpec("double", f) for f in frames] + [ColSpec(Array(DataType.string), "frames")]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def serving_modules() -> list[Path]:
    """The package's modules the pyfunc imports, directly or not: all that a model folder carries."""
    todo, found = [PYFUNC_FILE], set()
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "framing":
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "framing"]
            else:
                continue
            for name in names:
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # the module and the packages around it
                    base = PACKAGE_DIR.parent.joinpath(*parts[:depth])
                    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                        if candidate.exists():
                            todo.append(candidate)
    return sorted(found)


def _code_copy(into: Path) -> Path:
    """A copy of just the serving modules, laid out as the package ``framing``."""
    for module in serving_modules():
        target = into / "framing" / module.relative_to(PACKAGE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(module, target)
    return into / "framing"


def _pyfunc_arguments(head_dir: Path, code_dir: Path) -> dict:
    """How a framing model is written, the same for the saved folder and the logged run model."""
    meta = read_meta(head_dir)
    return {
        "python_model": str(PYFUNC_FILE),
        "artifacts": {"head": str(head_dir)},
        "code_paths": [str(_code_copy(code_dir))],
        "pip_requirements": model_requirements(meta["embedder"]["name"]),
        "signature": model_signature(meta["frames"]),
        "input_example": pd.DataFrame({"text": ["Officials said the app posed a security risk."]}),
        "model_config": {"cache_dir": ""},  # run-time settings a loader may override; "" is no cache
    }


def _without_machine_paths(model_dir: Path) -> None:
    """Drop from ``MLmodel`` the absolute paths of the machine that wrote it (mlflow reads neither)."""
    import yaml

    path = model_dir / "MLmodel"
    mlmodel = yaml.safe_load(path.read_text())
    flavor = mlmodel["flavors"]["python_function"]
    for artifact in flavor.get("artifacts", {}).values():
        artifact.pop("uri", None)
    if "model_code_path" in flavor:
        flavor["model_code_path"] = Path(flavor["model_code_path"]).name
    path.write_text(yaml.safe_dump(mlmodel, sort_keys=False))


def save_model(pipeline: FramingPipeline, output: Path) -> Path:
    """Write ``pipeline`` as an mlflow pyfunc model folder at ``output``.

    It is built in a staging folder of this process's own and swapped in whole
    (:func:`framing.files.replace_folder`): a failure leaves any old model as it was.
    """
    _quiet()
    import mlflow

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(output)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            head = pipeline.save(Path(tmp) / "head")
            mlflow.pyfunc.save_model(path=str(staging), **_pyfunc_arguments(head, Path(tmp) / "code"))
            _without_machine_paths(staging)
            replace_folder(staging, output)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return output


def replace_model(candidate: Path, output: Path) -> None:
    """Copy the model folder ``candidate`` over ``output`` in one swap."""
    check_model_folder(candidate)
    staging = staging_folder(output)
    try:
        shutil.copytree(candidate, staging)
        replace_folder(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def log_model(model_dir: Path) -> str | None:
    """Log the saved model folder as the active run's model and register it as a new version of ``framing``."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        info = mlflow.pyfunc.log_model(name="model", **_pyfunc_arguments(Path(model_dir) / HEAD, Path(tmp)))
    version = mlflow.register_model(info.model_uri, config.REGISTERED_MODEL)
    return version.version


def set_champion(model_dir: Path, *, tracking_uri: str | None = None) -> str | None:
    """Point ``framing@champion`` at the registered version of the run that made ``model_dir``; None if the store has none."""
    run_id = read_meta(Path(model_dir) / HEAD).get("run_id")
    if not run_id:
        return None
    mlflow = connect(tracking_uri)
    client = mlflow.MlflowClient()
    try:
        versions = client.search_model_versions(f"name='{config.REGISTERED_MODEL}' and run_id='{run_id}'")
    except Exception:  # no such registered model in this store
        return None
    if not versions:
        return None
    version = max(versions, key=lambda v: int(v.version)).version
    client.set_registered_model_alias(config.REGISTERED_MODEL, config.CHAMPION_ALIAS, version)
    return version


def download_model(run: str, *, tracking_uri: str | None = None) -> Path:
    """The model a run logged, fetched from the store into a temporary folder."""
    mlflow = connect(tracking_uri)
    try:
        return Path(mlflow.artifacts.download_artifacts(f"runs:/{run}/model", dst_path=tempfile.mkdtemp(prefix="framing-model-")))
    except Exception as err:
        raise FramingError(f"no model for run {run!r}: not a candidate folder, nor a run of {config.tracking_uri(tracking_uri)} with a model ({str(err).splitlines()[0]})") from None


def check_model_folder(path: Path) -> None:
    """A model folder's MLmodel file must parse and declare the pyfunc flavour; else one line naming it."""
    from mlflow.models import Model

    mlmodel = Path(path) / "MLmodel"
    if not mlmodel.exists():
        raise FramingError(f"{path}: not a framing model folder (no MLmodel file)")
    try:
        flavors = Model.load(str(mlmodel)).flavors
    except Exception as err:  # yaml and mlflow raise many types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FramingError(f"{mlmodel}: not a valid MLmodel file ({reason}); {DAMAGED}") from None
    if "python_function" not in flavors:
        raise FramingError(f"{mlmodel}: declares no python_function flavour, so it is not a framing model; {DAMAGED}")


@functools.lru_cache(maxsize=8)
def _local_folder(uri: str, tracking_uri: str | None) -> Path:
    """A model folder for ``uri``: the folder itself, or a ``models:/``/``runs:/`` model fetched from the store."""
    if uri.startswith(("models:/", "runs:/")):
        mlflow = connect(tracking_uri)
        try:
            return Path(mlflow.artifacts.download_artifacts(uri, dst_path=tempfile.mkdtemp(prefix="framing-model-")))
        except Exception as err:
            raise FramingError(f"cannot load model {uri}: {str(err).splitlines()[0]}") from None
    _quiet()
    check_model_folder(Path(uri))
    return Path(uri)


def load_pipeline(uri: str | Path, *, cache_dir: Path | None = None, tracking_uri: str | None = None) -> FramingPipeline:
    """The :class:`FramingPipeline` of a model folder or a ``models:/``/``runs:/`` URI, read as data (no code from the folder runs)."""
    return FramingPipeline.load(_local_folder(str(uri), tracking_uri) / HEAD, cache_dir=cache_dir)


def load_model(uri: str | Path, *, cache_dir: Path | None = None, tracking_uri: str | None = None):
    """The mlflow pyfunc model of a folder or URI, as ``mlflow models serve`` and Spark load it (its code runs)."""
    _quiet()
    import mlflow

    folder = _local_folder(str(uri), tracking_uri)
    try:
        return mlflow.pyfunc.load_model(str(folder), model_config={"cache_dir": str(cache_dir)} if cache_dir else None)
    except FramingError:
        raise
    except Exception as err:
        raise FramingError(f"cannot load model {uri}: {str(err).splitlines()[0]}") from None


def spark_udf(spark, uri: str | Path, *, env_manager: str = "local", tracking_uri: str | None = None):
    """The model of a folder or URI as a Spark UDF (:func:`mlflow.pyfunc.spark_udf`), typed by the model's signature.

    Called on a struct of the input columns, it returns a struct of a double per frame and
    ``frames`` (array<string>). ``env_manager="local"`` runs it in the executors' own Python;
    ``"virtualenv"`` rebuilds the model's ``requirements.txt`` there.
    """
    _quiet()
    import mlflow

    folder = _local_folder(str(uri), tracking_uri)
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    if env_manager == "local":  # its advice to rebuild the environment with conda is noise for the local engine
        pyfunc_log.setLevel(logging.ERROR)
    try:
        return mlflow.pyfunc.spark_udf(spark, str(folder), env_manager=env_manager)
    finally:
        pyfunc_log.setLevel(level)


def describe_model(uri: str | Path, *, tracking_uri: str | None = None) -> str:
    """One line saying which model was loaded: its folder or registry version, the run that trained it, and when.

    Loading a model folder into mlflow runs its code, so the CLI shows this for the user to check.
    """
    import yaml

    uri = str(uri)
    folder = _local_folder(uri, tracking_uri)
    run_id = read_meta(folder / HEAD).get("run_id")
    created = str(yaml.safe_load((folder / "MLmodel").read_text()).get("utc_time_created") or "")[:10]
    if uri.startswith("models:/"):
        from mlflow import MlflowClient
        from mlflow.store.artifact.utils.models import get_model_name_and_version

        client = MlflowClient()
        name, version = get_model_name_and_version(client, uri)
        run_id = client.get_model_version(name, version).run_id or run_id
        where = f"{uri} = {name} version {version}"
    else:
        where = uri if uri.startswith("runs:/") else str(Path(uri).resolve())
    return f"model: {where} ({f'run {run_id}' if run_id else 'no mlflow run'}{f', trained {created}' if created else ''})"


def serve_command(model: str | Path, *, host: str = "127.0.0.1", port: int = 5001, timeout: int = config.SERVE_TIMEOUT,
                  workers: int = 1, tracking_uri: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The ``mlflow models serve`` command line and environment that serve ``model`` over REST.

    mlflow's scoring server in this environment (``--env-manager local``) with this venv's tools first
    on ``PATH`` (mlflow starts ``uvicorn`` from there), offline, and the store ``models:/`` URIs resolve in.
    """
    model = str(model)
    if not model.startswith(("models:/", "runs:/")):
        _quiet()
        check_model_folder(Path(model))
        model = str(Path(model).resolve())
    bin_dir = Path(sys.executable).parent
    argv = [str(bin_dir / "mlflow"), "models", "serve", "-m", model, "--env-manager", "local",
            "--host", host, "--port", str(port), "--timeout", str(timeout), "--workers", str(workers)]
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MLFLOW_TRACKING_URI": config.tracking_uri(tracking_uri)}
    return argv, env
