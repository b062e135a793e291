"""Compare model variants and ship the winner: the one way a framing model is trained.

A config (``experiments/NAME.yaml``) names the labelled data and a list of variants;
``framing train`` is an experiment of one variant. Each variant is evaluated by
:func:`framing.training.evaluation.evaluate` (grouped cross-validation that resumes, then
a refit) as one mlflow run. :func:`choose_winner` applies the rule, the highest dev
macro-F1; the winner is measured once on the test articles, saved as a candidate
(``models/candidates/<run id>``) and registered. Replacing the shipped
``models/framing`` is a separate, explicit step: :func:`ship`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from framing import config
from framing.frames import FrameScheme
from framing.model.embed import resolve_model_path
from framing.schema import FramingError, read_yaml
from framing.training import tracking
from framing.training.evaluation import Evaluation, FoldStore, LabelledData, evaluate, test_metrics
from framing.training.variants import Variant

RULE = "highest dev macro-F1"


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment: data, folds and the variants to compare."""

    name: str
    variants: tuple[Variant, ...]
    codebook: Path = config.CODEBOOK_PATH
    labels: tuple[Path, ...] = ()
    corpus: Path | None = config.CORPUS_PATH
    frames: tuple[str, ...] = ()
    folds: int = 5

    def __post_init__(self):
        if self.folds < 2:
            raise FramingError(f"The 'folds' parameter must be at least 2. Got {self.folds!r} instead.")

    @classmethod
    def load(cls, path: str | Path) -> "ExperimentConfig":
        """Read and validate ``path``; every mistake is one clear :class:`FramingError`."""
        path = Path(path)
        raw = read_yaml(path, "experiment config")
        if not isinstance(raw, dict) or not raw.get("variants"):
            raise FramingError(f"{path}: an experiment config needs a list of 'variants'")
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise FramingError(f"{path}: unknown key {sorted(unknown)[0]!r}; expected {sorted(known)}")
        variants = tuple(Variant.from_dict(e, where=f"{path}: variant {i}") for i, e in enumerate(raw["variants"], start=1))
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise FramingError(f"{path}: variant names repeat: {names}")

        def resolve(p) -> Path:  # relative paths are relative to the config file
            return Path(p) if Path(p).is_absolute() else (path.parent / p).resolve()

        cfg = cls(
            name=str(raw.get("name") or path.stem),
            variants=variants,
            codebook=resolve(raw.get("codebook", config.CODEBOOK_PATH)),
            labels=tuple(resolve(p) for p in raw.get("labels", ())),
            corpus=resolve(raw.get("corpus", config.CORPUS_PATH)),
            frames=tuple(raw.get("frames", ())),
            folds=int(raw.get("folds", 5)),
        )
        if "corpus" in raw and not Path(cfg.corpus).exists():
            raise FramingError(f"{path}: corpus not found at {cfg.corpus}")
        cfg.check(where=str(path))
        return cfg

    def check(self, *, where: str) -> FrameScheme:
        """The codebook, after checking that the frames and every variant's embedding model exist here."""
        scheme = FrameScheme.load(self.codebook)
        scheme.check(self.frames, where=f"{where}: frames")
        for variant in self.variants:
            if variant.kind != "tfidf":
                try:
                    resolve_model_path(variant.embedder)
                except FramingError as err:
                    raise FramingError(f"{where}: variant {variant.name!r}: {err}") from None
        return scheme

    def scheme(self) -> FrameScheme:
        """The codebook, narrowed to ``frames`` when the config names some."""
        scheme = FrameScheme.load(self.codebook)
        if not self.frames:
            return scheme
        return FrameScheme(name=scheme.name, frames=tuple(f for f in scheme.frames if f.name in self.frames))


@dataclass
class VariantResult:
    """One variant's evaluation and the mlflow run that records it."""

    evaluation: Evaluation
    run_id: str

    @property
    def name(self) -> str:
        return self.evaluation.variant.name

    def row(self) -> dict:
        v = self.evaluation.variant
        return {"variant": v.name, "kind": v.kind, "exportable": v.exportable, **self.evaluation.metrics}


@dataclass
class ExperimentResult:
    """The comparison (one row per variant), the winner, its test figures and where its model went."""

    variants: list[VariantResult]
    winner: str | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    candidate: Path | None = None
    registered_version: str | None = None
    shipped_to: Path | None = None

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame([r.row() for r in self.variants])

    def __getitem__(self, name: str) -> VariantResult:
        return next(r for r in self.variants if r.name == name)


def choose_winner(table: pd.DataFrame) -> str:
    """The rule: the highest dev macro-F1 among exportable variants; ties go to the faster scorer."""
    pool = table[table["exportable"]]
    if pool.empty:
        raise FramingError("no variant of this experiment can be saved as the framing model")
    speed = "scoring_paragraphs_per_second" if "scoring_paragraphs_per_second" in pool else "dev_macro_f1"
    return str(pool.sort_values(["dev_macro_f1", speed], ascending=False).iloc[0]["variant"])


