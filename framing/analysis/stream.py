"""Score an input of any size in chunks of whole articles, writing each chunk as it finishes, resumably.

Articles are read in batches (:func:`~framing.text.ingest.iter_articles`), split, scored and
written before the next batch is read, so memory holds one chunk at a time. A chunk is made of
whole articles: a paragraph's context features need its neighbours.

Output to a file goes first to ``OUT.partial``, beside a small record ``OUT.partial.json`` of
what made it (a digest of the inputs, the model's fingerprint, ``skip_bad``) and how far it got.
Each chunk is appended, flushed and synced before the record is updated, so after Ctrl-C or a
kill the partial file holds every finished chunk whole (anything past the recorded end is cut
off on resuming). ``resume=True`` checks that the record matches and carries on after the last
finished article, giving the rows an uninterrupted run gives. On success the partial file
becomes ``OUT`` in one rename, so ``OUT`` is whole or absent. JSONL and CSV chunks are appended
as text; Parquet chunks are stored as self-contained Parquet files one after another, joined
into one file (a row group per chunk) at the end.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path

import pandas as pd

from framing.analysis.score import check_table_path, score_paragraphs
from framing.files import atomic_path, make_folder
from framing.model.pipeline import FramingPipeline
from framing.schema import FramingError, FramingWarning
from framing.text.ingest import count_articles, input_fingerprint, iter_articles
from framing.text.paragraphs import no_paragraphs_left, split_paragraphs

CHUNK_ARTICLES = 500
"""Articles read, scored and written at a time."""
RECORD_VERSION = 1


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says what was kept and how to resume."""


def partial_path(output: Path) -> Path:
    """Where the output is built until it is complete."""
    return output.with_name(output.name + ".partial")


def record_path(output: Path) -> Path:
    """The record of what made the partial output and how far it got."""
    return output.with_name(output.name + ".partial.json")


def score_stream(
    inputs: Iterable[str | Path],
    model: FramingPipeline | Callable[[], FramingPipeline],
    output: str | Path | None = None,
    *,
    chunk_articles: int = CHUNK_ARTICLES,
    resume: bool = False,
    skip_bad: bool = False,
    warn: Callable[[str], None] | None = None,
    progress: bool = False,
    stdout: io.TextIOBase | None = None,
) -> tuple[int, int]:
    """Score every kept paragraph of ``inputs`` a chunk at a time into ``output`` (JSONL, CSV or Parquet), or as JSONL to ``stdout``.

    ``model`` is a loaded pipeline, or a function loading one: it is called once the first
    chunk with a kept paragraph has been read and split, so that errors in the start of the
    input (and an input with no paragraph at all) show before a model is loaded.
    Returns the numbers of articles and paragraphs in the output.
    """
    inputs = [Path(p) for p in inputs]
    if chunk_articles < 1:
        raise FramingError(f"chunk size must be at least 1 article, not {chunk_articles}")
    if output is None and resume:
        raise FramingError("--resume continues an interrupted run's output file; give that file with -o")
    if output is not None:
        output = check_table_path(output)
        if partial_path(output).exists() and not resume:
            raise FramingError(
                f"{partial_path(output)} holds the output of an interrupted run; "
                f"pass --resume to continue it, or delete it to start over"
            )
    fingerprint = input_fingerprint(inputs)
    emptied = _Held(warn)
    chunks = _split(iter_articles(inputs, skip_bad=skip_bad, warn=warn, batch=chunk_articles), emptied)
    leading = _until_a_paragraph(chunks)
    emptied.release()
    pipeline = model if isinstance(model, FramingPipeline) else model()
    if output is None:
        sink = _StdoutSink(stdout or sys.stdout)
    else:
        identity = {"inputs": fingerprint, "model": pipeline.fingerprint, "skip_bad": skip_bad}
        sink = _PartialTable.open(output, identity, pipeline.frames, resume=resume)
    try:
        with _Bar(progress, count_articles(inputs) if progress else None, sink.articles) as bar:
            for articles, paragraphs in _skip(_chain(leading, chunks), sink.articles):
                scored = score_paragraphs(paragraphs, pipeline) if len(paragraphs) else None
                sink.write(scored, len(articles))
                bar.advance(len(articles), len(paragraphs))
        sink.finish()
    except FramingError:
        sink.discard()
        raise
    except KeyboardInterrupt:
        sink.close()
        raise Interrupted(sink.kept()) from None
    return sink.articles, sink.paragraphs


