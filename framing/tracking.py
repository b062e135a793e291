"""Everything that talks to mlflow: the store, runs, logged models, the registry."""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from framing import config
from framing.files import replace_folder, staging_folder
from framing.schema import FramingError

PYFUNC_FILE = Path(__file__).with_name("pyfunc.py")
PACKAGE_DIR = Path(__file__).parent


def model_requirements(embedder: str = config.DEFAULT_EMBEDDER) -> list[str]:
    """What ``mlflow models serve`` installs to rebuild a framing model: pinned, never inferred
    (inference lists torch with a ``+cpu`` tag and misses the embedding package)."""
    from importlib.metadata import version

    from framing.embed import model_packages

    names = ["torch", "sentence-transformers", "transformers", *model_packages(embedder), "scikit-learn",
             "scipy", "numpy", "pandas", "pyyaml", "mlflow"]
    return [f"{name}=={version(name).split('+')[0]}" for name in names]


def model_signature():
    """Inputs: ``text``, with optional context columns; outputs are left to the model."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from framing.features import CONTEXT_COLUMNS

    columns = [ColSpec("string", "text")] + [ColSpec("string", c, required=False) for c in CONTEXT_COLUMNS]
    return ModelSignature(inputs=Schema(columns))


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
    """An mlflow run tagged with the git commit; yields the mlflow module."""
    mlflow = connect(tracking_uri, experiment)
    with mlflow.start_run(run_name=name):
        commit = git_commit()
        mlflow.set_tags({**({"git_commit": commit} if commit else {}), **(tags or {})})
        yield mlflow


def log_labels(mlflow, data: pd.DataFrame) -> str:
    """Log the labelled paragraphs' keys, split and frames (never their text) as the dataset ``framing-labels``; returns its digest."""
    keys = data[["article_id", "paragraph_index", "text_hash", "split"]].assign(frames=[";".join(f) for f in data["frames"]])
    dataset = mlflow.data.from_pandas(keys, name="framing-labels")
    mlflow.log_input(dataset, context="training")
    return dataset.digest


def _pyfunc_arguments(head_dir: Path) -> dict:
    """How a framing model is written, the same for the saved folder and the logged run model."""
    import json

    embedder = json.loads((head_dir / "head.json").read_text())["embedder"]["name"]
    return {
        "python_model": str(PYFUNC_FILE),
        "artifacts": {"head": str(head_dir)},
        "code_paths": [str(PACKAGE_DIR)],
        "pip_requirements": model_requirements(embedder),
        "signature": model_signature(),
        "input_example": pd.DataFrame({"text": ["Officials said the app posed a security risk."]}),
    }


def save_pyfunc(head_dir: Path, output: Path) -> None:
    """Write an MLflow pyfunc model directory at ``output`` from a saved classifier head.

    The new model is built in a staging folder of this process's own beside ``output`` and
    swapped in (:func:`framing.files.replace_folder`), so a failure leaves the old model as it
    was, readers never find ``output`` missing, and concurrent trainings never share a folder.
    """
    _quiet()
    import shutil

    import mlflow

    staging = staging_folder(output)
    try:
        mlflow.pyfunc.save_model(path=str(staging), **_pyfunc_arguments(head_dir))
        replace_folder(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def log_and_register(mlflow, head_dir: Path, *, register: bool = True) -> str | None:
    """Log the framing model of a saved classifier head as the run's model and make it ``framing@champion``."""
    info = mlflow.pyfunc.log_model(name="model", **_pyfunc_arguments(head_dir))
    if not register:
        return None
    version = mlflow.register_model(info.model_uri, config.REGISTERED_MODEL)
    mlflow.MlflowClient().set_registered_model_alias(config.REGISTERED_MODEL, config.CHAMPION_ALIAS, version.version)
    return version.version


def load_model(uri: str | Path, *, tracking_uri: str | None = None):
    """Load a pyfunc model from a folder or a ``models:/`` / ``runs:/`` URI."""
    _quiet()
    import mlflow

    uri = str(uri)
    if uri.startswith(("models:/", "runs:/")):
        connect(tracking_uri)
    elif not Path(uri, "MLmodel").exists():
        raise FramingError(f"{uri}: not an mlflow model folder (no MLmodel file)")
    else:
        _check_mlmodel(Path(uri, "MLmodel"))
    try:
        return mlflow.pyfunc.load_model(uri)
    except FramingError:
        raise
    except Exception as err:
        raise FramingError(f"cannot load model {uri}: {str(err).splitlines()[0]}") from None


def _check_mlmodel(path: Path) -> None:
    """A model folder's MLmodel file must parse and declare the pyfunc flavour; else one line naming it."""
    from mlflow.models import Model

    from framing.files import DAMAGED

    try:
        flavors = Model.load(str(path)).flavors
    except Exception as err:  # yaml and mlflow raise many types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FramingError(f"{path}: not a valid MLmodel file ({reason}); {DAMAGED}") from None
    if "python_function" not in flavors:
        raise FramingError(f"{path}: declares no python_function flavour, so it is not a framing model; {DAMAGED}")


def describe_model(uri: str | Path, model) -> str:
    """One line saying which model was loaded: its folder or registry version, the run that trained it, and when.

    Loading a model folder runs its code, so the CLI shows this for the user to check.
    """
    import json

    uri = str(uri)
    run_id = model.metadata.run_id
    if uri.startswith("models:/"):
        from mlflow import MlflowClient
        from mlflow.store.artifact.utils.models import get_model_name_and_version

        client = MlflowClient()
        name, version = get_model_name_and_version(client, uri)
        run_id = client.get_model_version(name, version).run_id or run_id
        where = f"{uri} = {name} version {version}"
    elif uri.startswith("runs:/"):
        where = uri
        run_id = run_id or uri.removeprefix("runs:/").split("/")[0]
    else:
        where = str(Path(uri).resolve())
        try:
            run_id = run_id or json.loads(Path(uri, "artifacts", "head", "head.json").read_text()).get("run_id")
        except (OSError, ValueError, AttributeError):
            pass
    created = str(model.metadata.utc_time_created or "")[:10]
    return f"model: {where} ({f'run {run_id}' if run_id else 'no mlflow run'}{f', trained {created}' if created else ''})"
