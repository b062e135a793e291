"""The annotation loop: pick uncertain paragraphs, label them elsewhere, read the labels back.

``pick_uncertain`` ranks paragraphs by how close the current model's
probabilities are to its thresholds (uncertainty sampling); ``pick_random``
draws them at random. Both take paragraphs in turn from each outlet, so a
batch is not one outlet's house style. ``export_batch`` writes a CSV to
fill in and a Label Studio import file with a matching labelling
config. ``import_labels`` reads either back, checks frame names and hashes,
and adds the rows to a label file. ``agreement`` compares two label files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, f1_score

from framing.files import make_folder
from framing.frames import FrameScheme
from framing.training.labels import LABEL_COLUMNS, label_files, load_label_files, parse_frames, read_label_file, write_label_file
from framing.text.paragraphs import text_hash
from framing.schema import LABEL_KEY, FramingError
from framing.schema import frame_columns

BOILERPLATE_CHOICE = "boilerplate"
EXPORT_COLUMNS = (*LABEL_KEY, "outlet", "title", "text", "uncertainty", "boilerplate", "frames")


def uncertainty(scored: pd.DataFrame, thresholds: np.ndarray | None = None) -> np.ndarray:
    """1 minus the smallest distance of any frame's probability to its threshold (1 = on the fence)."""
    proba = scored[frame_columns(scored)].to_numpy()
    cut = np.full(proba.shape[1], 0.5) if thresholds is None else np.asarray(thresholds)
    return 1.0 - np.abs(proba - cut).min(axis=1)


def pick_uncertain(scored: pd.DataFrame, n: int, *, thresholds=None, exclude: set | None = None) -> pd.DataFrame:
    """The ``n`` most uncertain paragraphs, taken round-robin across outlets."""
    pool = _unlabelled(scored.assign(uncertainty=uncertainty(scored, thresholds)), exclude)
    return _round_robin(pool.sort_values("uncertainty", ascending=False, kind="stable"), n)


def pick_random(paragraphs: pd.DataFrame, n: int, *, seed: int = 0, exclude: set | None = None) -> pd.DataFrame:
    """``n`` paragraphs drawn at random, round-robin across outlets; no model needed.

    Random batches follow the corpus's own mix of paragraphs, so labels drawn
    this way measure and calibrate the model without uncertainty sampling's bias
    towards hard cases.
    """
    pool = _unlabelled(paragraphs, exclude)
    return _round_robin(pool.sample(frac=1.0, random_state=seed), n)


def _unlabelled(pool: pd.DataFrame, exclude: set | None) -> pd.DataFrame:
    if not exclude:
        return pool
    return pool[np.array([k not in exclude for k in zip(pool.article_id, pool.paragraph_index)], dtype=bool)]