def _until_a_paragraph(chunks: Iterator[tuple[pd.DataFrame, pd.DataFrame]]) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The chunks up to the first with a kept paragraph, read before a model is loaded; an input with none is an error.

    Chunks of boilerplate alone keep only their article ids until they are written.
    """
    leading = []
    for articles, paragraphs in chunks:
        if len(paragraphs):
            return [*leading, (articles, paragraphs)]
        leading.append((articles[["article_id"]], paragraphs))
    read = sum(len(articles) for articles, _ in leading)
    raise no_paragraphs_left(read)


class _Held:
    """Warnings held back until :meth:`release`, then passed on as they come: an input whose every article
    is left empty is one error, not a warning per article first."""

    def __init__(self, warn: Callable[[str], None] | None):
        self.warn = warn or (lambda message: warnings.warn(message, FramingWarning, stacklevel=2))
        self.held: list[str] | None = []

    def __call__(self, message: str) -> None:
        if self.held is None:
            self.warn(message)
        else:
            self.held.append(message)

    def release(self) -> None:
        held, self.held = self.held or [], None
        for message in held:
            self.warn(message)


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def _split(batches: Iterable[pd.DataFrame], warn) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each batch of articles with its kept paragraphs (none for a batch of boilerplate alone)."""
    from framing.text.boilerplate import BoilerplateDetector

    detector = BoilerplateDetector.load()
    for articles in batches:
        yield articles, split_paragraphs(articles, detector=detector, warn=warn, allow_empty=True)


