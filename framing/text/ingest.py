"""Read articles from text folders, JSONL/CSV files and HTML pages, all at once or in batches.

Supported inputs, in any mix:

- a folder with ``manifest.csv`` (``file,outlet,date,title`` and optional ``url``)
  naming ``.txt`` or ``.html`` files beside it;
- ``.jsonl`` or ``.csv`` files with fields ``id, outlet, date, url, title, text``;
- ``.html``/``.htm`` pages (optionally gzipped), whose main text trafilatura extracts.

Every article must have an outlet and some visible text. A file that is not
readable text raises :class:`~framing.schema.FramingError` naming it, or is
skipped with a warning when ``skip_bad=True``; in a JSONL or CSV file, or a
manifest, only the bad lines are skipped, with one warning per file saying how
many. An article file (``.txt``, ``.html``) may hold at most 5 MB; a JSONL or CSV
file of many articles may be any size, since it is read a line at a time, but
each of its lines (or CSV fields) may hold at most 5 MB. Text is UTF-8, or UTF-16/UTF-32 with a byte-order mark (UTF-16 without one
is recognised by its NUL bytes); any other NUL byte marks the file as binary.

Inputs may only name files inside their own folder: a manifest row naming a
path outside the manifest's folder (``../``, an absolute path, or a symlink
resolving outside it) is refused, and so is a file in an input folder that is a
symlink resolving outside that folder. A file given by name on the command line
is read wherever it is.

Fields: ``id``, ``outlet``, ``title`` and ``url`` are text; numbers become text
(``12`` -> ``"12"``, ``12.0`` -> ``"12"``), other JSON values (true/false,
lists, objects) are an error naming the line. Dates become ISO ``YYYY-MM-DD``
when they are unambiguous: ISO dates and timestamps (the date as written, not
converted to UTC), ``2020/07/10``, ``20200710``, and dates with an English month
name and a four-digit year (``10 July 2020``, ``Fri, 10 Jul 2020 08:00:00
+0000``). Anything else (``07/10/2020``, ``yesterday``, ``2020-13-45``,
``12345``) becomes an empty date (None), with one warning per file naming the
lines.
"""

from __future__ import annotations

import codecs
import csv
import functools
import gzip
import io
import json
import math
import os
import re
import sys
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from framing.config import MAX_ARTICLE_BYTES
from framing.schema import FramingWarning, ARTICLE_COLUMNS, FramingError

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("file", "outlet", "date", "title")
COLUMNS = (*ARTICLE_COLUMNS, "url", "source")
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
TABLE_SUFFIXES = (".jsonl", ".csv")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"))
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)
YEAR_FIRST_DATE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})|(\d{4})(\d{2})(\d{2})")
MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
FOUR_DIGIT_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
DATE_HINT = "write dates as YYYY-MM-DD"

TEXT_BLOCK = 1 << 20
"""Bytes checked at a time when a JSONL/CSV file is checked to be text."""

Reader = Callable[[], Iterable[dict]]


class _RowError(Exception):
    """A bad line of a JSONL/CSV file or manifest; the caller names the file and line."""


@dataclass
class _Reading:
    """What every reader of one ``read_articles`` call shares: the policy and the bad dates seen."""

    skip_bad: bool
    warn: Callable[[str], None]
    bad_dates: dict[Path, list[str]] = field(default_factory=dict)

    def date(self, value, source: Path, where: str | None = None) -> str | None:
        """``value`` as ``YYYY-MM-DD``, or None, noting ``where`` in ``source`` if it is no clear date."""
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            return None
        text = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
        found = iso_date(text) if text is not None else None
        if found is None:
            shown = repr(value if text is None else text.strip())[:60]
            self.bad_dates.setdefault(source, []).append(f"{where}: {shown}" if where else shown)
        return found

    def report_dates(self) -> None:
        """One warning per file that had dates left empty."""
        for source, bad in self.bad_dates.items():
            shown = "; ".join(bad[:3]) + ("; ..." if len(bad) > 3 else "")
            plural = "s" if len(bad) > 1 else ""
            self.warn(f"{source}: left {len(bad)} date{plural} empty, not an unambiguous date ({shown}); {DATE_HINT}")


