"""The shipped model behind `mlflow models serve`, the REST face for pipelines and apps."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from framing import config

FRAMES = ["security_risk", "political_power_play", "user_privacy", "competition"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path_factory.mktemp('serve') / 'db.sqlite'}"}
    process = subprocess.Popen(
        [f"{bin_dir}/mlflow", "models", "serve", "-m", str(config.MODEL_DIR), "--env-manager", "local",
         "--host", "127.0.0.1", "-p", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"mlflow models serve exited: {process.stderr.read().decode()[-2000:]}")
            time.sleep(1)
    else:
        process.kill()
        pytest.fail("mlflow models serve did not answer within 180 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_rest_invocations_return_frame_probabilities_and_frames(server):
    body = json.dumps({"dataframe_records": [{"text": "The Pentagon banned the app from military phones over security fears."}]})
    request = urllib.request.Request(f"{server}/invocations", data=body.encode(), headers={"Content-Type": "application/json"})
    answer = json.loads(urllib.request.urlopen(request, timeout=120).read())
    row = answer["predictions"][0]
    assert set(FRAMES) <= set(row) and all(0 <= row[f] <= 1 for f in FRAMES)
    assert "security_risk" in row["frames"]
