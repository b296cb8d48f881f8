"""What an imperfect generator or editor does to a picture, as seeded functions ``(image, rng) -> image``.

The oracles are tested and benchmarked on renders passed through these (an oracle that reads only pixel-perfect
renders would misjudge a model's output): each factory fixes its strength, and :func:`chained` applies several in
order with the same generator, so a condition is reproducible from one seed.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter

Degradation = Callable[[Image.Image, np.random.Generator], Image.Image]


def to_image(pixels: np.ndarray) -> Image.Image:
    """Float RGB values rounded and clipped to an 8-bit image."""
    return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8))


def gaussian_blur(sigma: float) -> Degradation:
    def blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        return image.filter(ImageFilter.GaussianBlur(sigma))
    return blur


def pixel_noise(std: float) -> Degradation:
    """Independent Gaussian noise of ``std`` levels (of 255) on every pixel and channel."""
    def noise(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        pixels = np.asarray(image, dtype=np.float64)
        return to_image(pixels + rng.normal(0.0, std, pixels.shape))
    return noise


def jpeg(quality: int) -> Degradation:
    def compressed(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return compressed


def slow_shading(std: float, cells: int = 4) -> Degradation:
    """Slow colour blotches, as a generative model paints them on flat skin: per channel, a ``cells`` x ``cells``
    grid of values (``std`` levels) upsampled bicubically over the whole image."""
    def shading(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        pixels = np.asarray(image, dtype=np.float64)
        size = (pixels.shape[1], pixels.shape[0])
        field = [np.asarray(Image.fromarray(rng.normal(0.0, std, (cells, cells)).astype(np.float32), mode="F")
                            .resize(size, Image.BICUBIC), dtype=np.float64) for _ in range(3)]
        return to_image(pixels + np.stack(field, axis=-1))
    return shading


def chained(*degradations: Degradation) -> Degradation:
    """Each of ``degradations`` in turn, sharing the generator."""
    def all_of(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        for degrade in degradations:
            image = degrade(image, rng)
        return image
    return all_of