def read_articles(
    inputs: Iterable[str | Path],
    *,
    skip_bad: bool = False,
    warn: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Read every article under ``inputs`` at once (see :func:`iter_articles` to read them in batches).

    Returns
    -------
    DataFrame with columns ``article_id, outlet, date, title, text, url, source``,
    one row per article; ``source`` is the file it came from.
    """
    warn = warn or _default_warn
    batches = list(iter_articles(inputs, skip_bad=skip_bad, warn=warn, batch=sys.maxsize))
    return batches[0] if len(batches) == 1 else pd.concat(batches, ignore_index=True)


def iter_articles(
    inputs: Iterable[str | Path],
    *,
    skip_bad: bool = False,
    warn: Callable[[str], None] | None = None,
    batch: int = 500,
) -> Iterator[pd.DataFrame]:
    """The articles under ``inputs`` in batches of at most ``batch``, in input order, holding one batch at a time.

    Every check of :func:`read_articles` holds over the whole input: an article id
    seen in an earlier batch is an error, and a missing input is refused before
    the first batch. Each batch has the columns of :func:`read_articles`.
    """
    warn = warn or _default_warn
    inputs = [Path(p) for p in inputs]
    for path in inputs:
        if not path.exists() and not path.is_symlink():
            raise FramingError(f"{path}: no such file or folder")
    reading = _Reading(skip_bad, warn)
    seen: set[str] = set()
    rows: list[dict] = []
    for row in _each_article(inputs, reading):
        if row["article_id"] in seen:
            raise FramingError(f"article id {row['article_id']!r} occurs more than once in the inputs")
        seen.add(row["article_id"])
        rows.append(row)
        if len(rows) >= batch:
            yield pd.DataFrame(rows, columns=list(COLUMNS))
            rows = []
    reading.report_dates()
    if not seen:
        raise FramingError(f"no articles found in {', '.join(map(str, inputs))}")
    if rows:
        yield pd.DataFrame(rows, columns=list(COLUMNS))


def count_articles(inputs: Iterable[str | Path]) -> int | None:
    """About how many articles ``inputs`` hold (bad lines included), for a progress bar; None if that is not cheap to tell."""
    try:
        return _count_articles(inputs)
    except (FramingError, OSError, csv.Error):
        return None


def _count_articles(inputs: Iterable[str | Path]) -> int | None:
    total = 0
    for path in map(Path, inputs):
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else []
        for file in files:
            if file.name == MANIFEST:
                total += sum(1 for _ in csv.DictReader(io.StringIO(read_text(file), newline="")))
            elif _has_suffix(file, (".jsonl",)) and _wide_encoding(_head(file)) is None:
                with file.open("rb") as stream:
                    total += sum(1 for line in stream if line.strip())
            elif _has_suffix(file, HTML_SUFFIXES) and not (file.parent / MANIFEST).exists():
                total += 1
            elif _has_suffix(file, (".csv", ".jsonl")):
                return None
    return total


def input_fingerprint(inputs: Iterable[str | Path]) -> str:
    """A digest of every file under ``inputs``: its path, size and modification time, so a changed input is told cheaply."""
    import hashlib

    digest = hashlib.sha256()
    for path in map(Path, inputs):
        digest.update(f"input {path.absolute()}\n".encode())
        files = [path] if not path.is_dir() else sorted(
            Path(root) / name for root, _, names in os.walk(path) for name in names
        )
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            digest.update(f"{file.absolute()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _default_warn(message: str) -> None:
    warnings.warn(message, FramingWarning, stacklevel=4)


def _each_article(inputs: list[Path], reading: _Reading) -> Iterator[dict]:
    """Every article row of ``inputs`` in order; a bad file is an error, or skipped with a warning."""
    for path in inputs:
        for item in _expand(path, reading):
            try:
                yield from item()
            except FramingError as err:
                if not reading.skip_bad:
                    raise
                reading.warn(f"skipped: {err}")


def iso_date(text: str) -> str | None:
    """``text`` as ``YYYY-MM-DD`` if it is one unambiguous calendar day, else None.

    >>> [iso_date(t) for t in ("2020-07-10T08:00:00Z", "2020/07/10", "10 July 2020", "07/10/2020")]
    ['2020-07-10', '2020-07-10', '2020-07-10', None]
    """
    text = text.strip()
    if len(text) > 64:
        return None
    match = ISO_DATE.fullmatch(text) or YEAR_FIRST_DATE.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups() if g is not None)
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    if MONTH_NAME.search(text) and FOUR_DIGIT_YEAR.search(text):
        return _named_month_date(text)
    return None


@functools.lru_cache(maxsize=4096)
def _named_month_date(text: str) -> str | None:
    """A date written with a month name; None unless day, month and year are all given."""
    from dateutil import parser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = parser.parse(text, default=datetime(1, 1, 1)).date()
            second = parser.parse(text, default=datetime(2, 2, 2)).date()
    except (ValueError, OverflowError):
        return None
    return first.isoformat() if first == second else None


def _expand(path: Path, reading: _Reading) -> list[Reader]:
    """Readers for ``path``: one per file or manifest row, so a bad one fails alone."""
    if path.is_dir():
        return _expand_folder(path, reading)
    if not path.exists():
        raise FramingError(f"{path}: no such file or folder")
    return [lambda: _read_file(path, reading)]


def _expand_folder(folder: Path, reading: _Reading) -> list[Reader]:
    """A reader per manifest row, then per other readable file in ``folder``."""
    readers: list[Reader] = []
    named: set[Path] = set()
    manifest = folder / MANIFEST
    if manifest.exists():
        _refuse_outside(folder, manifest)
        entries = _read_manifest(manifest)
        named = {_lexical(folder / (e.get("file") or "")) for e in entries}
        readers += [lambda e=e: [_read_manifest_entry(manifest, e, reading)] for e in entries]
    for file in sorted(folder.iterdir()):
        if _lexical(file) in named or file.name == MANIFEST or file.is_dir():
            continue
        if _has_suffix(file, TABLE_SUFFIXES + HTML_SUFFIXES + (".txt",)):
            readers.append(lambda f=file: _read_folder_file(folder, f, reading))
    return readers


def _read_folder_file(folder: Path, file: Path, reading: _Reading) -> list[dict]:
    """A file found in an input folder, unless it is a symlink out of it."""
    _refuse_outside(folder, file)
    return _read_file(file, reading)


def _refuse_outside(folder: Path, file: Path) -> None:
    """Refuse ``file`` found in the input ``folder`` if it is a symlink resolving outside it."""
    target = _resolved(file)
    if not target.is_relative_to(folder.resolve()):
        raise FramingError(
            f"{file}: a symlink to {target}, outside the input folder {folder}; "
            "copy the file into the folder to read it"
        )


def _resolved(path: Path) -> Path:
    """``path`` with every symlink followed; a symlink loop is an error naming it."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as err:
        raise FramingError(f"{path}: cannot follow its symlinks ({err})") from None


def _lexical(path: Path) -> Path:
    """``path`` with ``.`` and ``..`` removed without following symlinks, to compare names."""
    return Path(os.path.normpath(path))


def _read_file(path: Path, reading: _Reading) -> list[dict]:
    if _has_suffix(path, (".jsonl",)):
        return _read_jsonl(path, reading)
    if _has_suffix(path, (".csv",)):
        return _read_csv(path, reading)
    manifest = path.parent / MANIFEST
    entry = _manifest_rows(manifest).get(path.name) if manifest.exists() else None
    if entry is not None:
        return [_read_manifest_entry(manifest, entry, reading)]
    if _has_suffix(path, HTML_SUFFIXES):
        return [_read_html(path, {}, reading)]
    if _has_suffix(path, (".txt",)):
        raise FramingError(
            f"{path}: no outlet; list the file in a {MANIFEST} beside it "
            f"(columns {','.join(MANIFEST_COLUMNS)})"
        )
    raise FramingError(f"{path}: unsupported file type; expected .txt, .jsonl, .csv or .html")


def _manifest_rows(path: Path) -> dict[str, dict]:
    """A manifest's rows by file name, parsed once per manifest and version, so naming many files beside it stays linear."""
    stat = path.stat()
    return _manifest_index(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _manifest_index(path: Path, mtime_ns: int, size: int) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for entry in _read_manifest(path):
        rows.setdefault(entry["file"], entry)
    return rows


def _read_manifest(path: Path) -> list[dict]:
    """The rows of a manifest, each with the ``line`` it starts on; rows are checked when read."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FramingError(f"{path}: missing columns {missing}; expected {','.join(MANIFEST_COLUMNS)}")
    return [{**row, "line": line} for line, row in _csv_rows(path, reader)]


def _read_manifest_entry(manifest: Path, entry: dict, reading: _Reading) -> dict:
    """The article a manifest row names: a file inside the manifest's folder, with an outlet."""
    folder = manifest.parent
    name = entry.get("file") or ""
    where = f"{manifest} line {entry['line']}"
    path = folder / name
    target = _resolved(path)
    if not target.is_relative_to(folder.resolve()):
        via = f" (it resolves to {target})" if target != _lexical(path.absolute()) else ""
        raise FramingError(
            f"{where}: {name!r} is outside {folder}{via}; a manifest may only name files in its own folder"
        )
    if not (entry.get("outlet") or "").strip():
        raise FramingError(f"{path}: no outlet ({manifest.name} line {entry['line']})")
    if not path.is_file():
        raise FramingError(f"{where}: {name!r} is not a file in {folder}")
    meta = {
        "article_id": Path(name).name.split(".")[0],
        "outlet": entry["outlet"].strip(),
        "date": reading.date(entry.get("date"), manifest, f"line {entry['line']}"),
        "title": entry.get("title") or None,
        "url": entry.get("url") or None,
    }
    if _has_suffix(path, HTML_SUFFIXES):
        return _read_html(path, meta, reading)
    text = read_text(path)
    if _blank(text):
        raise FramingError(f"{path}: no text, only invisible characters")
    return {**meta, "text": text, "source": str(path)}


def _read_jsonl(path: Path, reading: _Reading) -> Iterator[dict]:
    """The articles of a JSONL file, read a line at a time."""
    encoding = _table_encoding(path)
    with path.open(encoding=encoding) as stream:
        records = (
            (n, f"{path.stem}-{n}", lambda line=line: _json_object(line))
            for n, line in enumerate(_lines(stream), start=1)
            if line is None or line.strip()
        )
        yield from _read_records(path, records, reading)


def _lines(stream: io.TextIOBase) -> Iterator[str | None]:
    """The lines of ``stream``; None for a line longer than an article may be, which is read past, never held."""
    while line := stream.readline(MAX_ARTICLE_BYTES + 1):
        if len(line) > MAX_ARTICLE_BYTES and not line.endswith("\n"):
            while (rest := stream.readline(TEXT_BLOCK)) and not rest.endswith("\n"):
                pass
            yield None
        else:
            yield line


def _json_object(line: str | None) -> dict:
    """One JSONL line as a dict; anything else (or a line too long, None) is a :class:`_RowError`."""
    if line is None:
        raise _RowError(f"longer than {MAX_ARTICLE_BYTES / 1e6:.0f} MB, too large for an article")
    try:
        record = json.loads(line)
    except ValueError as err:
        raise _RowError(f"not valid JSON ({getattr(err, 'msg', err)})") from None
    except RecursionError:
        raise _RowError("not valid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise _RowError("expected a JSON object")
    return record


def _read_csv(path: Path, reading: _Reading) -> Iterator[dict]:
    """The articles of a CSV file, read a row at a time."""
    encoding = _table_encoding(path)
    with path.open(encoding=encoding, newline="") as stream:
        reader = csv.DictReader(stream)
        rows = enumerate(_csv_rows(path, reader), start=2)
        records = ((line, f"{path.stem}-{n}", lambda row=row: _csv_record(row, reader)) for n, (line, row) in rows)
        yield from _read_records(path, records, reading)


def _table_encoding(path: Path) -> str:
    """The encoding to read a JSONL/CSV file with, once all of it is checked to be text, a block at a time.

    The checks and messages are those :func:`read_text` makes of an article, without its size limit:
    a table of many articles may be any size.
    """
    try:
        with path.open("rb") as stream:
            wide = _wide_encoding(stream.read(4096))
            stream.seek(0)
            _check_blocks(stream, path, wide)
    except FileNotFoundError:
        raise FramingError(f"{path}: no such file") from None
    except OSError as err:
        raise FramingError(f"{path}: cannot be read ({err.strerror or err})") from None
    return wide or "utf-8-sig"


def _check_blocks(stream, path: Path, wide: str | None) -> None:
    """Refuse an empty, binary or wrongly encoded file, naming the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(wide or "utf-8")()
    offset = chars = 0
    visible = False
    while True:
        block = stream.read(TEXT_BLOCK)
        visible = visible or bool(block.strip())
        if not wide and (nul := block.find(b"\x00")) >= 0:
            raise FramingError(f"{path}: binary file, not text (NUL byte at offset {offset + nul})")
        pending = len(decoder.getstate()[0])
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as err:
            at = offset - pending + err.start
            if wide:
                raise FramingError(
                    f"{path}: looks like {wide.upper()} text but is not valid ({err.reason} at byte {at}); "
                    f"re-save it as UTF-8, e.g. iconv -f {wide.upper()} -t UTF-8"
                ) from None
            raise FramingError(
                f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {at}); re-save it as UTF-8"
            ) from None
        if wide and "\x00" in text:
            raise FramingError(f"{path}: binary file, not text (NUL character {chars + text.index(chr(0))} of its {wide.upper()} text)")
        chars += len(text)
        offset += len(block)
        if not block:
            break
    if not visible:
        raise FramingError(f"{path}: file is empty")


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(4096)


def _csv_rows(path: Path, reader: csv.DictReader) -> Iterator[tuple[int, dict]]:
    """``(line, row)`` for each row of ``reader``, the line being where the row starts."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_ARTICLE_BYTES))
    try:
        reader.fieldnames
    except csv.Error as err:
        raise FramingError(f"{path} line 1: not a valid CSV header ({err})") from None
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise FramingError(f"{path} line {reader.line_num}: not a valid CSV file ({err})") from None
        end = reader.line_num
        yield start, row


def _csv_record(row: dict, reader: csv.DictReader) -> dict:
    """``row``, unless it has more fields than the header names."""
    if None in row:
        fields = len(reader.fieldnames) + len(row[None])
        raise _RowError(f"{fields} fields, but the header has {len(reader.fieldnames)}")
    return row


def _read_records(path: Path, records: Iterable[tuple[int, str, Callable[[], dict]]], reading: _Reading) -> Iterator[dict]:
    """Articles from the ``(line, default id, parse)`` records of a JSONL/CSV file, as they are read.

    A bad line is an error naming it, or under ``skip_bad`` it is left out and
    the file gets one warning; a file with no good line at all is an error.
    """
    bad: list[str] = []
    good = skipped = 0
    for line, default_id, parse in records:
        try:
            row = _record(parse(), path, line, default_id, reading)
        except _RowError as err:
            if not reading.skip_bad:
                raise FramingError(f"{path} line {line}: {err}") from None
            skipped += 1
            if len(bad) < 4:
                bad.append(f"line {line}: {err}")
            continue
        good += 1
        yield row
    shown = "; ".join(bad[:3]) + ("; ..." if skipped > 3 else "")
    if skipped and not good:
        raise FramingError(f"{path}: none of its {skipped} lines could be read ({shown})")
    if skipped:
        reading.warn(f"skipped {skipped} of {skipped + good} lines of {path}: {shown}")


def _record(record: dict, path: Path, line: int, default_id: str, reading: _Reading) -> dict:
    """One article from a JSONL/CSV record; ``default_id`` if it names none."""
    outlet = (_text_field(record, "outlet") or "").strip()
    if not outlet:
        raise _RowError("no outlet")
    text = _text_field(record, "text")
    if text is None or _blank(text):
        raise _RowError("no text")
    return {
        "article_id": _text_field(record, "id") or default_id,
        "outlet": outlet,
        "date": reading.date(record.get("date"), path, f"line {line}"),
        "title": _text_field(record, "title"),
        "url": _text_field(record, "url"),
        "text": text,
        "source": str(path),
    }


def _text_field(record: dict, name: str) -> str | None:
    """``record[name]`` as text: numbers become their digits, missing or empty is None."""
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        raise _RowError(f"{name} is {str(value).lower()}; expected text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise _RowError(f"{name} is {value}; expected text")
        return str(int(value)) if value.is_integer() else repr(value)
    kind = {dict: "a JSON object", list: "a JSON array"}.get(type(value), type(value).__name__)
    raise _RowError(f"{name} is {kind}; expected text")


def _blank(text: str) -> bool:
    """Whether ``text`` has nothing visible: only whitespace, non-breaking and zero-width spaces."""
    return not text.translate(INVISIBLE).strip()


def _read_html(path: Path, meta: dict, reading: _Reading) -> dict:
    import trafilatura

    html = read_bytes(path)
    if path.suffix == ".gz":
        html = _gunzip(html, path)
    html = _html_source(html, path)
    body = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not body or _blank(body):
        raise FramingError(f"{path}: no article text found in the page")
    found = trafilatura.extract_metadata(html)
    outlet = meta.get("outlet") or (found.sitename if found else None) or _domain(found.url if found else None)
    if not outlet:
        raise FramingError(f"{path}: no outlet; the page names neither its site nor its address, list it in a {MANIFEST}")
    return {
        "article_id": meta.get("article_id") or path.name.split(".")[0],
        "outlet": outlet,
        "date": meta.get("date") or reading.date(found.date if found else None, path),
        "title": meta.get("title") or (found.title if found else None),
        "url": meta.get("url") or (found.url if found else None),
        "text": "\n\n".join(line for line in body.splitlines() if line.strip()),
        "source": str(path),
    }


def _gunzip(data: bytes, path: Path) -> bytes:
    """The decompressed page, refusing one that expands beyond the size limit."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            html = stream.read(MAX_ARTICLE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise FramingError(f"{path}: not a valid gzip file ({err})") from None
    if len(html) > MAX_ARTICLE_BYTES:
        raise FramingError(
            f"{path}: expands to more than {MAX_ARTICLE_BYTES / 1e6:.0f} MB, too large for an article"
        )
    return html


def _html_source(html: bytes, path: Path) -> bytes | str:
    """Page bytes for trafilatura (which reads the page's own charset), or text if it is UTF-16/32."""
    wide = _wide_encoding(html)
    if wide:
        return _decode_wide(html, wide, path)
    _refuse_nul(html, path)
    return html


def _domain(url: str | None) -> str | None:
    """``www.example.com`` from a page's own address, as an outlet of last resort."""
    from urllib.parse import urlparse

    host = urlparse(url or "").hostname
    return host.removeprefix("www.") if host else None


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, refusing missing, empty and oversized files."""
    try:
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise FramingError(
                f"{path}: {size / 1e6:.1f} MB is too large for an article "
                f"(limit {MAX_ARTICLE_BYTES / 1e6:.0f} MB)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise FramingError(f"{path}: no such file") from None
    except OSError as err:
        raise FramingError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not data.strip():
        raise FramingError(f"{path}: file is empty")
    return data


def read_text(path: Path) -> str:
    """The text of ``path``: UTF-8, or UTF-16/32 as its BOM or NUL pattern says; binary files are refused."""
    data = read_bytes(path)
    wide = _wide_encoding(data)
    if wide:
        return _decode_wide(data, wide, path)
    _refuse_nul(data, path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FramingError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "re-save it as UTF-8"
        ) from None


def _wide_encoding(data: bytes) -> str | None:
    """``utf-16``/``utf-32`` by byte-order mark, ``utf-16-le``/``-be`` by NULs in every other byte, else None."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) >= 2 and odd.count(0) >= len(odd) / 2 and even.count(0) <= len(even) / 100:
        return "utf-16-le"
    if len(odd) >= 2 and even.count(0) >= len(even) / 2 and odd.count(0) <= len(odd) / 100:
        return "utf-16-be"
    return None


def _decode_wide(data: bytes, encoding: str, path: Path) -> str:
    """UTF-16/32 ``data`` as text, refusing invalid or NUL-bearing data with a way to convert it."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise FramingError(
            f"{path}: looks like {encoding.upper()} text but is not valid ({err.reason} at byte {err.start}); "
            f"re-save it as UTF-8, e.g. iconv -f {encoding.upper()} -t UTF-8"
        ) from None
    if "\x00" in text:
        raise FramingError(f"{path}: binary file, not text (NUL character {text.index(chr(0))} of its {encoding.upper()} text)")
    return text


def _refuse_nul(data: bytes, path: Path) -> None:
    """Refuse ``data`` with a NUL byte anywhere: text never has one, so it is binary."""
    offset = data.find(b"\x00")
    if offset >= 0:
        raise FramingError(f"{path}: binary file, not text (NUL byte at offset {offset})")


def _has_suffix(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.name.lower().endswith(suffixes)
