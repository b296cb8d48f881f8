"""End-to-end edits on the tiny random SD3 and Flux presets (real diffusers classes, no weights)."""

import numpy as np
import pytest
import torch

from ems_core import EditConfig, EditSession, load_backend

CONFIG = EditConfig(steps=6, start_time=0.7, inversion_fixed_point=1, refine_iters=2)


@pytest.fixture(scope="module", params=["tiny-random-sd3", "tiny-random-flux"])
def backend(request):
    return load_backend(request.param)


def test_edit_runs_and_caches(backend, scene_image):
    session = EditSession(backend, scene_image, prompt="a red circle on a white background", config=CONFIG)
    assert session.image.size == (backend.info.image_size,) * 2
    session.set_attribute("colour", "red", "blue")
    session.set_attribute("background", "white background", "black background")
    first = session.render({"colour": 0.5, "background": 0.25})
    second = session.render({"colour": 1.0, "background": -0.5})
    assert first.image.size == second.image.size == session.image.size
    assert second.cache_hit and session.preparations == 1 and second.nfe == session.edit_nfe()
    zero = session.render({"colour": 0.0, "background": 0.0})
    assert np.array_equal(np.asarray(zero.image), np.asarray(session.reconstruct().image))
    assert not np.array_equal(np.asarray(second.image), np.asarray(zero.image))


def test_latent_shape_matches_a_real_encode(backend):
    """The config-derived latent shape equals what encoding an image actually gives."""
    for size in (backend.info.image_size, 64):
        with torch.no_grad():
            encoded = backend.encode_image(torch.zeros(1, 3, size, size))
        assert backend.latent_shape(size, size) == tuple(encoded.shape[1:])
        assert encoded.dtype == torch.float32