def run_experiment(
    cfg: ExperimentConfig,
    *,
    tracking_uri: str | None = None,
    keep_winner: bool = True,
    ship_to: Path | None = None,
    candidates_dir: Path = config.CANDIDATES_DIR,
    folds_dir: Path | None = config.FOLDS_DIR,
    speed: bool = True,
    on_step=None,
    on_variant=None,
    progress: bool = False,
) -> ExperimentResult:
    """Evaluate every variant as an mlflow run; keep and register the winner as a candidate; ship it to ``ship_to`` if given.

    Finished folds are recorded under ``folds_dir`` (``None``: not recorded), so running
    the same config on the same data again resumes. ``on_step(variant, step)`` hears
    each finished fold and fit, ``on_variant(row)`` each finished variant.
    """
    scheme = cfg.scheme()
    data = LabelledData.load(scheme, labels=cfg.labels, corpus=cfg.corpus, frames=cfg.frames)
    store = FoldStore(folds_dir) if folds_dir else None
    experiment = f"experiment-{cfg.name}"
    result = ExperimentResult([])
    for variant in cfg.variants:
        with tracking.run(variant.name, tracking_uri=tracking_uri, experiment=experiment, tags={"kind": variant.kind}) as run:
            tracking.log_labels(data.all)
            tracking.log_params(variant.params() | {"folds": cfg.folds, "n_paragraphs": len(data.dev), "data_digest": data.digest})
            evaluation = evaluate(variant, data, scheme, n_folds=cfg.folds, store=store, speed=speed,
                                  on_step=(lambda step, v=variant: on_step(v, step)) if on_step else None, progress=progress)
            tracking.log_evaluation(evaluation, data)
            result.variants.append(VariantResult(evaluation, run.info.run_id))
        if on_variant:
            on_variant(result.variants[-1].row())
    if keep_winner:
        _keep_winner(result, data, experiment, tracking_uri=tracking_uri, candidates_dir=candidates_dir)
        if ship_to is not None:
            result.shipped_to = ship(result.candidate, ship_to, tracking_uri=tracking_uri)
    return result


def _keep_winner(result: ExperimentResult, data: LabelledData, experiment: str, *, tracking_uri, candidates_dir: Path) -> None:
    """Measure the winner on the test part, save it as a candidate and register it, in a run of its own."""
    result.winner = choose_winner(result.table)
    won = result[result.winner]
    model = won.evaluation.model
    result.test_metrics = test_metrics(model, data)
    tags = {"winner_of": experiment, "winner_run_id": won.run_id, "rule": RULE}
    with tracking.run(f"winner-{result.winner}", tracking_uri=tracking_uri, experiment=experiment, tags=tags) as run:
        tracking.log_metrics(result.test_metrics)
        tracking.log_params({"variant": result.winner, "data_digest": data.digest})
        kept = {k: round(float(v), 4) for k, v in (won.evaluation.metrics | result.test_metrics).items() if k.startswith(("dev_", "test_"))}
        model.pipeline_.meta |= {"experiment": experiment, "variant": result.winner, "run_id": run.info.run_id,
                                 "data_digest": data.digest, "metrics": kept}
        result.candidate = tracking.save_model(model.pipeline_, Path(candidates_dir) / run.info.run_id)
        result.registered_version = tracking.log_model(result.candidate)


def ship(candidate: Path, output: Path = config.MODEL_DIR, *, tracking_uri: str | None = None) -> Path:
    """Make ``candidate`` (a saved model folder) the shipped model at ``output`` and the registry's champion.

    The old model stays in place until the new one is complete, and is swapped out in one step.
    """
    tracking.replace_model(candidate, output)
    tracking.set_champion(output, tracking_uri=tracking_uri)
    return output


def promote(run: str, output: Path = config.MODEL_DIR, *, candidates_dir: Path = config.CANDIDATES_DIR, tracking_uri: str | None = None) -> Path:
    """Ship the model of training run ``run`` (a run id or a candidate folder): ``framing promote``."""
    candidate = Path(run) if Path(run, "MLmodel").exists() else Path(candidates_dir) / run
    if not (candidate / "MLmodel").exists():
        candidate = tracking.download_model(run, tracking_uri=tracking_uri)
    return ship(candidate, output, tracking_uri=tracking_uri)


def single_variant(variant: Variant, *, codebook: Path = config.CODEBOOK_PATH, labels=(), corpus=config.CORPUS_PATH, folds: int = 5) -> ExperimentConfig:
    """The experiment ``framing train`` runs: one variant, named ``train``."""
    cfg = ExperimentConfig(name="train", variants=(variant,), codebook=codebook, labels=tuple(labels), corpus=corpus, folds=folds)
    cfg.check(where="framing train")
    return cfg
