"""Pixel metrics between two images."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["psnr"]


def psnr(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two 8-bit RGB images: ``10 log10(255^2 / MSE)``."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
