import re

import mlflow
import pytest
from scipy.stats import spearmanr

from framing import config
from framing.experiment import ExperimentConfig, Variant, choose_winner, evaluate_variant, expected_calibration_error, run_experiment
from framing.frames import FrameScheme
from framing.labels import frame_matrix
from framing.model import best_threshold
from framing.train import TrainConfig, load_training_data
from framing.schema import FramingError

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


def test_two_variant_experiment_logs_two_runs_and_ships_the_winner(tmp_path, tracking_uri):
    cfg = ExperimentConfig.load(write_config(tmp_path, TWO_VARIANTS))
    result = run_experiment(cfg, tracking_uri=tracking_uri, output=tmp_path / "model")
    assert list(result.table.variant) == ["tfidf", "minilm"]
    assert {"dev_macro_f1", "dev_macro_f1_std", "dev_max_ece", "train_seconds", "scoring_paragraphs_per_second"} <= set(result.table.columns)
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["experiment-tiny"])
    assert set(runs["tags.mlflow.runName"]) == {"tfidf", "minilm", "champion-minilm"}
    assert result.winner == "minilm"  # the only exportable variant
    assert (tmp_path / "model" / "MLmodel").exists()
    champion = mlflow.MlflowClient().get_model_version_by_alias("framing", "champion")
    assert mlflow.get_run(champion.run_id).data.params["variant"] == "minilm"


@pytest.mark.parametrize("settings, head_files", [
    ("words: 2.0", ["head.json", "head.npz", "words.json", "words.npz"]),
    ("tune_epochs: 1\n    tune_rank: 4", ["adapter.json", "adapter.npz", "head.json", "head.npz"]),
], ids=["word-features", "lora-adapter"])
def test_shipped_model_serves_as_it_scored_in_training(tmp_path, tracking_uri, settings, head_files):
    import numpy as np
    import pandas as pd

    from framing.tracking import load_model

    body = f"name: ship\nlabels: [{SEEDS}]\nfolds: 2\nvariants:\n  - name: minilm\n    {settings}\n"
    result = run_experiment(ExperimentConfig.load(write_config(tmp_path, body)), tracking_uri=tracking_uri, output=tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model" / "artifacts" / "head").iterdir()) == head_files
    texts = pd.DataFrame({"text": ["Officials said the app posed a security risk.", "Amazon said the email was sent in error."]})
    served = load_model(str(tmp_path / "model")).predict(texts)
    trained = result.models["minilm"].predict_proba(texts)
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
    result = run_experiment(ExperimentConfig.load(write_config(tmp_path, body)), tracking_uri=tracking_uri, save_winner=False)
    assert result.table.variant.tolist() == ["setfit"] and result.winner is None
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["mlflow"]


def test_setfit_variant_keeps_its_training_logs_off_the_console(tmp_path, tracking_uri, capfd):
    body = f"name: sf\nlabels: [{SEEDS}]\nfolds: 2\nvariants:\n  - name: setfit\n    kind: setfit\n    setfit_max_steps: 2\n"
    run_experiment(ExperimentConfig.load(write_config(tmp_path, body)), tracking_uri=tracking_uri, save_winner=False)
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
    data = load_training_data(TrainConfig(labels=(SEEDS,), corpus=None), scheme)
    Y, groups = frame_matrix(data["frames"], scheme.names), data["article_id"].to_numpy()
    variant = Variant(name="lora", tune_epochs=1, tune_rank=4)
    outcome = evaluate_variant(variant, data, Y, groups, scheme, {}, folds=2, speed=False)
    head = outcome["model"].classifier
    for j in range(len(scheme.names)):
        assert spearmanr(head.oof_proba_[:, j], outcome["oof_proba"][:, j]).statistic > 0.999
        assert head.thresholds_[j] == best_threshold(Y[:, j], head.oof_proba_[:, j])
