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


# ----- hostile folders and an unreachable hub: one line, fast ---------------------------------------------

@pytest.fixture()
def sd3_copy(sd3_folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(sd3_folder, tmp_path / "sd3-copy"))


def pickle_only(folder: Path) -> None:
    """Replace a component's safetensors by a pickle file holding something other than tensors."""
    import collections
    import pickle

    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(collections.Counter(a=1)))


@pytest.mark.parametrize("break_it, message", [
    (lambda f: pickle_only(f / "text_encoder"),
     r"component 'text_encoder' has only pickle weights \(pytorch_model.bin\); EMS Studio loads safetensors only"),
    (lambda f: (f / "vae" / "config.json").unlink(), r"component 'vae' \(AutoencoderKL\) has no config.json"),
    (lambda f: (f / "transformer" / "diffusion_pytorch_model.safetensors").unlink(),
     r"component 'transformer' \(SD3Transformer2DModel\) has no weights"),
    (lambda f: __import__("shutil").rmtree(f / "text_encoder_2"), r"component 'text_encoder_2' .* has no folder"),
    (lambda f: (f / "model_index.json").write_text("{not json"), r"model_index.json is not readable JSON"),
    (lambda f: (f / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"\x00" * 64),
     r"could not be loaded as a StableDiffusion3Pipeline \(\w+Error: "),
])
def test_broken_folders_are_one_line_errors_naming_the_component(sd3_copy: Path, break_it, message):
    break_it(sd3_copy)
    with pytest.raises(ValueError, match=message) as error:
        load_pretrained(str(sd3_copy))
    text = str(error.value)
    assert "\n" not in text and str(sd3_copy.parent) not in text.split("'", 2)[2]  # no other absolute paths


def test_the_cli_reports_a_pickle_only_folder_in_one_line(sd3_copy: Path, tmp_path: Path, capsys):
    from ems_core.cli import main

    pickle_only(sd3_copy / "text_encoder")
    image = tmp_path / "in.png"
    __import__("PIL.Image").Image.new("RGB", (32, 32)).save(image)
    code = main(["edit", "--model", str(sd3_copy), "--image", str(image), "--prompt", "a cat", "--edit",
                 "cat->dog=1", "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "only pickle weights" in err[0]


@pytest.fixture()
def hub_at(monkeypatch: pytest.MonkeyPatch):
    """Pretend to be online with the hub at ``endpoint`` (no proxy)."""
    def point(endpoint: str, timeout: float = 3.0) -> None:
        import ems_core.backends.hub as hub

        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)
        monkeypatch.setattr(hub, "HUB_PROBE_TIMEOUT_S", timeout)
        for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
    return point


def test_offline_hub_id_fails_at_once_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import time

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"not in the local cache .* and HF_HUB_OFFLINE is set"):
        load_pretrained("nobody-here/no-such-model")
    assert time.perf_counter() - started < 1.0


@pytest.fixture()
def silent_server():
    """A local TCP port that accepts connections and never answers (a black-holed hub)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.parametrize("where", ["refused", "silent"])
def test_unreachable_hub_fails_within_the_probe_timeout(hub_at, silent_server, tmp_path: Path, monkeypatch, where):
    """The hub client alone retried for 23 s here (49 s where connections time out); the probe gives up at once
    on a refused connection and after the timeout on a silent one."""
    import time

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    hub_at("http://127.0.0.1:9" if where == "refused" else silent_server, timeout=0.5)
    for load in (load_pretrained, load_backend):  # the registry checks before importing diffusers' loaders
        started = time.perf_counter()
        with pytest.raises(ValueError, match=r"not in the local cache .* could not be reached within 0.5 s \(offline\?\)"):
            load("nobody-here/no-such-model")
        assert time.perf_counter() - started < 2.0


def test_cached_hub_id_loads_without_the_network(hub_at, sd3_folder: Path, tmp_path: Path, monkeypatch):
    """A model in the local cache loads while the hub is unreachable (no retries, no waiting)."""
    import shutil
    import time

    cache = tmp_path / "cache"
    repo = cache / "models--someone--tiny-sd3"
    shutil.copytree(sd3_folder, repo / "snapshots" / ("0" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    hub_at("http://127.0.0.1:9")
    started = time.perf_counter()
    backend = load_pretrained("someone/tiny-sd3")
    assert isinstance(backend, SD3Backend) and time.perf_counter() - started < 10.0
