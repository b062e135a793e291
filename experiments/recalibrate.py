"""Cross-fit the shipped head's calibration on saved held-out scores of its cross-validation folds.

A head over a fine-tuned body must be Platt-scaled and thresholded on scores that fold models gave
paragraphs they never saw (``FrameClassifier.recalibrate``); its own out-of-fold scores come from
embeddings tuned on those very labels and are too sure. ``framing experiment`` does this itself for
new runs; this script applies it to an already-trained model folder, given the folds' held-out scores
(``.npz`` files with ``test_idx``, ``proba``, ``Y``, ``article_id``, ``paragraph_index``, as written by a
run of ``framing.training.experiment.cross_validate`` over the same grouped folds). It checks that every file
matches today's labels and folds, recalibrates the head in place, and records the test-part figures in
``head.json``.

Run: .venv/bin/python experiments/recalibrate.py models/framing experiments/.held-out/fold*.npz
"""

import json
import sys
from pathlib import Path

import numpy as np

from framing.frames import FrameScheme
from framing.model.classifier import FrameClassifier
from framing.training.evaluation import LabelledData, expected_calibration_error, frame_metrics
from framing.training.labels import frame_matrix
from framing.training.tracking import load_model


def held_out_scores(files: list[Path], parts: LabelledData) -> np.ndarray:
    """The folds' held-out probabilities in the order of ``parts.dev``, after checking they fit today's data."""
    splits = [set(test) for _, test in parts.folds(len(files))]
    proba = np.full(parts.Y.shape, np.nan)
    for file in files:
        with np.load(file, allow_pickle=False) as fold:
            idx = fold["test_idx"]
            if set(idx) not in splits:
                raise SystemExit(f"{file}: its paragraphs are not one of today's {len(files)} grouped folds")
            keys_match = (parts.dev["article_id"].to_numpy()[idx] == fold["article_id"]).all() and (
                parts.dev["paragraph_index"].to_numpy()[idx] == fold["paragraph_index"]
            ).all()
            if not keys_match or not np.array_equal(parts.Y[idx], fold["Y"]):
                raise SystemExit(f"{file}: its paragraphs or labels differ from today's labelled data")
            proba[idx] = fold["proba"]
    if np.isnan(proba).any():
        raise SystemExit("the files do not cover every train/dev paragraph")
    return proba


def served_test_metrics(model_dir: Path, test, names: list[str]) -> dict[str, float]:
    """``test_*`` figures of the served model on the test part."""
    out = load_model(model_dir).predict(test[["text", "title", "previous_text", "next_text"]])
    Y, P, proba = frame_matrix(test["frames"], names), frame_matrix(out["frames"], names), out[names].to_numpy()
    return {k: round(v, 4) for k, v in frame_metrics(Y, proba, P, names, "test").items()}


def main(model_dir: Path, files: list[Path]) -> None:
    scheme = FrameScheme.load()
    parts = LabelledData.load(scheme)
    proba = held_out_scores(files, parts)
    head = model_dir / "artifacts" / "head"
    classifier, meta = FrameClassifier.load(head)
    classifier.recalibrate(proba, parts.Y)
    meta["calibration"] = f"held-out scores of the {len(files)} cross-validation folds"
    classifier.save(head, **meta)
    metrics = served_test_metrics(model_dir, parts.test, scheme.names)
    meta = json.loads((head / "head.json").read_text())
    meta["metrics"] = {**metrics, "dev_macro_f1": meta.get("metrics", {}).get("dev_macro_f1")}
    (head / "head.json").write_text(json.dumps(meta, indent=2) + "\n")
    for name in scheme.names:
        j = scheme.names.index(name)
        print(f"{name}: dev held-out ECE {expected_calibration_error(parts.Y[:, j], proba[:, j]):.3f}; "
              f"test F1 {metrics[f'test_{name}_f1']:.3f}, ECE {metrics[f'test_{name}_ece']:.3f}")
    print(f"test macro-F1 {metrics['test_macro_f1']:.3f}; thresholds {np.round(classifier.thresholds_, 3).tolist()}")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    main(Path(sys.argv[1]), sorted(Path(p) for p in sys.argv[2:]))
