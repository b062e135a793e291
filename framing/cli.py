"""The ``framing`` command line: thin commands over the package's functions.

Heavy imports (torch, sentence-transformers, mlflow) happen inside commands,
so ``framing --help`` stays instant.
"""

from __future__ import annotations

import enum
import sys
import warnings
from pathlib import Path

import typer
from rich.console import Console

from framing import config
from framing.progress import stderr_console
from framing.schema import FramingError, FramingWarning

app = typer.Typer(
    help="Framing analysis of news: split articles into paragraphs, classify frames, compare outlets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = stderr_console()


def _out() -> Console:
    """Console for results on stdout; wide enough for the comparison tables when piped."""
    return Console() if sys.stdout.isatty() else Console(width=160)

Inputs = typer.Argument(..., help="Article files or folders: .txt with manifest.csv, .jsonl, .csv, .html.", show_default=False)
ModelOpt = typer.Option(str(config.MODEL_DIR), "--model", "-m", help="Model folder or registry URI such as models:/framing@champion.")
SkipBad = typer.Option(False, "--skip-bad", help="Skip unreadable files with a warning instead of stopping.")
TrackingOpt = typer.Option(None, "--tracking-uri", help="mlflow store; default $MLFLOW_TRACKING_URI or the local SQLite file.", show_default=False)


def _warn(message: str) -> None:
    console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def _paragraphs(inputs: list[Path], skip_bad: bool):
    from framing.text.ingest import read_articles
    from framing.text.paragraphs import split_paragraphs

    articles = read_articles(inputs, skip_bad=skip_bad, warn=_warn)
    return split_paragraphs(articles, warn=_warn)


def _load(model: str, tracking_uri: str | None = None):
    """The model's pipeline, read as data from its folder, embedding through the project's cache."""
    from framing.training.tracking import describe_model, load_pipeline

    with console.status("loading model"):
        pipeline = load_pipeline(model, cache_dir=config.cache_dir(), tracking_uri=tracking_uri)
    console.print(describe_model(model, tracking_uri=tracking_uri), highlight=False, soft_wrap=True)
    return pipeline


class Engine(str, enum.Enum):
    """Where ``score`` runs the model."""

    local = "local"
    spark = "spark"


def _score_on_spark(inputs: list[Path], model: str, skip_bad: bool, tracking_uri: str | None, master: str):
    """The same rows as the local engine, computed by the model's mlflow UDF on a Spark session at ``master``."""
    from framing.analysis.spark import score_with_spark
    from framing.training.tracking import describe_model

    paragraphs = _paragraphs(inputs, skip_bad)
    console.print(describe_model(model, tracking_uri=tracking_uri), highlight=False, soft_wrap=True)
    with console.status(f"scoring {len(paragraphs)} paragraphs on Spark ({master})"):
        return score_with_spark(paragraphs, model, master=master, tracking_uri=tracking_uri)


@app.command("score")
def score_cli(
    inputs: list[Path] = Inputs,
    output: Path = typer.Option(
        None, "--output", "-o", show_default=False,
        help="Write .jsonl, .csv or .parquet; default JSONL to stdout. Its folder must exist, or only that last folder is made.",
    ),
    model: str = ModelOpt,
    skip_bad: bool = SkipBad,
    tracking_uri: str = TrackingOpt,
    engine: Engine = typer.Option(Engine.local, "--engine", help="Score in this process (local) or with the model's mlflow UDF on Spark."),
    master: str = typer.Option("local[2]", "--master", help="Spark master for --engine spark: local[N], spark://HOST:7077, yarn."),
    chunk_articles: int = typer.Option(500, "--chunk-articles", min=1, help="Articles read, scored and written at a time."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run that was interrupted writing -o OUT (from OUT.partial), with the same inputs and model.",
    ),
):
    """Score every kept paragraph of INPUTS: a probability per frame, the frames it carries, its primary frame.

    Data alone goes to standard output; progress and messages go to standard error. Output is
    written a chunk of articles at a time; to a file, through OUT.partial, which an interrupted
    run leaves for --resume.
    """
    from framing.analysis.stream import Interrupted, score_stream

    if engine is Engine.spark:
        _score_on_spark_to(inputs, model, skip_bad, tracking_uri, master, output)
        return
    try:
        articles, paragraphs = score_stream(
            inputs, lambda: _load(model, tracking_uri), output, chunk_articles=chunk_articles, resume=resume,
            skip_bad=skip_bad, warn=_warn, progress=True,
        )
    except Interrupted as kept:
        console.print(f"[red]interrupted:[/] {kept}", highlight=False, soft_wrap=True)
        raise SystemExit(130) from None
    if output is not None:
        console.print(f"scored {paragraphs} paragraphs of {articles} articles -> {output}", highlight=False)


STORY_ARTICLES = 2000
"""Above this many articles ``report`` builds the story view only when asked (embedding them all takes minutes).

Stories are always grouped with the default MiniLM embedder, on which the story threshold was measured, not
with the frame model's: the shipped model's fine-tuned mpnet puts the five seed articles (one event) only
0.35-0.97 apart (SBS News below 0.75 to all but one), where MiniLM puts them 0.82-0.92 apart."""


def _score_on_spark_to(inputs, model, skip_bad, tracking_uri, master, output) -> None:
    """``score --engine spark``: the whole input through the model's Spark UDF, written at the end (no --resume)."""
    from framing.analysis.score import check_table_path, write_table

    if output is not None:
        check_table_path(output)
    scored = _score_on_spark(inputs, model, skip_bad, tracking_uri, master)
    if output is None:
        sys.stdout.write(scored.to_json(orient="records", lines=True, force_ascii=False))
        return
    write_table(scored, output)
    console.print(f"scored {len(scored)} paragraphs of {scored['article_id'].nunique()} articles -> {output}")


@app.command("report")
def report_cli(
    inputs: list[Path] = typer.Argument(
        ..., show_default=False,
        help="Article files or folders (.txt with manifest.csv, .jsonl, .csv, .html), or scored tables (`framing score` output: "
        ".jsonl, .csv, .parquet), which are re-cut without a model.",
    ),
    output: Path = typer.Option(
        config.REPORTS_DIR / "seeds", "--output", "-o",
        help="Folder for report.html, report.json, the tables' CSVs and review.csv: a new folder (its parent must exist), an empty "
        "one, or an earlier report's, whose files are replaced. Refused: a file, the filesystem root, the current folder, a folder "
        "holding anything else.",
    ),
    by: str = typer.Option("outlet", "--by", help="Column to compare: outlet, month, week, any column of the input or of --groups."),
    groups: Path = typer.Option(None, "--groups", show_default=False, help="CSV of outlet attributes (outlet,lean,...), joined so --by lean works."),
    outlets: list[str] = typer.Option(None, "--outlet", show_default=False, help="Only this outlet (repeat for several)."),
    since: str = typer.Option(None, "--since", show_default=False, help="Only articles dated on or after this date (YYYY-MM-DD)."),
    until: str = typer.Option(None, "--until", show_default=False, help="Only articles dated on or before this date (YYYY-MM-DD)."),
    min_articles: int = typer.Option(0, "--min-articles", min=0, help="Leave out groups with fewer articles."),
    formats: list[str] = typer.Option(["html"], "--format", help="html and/or md (repeat or comma list); report.json and CSVs are always written."),
    stories: bool = typer.Option(
        None, "--stories/--no-stories", show_default=False,
        help=f"Group articles into stories (embeds each article's lead); by default only up to {STORY_ARTICLES:,} articles.",
    ),
    log_to_mlflow: bool = typer.Option(False, "--log-to-mlflow", help="Log the report folder as artifacts of a run in mlflow experiment 'reports'."),
    model: str = ModelOpt,
    title: str = typer.Option(None, help="Heading of the report; default 'Outlet framing report' or 'Framing report by BY'.", show_default=False),
    skip_bad: bool = SkipBad,
    tracking_uri: str = TrackingOpt,
):
    """Write a framing report for INPUTS: shares with intervals, tests, over- and under-used frames, stories, evidence.

    Every option is checked before any work; filters apply before the statistics.
    """
    from framing.analysis import report as rp

    if output.expanduser().resolve().parent == config.REPORTS_DIR:
        config.REPORTS_DIR.mkdir(exist_ok=True)  # the project's own reports/ folder is made on first use, like mlruns/
    rp.check_report_folder(output)
    formats = rp.check_formats(formats)
    window = {"outlets": outlets or (), "since": rp.parse_date(since, "--since"), "until": rp.parse_date(until, "--until")}
    attributes = rp.read_groups(groups) if groups is not None else None
    scored_input = _scored_inputs(inputs)
    columns = _input_columns(inputs) if scored_input else ("article_id", "outlet", "date", "title", "url", "source")
    rp.check_by(by, [*columns, *(attributes.columns if attributes is not None else ())])
    if scored_input:
        scored, frames = rp.read_scored(inputs)
        scored, pipeline, described = rp.select(scored, **window), None, None
        console.print(f"scored table: {len(scored)} paragraphs; no model loaded")
    else:
        scored, pipeline, described = _score_selected(inputs, model, skip_bad, tracking_uri, window)
        frames = pipeline.frames
    articles = scored["article_id"].nunique()
    if stories is None and articles > STORY_ARTICLES:
        _warn(f"story view left out: embedding {articles:,} articles takes minutes; pass --stories to build it")
    embedder = None
    if stories or (stories is None and articles <= STORY_ARTICLES):
        from framing.model.embed import Embedder

        embedder = Embedder(cache_dir=config.cache_dir())  # see STORY_ARTICLES: MiniLM, whatever the frame model
    with console.status("computing statistics"):
        report = rp.build_report(
            scored, frames, by=by, groups=attributes, model_meta=pipeline.meta if pipeline is not None else None,
            embedder=embedder, min_articles=min_articles, model=described, warn=_warn,
            title=title or ("Outlet framing report" if by == "outlet" else f"Framing report by {by}"),
        )
        folder = rp.write_report(report, output, formats)
    if log_to_mlflow:
        from framing.training.tracking import log_report

        run_id = log_report(folder, tracking_uri=tracking_uri, params={"by": by, "articles": report.overview["articles"]})
        console.print(f"logged to mlflow experiment 'reports', run {run_id}")
    console.print(f"report on {report.overview['articles']} articles, {report.overview['paragraphs']} paragraphs:")
    print((folder / ("report.html" if "html" in formats else "report.md")).resolve())


def _scored_inputs(inputs: list[Path]) -> bool:
    """Are the inputs scored tables (all of them), rather than articles; a mix is refused."""
    from framing.analysis.report import is_scored_table

    scored = [is_scored_table(p) for p in inputs]
    if any(scored) and not all(scored):
        raise FramingError(f"{inputs[scored.index(False)]}: not a scored table, while {inputs[scored.index(True)]} is; give articles or scored tables, not both")
    return all(scored)


def _input_columns(inputs: list[Path]) -> list[str]:
    """The columns of scored tables a report can group by: not the text, the frames nor their probabilities."""
    import pandas as pd

    from framing.analysis.report import table_columns
    from framing.schema import frame_columns

    columns = {c for p in inputs for c in table_columns(p) or ()}
    never = {"text", "paragraph_index", "frames", "text_hash", "is_boilerplate", *frame_columns(pd.DataFrame(columns=sorted(columns)))}
    return sorted(columns - never)


def _score_selected(inputs: list[Path], model: str, skip_bad: bool, tracking_uri: str | None, window: dict):
    """The selected articles' paragraphs scored, with their title and URL; the pipeline; which model it was."""
    from framing.analysis.report import select
    from framing.analysis.score import score_paragraphs
    from framing.text.ingest import read_articles
    from framing.text.paragraphs import split_paragraphs
    from framing.training.tracking import describe_model

    articles = select(read_articles(inputs, skip_bad=skip_bad, warn=_warn), **window)
    paragraphs = split_paragraphs(articles, warn=_warn)
    pipeline = _load(model, tracking_uri)
    scored = score_paragraphs(paragraphs, pipeline, progress=True)
    urls = articles.drop_duplicates("article_id").set_index("article_id")["url"]
    scored = scored.assign(title=paragraphs["title"].to_numpy(), url=scored["article_id"].map(urls).to_numpy())
    return scored, pipeline, describe_model(model, tracking_uri=tracking_uri)


ShipOpt = typer.Option(False, "--ship", help="Also make the winner the shipped model (models/framing) and framing@champion.")
FoldsDirOpt = typer.Option(config.FOLDS_DIR, "--folds-dir", help="Where finished folds are recorded, so an interrupted run resumes.")
CandidatesOpt = typer.Option(config.CANDIDATES_DIR, "--candidates", help="Folder the winner's model is saved in, as RUN_ID/.")


def _run(cfg, *, ship: bool, tracking_uri: str | None, folds_dir: Path, candidates: Path):
    """Run an experiment config with a progress bar over every variant's folds and fits."""
    from framing.progress import bar
    from framing.training.experiment import run_experiment

    steps = len(cfg.variants) * (cfg.folds + 1)
    with bar() as progress:
        task = progress.add_task(f"{cfg.variants[0].name}: fold 1/{cfg.folds}", total=steps)

        def on_step(variant, step: str) -> None:
            progress.update(task, advance=1, description=f"{variant.name}: {step} done")

        def on_variant(row: dict) -> None:
            progress.console.print(f"  {row['variant']}: dev macro-F1 {row['dev_macro_f1']:.3f} ± {row['dev_macro_f1_std']:.3f}")

        return run_experiment(cfg, tracking_uri=tracking_uri, ship_to=config.MODEL_DIR if ship else None,
                              folds_dir=folds_dir, candidates_dir=candidates, on_step=on_step, on_variant=on_variant, progress=False)


def _print_winner(result) -> None:
    if not result.winner:
        return
    shown = ", ".join(f"{k.removeprefix('test_')} {v:.3f}" for k, v in result.test_metrics.items() if k.endswith("f1"))
    from framing.training.experiment import RULE

    _out().print(f"winner ({RULE}): {result.winner}; test: {shown or 'no test articles'}")
    version = f", registered as framing version {result.registered_version}" if result.registered_version else ""
    _out().print(f"candidate model: {result.candidate}{version}")
    if result.shipped_to:
        _out().print(f"shipped to {result.shipped_to} and made framing@champion")
    else:
        _out().print(f"to ship it: framing promote {result.candidate.name}")


@app.command("train")
def train_cli(
    codebook: Path = typer.Option(config.CODEBOOK_PATH, help="Frame scheme (YAML codebook)."),
    labels: list[Path] = typer.Option(None, "--labels", "-l", help="Label CSVs; default every file in data/labels/.", show_default=False),
    corpus: Path = typer.Option(config.CORPUS_PATH, help="Corpus JSONL the labels' text is read from."),
    embedder: str = typer.Option(config.DEFAULT_EMBEDDER, help="Packaged embedding model name or local model folder."),
    context: bool = typer.Option(False, "--context/--no-context", help="Add the headline's and neighbouring paragraphs' embeddings."),
    words: float = typer.Option(0.0, "--words", min=0.0, help="Weight of the paragraph's TF-IDF word features joined to the embeddings; 0 leaves them out."),
    C: float = typer.Option(1.0, "--C", help="Inverse regularisation strength."),
    tune_epochs: int = typer.Option(0, "--tune-epochs", min=0, help="Epochs of LoRA fine-tuning of the embedding model, in every fold and the final fit; 0 keeps it frozen. Slow: all-mpnet-base-v2 takes about 2 min an epoch per 1,000 paragraphs on 2 cores."),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds, grouped by article."),
    ship: bool = ShipOpt,
    folds_dir: Path = FoldsDirOpt,
    candidates: Path = CandidatesOpt,
    tracking_uri: str = TrackingOpt,
):
    """Train one model variant: cross-validated by article, tracked in mlflow, saved as a candidate in models/candidates/.

    The shipped model changes only with --ship or `framing promote RUN`.
    """
    from rich.table import Table

    from framing.training.experiment import single_variant
    from framing.training.variants import Variant

    variant = Variant(name="train", embedder=embedder, context=context, words=words, C=C, tune_epochs=tune_epochs)
    cfg = single_variant(variant, codebook=codebook, labels=labels or (), corpus=corpus, folds=folds)
    result = _run(cfg, ship=ship, tracking_uri=tracking_uri, folds_dir=folds_dir, candidates=candidates)
    metrics = result["train"].evaluation.metrics
    frames = cfg.scheme().names
    table = Table(title="dev: grouped cross-validation on the train/dev articles")
    for column in ("frame", "precision", "recall", "f1", "ece"):
        table.add_column(column, justify="left" if column == "frame" else "right")
    for frame in frames:
        table.add_row(frame, *(f"{metrics[f'dev_{frame}_{m}']:.3f}" for m in ("precision", "recall", "f1", "ece")))
    table.add_row("macro", "", "", f"{metrics['dev_macro_f1']:.3f} ± {metrics['dev_macro_f1_std']:.3f}", "")
    _out().print(table)
    _print_winner(result)


@app.command("experiment")
def experiment_cli(
    config_path: Path = typer.Argument(..., metavar="CONFIG", help="Experiment YAML, e.g. experiments/frames.yaml.", show_default=False),
    ship: bool = ShipOpt,
    folds_dir: Path = FoldsDirOpt,
    candidates: Path = CandidatesOpt,
    tracking_uri: str = TrackingOpt,
):
    """Run every variant of CONFIG as an mlflow run, print the comparison, keep the winner as a candidate.

    Finished folds are recorded as they end: running CONFIG again after an interruption resumes.
    """
    from rich.table import Table

    from framing.training.experiment import ExperimentConfig

    cfg = ExperimentConfig.load(config_path)
    frames = cfg.scheme().names
    console.print(f"experiment {cfg.name}: {len(cfg.variants)} variants, {cfg.folds}-fold CV by article")
    result = _run(cfg, ship=ship, tracking_uri=tracking_uri, folds_dir=folds_dir, candidates=candidates)
    table = Table(title=f"experiment {cfg.name} (dev = grouped CV on train/dev articles)")
    for column in ("variant", "macro-F1", *(f[:12] for f in frames), "max ECE", "train s", "para/s"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in result.table.sort_values("dev_macro_f1", ascending=False).to_dict("records"):
        table.add_row(
            row["variant"] + (" *" if row["variant"] == result.winner else ""),
            f"{row['dev_macro_f1']:.3f} ± {row['dev_macro_f1_std']:.3f}",
            *(f"{row[f'dev_{f}_f1']:.3f}" for f in frames),
            f"{row['dev_max_ece']:.3f}",
            f"{row['train_seconds']:.1f}",
            f"{row['scoring_paragraphs_per_second']:.0f}",
        )
    _out().print(table)
    _print_winner(result)


@app.command("promote")
def promote_cli(
    run: str = typer.Argument(..., help="Run id of a training run (its folder in models/candidates/, or its model in the store), or a model folder.", show_default=False),
    output: Path = typer.Option(config.MODEL_DIR, "--output", "-o", help="The shipped model folder to replace."),
    candidates: Path = CandidatesOpt,
    tracking_uri: str = TrackingOpt,
):
    """Make a trained candidate the shipped model (models/framing) and framing@champion."""
    from framing.training.experiment import promote

    output = promote(run, output, candidates_dir=candidates, tracking_uri=tracking_uri)
    console.print(f"shipped {run} to {output}")


@app.command("serve")
def serve_cli(
    model: str = ModelOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; 0.0.0.0 for every one (the server has no authentication)."),
    port: int = typer.Option(5001, "--port", "-p", help="Port to listen on."),
    timeout: int = typer.Option(config.SERVE_TIMEOUT, "--timeout", "-t", min=1, help="Seconds a request may take before it is answered 504; the shipped model scores about 5 paragraphs a second on 2 cores."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Server processes, each loading its own copy of the model: more answer more requests at once, at that much more memory."),
    tracking_uri: str = TrackingOpt,
):
    """Serve the model over REST with mlflow's scoring server: POST /invocations with {"dataframe_records": [{"text": "..."}]}.

    Runs `mlflow models serve --env-manager local` in this environment, offline; stop it with Ctrl-C.
    """
    import os

    from framing.training.tracking import serve_command

    argv, env = serve_command(model, host=host, port=port, timeout=timeout, workers=workers, tracking_uri=tracking_uri)
    console.print(f"serving {model} on http://{host}:{port}/invocations", highlight=False, soft_wrap=True)
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


annotate_app = typer.Typer(help="Grow the labelled set: export uncertain paragraphs, import filled labels, measure agreement.", no_args_is_help=True)
app.add_typer(annotate_app, name="annotate")


class Strategy(str, enum.Enum):
    """How ``annotate export`` picks paragraphs."""

    uncertain = "uncertain"
    random = "random"


class Part(str, enum.Enum):
    """Which articles ``annotate export`` draws from."""

    train = "train"
    test = "test"


@annotate_app.command("export")
def annotate_export_cli(
    inputs: list[Path] = Inputs,
    output: Path = typer.Option(Path("annotation/batch.csv"), "--output", "-o", help="CSV to fill in; the Label Studio files are written beside it."),
    n: int = typer.Option(100, "--n", "-n", min=1, help="How many paragraphs to pick."),
    strategy: Strategy = typer.Option(
        Strategy.uncertain, help="uncertain: the paragraphs the model is least sure about; random: a random draw, for unbiased measurement and calibration.",
    ),
    seed: int = typer.Option(0, help="Random seed of --strategy random."),
    part: Part = typer.Option(
        Part.train, help="train: articles outside the test part; test: only the test part's articles, to grow it (random draws only, so no model chooses its own test).",
    ),
    model: str = typer.Option(str(config.MODEL_DIR), "--model", "-m", help="Model that ranks paragraphs for --strategy uncertain."),
    skip_bad: bool = SkipBad,
):
    """Pick paragraphs of INPUTS for labelling, spread across outlets: the most uncertain, or a random draw.

    Paragraphs already labelled are never picked, nor articles of the held-back test part unless --part test.
    """
    from framing.training.annotate import export_batch, pick_random, pick_uncertain
    from framing.frames import FrameScheme
    from framing.training.labels import load_label_files, test_articles
    from framing.analysis.score import score_paragraphs

    if part is Part.test and strategy is not Strategy.random:
        raise FramingError("--part test draws at random: pass --strategy random (a model must not pick its own test paragraphs)")
    from framing.files import writable_file

    writable_file(output)
    paragraphs = _paragraphs(inputs, skip_bad)
    labelled = load_label_files()
    exclude = set(zip(labelled.article_id, labelled.paragraph_index))
    in_test = paragraphs["article_id"].isin(test_articles())
    paragraphs = paragraphs[in_test if part is Part.test else ~in_test]
    if strategy is Strategy.random:
        picked = pick_random(paragraphs, n, seed=seed, exclude=exclude)
    else:
        loaded = _load(model)
        scored = score_paragraphs(paragraphs, loaded, progress=True).assign(
            title=paragraphs["title"].to_numpy(), text_hash=paragraphs["text_hash"].to_numpy()
        )
        picked = pick_uncertain(scored, n, thresholds=loaded.thresholds_, exclude=exclude)
    if picked.empty:
        raise FramingError(f"no unlabelled paragraphs to pick from the {part.value} part's articles")
    files = export_batch(picked, output, FrameScheme.load())
    console.print(f"{len(picked)} paragraphs from {picked['outlet'].nunique()} outlets:")
    for kind, path in files.items():
        console.print(f"  {kind}: {path}")


@annotate_app.command("import")
def annotate_import_cli(
    filled: Path = typer.Argument(..., help="A filled export CSV or a Label Studio JSON export.", show_default=False),
    target: Path = typer.Option(config.LABELS_DIR / "annotated.csv", "--into", help="Label file to add the labels to."),
    codebook: Path = typer.Option(config.CODEBOOK_PATH, help="Frame scheme the labels must use."),
):
    """Read labels back into the labelled set, checking frame names and text hashes."""
    from framing.training.annotate import import_labels
    from framing.frames import FrameScheme

    total = import_labels(filled, target, scheme=FrameScheme.load(codebook), labels_dir=config.LABELS_DIR)
    console.print(f"{target} now holds {total} labels")


@annotate_app.command("agreement")
def annotate_agreement_cli(
    a: Path = typer.Argument(..., help="First label file.", show_default=False),
    b: Path = typer.Argument(..., help="Second label file, labelled independently.", show_default=False),
    codebook: Path = typer.Option(config.CODEBOOK_PATH, help="Frame scheme of both files."),
):
    """Per-frame Cohen's kappa and F1 between two label files on the paragraphs they share."""
    from rich.table import Table

    from framing.training.annotate import agreement
    from framing.frames import FrameScheme
    from framing.training.labels import read_label_file

    scheme = FrameScheme.load(codebook)
    scores = agreement(read_label_file(a, scheme), read_label_file(b, scheme), scheme.names)
    table = Table(title=f"agreement of {b.name} with {a.name}")
    for column in scores.columns:
        table.add_column(column, justify="left" if column == "frame" else "right")
    for row in scores.itertuples(index=False):
        table.add_row(row.frame, str(row.n), str(row.positives_a), str(row.positives_b), f"{row.kappa:.3f}", f"{row.f1:.3f}")
    _out().print(table)


def _show_warning(message, category, *args, **kwargs) -> None:
    if issubclass(category, FramingWarning):
        _warn(str(message))


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 1."""
    warnings.showwarning = _show_warning
    try:
        app()
    except FramingError as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except OSError as err:
        console.print(f"[red]error:[/] {err.strerror or err}: {err.filename or ''}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        raise SystemExit(130) from None
