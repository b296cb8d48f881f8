"""The registry: names, folders and hub ids; the contract's shared promises on the bundled architecture."""

import pytest
import torch

from ems_core.backends import Backend, CountingBackend, load_backend, register_backend, registered_backends
from ems_core.backends.tiny import seeded, tiny_random_world
from ems_core.embeddings import PromptEmbedding


def test_presets_and_known_hub_ids_are_registered():
    names = registered_backends()
    assert {"world", "tiny-random-world", "tiny-random-sd3", "tiny-random-flux"} <= set(names)
    assert all(description for description in names.values())
    assert "stabilityai/stable-diffusion-3.5-large-turbo" in names  # turbo: settings its config cannot tell


def test_register_backend_passes_options_and_defaults():
    calls = []

    def loader(name_or_path, *, device, dtype, cpu_offload, **defaults):
        calls.append((name_or_path, device, dtype, cpu_offload, defaults))
        return tiny_random_world(device=device, dtype=dtype)

    register_backend("test-registered", loader, defaults={"default_steps": 3}, description="a test entry")
    backend = load_backend("test-registered", dtype="float32")
    assert isinstance(backend, Backend)
    assert calls == [("test-registered", torch.device("cpu"), torch.float32, False, {"default_steps": 3})]
    with pytest.raises(ValueError, match="needs a name"):
        register_backend(" ", loader)


def test_tiny_world_honours_dtype_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    backend = load_backend("tiny-random-world", dtype=torch.float64)
    assert torch.equal(torch.rand(3), expected)  # building it drew nothing from the global generator
    assert backend.dtype == torch.float64 and next(backend.transformer.parameters()).dtype == torch.float64
    with seeded(5):
        a = torch.rand(2)
    with seeded(5):
        assert torch.equal(torch.rand(2), a)


def test_world_contract_returns_the_inputs_dtype_and_checks_sizes(tiny_world):
    images = torch.zeros(1, 3, 64, 64, dtype=torch.float64)
    latents = tiny_world.encode_image(images)
    assert latents.dtype == torch.float64 and tuple(latents.shape[1:]) == tiny_world.latent_shape() == (8, 16, 16)
    assert tiny_world.decode_latent(latents).dtype == torch.float64
    embedding = tiny_world.encode_prompt(["a red circle"])
    v = tiny_world.velocity(latents, torch.full((1,), 0.5), embedding)
    assert v.dtype == torch.float64
    with pytest.raises(ValueError, match="64x64 only"):
        tiny_world.latent_shape(128, 128)
    assert torch.equal(tiny_world.sigmas(4, 64, 64), tiny_world.sigmas(4))


def test_counting_backend_counts_rows_and_forwards(tiny_world):
    counted = CountingBackend(tiny_world)
    embedding = PromptEmbedding.cat([tiny_world.encode_prompt([""])] * 3)
    with torch.no_grad():
        counted.velocity(torch.zeros(3, 8, 16, 16), torch.full((3,), 0.5), embedding)
    assert counted.evaluations == 3 and counted.info is tiny_world.info
    assert counted.latent_shape() == tiny_world.latent_shape()
    assert type(counted.default_captioner()) is type(tiny_world.default_captioner())


@pytest.mark.parametrize("device, message", [
    ("cuda", r"device 'cuda' is not available here"),
    ("cuda:7", r"device 'cuda:7' (is not available here|does not exist)"),
    ("mps", r"device 'mps' is not available here"),
    ("gpu", r"unknown device 'gpu'; use cpu, cuda, cuda:N or mps"),
])
def test_missing_devices_are_refused_before_loading(device, message, monkeypatch):
    from ems_core.backends.registry import check_device

    if device.startswith("cuda") and torch.cuda.device_count() > 7 or device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has that device")
    if device == "cuda" and torch.cuda.is_available():
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loads = []
    register_backend("test-device", lambda *a, **k: loads.append(1))
    with pytest.raises(ValueError, match=message):
        load_backend("test-device", device=device)
    assert loads == [] and check_device("cpu") == torch.device("cpu")


def test_the_bundled_models_slider_move_costs_at_most_8_evaluations(tiny_world, scene_image):
    """The world's edit settings (also those of tiny-random-world): 8 NFE a move, 4 a preview, 0 a revisit."""
    from ems_core import EditSession
    from ems_core.config import preview_config

    session = EditSession(tiny_world, scene_image, prompt="a large red circle at the top left on a white background")
    assert session.config == tiny_world.info.edit_config
    session.set_attribute("colour", "red", "blue")
    with torch.no_grad():
        session.render({"colour": 0.2})
        move = session.render({"colour": 0.6})
        assert move.nfe == session.edit_nfe() <= 8
        assert session.render({"colour": 0.2}).nfe == 0
        preview = session.render({"colour": 0.4}, preview_config(session.config, tiny_world.info.default_steps))
    assert preview.nfe <= 4
