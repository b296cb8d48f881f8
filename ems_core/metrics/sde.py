"""Semantic disentanglement (SDE) of one attribute edit, from pixel L2 distances.

EMS scores an edit by how faithfully the image is rebuilt when nothing is edited, how effective the
intended edit is and how local it stays; the papers do not publish the formula, so this is ours
(docs/method.md, "Measuring an edit"). With images on [0, 1], ``R`` the region the attribute lives in
(the union of the source's and the ideal target's object for an object attribute, everything else for
a background), ``R'`` its complement, and

    d_S(a, b) = sqrt( mean over pixels p in S of ||a_p - b_p||_2^2 )     (RMS per-pixel RGB L2),

the edit's signal is ``D = d_R(x_tgt, x_src)`` (how much the ideal edit changes its region) and

    rebuild  = d_all(x_0, x_src) / D      degree-0 output vs source, whole image
    gap      = d_R(x_1, x_tgt)  / D       degree-1 output vs the ideal target, inside R
    leak     = d_R'(x_1, x_src) / D       degree-1 output vs source, outside R

    SDE = (1 - min(rebuild, 1)) * (1 - min(gap, 1)) * (1 - min(leak, 1))   in [0, 1].

1 means: degree 0 gives back the source exactly, degree 1 is the ideal target inside ``R`` and the
source outside it. Each factor is 0 when its error is as large as the edit itself (an edit that does
nothing has ``gap = 1``), so SDE is 0 whenever any of the three fails completely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["SDEScore", "rms_distance", "sde"]


def _unit(image: Image.Image | np.ndarray) -> np.ndarray:
    array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float64)
    return array / 255.0


def rms_distance(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray, where: np.ndarray | None = None) -> float:
    """``sqrt(mean_p ||a_p - b_p||^2)`` over the pixels where ``where`` (H, W) is true (default: all);
    8-bit images scaled to [0, 1], so the value lies in [0, sqrt(3)]. Raises on an empty region."""
    x, y = _unit(a), _unit(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    squared = ((x - y) ** 2).sum(axis=-1)  # (H, W)
    if where is not None:
        where = np.asarray(where, dtype=bool)
        if where.shape != squared.shape:
            raise ValueError(f"region {where.shape} does not match image {squared.shape}")
        if not where.any():
            raise ValueError("empty region")
        squared = squared[where]
    return float(np.sqrt(squared.mean()))


@dataclass(frozen=True)
class SDEScore:
    """The three error ratios of :func:`sde` (0 = perfect) and the edit's signal ``D``."""

    rebuild: float  # d_all(x_0, x_src) / D: degree-0 reconstruction error
    gap: float  # d_R(x_1, x_tgt) / D: how far the edit stops from the ideal target inside its region
    leak: float  # d_R'(x_1, x_src) / D: change outside the region (0 when R' is empty)
    signal: float  # D = d_R(x_tgt, x_src)

    @property
    def score(self) -> float:
        """``(1 - min(rebuild, 1)) (1 - min(gap, 1)) (1 - min(leak, 1))`` in [0, 1]."""
        return float(np.prod([1.0 - min(v, 1.0) for v in (self.rebuild, self.gap, self.leak)]))

    def to_dict(self) -> dict[str, float]:
        return {"sde": round(self.score, 4), "rebuild": round(self.rebuild, 4), "gap": round(self.gap, 4),
                "leak": round(self.leak, 4), "signal": round(self.signal, 4)}


def sde(source: Image.Image | np.ndarray, degree0: Image.Image | np.ndarray, degree1: Image.Image | np.ndarray,
        target: Image.Image | np.ndarray, region: np.ndarray) -> SDEScore:
    """Score one attribute edit (module docstring).

    Args:
        source: the source image ``x_src`` (8-bit RGB).
        degree0: the method's output at degree 0 ``x_0`` (nothing edited).
        degree1: the method's output at degree 1 ``x_1``.
        target: the ideal edited image ``x_tgt`` (the source with only the attribute changed).
        region: boolean (H, W) mask ``R`` of the pixels the attribute lives in.

    Raises:
        ValueError: when the ideal edit changes nothing inside ``region`` (``D = 0``: nothing to measure).
    """
    region = np.asarray(region, dtype=bool)
    signal = rms_distance(target, source, region)
    if signal <= 1e-12:
        raise ValueError("the ideal target does not differ from the source inside the region")
    outside = ~region
    leak = rms_distance(degree1, source, outside) / signal if outside.any() else 0.0
    return SDEScore(rebuild=rms_distance(degree0, source) / signal,
                    gap=rms_distance(degree1, target, region) / signal, leak=leak, signal=signal)
