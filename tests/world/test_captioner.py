"""The world captioner's out-of-domain check: renders pass, photos and oddities are flagged."""

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ems_core.world.captioner import WorldCaptioner
from ems_core.world.scene import random_scene, render

CAPTIONER = WorldCaptioner()


def degraded(image: Image.Image) -> Image.Image:
    """Upscaled, blurred and JPEG-compressed: how a render may come back from a user."""
    big = image.resize((256, 256), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1.5))
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=60)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def test_renders_and_degraded_renders_are_in_domain():
    rng = random.Random(4)
    for _ in range(40):
        image = render(random_scene(rng))
        assert CAPTIONER.out_of_domain(image) is None
        assert CAPTIONER.out_of_domain(degraded(image)) is None


def two_shapes() -> Image.Image:
    image = render(random_scene(random.Random(1)))
    draw = ImageDraw.Draw(image)
    draw.ellipse((2, 2, 20, 20), fill=(30, 60, 220))
    draw.rectangle((40, 40, 60, 60), fill=(250, 220, 30))
    return image


def olive_circle() -> Image.Image:
    image = Image.new("RGB", (64, 64), (245, 245, 245))
    ImageDraw.Draw(image).ellipse((16, 16, 48, 48), fill=(128, 128, 0))
    return image


@pytest.mark.parametrize("image, reason", [
    (Image.fromarray((np.random.RandomState(0).rand(64, 64, 3) * 255).astype("uint8")), "background"),
    (Image.fromarray(np.tile(np.linspace(0, 255, 64)[None, :, None], (64, 1, 3)).astype("uint8")), "background"),
    (Image.new("RGB", (64, 64), (200, 200, 200)), "no object"),
    (two_shapes(), "more than one object"),
    (olive_circle(), "colour is none"),
])
def test_out_of_domain_images_are_named(image, reason):
    assert reason in CAPTIONER.out_of_domain(image)
