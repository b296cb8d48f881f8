"""Pixel metrics between two images: PSNR, SSIM and mean absolute change on a region."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["SSIM_SIGMA", "SSIM_WINDOW", "mean_abs_change", "psnr", "ssim"]

SSIM_WINDOW = 11  # side of the Gaussian window in pixels (Wang et al. 2004)
SSIM_SIGMA = 1.5  # its standard deviation in pixels
SSIM_K1, SSIM_K2 = 0.01, 0.03  # stabilising constants, C_i = (K_i * 255)^2


def _pixels(image: Image.Image | np.ndarray) -> np.ndarray:
    """An 8-bit image (PIL, or an array on the 0-255 scale) as float64 (H, W, C)."""
    array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float64)
    return array[..., None] if array.ndim == 2 else array


def psnr(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two 8-bit RGB images: ``10 log10(255^2 / MSE)``."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    offsets = np.arange(size) - (size - 1) / 2
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def _filter_valid(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable weighted mean of (H, W, C) over every full window position: (H - k + 1, W - k + 1, C)."""
    k = len(window)
    rows = sum(window[i] * x[i:x.shape[0] - k + 1 + i] for i in range(k))
    return sum(window[j] * rows[:, j:x.shape[1] - k + 1 + j] for j in range(k))


def ssim(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray, window: int = SSIM_WINDOW,
         sigma: float = SSIM_SIGMA) -> float:
    """Mean structural similarity (Wang et al. 2004) of two 8-bit images, channels averaged.

    Per window position (Gaussian weights, ``window`` x ``window``, std ``sigma``; only positions where
    the window lies inside the image):

        SSIM = (2 mu_a mu_b + C1) (2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1) (var_a + var_b + C2)),

    ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``; the result is the mean over positions and channels,
    1 for identical images. Images smaller than the window use one window of their smaller side. This equals
    scikit-image's ``structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)`` (compared once by hand to 1e-15; not a dependency).
    """
    x, y = _pixels(a), _pixels(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    window = min(window, x.shape[0], x.shape[1])
    weights = _gaussian_window(window, sigma)
    c1, c2 = (SSIM_K1 * 255) ** 2, (SSIM_K2 * 255) ** 2
    mu_x, mu_y = _filter_valid(x, weights), _filter_valid(y, weights)
    var_x = _filter_valid(x * x, weights) - mu_x**2
    var_y = _filter_valid(y * y, weights) - mu_y**2
    cov = _filter_valid(x * y, weights) - mu_x * mu_y
    score = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(score.mean())


def mean_abs_change(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray, where: np.ndarray) -> float | None:
    """Mean absolute difference (0-255 scale, channels averaged) over the pixels where ``where`` (H, W)
    is true; ``None`` when there are none."""
    x, y = _pixels(a), _pixels(b)
    where = np.asarray(where, dtype=bool)
    if where.shape != x.shape[:2] or x.shape != y.shape:
        raise ValueError(f"shapes differ: images {x.shape} and {y.shape}, region {where.shape}")
    if not where.any():
        return None
    return float(np.abs(x - y)[where].mean())