def _round_robin(ranked: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` rows when each outlet's rows are taken in turn, keeping each outlet's order."""
    turn = ranked.groupby("outlet", sort=False).cumcount()
    return ranked.assign(_turn=turn.to_numpy()).sort_values("_turn", kind="stable").head(n).drop(columns="_turn")


def labelling_config(scheme: FrameScheme) -> str:
    """Label Studio labelling config: the paragraph, its headline, one multi-choice of frames."""
    choices = "\n".join(f'    <Choice value="{f.name}" hint="{_attr(f.definition)}"/>' for f in scheme.frames)
    return f"""<View>
  <Header value="$outlet: $title"/>
  <Text name="text" value="$text"/>
  <Choices name="frames" toName="text" choice="multiple" showInline="false">
{choices}
    <Choice value="{BOILERPLATE_CHOICE}" hint="Not a news paragraph: navigation, caption, prompt, byline."/>
  </Choices>
</View>
"""


def export_batch(picked: pd.DataFrame, out_csv: Path, scheme: FrameScheme) -> dict[str, Path]:
    """Write the CSV to fill in, the Label Studio tasks and its labelling config, beside each other."""
    table = picked.reindex(columns=list(EXPORT_COLUMNS)).assign(boilerplate="", frames="")
    make_folder(out_csv.parent, output=out_csv)
    table.to_csv(out_csv, index=False)
    tasks = [
        {"data": {k: (int(v) if k == "paragraph_index" else v) for k, v in row.items() if k in (*LABEL_KEY, "outlet", "title", "text")}}
        for row in table.to_dict("records")
    ]
    ls_json = out_csv.with_suffix(".labelstudio.json")
    ls_json.write_text(json.dumps(tasks, ensure_ascii=False, indent=1))
    config = out_csv.with_suffix(".labelstudio.xml")
    config.write_text(labelling_config(scheme))
    return {"csv": out_csv, "label_studio": ls_json, "config": config}


def read_filled(path: Path, scheme: FrameScheme) -> pd.DataFrame:
    """Labels from a filled export CSV or a Label Studio JSON export, validated."""
    if path.suffix.lower() == ".json":
        rows = _read_label_studio(path)
    else:
        try:
            table = pd.read_csv(path, dtype={"article_id": str, "text_hash": str}, keep_default_na=False)
        except (FileNotFoundError, pd.errors.ParserError, UnicodeDecodeError) as err:
            raise FramingError(f"{path}: cannot read ({err.__class__.__name__})") from None
        rows = table.to_dict("records")
    out = []
    for i, row in enumerate(rows, start=2 if path.suffix.lower() != ".json" else 1):
        where = f"{path} {'task' if path.suffix.lower() == '.json' else 'row'} {i}"
        for column in ("article_id", "paragraph_index", "text_hash"):
            if str(row.get(column, "")).strip() == "":
                raise FramingError(f"{where}: missing {column}")
        frames = parse_frames(row.get("frames"))
        boilerplate = str(row.get("boilerplate", "")).strip().lower() in {"true", "1", "yes", "y"} or BOILERPLATE_CHOICE in frames
        frames = scheme.check([f for f in frames if f != BOILERPLATE_CHOICE], where=where)
        if "text" in row and str(row["text"]).strip() and text_hash(str(row["text"])) != str(row["text_hash"]):
            raise FramingError(f"{where}: text does not match its hash {row['text_hash']}; was the paragraph edited?")
        out.append(
            {
                "article_id": str(row["article_id"]),
                "paragraph_index": int(row["paragraph_index"]),
                "text_hash": str(row["text_hash"]),
                "boilerplate": boilerplate,
                "frames": [] if boilerplate else frames,
            }
        )
    return pd.DataFrame(out, columns=list(LABEL_COLUMNS))


def _read_label_studio(path: Path) -> list[dict]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FramingError(f"{path}: not a Label Studio JSON export ({err.__class__.__name__})") from None
    if not isinstance(tasks, list):
        raise FramingError(f"{path}: a Label Studio export is a JSON list of tasks")
    rows = []
    for task in tasks:
        annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not annotations:
            continue
        choices = [
            c
            for result in annotations[-1].get("result", [])
            if result.get("type") == "choices"
            for c in result.get("value", {}).get("choices", [])
        ]
        rows.append({**task.get("data", {}), "frames": choices})
    return rows


def import_labels(filled: Path, target: Path, *, scheme: FrameScheme | None = None, labels_dir: Path | None = None) -> int:
    """Add the labels of ``filled`` to ``target``; returns how many were added.

    A paragraph already labelled in another label file is an error; one
    already in ``target`` is replaced by the new label.
    """
    scheme = scheme or FrameScheme.load()
    new = read_filled(filled, scheme)
    if new.empty:
        raise FramingError(f"{filled}: no labelled paragraphs found")
    if new.duplicated(list(LABEL_KEY[:2])).any():
        row = new[new.duplicated(list(LABEL_KEY[:2]))].iloc[0]
        raise FramingError(f"{filled}: paragraph {row.article_id}#{row.paragraph_index} appears twice")
    others = [p for p in label_files(labels_dir) if p.resolve() != target.resolve()] if labels_dir else []
    if others:
        existing = load_label_files(others, scheme)
        clash = new.merge(existing, on=list(LABEL_KEY[:2]))
        if len(clash):
            row = clash.iloc[0]
            raise FramingError(f"paragraph {row.article_id}#{row.paragraph_index} is already labelled in another label file")
    if target.exists():
        old = read_label_file(target, scheme)
        keys = set(zip(new.article_id, new.paragraph_index))
        old = old[[k not in keys for k in zip(old.article_id, old.paragraph_index)]]
        new = pd.concat([old, new], ignore_index=True)
    make_folder(target.parent, output=target)
    write_label_file(new, target)
    return len(new)


def agreement(a: pd.DataFrame, b: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per frame: paragraphs both label as news, positives of each, Cohen's kappa and F1 of B against A."""
    both = a.merge(b, on=list(LABEL_KEY[:2]), suffixes=("_a", "_b"))
    if both.empty:
        raise FramingError("the two label files share no paragraph")
    news = both[~both.boilerplate_a & ~both.boilerplate_b]
    rows = [
        {
            "frame": BOILERPLATE_CHOICE,
            "n": len(both),
            "positives_a": int(both.boilerplate_a.sum()),
            "positives_b": int(both.boilerplate_b.sum()),
            "kappa": _kappa(both.boilerplate_a, both.boilerplate_b),
            "f1": f1_score(both.boilerplate_a, both.boilerplate_b, zero_division=1.0),
        }
    ]
    for name in names:
        ya = [name in f for f in news.frames_a]
        yb = [name in f for f in news.frames_b]
        rows.append(
            {"frame": name, "n": len(news), "positives_a": sum(ya), "positives_b": sum(yb),
             "kappa": _kappa(ya, yb), "f1": f1_score(ya, yb, zero_division=1.0)}
        )
    return pd.DataFrame(rows)


def _kappa(a, b) -> float:
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if (a == b).all():
        return 1.0
    return float(cohen_kappa_score(a, b))


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
