"""Did an edit keep what it should: every non-target attribute compared with the source's reading, with
tolerances a viewer would notice (not caption words, whose bands are wide for size and position).

A *reading* is anything with the oracle's fields (``ems_core.world.oracle.Measurement`` is one): ``found``,
``shape``, ``colour`` (words), ``background_rgb`` (0-255), ``size``, ``x``, ``y`` (fractions of the side).
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Protocol

__all__ = ["BACKGROUND_TOLERANCE", "POSITION_TOLERANCE", "SIZE_TOLERANCE", "Reading", "kept", "preservation",
           "target_hit"]

#: A background may drift this much per RGB channel (0-255) and still look the same: about the step
#: between neighbouring 8-bit greys that an eye tells apart side by side on a flat field is ~2-5, and
#: 20 is where a plain background's tint starts to be seen when flicking between before and after.
BACKGROUND_TOLERANCE = 20.0
#: The object's centre may move this far (fraction of the image side, per axis): 0.08 is 5 pixels at 64x64,
#: a visible but small nudge; the world's position bands sit 0.15-0.30 apart.
POSITION_TOLERANCE = 0.08
#: The object's size (sqrt of its area / side) may change by this fraction of the source's: a 15% change in
#: linear size is about a 32% change in area, around where a viewer starts to call it bigger or smaller.
SIZE_TOLERANCE = 0.15


class Reading(Protocol):
    found: bool
    shape: str
    colour: str
    background_rgb: tuple[float, float, float]
    size: float
    x: float
    y: float


def kept(source: Reading, edited: Reading, attribute: str) -> bool:
    """Whether ``attribute`` of ``edited`` still matches ``source`` within the tolerances above.

    ``shape`` and ``colour``: the same word; ``background``: every channel within
    :data:`BACKGROUND_TOLERANCE`; ``x`` / ``y``: within :data:`POSITION_TOLERANCE`; ``size``: within
    :data:`SIZE_TOLERANCE` relative. An object attribute is not kept when either image has no object.
    """
    if attribute == "background":
        return all(abs(a - b) <= BACKGROUND_TOLERANCE for a, b in zip(source.background_rgb, edited.background_rgb))
    if not (source.found and edited.found):
        return False
    if attribute in ("shape", "colour"):
        return getattr(source, attribute) == getattr(edited, attribute)
    if attribute in ("x", "y"):
        delta = abs(getattr(source, attribute) - getattr(edited, attribute))
        return math.isfinite(delta) and delta <= POSITION_TOLERANCE
    if attribute == "size":
        return source.size > 0 and abs(edited.size - source.size) / source.size <= SIZE_TOLERANCE
    raise ValueError(f"unknown attribute {attribute!r}")


def preservation(source: Reading, edited: Reading, attributes: Iterable[str], targets: Iterable[str]) -> dict[str, bool]:
    """Per attribute of ``attributes`` that is not in ``targets``: :func:`kept`."""
    edited_names = set(targets)
    return {name: kept(source, edited, name) for name in attributes if name not in edited_names}


def target_hit(targets: Mapping[str, str], measured_words: Mapping[str, str]) -> bool:
    """Whether every edited attribute reads as its target word."""
    return all(measured_words.get(name) == word for name, word in targets.items())
