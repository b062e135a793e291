"""The REST face for pipelines and apps: `framing serve`, a thin convenience over `mlflow models serve`.

Each server is started on 127.0.0.1 and a free port inside the test, as a user starts it, and stopped after.
"""

import json
import os
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from framing import config
from framing.training.tracking import serve_command

from conftest import FRAMING, free_port, run_cli, running_server

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]
PENTAGON = "The Pentagon banned the app from military phones over security fears."


@contextmanager
def serving(model: Path, tmp: Path, *, wait: float = 180):
    """`framing serve --model MODEL` on a free port, run from ``tmp``; yields its URL once /ping answers, then stops it."""
    port = free_port()
    args = [FRAMING, "serve", "--model", str(model), "--port", str(port), "--tracking-uri", f"sqlite:///{tmp / 'mlflow.db'}"]
    with running_server(args, f"http://127.0.0.1:{port}", "/ping", "framing serve", wait=wait, cwd=tmp) as url:
        yield url


def post(url: str, body: bytes | str | dict, timeout: float = 120) -> tuple[int, dict]:
    """POST ``body`` (a dict is sent as JSON) to /invocations; the status and the decoded JSON answer."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body if isinstance(body, bytes) else body.encode()
    request = urllib.request.Request(f"{url}/invocations", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def records(*texts) -> dict:
    return {"dataframe_records": [{"text": t} for t in texts]}


@pytest.fixture(scope="module")
def server(trained_seed_model, tmp_path_factory):
    """The small MiniLM model (saved with this checkout's serving code) behind `framing serve`."""
    result, _ = trained_seed_model
    with serving(result.candidate, tmp_path_factory.mktemp("serve")) as url:
        yield url


def test_serve_command_runs_mlflow_models_serve_from_this_venv_offline(trained_seed_model):
    result, _ = trained_seed_model
    argv, env = serve_command(result.candidate, port=5099, tracking_uri="sqlite:///x.db")
    bin_dir = str(Path(sys.executable).parent)
    assert argv == [f"{bin_dir}/mlflow", "models", "serve", "-m", str(result.candidate.resolve()), "--env-manager", "local",
                    "--host", "127.0.0.1", "--port", "5099", "--timeout", str(config.SERVE_TIMEOUT), "--workers", "1"]
    assert env["PATH"].split(os.pathsep)[0] == bin_dir
    assert (env["HF_HUB_OFFLINE"], env["TRANSFORMERS_OFFLINE"], env["MLFLOW_TRACKING_URI"]) == ("1", "1", "sqlite:///x.db")


def test_serve_refuses_a_folder_that_is_not_a_model(tmp_path):
    done = run_cli("serve", "--model", tmp_path)
    assert done.returncode == 1
    assert f"{tmp_path}: not a framing model folder (no MLmodel file)" in done.stderr


def test_rest_answers_frame_probabilities_and_frames(server):
    status, answer = post(server, records(PENTAGON, "The company declined to comment."))
    assert status == 200 and len(answer["predictions"]) == 2
    row = answer["predictions"][0]
    assert list(row) == [*FRAMES, "frames"] and all(0 <= row[f] <= 1 for f in FRAMES)
    assert "security_risk" in row["frames"]


def test_rest_answers_a_blank_text_with_the_empty_texts_probabilities_and_no_frames(server):
    status, answer = post(server, records("", "   \n"))
    empty, blank = answer["predictions"]
    assert status == 200 and empty["frames"] == blank["frames"] == []
    assert [blank[f] for f in FRAMES] == pytest.approx([empty[f] for f in FRAMES], abs=1e-6)


BAD_REQUESTS = {
    "malformed JSON": (b'{"dataframe_records": [{"text": "a"', "Invalid input. Ensure that input is a valid JSON formatted string."),
    "a JSON list": (b'[{"text": "a"}]', "Received a list."),
    "no text column": ({"dataframe_records": [{"body": "a"}]}, "Model is missing inputs ['text']"),
    "an empty record list": ({"dataframe_records": []}, "Model is missing inputs ['text']"),
    "a number": (records(PENTAGON, 5), "record 1: 'text' must be a string, got int 5"),
    "a list": (records(["a", "b"]), "record 0: 'text' must be a string, got list ['a', 'b']"),
    "null": (records(None), "record 0: 'text' is null; send a string (\"\" for an empty text)"),
    "a 1 MB text": (records("a" * 1_000_000), "record 0: 'text' has 1,000,000 characters, over the limit of 100,000; send it as shorter paragraphs"),
}


@pytest.mark.parametrize("body, message", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_rest_answers_a_bad_request_400_with_its_reason_and_keeps_serving(server, body, message):
    status, answer = post(server, body)
    assert status == 400 and re.search(re.escape(message), answer["message"])
    assert post(server, records(PENTAGON))[0] == 200


def test_rest_answers_200_requests_from_8_concurrent_clients_each_with_its_own_answer(server):
    texts = [PENTAGON, "Regulators weighed a ban on the app.", "Sales of the phone rose in Europe.", "The senator accused the company of spying."]
    expected = post(server, records(*texts))[1]["predictions"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: (i, *post(server, records(texts[i % 4]))), range(200)))
    assert [status for _, status, _ in answers] == [200] * 200
    for i, _, answer in answers:
        (row,) = answer["predictions"]
        assert row["frames"] == expected[i % 4]["frames"]
        assert [row[f] for f in FRAMES] == pytest.approx([expected[i % 4][f] for f in FRAMES], abs=1e-6)


def test_the_shipped_model_answers_over_rest(tmp_path):
    """The shipped all-mpnet-base-v2 model as `framing serve` serves it by default (about 40 s, most of it loading the model)."""
    with serving(config.MODEL_DIR, tmp_path) as url:
        status, answer = post(url, records(PENTAGON))
    assert status == 200 and "security_risk" in answer["predictions"][0]["frames"]
