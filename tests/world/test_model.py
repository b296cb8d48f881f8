"""The bundled model: training smoke test (tiny config), shipped weights, and a faithfulness check."""

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ems_core import EditConfig, EditSession, generate, load_backend
from ems_core.backends.world import BUNDLED_MODEL_DIR, load_world_backend
from ems_core.metrics import psnr
from ems_core.world.model import TINY_TEST_CONFIG, WordTokenizer
from ems_core.world.oracle import ATTRIBUTES, agreement, measure
from ems_core.world.scene import caption_of, random_scene, render
from ems_core.world.train import (TrainConfig, export, logit_normal_t, train_autoencoder, train_transformer, training_t,
                                  uniform_share_at)


def test_tokenizer_round_trip_and_unknown_words():
    tokenizer = WordTokenizer.for_world()
    ids = tokenizer(["a red circle", "a crimson blob"])
    assert ids.shape == (2, 16) and ids[0, 0] == tokenizer.bos_id and tokenizer.eos_id != 2
    assert tokenizer.unknown_words("a crimson blob") == ["crimson", "blob"]
    assert ids[1, 2] == tokenizer.index["<unk>"]


def test_training_noise_levels_keep_logit_normal_unless_a_uniform_share_is_asked():
    def draw(share: float, batch: int = 32) -> torch.Tensor:
        return training_t(batch, torch.Generator().manual_seed(0), share)

    assert torch.equal(draw(0.0), logit_normal_t(32, torch.Generator().manual_seed(0)))  # runs resume unchanged
    mixed = draw(0.5)
    assert torch.equal(mixed[16:], draw(0.0)[16:]) and not torch.equal(mixed[:16], draw(0.0)[:16])
    many = torch.cat([training_t(1000, torch.Generator().manual_seed(seed), 1.0) for seed in range(4)])
    near_noise = (many > 0.9).float().mean()  # uniform: 10% above 0.9; logit-normal: 1.4%
    assert 0.08 < near_noise < 0.12 and (draw(0.0, 4000) > 0.9).float().mean() < 0.03
    assert 0 < float(many.min()) and float(many.max()) < 1


def test_the_uniform_share_starts_at_its_step():
    late = TrainConfig(uniform_t_share=0.5, uniform_t_from=36000)
    assert [uniform_share_at(step, late) for step in (0, 35999, 36000, 38999)] == [0.0, 0.0, 0.5, 0.5]
    assert uniform_share_at(0, TrainConfig(uniform_t_share=0.25)) == 0.25  # from step 0 by default
    assert uniform_share_at(10**6, TrainConfig()) == 0.0


def test_training_smoke_resumes_and_exports(tmp_path):
    run = tmp_path / "run"
    config = TrainConfig(steps=3, batch_size=4, checkpoint_every=1, log_every=1, threads=1)
    logs: list[str] = []
    train_autoencoder(run, config, log=logs.append)
    train_transformer(run, TrainConfig(steps=2, batch_size=4, checkpoint_every=1, log_every=1, threads=1),
                      TINY_TEST_CONFIG, log=logs.append)
    train_transformer(run, TrainConfig(steps=4, batch_size=4, checkpoint_every=1, log_every=1, threads=1),
                      TINY_TEST_CONFIG, log=logs.append)
    assert "resumed transformer at step 2" in logs
    losses = [json.loads(line)["loss"] for line in logs if line.startswith("{") and '"loss"' in line]
    assert all(loss > 0 for loss in losses)
    export(run, tmp_path / "model", log=logs.append)
    backend = load_world_backend(tmp_path / "model")
    image = generate(backend, ["a small red circle at the top left on a white background"], [0], steps=2)[0]
    assert image.size == (64, 64)


def test_the_autoencoder_trains_under_bfloat16_autocast_when_asked_and_keeps_float32_weights(tmp_path, monkeypatch):
    entered = []
    real_autocast = torch.autocast

    def recording_autocast(device_type, dtype=None, enabled=True, **kwargs):
        entered.append((dtype, enabled))
        return real_autocast(device_type, dtype=dtype, enabled=enabled, **kwargs)

    monkeypatch.setattr(torch, "autocast", recording_autocast)
    logs: list[str] = []
    config = TrainConfig(steps=2, batch_size=4, checkpoint_every=1, log_every=1, threads=1, autoencoder_bf16=True)
    train_autoencoder(tmp_path / "run", config, log=logs.append)
    assert entered == [(torch.bfloat16, True)] * 2
    losses = [json.loads(line)["loss"] for line in logs if line.startswith("{") and '"loss"' in line]
    assert len(losses) == 2 and all(0 < loss < 10 for loss in losses)
    weights = torch.load(tmp_path / "run" / "autoencoder.pt", weights_only=False)["model"]
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}
    entered.clear()
    train_autoencoder(tmp_path / "default", replace(config, autoencoder_bf16=False), log=lambda line: None)
    assert entered == [(torch.bfloat16, False)] * 2  # float32 unless asked


def test_compile_runs_the_transformer_through_torch_compile_and_checkpoints_stay_plain(tmp_path, monkeypatch):
    run = tmp_path / "run"
    config = TrainConfig(steps=2, batch_size=4, checkpoint_every=1, log_every=1, threads=1)
    train_autoencoder(run, config, log=lambda line: None)
    compiled, calls = [], []

    def fake_compile(module):  # what torch.compile returns: a callable over the same module
        compiled.append(module)
        return lambda **kwargs: calls.append(kwargs) or module(**kwargs)

    monkeypatch.setattr(torch, "compile", fake_compile)
    train_transformer(run, replace(config, compile=True), TINY_TEST_CONFIG, log=lambda line: None)
    assert len(compiled) == 1 and type(compiled[0]).__name__ == "SD3Transformer2DModel" and len(calls) == 2
    keys = torch.load(run / "transformer.pt", weights_only=False)["transformer"].keys()
    assert keys == compiled[0].state_dict().keys() and not any("_orig_mod" in k for k in keys)


@pytest.mark.slow
def test_shipped_weights_load_offline_and_are_small():
    files = [p for p in BUNDLED_MODEL_DIR.rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in files)
    assert not any(p.suffix in (".bin", ".pt", ".pth", ".ckpt") for p in files)
    assert sum(p.stat().st_size for p in files) < 50 * 2**20
    backend = load_backend("world")
    assert backend.info.family == "world" and backend.latent_shape() == (8, 16, 16)


@pytest.mark.slow
def test_generation_is_faithful_on_a_small_sample():
    """16 fresh captions: every attribute must be right in at least 14 (the card reports 500)."""
    backend = load_backend("world")
    rng = random.Random(2024)
    captions = [caption_of(random_scene(rng)) for _ in range(16)]
    images = generate(backend, captions, list(range(16)))
    hits = {name: 0 for name in ATTRIBUTES}
    for caption, image in zip(captions, images):
        for name, ok in agreement(caption, measure(image)).items():
            hits[name] += ok
    assert min(hits.values()) >= 14, hits


@pytest.mark.slow
def test_inversion_round_trip_is_faithful():
    backend = load_backend("world")
    rng = random.Random(99)
    values = []
    for _ in range(3):
        scene = random_scene(rng)
        image = render(scene)
        session = EditSession(backend, image, prompt=caption_of(scene), config=EditConfig())
        values.append(psnr(image, session.reconstruct().image))
    assert min(values) > 27.0, values
