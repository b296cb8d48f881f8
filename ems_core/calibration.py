"""A slider that means what it shows: a calibrated map from slider position to editing degree, per attribute.

The embedding path ``e(a)`` is linear in the degree ``a``, the image is not: a categorical attribute holds its
source value and then switches, a position moves in an S-curve. A calibration re-parameterises the slider
so that equal slider steps give about equal *measured* change, with a measure that needs no labels.

Fitting (:func:`fit_calibration`): render the edit at degrees ``a_0 = 0 < a_1 < ... < a_K = 1`` and measure the
change between neighbouring renders, ``d_k = dist(x(a_k), x(a_{k-1}))`` (the editor uses the RMS pixel
difference). The path's length so far, ``u_k = sum_{j<=k} d_j / sum_j d_j``, is the share of the visible change
done by degree ``a_k``; mixed with the degree itself so the map stays strictly increasing (a flat stretch, where
nothing changes, must not pin the slider),

    u'_k = (1 - floor) u_k + floor a_k,

the calibration maps a slider position ``s`` in [0, 1] to the degree where ``u'`` reaches ``s`` (piecewise linear
between the knots). Both ends are kept (``s = 0`` is the source, ``s = 1`` the target prompt); outside [0, 1]
the slider is the degree shifted by the end, so extrapolation still works. docs/method.md ("A slider that means
what it shows") measures it on the bundled model with the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["CALIBRATION_DEGREES", "CALIBRATION_FLOOR", "DegreeCalibration", "fit_calibration"]

#: Degrees rendered to fit a calibration (one batch): 0, 1/8, ..., 1.
CALIBRATION_DEGREES = tuple(i / 8 for i in range(9))
#: Share of the plain degree mixed into the measured path length (keeps the map strictly increasing).
CALIBRATION_FLOOR = 0.1


@dataclass(frozen=True)
class DegreeCalibration:
    """Slider position -> degree through the knots ``(slider[k], degrees[k])``, both increasing from 0 to 1."""

    slider: tuple[float, ...]
    degrees: tuple[float, ...]

    def __post_init__(self) -> None:
        s, a = np.asarray(self.slider, dtype=float), np.asarray(self.degrees, dtype=float)
        if len(s) != len(a) or len(s) < 2:
            raise ValueError("a calibration needs matching knots, at least two")
        if not (s[0] == a[0] == 0.0 and s[-1] == a[-1] == 1.0):
            raise ValueError("a calibration runs from (0, 0) to (1, 1)")
        if np.any(np.diff(s) <= 0) or np.any(np.diff(a) < 0):
            raise ValueError("calibration knots must increase")

    @classmethod
    def identity(cls) -> "DegreeCalibration":
        return cls((0.0, 1.0), (0.0, 1.0))

    def degree(self, slider: float) -> float:
        """The degree of slider position ``slider``: interpolated inside [0, 1], shifted by the end outside."""
        slider = float(slider)
        if slider <= 0.0:
            return slider
        if slider >= 1.0:
            return slider
        return float(np.interp(slider, self.slider, self.degrees))

    def slider_of(self, degree: float) -> float:
        """The inverse map: where the slider shows ``degree``."""
        degree = float(degree)
        if degree <= 0.0 or degree >= 1.0:
            return degree
        return float(np.interp(degree, self.degrees, self.slider))

    def to_dict(self) -> dict:
        return {"slider": [round(v, 6) for v in self.slider], "degrees": [round(v, 6) for v in self.degrees]}


def fit_calibration(degrees: Sequence[float], steps: Sequence[float],
                    floor: float = CALIBRATION_FLOOR) -> DegreeCalibration:
    """The calibration from measured changes: ``steps[k - 1]`` is the distance between the renders at
    ``degrees[k - 1]`` and ``degrees[k]`` (``len(steps) == len(degrees) - 1``); ``degrees`` increase from 0 to 1.
    With no measured change at all the identity comes back."""
    a = np.asarray(degrees, dtype=float)
    d = np.asarray(steps, dtype=float)
    if len(a) < 2 or len(d) != len(a) - 1:
        raise ValueError("one measured step between each pair of neighbouring degrees")
    if a[0] != 0.0 or a[-1] != 1.0 or np.any(np.diff(a) <= 0):
        raise ValueError("calibration degrees must increase from 0 to 1")
    if not 0.0 < floor <= 1.0:
        raise ValueError(f"floor must be in (0, 1], got {floor}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("measured steps must be finite and non-negative")
    total = d.sum()
    length = np.concatenate([[0.0], np.cumsum(d) / total]) if total > 0 else a.copy()
    slider = (1 - floor) * length + floor * a
    slider[-1] = 1.0  # exact, whatever the rounding of the cumulative sum
    return DegreeCalibration(tuple(float(v) for v in slider), tuple(float(v) for v in a))
