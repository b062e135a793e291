import json

import pandas as pd
import pytest

from framing import config
from framing.training.annotate import agreement, export_batch, import_labels, pick_random, pick_uncertain, read_filled
from framing.frames import FrameScheme
from framing.training.labels import read_label_file
from framing.schema import FramingError

SCHEME = FrameScheme.load()
SEED_LABELS = read_label_file(config.LABELS_DIR / "seeds.csv")


def scored_seeds() -> pd.DataFrame:
    """Seed paragraphs with made-up probabilities: the tests are about selection and files."""
    news = pd.read_csv(config.LABELS_DIR / "seeds.csv").query("not boilerplate").head(12)
    frame = news[["article_id", "paragraph_index", "text_hash", "text"]].assign(
        outlet=["A", "B", "C"] * 4, title="T", date=None, frames=[[]] * 12
    )
    probs = [0.5, 0.1, 0.9, 0.45, 0.2, 0.55, 0.05, 0.6, 0.3, 0.95, 0.48, 0.7]
    for name in SCHEME.names:
        frame[name] = probs
    return frame


def test_uncertainty_sampling_takes_outlets_in_turn():
    picked = pick_uncertain(scored_seeds(), 3)
    assert sorted(picked.outlet) == ["A", "B", "C"]
    assert picked.iloc[0][SCHEME.names[0]] == 0.5


def test_random_draw_takes_outlets_in_turn_and_repeats_with_its_seed():
    paragraphs = scored_seeds().drop(columns=SCHEME.names)
    picked = pick_random(paragraphs, 6, seed=7)
    assert sorted(picked.outlet) == ["A", "A", "B", "B", "C", "C"]
    assert picked.equals(pick_random(paragraphs, 6, seed=7))


def test_random_draw_skips_labelled_paragraphs():
    paragraphs = scored_seeds().drop(columns=SCHEME.names)
    labelled = set(zip(paragraphs.article_id[:10], paragraphs.paragraph_index[:10]))
    picked = pick_random(paragraphs, 5, exclude=labelled)
    assert set(zip(picked.article_id, picked.paragraph_index)) == set(zip(paragraphs.article_id[10:], paragraphs.paragraph_index[10:]))


def test_label_studio_round_trip(tmp_path):
    files = export_batch(pick_uncertain(scored_seeds(), 4), tmp_path / "batch.csv", SCHEME)
    tasks = json.loads(files["label_studio"].read_text())
    assert "<Choice value=\"security_risk\"" in files["config"].read_text()
    export = [
        {**task, "annotations": [{"result": [{"from_name": "frames", "to_name": "text", "type": "choices",
                                               "value": {"choices": ["user_privacy", "competition"]}}]}]}
        for task in tasks
    ]
    filled = tmp_path / "export.json"
    filled.write_text(json.dumps(export))
    target = tmp_path / "labels.csv"
    assert import_labels(filled, target) == 4
    back = read_label_file(target)
    assert {tuple(f) for f in back.frames} == {("user_privacy", "competition")}
    assert set(back.text_hash) == {t["data"]["text_hash"] for t in tasks}


def test_filled_csv_with_unknown_frame_is_refused(tmp_path):
    export_batch(pick_uncertain(scored_seeds(), 2), tmp_path / "batch.csv", SCHEME)
    table = pd.read_csv(tmp_path / "batch.csv")
    table["frames"] = "privacy"
    table.to_csv(tmp_path / "batch.csv", index=False)
    with pytest.raises(FramingError, match="unknown frame 'privacy'"):
        read_filled(tmp_path / "batch.csv", SCHEME)


def test_filled_csv_with_edited_text_is_refused(tmp_path):
    export_batch(pick_uncertain(scored_seeds(), 2), tmp_path / "batch.csv", SCHEME)
    table = pd.read_csv(tmp_path / "batch.csv")
    table.loc[0, "text"] = "Something else entirely."
    table.to_csv(tmp_path / "batch.csv", index=False)
    with pytest.raises(FramingError, match="text does not match its hash"):
        read_filled(tmp_path / "batch.csv", SCHEME)


def test_agreement_of_a_file_with_itself_is_perfect():
    scores = agreement(SEED_LABELS, SEED_LABELS, SCHEME.names)
    assert scores.frame.tolist() == ["boilerplate", *SCHEME.names]
    assert (scores.kappa == 1.0).all() and (scores.f1 == 1.0).all()


def test_agreement_cli_prints_kappa_per_frame():
    from conftest import run_cli

    result = run_cli("annotate", "agreement", config.LABELS_DIR / "corpus.csv", config.LABELS_DIR / "agreement" / "second_pass.csv")
    assert result.returncode == 0, result.stderr
    assert "kappa" in result.stdout and "political_power_play" in result.stdout
