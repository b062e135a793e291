import re

import numpy as np
import pytest

from framing.model.embed import Embedder
from framing.schema import FramingError
from framing.model.tune import LoraAdapter, fine_tune

TEXTS = [
    "Officials said the app posed a security risk to federal networks.",
    "Amazon said the email had been sent in error.",
    "Trump threatened to ban TikTok as leverage over Beijing.",
    "The app collects users' location and browsing data.",
]
Y = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])


@pytest.fixture(scope="module")
def adapter():
    """One real epoch of LoRA on the packaged MiniLM: 4 texts, repeated to make 4 batches."""
    return fine_tune(Embedder(cache_dir=None), TEXTS * 4, np.tile(Y, (4, 1)), epochs=1, rank=4, batch_size=4)


def test_fine_tuning_trains_a_low_rank_update_of_every_attention_projection(adapter):
    assert len(adapter.weights) == 6 * 4  # MiniLM-L6: query, key, value, output of 6 layers
    a, b = adapter.weights["encoder.layer.0.attention.self.query"]
    assert a.shape == (4, 384) and b.shape == (384, 4)
    assert adapter.size == 24 * 2 * 4 * 384


def test_adapted_embedder_embeds_differently_under_its_own_fingerprint(adapter):
    frozen, tuned = Embedder(cache_dir=None), Embedder(adapter=adapter, cache_dir=None)
    assert tuned.fingerprint != frozen.fingerprint
    assert not np.allclose(tuned.encode(TEXTS), frozen.encode(TEXTS), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(tuned.encode(TEXTS), axis=1), 1.0, rtol=1e-5)


def test_merging_adds_the_scaled_product_to_the_weights():
    rng = np.random.default_rng(0)
    name = "encoder.layer.2.attention.output.dense"
    a, b = rng.normal(size=(2, 384)).astype(np.float32), rng.normal(size=(384, 2)).astype(np.float32)
    body = Embedder(cache_dir=None).load_body()
    before = dict(body[0].auto_model.named_modules())[name].weight.detach().numpy().copy()
    LoraAdapter(rank=2, alpha=4.0, weights={name: (a, b)}).merge_into(body)
    after = dict(body[0].auto_model.named_modules())[name].weight.detach().numpy()
    np.testing.assert_allclose(after - before, 2.0 * b @ a, rtol=1e-4, atol=1e-4)


def test_adapter_round_trips_through_its_folder(adapter, tmp_path):
    adapter.save(tmp_path)
    loaded = LoraAdapter.load(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter.json", "adapter.npz"]
    assert loaded.digest == adapter.digest and (loaded.rank, loaded.alpha) == (4, 16.0)


def test_folder_without_adapter_loads_none(tmp_path):
    assert LoraAdapter.load(tmp_path) is None


def test_adapter_of_another_model_is_a_clear_error():
    mpnet_shaped = LoraAdapter(rank=8, alpha=16, weights={"encoder.layer.0.attn.q": (np.zeros((8, 768)), np.zeros((768, 8)))})
    with pytest.raises(FramingError, match=re.escape("the LoRA adapter does not fit this embedding model")):
        Embedder(adapter=mpnet_shaped, cache_dir=None).encode(["x"])


def test_fine_tuning_needs_one_label_row_per_text():
    with pytest.raises(FramingError, match="got 4 texts and 3 rows"):
        fine_tune(Embedder(cache_dir=None), TEXTS, Y[:3])
