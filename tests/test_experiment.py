import re

import mlflow
import pytest
from scipy.stats import spearmanr

from framing import config
from framing.frames import FrameScheme
from framing.model.classifier import best_threshold
from framing.schema import FramingError
from framing.training.evaluation import FoldStore, LabelledData, evaluate, expected_calibration_error
from framing.training.experiment import ExperimentConfig, choose_winner, run_experiment
from framing.training.variants import Variant

SEEDS = config.LABELS_DIR / "seeds.csv"


def write_config(tmp_path, body: str):
    path = tmp_path / "exp.yaml"
    path.write_text(body)
    return path


TWO_VARIANTS = f"""
name: tiny
labels: [{SEEDS}]
folds: 2
variants:
  - name: tfidf
    kind: tfidf
  - name: minilm
    kind: embedding
"""


def run(cfg, tmp_path, tracking_uri, **kwargs):
    """The experiment with its candidates and recorded folds under ``tmp_path``, never in the repository."""
    return run_experiment(cfg, tracking_uri=tracking_uri, candidates_dir=tmp_path / "candidates", folds_dir=tmp_path / "folds", **kwargs)


def test_two_variant_experiment_logs_two_runs_and_ships_the_winner_when_asked(tmp_path, tracking_uri):
    cfg = ExperimentConfig.load(write_config(tmp_path, TWO_VARIANTS))
    result = run(cfg, tmp_path, tracking_uri, ship_to=tmp_path / "model")
    assert list(result.table.variant) == ["tfidf", "minilm"]
    assert {"dev_macro_f1", "dev_macro_f1_std", "dev_max_ece", "train_seconds", "scoring_paragraphs_per_second"} <= set(result.table.columns)
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["experiment-tiny"])
    assert set(runs["tags.mlflow.runName"]) == {"tfidf", "minilm", "winner-minilm"}
    assert result.winner == "minilm"  # the only exportable variant
    assert (tmp_path / "model" / "MLmodel").exists() and result.candidate.parent == tmp_path / "candidates"
    champion = mlflow.MlflowClient().get_model_version_by_alias("framing", "champion")
    assert mlflow.get_run(champion.run_id).data.params["variant"] == "minilm"


@pytest.mark.parametrize("settings, head_files", [
    ("words: 2.0", ["head.json", "head.npz", "words.json", "words.npz"]),
    ("tune_epochs: 1\n    tune_rank: 4", ["adapter.json", "adapter.npz", "head.json", "head.npz"]),
], ids=["word-features", "lora-adapter"])
def test_shipped_model_serves_as_it_scored_in_training(tmp_path, tracking_uri, settings, head_files):
    import numpy as np
    import pandas as pd

    from framing.training.tracking import load_model

    body = f"name: ship\nlabels: [{SEEDS}]\nfolds: 2\nvariants:\n  - name: minilm\n    {settings}\n"
    result = run(ExperimentConfig.load(write_config(tmp_path, body)), tmp_path, tracking_uri)
    assert sorted(p.name for p in (result.candidate / "artifacts" / "head").iterdir()) == head_files
    texts = pd.DataFrame({"text": ["Officials said the app posed a security risk.", "Amazon said the email was sent in error."]})
    served = load_model(result.candidate).predict(texts)
    trained = result["minilm"].evaluation.model.predict_proba(texts)
    np.testing.assert_allclose(served[FrameScheme.load().names].to_numpy(), trained, rtol=1e-5)


def test_words_only_go_with_embedding_variants(tmp_path):
    body = f"name: bad\nlabels: [{SEEDS}]\nvariants:\n  - name: t\n    kind: tfidf\n    words: 1.0\n"
    with pytest.raises(FramingError, match="'words' is a weight"):
        ExperimentConfig.load(write_config(tmp_path, body))


