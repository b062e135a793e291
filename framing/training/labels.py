"""Labelled paragraphs: files keyed by article, paragraph index and text hash.

Label files are CSVs under ``data/labels/`` with columns

``article_id, paragraph_index, text_hash, boilerplate, frames``

where ``frames`` joins frame names with ``;`` (empty for none). The corpus text
itself is never stored here: :func:`attach_text` reads it back from the seed
folder or the corpus file and checks every hash, so a label can never silently
drift onto another paragraph.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from framing.config import CORPUS_PATH, LABELS_DIR, SEEDS_DIR, SPLIT_PATH
from framing.files import atomic_path
from framing.frames import FrameScheme
from framing.model.features import with_neighbours
from framing.text.ingest import read_articles
from framing.text.paragraphs import split_blocks, split_paragraphs, text_hash
from framing.schema import FramingWarning, LABEL_KEY, FramingError, require_columns

LABEL_COLUMNS = (*LABEL_KEY, "boilerplate", "frames")
SEED_LABELS = "seeds.csv"
"""Second-pass labels live here, apart from the training labels."""


def parse_frames(value) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [f.strip() for f in str(value).replace(",", ";").split(";") if f.strip() and f.strip() != "none"]


def read_label_file(path: str | Path, scheme: FrameScheme | None = None) -> pd.DataFrame:
    """Read and validate one label file; frames become lists of names."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype={"article_id": str, "text_hash": str}, keep_default_na=False)
    except FileNotFoundError:
        raise FramingError(f"{path}: label file not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise FramingError(f"{path}: not a readable CSV ({err.__class__.__name__})") from None
    require_columns(table, LABEL_COLUMNS, step=f"label file {path}")
    scheme = scheme or FrameScheme.load()
    table["paragraph_index"] = pd.to_numeric(table["paragraph_index"], errors="coerce")
    if table["paragraph_index"].isna().any():
        row = int(table.index[table["paragraph_index"].isna()][0]) + 2
        raise FramingError(f"{path} row {row}: paragraph_index must be a whole number")
    table["paragraph_index"] = table["paragraph_index"].astype(int)
    table["boilerplate"] = table["boilerplate"].map(_as_bool)
    table["frames"] = [
        scheme.check(parse_frames(v), where=f"{path} row {i + 2}") for i, v in enumerate(table["frames"])
    ]
    duplicated = table.duplicated(list(LABEL_KEY[:2]))
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise FramingError(
            f"{path}: paragraph {row.article_id}#{row.paragraph_index} is labelled more than once"
        )
    return table


def write_label_file(table: pd.DataFrame, path: str | Path) -> None:
    """Write labels sorted by key, atomically, so a failed write leaves the old file."""
    out = table.copy()
    out["frames"] = [";".join(f) for f in out["frames"]]
    out["boilerplate"] = out["boilerplate"].astype(bool)
    columns = [*LABEL_COLUMNS, *(c for c in ("text",) if c in out.columns)]
    out = out[columns].sort_values(["article_id", "paragraph_index"])
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def label_files(directory: Path = LABELS_DIR) -> list[Path]:
    """The training label files: every CSV under ``directory`` outside ``agreement/``."""
    return sorted(p for p in directory.glob("*.csv"))


def test_articles(path: Path = SPLIT_PATH) -> set[str]:
    """The article ids of the held-back test part in ``data/split.csv``; none when there is no split file."""
    if not path.exists():
        return set()
    split = pd.read_csv(path, dtype=str)
    return set(split.loc[split["split"] == "test", "article_id"])


def load_label_files(paths: Iterable[Path] | None = None, scheme: FrameScheme | None = None) -> pd.DataFrame:
    """All training labels, concatenated; a paragraph labelled in two files is an error."""
    paths = list(paths) if paths is not None else label_files()
    if not paths:
        raise FramingError(f"no label files in {LABELS_DIR}")
    tables = [read_label_file(p, scheme) for p in paths]
    table = pd.concat(tables, ignore_index=True)
    duplicated = table.duplicated(list(LABEL_KEY[:2]))
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise FramingError(f"paragraph {row.article_id}#{row.paragraph_index} is labelled in two files")
    return table


def article_texts(
    seeds_dir: Path = SEEDS_DIR, corpus: Path | None = CORPUS_PATH
) -> tuple[dict[str, dict], bool]:
    """Articles the labels may refer to, by id; and whether the corpus was found."""
    sources = [seeds_dir]
    found = corpus is not None and Path(corpus).exists()
    if found:
        sources.append(Path(corpus))
    articles = read_articles(sources)
    return {r["article_id"]: r for r in articles.to_dict("records")}, found


def attach_text(
    labels: pd.DataFrame,
    *,
    seeds_dir: Path = SEEDS_DIR,
    corpus: Path | None = CORPUS_PATH,
    articles: tuple[dict[str, dict], bool] | None = None,
) -> pd.DataFrame:
    """Labels with ``outlet, title, text`` read from their articles.

    Raises :class:`FramingError` naming the paragraph whose text no longer matches
    its hash. Labels of articles that are not available (no corpus here) are
    dropped with a warning that says how many. ``articles`` passes the result
    of :func:`article_texts` when the caller has read them already.
    """
    articles, corpus_found = articles or article_texts(seeds_dir, corpus)
    rows, missing = [], 0
    blocks_of: dict[str, list[str]] = {}
    for label in labels.to_dict("records"):
        article = articles.get(label["article_id"])
        if article is None:
            missing += 1
            continue
        blocks = blocks_of.setdefault(label["article_id"], split_blocks(article["text"]))
        index = label["paragraph_index"]
        if index >= len(blocks) or text_hash(blocks[index]) != label["text_hash"]:
            raise FramingError(
                f"label for paragraph {label['article_id']}#{index} does not match the text "
                f"(hash {label['text_hash']}); the article changed or the label is stale"
            )
        rows.append({**label, "outlet": article["outlet"], "title": article["title"], "text": blocks[index]})
    if missing:
        where = "" if corpus_found else f" (no corpus at {corpus}; using the labels whose text is in data/)"
        warnings.warn(f"{missing} labels refer to articles that are not available{where}", FramingWarning, stacklevel=2)
    return pd.DataFrame(rows)


def labelled_paragraphs(scheme: FrameScheme, *, labels: Iterable[Path] | None = None, corpus: Path | None = CORPUS_PATH) -> pd.DataFrame:
    """Labelled news paragraphs with their text, context, ``split`` and frame lists; boilerplate labels left out.

    Context (``title``, ``previous_text``, ``next_text``) comes from the kept paragraphs of
    the whole article, through the same function as when the model scores new articles.
    """
    table = load_label_files(labels, scheme)
    table = table[~table["boilerplate"]]
    articles = article_texts(corpus=corpus)
    table = attach_text(table, articles=articles)
    if table.empty:
        raise FramingError("no labelled paragraphs with text are available to train on")
    kept = split_paragraphs(pd.DataFrame([articles[0][a] for a in table["article_id"].unique()]))
    table = with_neighbours(table, kept)
    table["split"] = np.where(table["article_id"].isin(test_articles()), "test", "train")
    return table.reset_index(drop=True)


def load_seed_labels() -> pd.DataFrame:
    """The hand labels of every block of the seed articles, with their text."""
    return attach_text(read_label_file(LABELS_DIR / SEED_LABELS), corpus=None)


def frame_matrix(frames: Iterable[list[str]], names: list[str]) -> np.ndarray:
    """Indicator matrix of shape ``(n_paragraphs, n_frames)``."""
    return np.array([[name in f for name in names] for f in frames], dtype=int).reshape(-1, len(names))


def _as_bool(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y"}:
        return True
    if text in {"false", "0", "no", "n", ""}:
        return False
    raise FramingError(f"boilerplate must be true or false, got {value!r}")
