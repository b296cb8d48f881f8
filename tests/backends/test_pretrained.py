"""Loading diffusers models by folder or hub id: tiny pipelines saved with ``save_pretrained`` and
loaded back, and clear errors for everything that is not an SD3 or Flux pipeline (offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before diffusers / huggingface_hub are imported

import huggingface_hub.constants
import pytest
import torch
from diffusers import FluxPipeline, StableDiffusion3Pipeline

from ems_core.backends import load_backend
from ems_core.backends.flux import FluxBackend
from ems_core.backends.pretrained import load_pretrained, pipeline_class_name
from ems_core.backends.sd3 import SD3Backend
from ems_core.backends.tiny import (
    tiny_flux_components,
    tiny_random_flux,
    tiny_random_sd3,
    tiny_sd3_components,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: the hub client answers at once instead of retrying for half a minute."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def sd3_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-sd3")
    StableDiffusion3Pipeline(**tiny_sd3_components(seed=0)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def flux_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-flux")
    FluxPipeline(**tiny_flux_components(seed=0)).save_pretrained(folder)
    return folder


def same_velocity(a, b, size: int) -> bool:
    """Both backends give the same velocity for one input and embedding."""
    z = torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(0))
    emb, t = b.encode_prompt(["a red cat"]), torch.tensor([0.7])
    return torch.allclose(a.velocity(z, t, emb), b.velocity(z, t, emb), atol=1e-6)


def test_sd3_folder_round_trip(sd3_folder: Path):
    assert pipeline_class_name(str(sd3_folder)) == "StableDiffusion3Pipeline"
    backend = load_pretrained(str(sd3_folder))
    assert isinstance(backend, SD3Backend) and backend.dtype == torch.float32
    assert backend.info.family == "sd3" and backend.info.name == str(sd3_folder)
    reference = tiny_random_sd3()
    assert same_velocity(backend, reference, 32)
    loaded, built = backend.encode_prompt(["a red cat", ""]), reference.encode_prompt(["a red cat", ""])
    # CLIP tokens and pooled agree; the T5 part differs in length (256 tokens by default, 32 in the preset).
    assert torch.equal(loaded.pooled, built.pooled)
    assert torch.equal(loaded.tokens[:, :77], built.tokens[:, :77])
    assert torch.equal(backend.sigmas(4), reference.sigmas(4))


def test_flux_folder_round_trip_through_the_registry(flux_folder: Path):
    backend = load_backend(str(flux_folder))
    assert isinstance(backend, FluxBackend) and backend.info.family == "flux"
    assert backend.info.extras["max_sequence_length"] == 512  # FLUX.1-dev-like: guidance embedding
    reference = tiny_random_flux()
    assert same_velocity(backend, reference, 32)
    assert torch.equal(backend.encode_prompt([""]).pooled, reference.encode_prompt([""]).pooled)


def test_presets_come_from_the_registry():
    assert isinstance(load_backend("tiny-random-sd3"), SD3Backend)
    assert isinstance(load_backend("tiny-random-flux", dtype="float32"), FluxBackend)


def test_missing_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="neither a preset nor an existing diffusers folder.*tiny-random"):
        load_pretrained(str(tmp_path / "no-such-model"))
    with pytest.raises(ValueError, match="no-such-model"):
        load_backend("/nonexistent/no-such-model")


def test_folder_without_model_index_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="no model_index.json"):
        load_pretrained(str(tmp_path))


def test_unsupported_pipeline_is_a_clear_error(tmp_path: Path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ValueError, match="StableDiffusionPipeline, which EMS Studio does not support"):
        load_pretrained(str(tmp_path))


def test_unreachable_hub_id_is_a_clear_error():
    with pytest.raises(ValueError, match="could not be read from the Hugging Face hub.*tiny-random-flux"):
        load_pretrained("nobody-here/no-such-model")