def test_misspelled_frame_in_config_is_a_clear_error(tmp_path):
    path = write_config(tmp_path, TWO_VARIANTS + "frames: [securty_risk]\n")
    with pytest.raises(FramingError, match=re.escape("frames: unknown frame 'securty_risk'")):
        ExperimentConfig.load(path)


def test_unknown_embedder_in_config_is_a_clear_error(tmp_path):
    path = write_config(tmp_path, TWO_VARIANTS.replace("kind: embedding", "kind: embedding\n    embedder: mini-lm-typo"))
    with pytest.raises(FramingError, match=re.escape("variant 'minilm': unknown embedding model 'mini-lm-typo'")):
        ExperimentConfig.load(path)


def test_missing_corpus_in_config_is_a_clear_error(tmp_path):
    path = write_config(tmp_path, TWO_VARIANTS + f"corpus: {tmp_path / 'nope.jsonl'}\n")
    with pytest.raises(FramingError, match=re.escape(f"corpus not found at {tmp_path / 'nope.jsonl'}")):
        ExperimentConfig.load(path)


def test_unknown_variant_kind_is_a_clear_error(tmp_path):
    path = write_config(tmp_path, TWO_VARIANTS.replace("kind: tfidf", "kind: bert"))
    with pytest.raises(FramingError, match="unknown kind 'bert'"):
        ExperimentConfig.load(path)


def test_winner_rule_is_highest_dev_macro_f1_among_exportable():
    import pandas as pd

    table = pd.DataFrame({
        "variant": ["a", "b", "c"], "exportable": [True, True, False],
        "dev_macro_f1": [0.7, 0.8, 0.9], "scoring_paragraphs_per_second": [10, 5, 100],
    })
    assert choose_winner(table) == "b"


def test_expected_calibration_error_of_perfect_and_overconfident_probabilities():
    import numpy as np

    y = np.array([0, 0, 1, 1])
    assert expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert expected_calibration_error(y, np.array([0.95, 0.95, 0.95, 0.95])) == pytest.approx(0.45)


