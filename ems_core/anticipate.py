"""Which slider positions to render ahead while the user is idle (issue 10, part 2).

A slider moves on a grid (the app's step is 0.05 over :data:`~ems_core.config.DEGREE_RANGE`); after a release,
the positions nearest the current one are the likeliest next moves. :func:`neighbour_positions` orders the
grid by distance from the current position (ties: the larger position first, the way the slider was going
being unknown). The caller renders them one at a time into the session's memo (``EditSession.render``), so a
later move to any of them costs no model evaluation, and stops as soon as a real request needs the model.
"""

from __future__ import annotations

import math

from .config import DEGREE_RANGE

__all__ = ["ANTICIPATED_POSITIONS", "SLIDER_STEP", "neighbour_positions"]

SLIDER_STEP = 0.05
ANTICIPATED_POSITIONS = 24  # positions rendered ahead after a release: +-0.6 around it at the 0.05 step


def neighbour_positions(position: float, step: float = SLIDER_STEP,
                        bounds: tuple[float, float] = DEGREE_RANGE, limit: int | None = None) -> list[float]:
    """Grid positions ``bounds[0] + i * step`` other than ``position``, nearest first, at most ``limit``.

    Positions are rounded to 6 decimals, so they equal what a slider with that step sends.

    >>> neighbour_positions(0.5, 0.25, (0.0, 1.0))
    [0.75, 0.25, 1.0, 0.0]
    """
    if step <= 0 or not math.isfinite(step):
        raise ValueError(f"the step must be a positive number, got {step}")
    low, high = bounds
    count = int(round((high - low) / step))
    grid = [round(low + i * step, 6) for i in range(count + 1)]
    others = [g for g in grid if abs(g - position) > 1e-9]
    others.sort(key=lambda g: (round(abs(g - position), 6), -g))
    return others if limit is None else others[:max(0, limit)]
