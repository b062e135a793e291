"""Read articles from text folders, JSONL/CSV files and HTML pages into one DataFrame.

Supported inputs, in any mix:

- a folder with ``manifest.csv`` (``file,outlet,date,title`` and optional ``url``)
  naming ``.txt`` or ``.html`` files beside it;
- ``.jsonl`` or ``.csv`` files with fields ``id, outlet, date, url, title, text``;
- ``.html``/``.htm`` pages (optionally gzipped), whose main text trafilatura extracts.

Every article must have an outlet. A file that is not readable text raises
:class:`~framing.schema.FramingError` naming it, or is skipped with a warning
when ``skip_bad=True``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from framing.config import MAX_ARTICLE_BYTES
from framing.schema import FramingWarning, ARTICLE_COLUMNS, FramingError

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("file", "outlet", "date", "title")
COLUMNS = (*ARTICLE_COLUMNS, "url", "source")
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
TABLE_SUFFIXES = (".jsonl", ".csv")


def read_articles(
    inputs: Iterable[str | Path],
    *,
    skip_bad: bool = False,
    warn: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Read every article under ``inputs``.

    Returns
    -------
    DataFrame with columns ``article_id, outlet, date, title, text, url, source``,
    one row per article; ``source`` is the file it came from.
    """
    warn = warn or (lambda message: warnings.warn(message, FramingWarning, stacklevel=3))
    rows: list[dict] = []
    for path in map(Path, inputs):
        for item in _expand(path):
            try:
                rows.extend(item())
            except FramingError as err:
                if not skip_bad:
                    raise
                warn(f"skipped: {err}")
    if not rows:
        raise FramingError(f"no articles found in {', '.join(map(str, inputs))}")
    articles = pd.DataFrame(rows, columns=list(COLUMNS))
    duplicated = articles["article_id"][articles["article_id"].duplicated()]
    if len(duplicated):
        raise FramingError(f"article id {duplicated.iloc[0]!r} occurs more than once in the inputs")
    return articles


def _expand(path: Path) -> list[Callable[[], list[dict]]]:
    """Readers for ``path``: one per file, so a bad file fails alone."""
    if path.is_dir():
        readers: list[Callable[[], list[dict]]] = []
        named: set[str] = set()
        if (path / MANIFEST).exists():
            entries = _read_manifest(path / MANIFEST)
            named = {e["file"] for e in entries}
            readers += [lambda e=e: [_read_manifest_entry(path, e)] for e in entries]
        for file in sorted(path.iterdir()):
            if file.name in named or file.name == MANIFEST or file.is_dir():
                continue
            if _has_suffix(file, TABLE_SUFFIXES + HTML_SUFFIXES + (".txt",)):
                readers.append(lambda f=file: _read_file(f))
        return readers
    if not path.exists():
        raise FramingError(f"{path}: no such file or folder")
    return [lambda: _read_file(path)]


def _read_file(path: Path) -> list[dict]:
    if _has_suffix(path, (".jsonl",)):
        return _read_jsonl(path)
    if _has_suffix(path, (".csv",)):
        return _read_csv(path)
    manifest = path.parent / MANIFEST
    entry = None
    if manifest.exists():
        entry = next((e for e in _read_manifest(manifest) if e["file"] == path.name), None)
    if entry is not None:
        return [_read_manifest_entry(path.parent, entry)]
    if _has_suffix(path, HTML_SUFFIXES):
        return [_read_html(path, {})]
    if _has_suffix(path, (".txt",)):
        raise FramingError(
            f"{path}: no outlet; list the file in a {MANIFEST} beside it "
            f"(columns {','.join(MANIFEST_COLUMNS)})"
        )
    raise FramingError(f"{path}: unsupported file type; expected .txt, .jsonl, .csv or .html")


