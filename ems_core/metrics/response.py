"""Slider response: how a measured attribute follows the editing degree along a sweep."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["ranks", "spearman", "switch_degree"]


def ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks (as Spearman's rho needs)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    result = np.empty(len(values))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[order[j + 1]] == values[order[i]]:
            j += 1
        result[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (Pearson correlation of their ranks), in [-1, 1].

    Pairs with a non-finite member are dropped. Returns 0.0 (no monotone response) when fewer than two
    pairs remain or either side is constant.
    """
    pairs = [(a, b) for a, b in zip(x, y) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 2:
        return 0.0
    rx, ry = ranks([a for a, _ in pairs]), ranks([b for _, b in pairs])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    norm = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return 0.0 if norm == 0 else float(rx @ ry) / norm


def switch_degree(degrees: Sequence[float], hits: Sequence[bool]) -> float | None:
    """The smallest degree of the sweep at which the target holds (a categorical attribute's switch), or
    ``None`` if it never does."""
    held = [d for d, hit in sorted(zip(degrees, hits)) if hit]
    return held[0] if held else None
