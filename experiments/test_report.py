"""Final figures of the shipped model on the held-back test articles, and what it confuses.

Scores models/framing on the labelled paragraphs of the test part of data/split.csv (with their
headline and neighbouring paragraphs as context, as `framing score` gives them), then prints
per-frame precision, recall, F1 and expected calibration error, and for each frame's misses and
false alarms which other frames the paragraph carried instead.

Two yardsticks for reading figures from so few paragraphs: ``ece_noise_95`` is the 95th
percentile of the ECE that a perfectly calibrated model would show on these paragraphs (labels
drawn from the model's own probabilities), and the macro-F1 comes with a 95% interval from
resampling whole test articles.

Run: .venv/bin/python experiments/test_report.py
"""

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support

from framing import config
from framing.frames import FrameScheme
from framing.training.evaluation import LabelledData, expected_calibration_error
from framing.training.labels import frame_matrix
from framing.training.tracking import load_model


def main() -> None:
    scheme = FrameScheme.load()
    test = LabelledData.load(scheme).test
    model = load_model(config.MODEL_DIR)
    out = model.predict(test[["text", "title", "previous_text", "next_text"]])
    names = scheme.names
    Y = frame_matrix(test["frames"], names)
    P = frame_matrix(out["frames"], names)
    proba = out[names].to_numpy()
    p, r, f, s = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    table = pd.DataFrame({"frame": names, "precision": p, "recall": r, "f1": f, "support": s,
                          "ece": [expected_calibration_error(Y[:, j], proba[:, j]) for j in range(len(names))],
                          "ece_noise_95": ece_noise(proba)})
    print(f"test part: {test['article_id'].nunique()} articles, {len(test)} paragraphs")
    print(table.round(3).to_string(index=False))
    low, high = article_interval(Y, P, test["article_id"].to_numpy())
    print(f"macro-F1 {f.mean():.3f} (95% interval over resampled articles {low:.3f}-{high:.3f})")
    for j, name in enumerate(names):
        missed = (Y[:, j] == 1) & (P[:, j] == 0)
        alarms = (Y[:, j] == 0) & (P[:, j] == 1)
        other = [n for n in names if n != name]
        instead = {n: int(P[missed, names.index(n)].sum()) for n in other}
        truly = {n: int(Y[alarms, names.index(n)].sum()) for n in other}
        print(f"{name}: {missed.sum()} missed (predicted instead: {instead}); "
              f"{alarms.sum()} false alarms (labelled instead: {truly}, none: {int((Y[alarms].sum(axis=1) == 0).sum())})")


def ece_noise(proba: np.ndarray, draws: int = 2000, seed: int = 0) -> list[float]:
    """Per frame, the 95th percentile of ECE when the labels are drawn from ``proba`` itself."""
    rng = np.random.default_rng(seed)
    return [
        float(np.percentile([expected_calibration_error(rng.random(len(p)) < p, p) for _ in range(draws)], 95))
        for p in proba.T
    ]


def article_interval(Y: np.ndarray, P: np.ndarray, articles: np.ndarray, draws: int = 2000, seed: int = 0):
    """95% interval of macro-F1 when whole articles are resampled with replacement."""
    rng = np.random.default_rng(seed)
    ids = np.unique(articles)
    rows = {a: np.flatnonzero(articles == a) for a in ids}
    scores = []
    for _ in range(draws):
        take = np.concatenate([rows[a] for a in rng.choice(ids, len(ids))])
        scores.append(f1_score(Y[take], P[take], average="macro", zero_division=0))
    return np.percentile(scores, [2.5, 97.5])


if __name__ == "__main__":
    main()