def _skip(chunks: Iterable[tuple[pd.DataFrame, pd.DataFrame]], done: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """``chunks`` after their first ``done`` articles, which an interrupted run already wrote."""
    for articles, paragraphs in chunks:
        if done >= len(articles):
            done -= len(articles)
            continue
        if done:
            left = set(articles["article_id"].iloc[done:])
            articles = articles.iloc[done:]
            paragraphs = paragraphs[paragraphs["article_id"].isin(left)].reset_index(drop=True)
            done = 0
        yield articles, paragraphs


class _Bar:
    """The progress bar of a run: articles done/total, paragraphs and paragraphs/s, time left; nothing if not shown."""

    def __init__(self, shown: bool, total: int | None, done: int):
        self.shown, self.total, self.done = shown, total, done
        self.paragraphs = 0
        self.start = time.monotonic()

    def __enter__(self) -> "_Bar":
        if self.shown:
            from framing.progress import stream_bar

            self.progress = stream_bar("articles,").__enter__()
            self.task = self.progress.add_task("scoring", total=self.total, completed=self.done, rate="")
        return self

    def advance(self, articles: int, paragraphs: int) -> None:
        self.paragraphs += paragraphs
        if self.shown:
            rate = self.paragraphs / max(time.monotonic() - self.start, 1e-9)
            self.progress.update(self.task, advance=articles, rate=f"{self.paragraphs:,} paragraphs, {rate:,.0f} paragraphs/s")

    def __exit__(self, *exc) -> None:
        if self.shown:
            self.progress.__exit__(*exc)


def _rows_json(table: pd.DataFrame) -> str:
    return table.to_json(orient="records", lines=True, force_ascii=False)


class _StdoutSink:
    """JSONL lines on standard output, flushed as each chunk finishes; nothing to resume."""

    def __init__(self, stream):
        self.stream = stream
        self.articles = self.paragraphs = 0

    def write(self, scored: pd.DataFrame | None, articles: int) -> None:
        if scored is not None:
            self.stream.write(_rows_json(scored))
            self.stream.flush()
            self.paragraphs += len(scored)
        self.articles += articles

    def finish(self) -> None:
        pass

    close = discard = finish

    def kept(self) -> str:
        return f"{self.paragraphs} paragraphs of {self.articles} articles were written"


class _PartialTable:
    """``OUT.partial`` and its record: chunks appended and synced, then the record updated."""

    def __init__(self, output: Path, identity: dict, frames: list[str], state: dict):
        self.output, self.identity, self.frames, self.state = output, identity, frames, state
        self.partial, self.record = partial_path(output), record_path(output)
        self.suffix = output.suffix.lower()
        self.file = None

    @classmethod
    def open(cls, output: Path, identity: dict, frames: list[str], *, resume: bool) -> "_PartialTable":
        """A fresh partial output, or with ``resume`` the one an interrupted run left, if it was made the same way."""
        make_folder(output.parent, output=output)
        partial = partial_path(output)
        if resume and partial.exists():
            table = cls(output, identity, frames, cls._resumable(output, identity))
            table.file = partial.open("r+b")
            table.file.truncate(table.state["ends"][-1] if table.state["ends"] else 0)
            table.file.seek(0, os.SEEK_END)
            return table
        table = cls(output, identity, frames, {"version": RECORD_VERSION, **identity, "articles": 0, "paragraphs": 0, "ends": []})
        table.file = partial.open("wb")
        table._save_state()
        return table

    @staticmethod
    def _resumable(output: Path, identity: dict) -> dict:
        """The interrupted run's record, refused unless it was made from the same inputs, model and options."""
        partial, record = partial_path(output), record_path(output)
        start_over = f"delete {partial} to start over"
        try:
            state = json.loads(record.read_text(encoding="utf-8"))
            ends = [int(end) for end in state["ends"]]
            articles, paragraphs = int(state["articles"]), int(state["paragraphs"])
        except (OSError, ValueError, KeyError, TypeError):
            raise FramingError(f"{record}: missing or damaged, so {partial} cannot be resumed; {start_over}") from None
        if ends and partial.stat().st_size < ends[-1]:
            raise FramingError(f"{partial} is shorter than {record.name} records, so it cannot be resumed; {start_over}")
        made = {"inputs": "from other inputs (or they changed since)", "model": "with another model",
                "skip_bad": "with --skip-bad" if state.get("skip_bad") else "without --skip-bad"}
        for key, how in made.items():
            if state.get(key) != identity[key]:
                raise FramingError(
                    f"cannot resume {partial}: it was scored {how}; run the interrupted command unchanged, or {start_over}"
                )
        return {**state, "ends": ends, "articles": articles, "paragraphs": paragraphs}

    @property
    def articles(self) -> int:
        return self.state["articles"]

    @property
    def paragraphs(self) -> int:
        return self.state["paragraphs"]

    def write(self, scored: pd.DataFrame | None, articles: int) -> None:
        """Append a chunk and sync it, then record it: the record never names data that is not on disk."""
        if scored is not None and len(scored):
            self.file.write(self._encode(scored))
            self.file.flush()
            os.fsync(self.file.fileno())
            self.state["ends"].append(self.file.tell())
            self.state["paragraphs"] += len(scored)
        self.state["articles"] += articles
        self._save_state()

    def _encode(self, scored: pd.DataFrame) -> bytes:
        if self.suffix == ".jsonl":
            return _rows_json(scored).encode("utf-8")
        if self.suffix == ".csv":
            flat = scored.assign(frames=[";".join(f) for f in scored["frames"]])
            return flat.to_csv(index=False, header=self.paragraphs == 0).encode("utf-8")
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        table = pa.Table.from_pandas(scored, schema=_arrow_schema(self.frames), preserve_index=False)
        pq.write_table(table.replace_schema_metadata(None), buffer)
        return buffer.getvalue()

    def _save_state(self) -> None:
        tmp = self.record.with_name(f".{self.record.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as stream:
            json.dump(self.state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        tmp.replace(self.record)

    def finish(self) -> None:
        """The complete output at ``OUT`` in one rename; the partial file and its record gone."""
        self.close()
        if self.suffix == ".parquet":
            self._join_parquet()
            self.partial.unlink()
        else:
            self.partial.replace(self.output)
        self.record.unlink(missing_ok=True)

    def _join_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with atomic_path(self.output) as tmp, self.partial.open("rb") as stream:
            writer, start = None, 0
            for end in self.state["ends"]:
                stream.seek(start)
                table = pq.read_table(pa.BufferReader(stream.read(end - start)))
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                start = end
            writer.close()

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()

    def discard(self) -> None:
        """Remove the partial output of a run that failed for good (bad input): resuming cannot help it."""
        self.close()
        for path in (self.partial, self.record):
            with suppress(FileNotFoundError):
                path.unlink()

    def kept(self) -> str:
        return (
            f"{self.paragraphs} paragraphs of the first {self.articles} articles are kept in {self.partial}; "
            "run the same command with --resume to continue"
        )


def _arrow_schema(frames: list[str]):
    """One schema for every chunk, whatever its values (a chunk of undated articles too)."""
    import pyarrow as pa

    return pa.schema(
        [("article_id", pa.string()), ("outlet", pa.string()), ("date", pa.string()), ("paragraph_index", pa.int64()),
         ("text", pa.string()), *((frame, pa.float64()) for frame in frames), ("frames", pa.list_(pa.string())),
         ("primary_frame", pa.string())]
    )