def _read_manifest(path: Path) -> list[dict]:
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FramingError(f"{path}: missing columns {missing}; expected {','.join(MANIFEST_COLUMNS)}")
    entries = list(reader)
    for line, entry in enumerate(entries, start=2):
        if not (entry.get("outlet") or "").strip():
            raise FramingError(f"{path.parent / entry['file']}: no outlet ({path.name} line {line})")
    return entries


def _read_manifest_entry(folder: Path, entry: dict) -> dict:
    path = folder / entry["file"]
    meta = {
        "article_id": Path(entry["file"]).name.split(".")[0],
        "outlet": entry["outlet"].strip(),
        "date": entry.get("date") or None,
        "title": entry.get("title") or None,
        "url": entry.get("url") or None,
    }
    if _has_suffix(path, HTML_SUFFIXES):
        return _read_html(path, meta)
    return {**meta, "text": read_text(path), "source": str(path)}


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise FramingError(f"{path} line {line_no}: not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise FramingError(f"{path} line {line_no}: expected a JSON object")
        rows.append(_record(record, path, f"line {line_no}"))
    return rows


def _read_csv(path: Path) -> list[dict]:
    try:
        table = pd.read_csv(io.StringIO(read_text(path)), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as err:
        raise FramingError(f"{path}: not a valid CSV file ({str(err).strip()})") from None
    return [_record(r, path, f"row {i}") for i, r in enumerate(table.to_dict("records"), start=2)]


def _record(record: dict, path: Path, where: str) -> dict:
    outlet = str(record.get("outlet") or "").strip()
    if not outlet:
        raise FramingError(f"{path} {where}: no outlet")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FramingError(f"{path} {where}: no text")
    return {
        "article_id": str(record.get("id") or f"{path.stem}-{where.split()[-1]}"),
        "outlet": outlet,
        "date": record.get("date") or None,
        "title": record.get("title") or None,
        "url": record.get("url") or None,
        "text": text,
        "source": str(path),
    }


def _read_html(path: Path, meta: dict) -> dict:
    import trafilatura

    html = read_bytes(path)
    if path.suffix == ".gz":
        try:
            html = gzip.decompress(html)
        except (OSError, EOFError) as err:
            raise FramingError(f"{path}: not a valid gzip file ({err})") from None
    body = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not body:
        raise FramingError(f"{path}: no article text found in the page")
    found = trafilatura.extract_metadata(html)
    outlet = meta.get("outlet") or (found.sitename if found else None) or _domain(found.url if found else None)
    if not outlet:
        raise FramingError(f"{path}: no outlet; the page names neither its site nor its address, list it in a {MANIFEST}")
    return {
        "article_id": meta.get("article_id") or path.name.split(".")[0],
        "outlet": outlet,
        "date": meta.get("date") or (found.date if found else None),
        "title": meta.get("title") or (found.title if found else None),
        "url": meta.get("url") or (found.url if found else None),
        "text": "\n\n".join(line for line in body.splitlines() if line.strip()),
        "source": str(path),
    }


def _domain(url: str | None) -> str | None:
    """``www.example.com`` from a page's own address, as an outlet of last resort."""
    from urllib.parse import urlparse

    host = urlparse(url or "").hostname
    return host.removeprefix("www.") if host else None


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, refusing missing, empty and oversized files."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FramingError(f"{path}: no such file") from None
    if size > MAX_ARTICLE_BYTES:
        raise FramingError(
            f"{path}: {size / 1e6:.1f} MB is too large for an article "
            f"(limit {MAX_ARTICLE_BYTES / 1e6:.0f} MB)"
        )
    data = path.read_bytes()
    if not data.strip():
        raise FramingError(f"{path}: file is empty")
    return data


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; binary files and other encodings are refused."""
    data = read_bytes(path)
    if b"\x00" in data[:8192]:
        raise FramingError(f"{path}: binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FramingError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "re-save it as UTF-8"
        ) from None


def _has_suffix(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.name.lower().endswith(suffixes)