def test_setfit_variant_fine_tunes_without_leaving_checkpoints(tmp_path, tracking_uri, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body = f"name: sf\nlabels: [{SEEDS}]\nfolds: 2\nvariants:\n  - name: setfit\n    kind: setfit\n    setfit_max_steps: 1\n"
    result = run_experiment(ExperimentConfig.load(write_config(tmp_path, body)), tracking_uri=tracking_uri, keep_winner=False, folds_dir=None)
    assert result.table.variant.tolist() == ["setfit"] and result.winner is None
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["mlflow"]


def test_setfit_variant_keeps_its_training_logs_off_the_console(tmp_path, tracking_uri, capfd):
    body = f"name: sf\nlabels: [{SEEDS}]\nfolds: 2\nvariants:\n  - name: setfit\n    kind: setfit\n    setfit_max_steps: 2\n"
    run_experiment(ExperimentConfig.load(write_config(tmp_path, body)), tracking_uri=tracking_uri, keep_winner=False, folds_dir=None)
    out, err = capfd.readouterr()
    assert "embedding_loss" not in out + err and "Map:" not in err and "model_head.pkl" not in out + err


def test_fine_tuning_goes_only_with_embedding_variants(tmp_path):
    body = f"name: bad\nlabels: [{SEEDS}]\nvariants:\n  - name: t\n    kind: tfidf\n    tune_epochs: 2\n"
    with pytest.raises(FramingError, match="'tune_epochs' is 0 or more, for kind embedding"):
        ExperimentConfig.load(write_config(tmp_path, body))


def test_numbers_in_config_may_be_written_as_yaml_reads_them(tmp_path):
    body = f"name: n\nlabels: [{SEEDS}]\nvariants:\n  - name: m\n    C: 1e-1\n    tune_lr: 5e-4\n"
    variant = ExperimentConfig.load(write_config(tmp_path, body)).variants[0]
    assert (variant.C, variant.tune_lr) == (0.1, 0.0005)


def test_a_word_where_a_number_belongs_is_a_clear_error(tmp_path):
    body = f"name: n\nlabels: [{SEEDS}]\nvariants:\n  - name: m\n    C: high\n"
    with pytest.raises(FramingError, match=re.escape("variant 'm': 'C' must be a number; got 'high'")):
        ExperimentConfig.load(write_config(tmp_path, body))


def test_fine_tuned_variant_sets_its_thresholds_on_the_folds_held_out_scores():
    """Its own inner scores come from embeddings tuned on the same labels, so they would be too sure."""
    scheme = FrameScheme.load()
    data = LabelledData.load(scheme, labels=(SEEDS,), corpus=None)
    evaluation = evaluate(Variant(name="lora", tune_epochs=1, tune_rank=4), data, scheme, n_folds=2, speed=False)
    head = evaluation.model.pipeline_.classifier
    for j in range(len(scheme.names)):
        assert spearmanr(head.oof_proba_[:, j], evaluation.held_out[:, j]).statistic > 0.999
        assert head.thresholds_[j] == best_threshold(data.Y[:, j], head.oof_proba_[:, j])


def counting_fits(monkeypatch) -> list:
    """Count the models the evaluation builds, so a test can tell refit folds from recorded ones."""
    from framing.training import evaluation

    real, fits = evaluation.build, []
    monkeypatch.setattr(evaluation, "build", lambda *args, **kwargs: fits.append(1) or real(*args, **kwargs))
    return fits


def test_each_finished_fold_is_recorded_and_read_back_instead_of_refit(tmp_path, monkeypatch):
    scheme = FrameScheme.load()
    data = LabelledData.load(scheme, labels=(SEEDS,), corpus=None)
    store = FoldStore(tmp_path)
    first = evaluate(Variant(name="minilm"), data, scheme, n_folds=3, store=store, speed=False)
    fits = counting_fits(monkeypatch)
    again = evaluate(Variant(name="renamed, same spec"), data, scheme, n_folds=3, store=store, speed=False)
    assert len(fits) == 1  # the final fit only
    assert again.metrics["dev_macro_f1"] == first.metrics["dev_macro_f1"]


def test_folds_of_another_spec_or_other_data_are_not_reused(tmp_path):
    scheme = FrameScheme.load()
    data = LabelledData.load(scheme, labels=(SEEDS,), corpus=None)
    keys = {FoldStore.key(Variant(name="a"), data, 3), FoldStore.key(Variant(name="a", C=2.0), data, 3), FoldStore.key(Variant(name="a"), data, 4)}
    assert len(keys) == 3


def test_an_experiment_killed_after_its_first_fold_resumes_from_it(tmp_path, tracking_uri, monkeypatch):
    """A real ``framing experiment`` process is killed once its first fold is recorded; the rerun refits only the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    body = f"name: resume\nlabels: [{SEEDS}]\nfolds: 3\nvariants:\n  - name: minilm\n    context: true\n"
    path = write_config(tmp_path, body)
    framing = str(Path(sys.executable).with_name("framing"))
    folds = tmp_path / "folds"
    process = subprocess.Popen([framing, "experiment", str(path), "--folds-dir", str(folds), "--tracking-uri", tracking_uri],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    deadline = time.monotonic() + 300
    while not list(folds.glob("*/fold0.npz")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    recorded = sorted(folds.glob("*/fold*.npz"))
    assert recorded and len(recorded) < 3, "the process should have been killed after its first fold"
    first = recorded[0].read_bytes()
    fits = counting_fits(monkeypatch)
    result = run_experiment(ExperimentConfig.load(path), tracking_uri=tracking_uri, keep_winner=False, folds_dir=folds, speed=False)
    assert len(fits) == 3 - len(recorded) + 1  # the unfinished folds and the final fit
    assert recorded[0].read_bytes() == first
    assert len(list(folds.glob("*/fold*.npz"))) == 3 and result.table.variant.tolist() == ["minilm"]
