"""Extract step for the bundled world model: image -> caption, and the caption's editable attributes.

:class:`WorldCaptioner` reads a caption off the pixels with the oracle
(:func:`~ems_core.world.oracle.measure`); :func:`attribute_presets` lists, for the UI, one editable
attribute per caption slot with the exact phrase to replace and the words it may become.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from ..extract import AttributePreset, OracleCaptioner
from .oracle import MIN_CONTRAST, Measurement, measure
from .scene import BACKGROUNDS, COLOURS, IMAGE_SIZE, SHAPES, SIZE_BANDS, X_BANDS, Y_BANDS, parse_caption

__all__ = ["WorldCaptioner", "attribute_presets"]

# Out-of-domain limits (see WorldCaptioner.out_of_domain): far outside what renders of the world score.
OOD_MIN_SHAPE_SCORE = 0.75  # soft IoU with the best shape template
OOD_MAX_LAB_DISTANCE = 12.0  # to the nearest named object or background colour
OOD_MAX_BORDER_SPREAD = 12.0  # median RGB distance of border pixels from their median
OOD_MAX_STRAY_SHARE = 0.02  # share of pixels that differ from the background outside the object


class WorldCaptioner(OracleCaptioner):
    """Caption world images by measuring them (no model, deterministic, a few ms per image).

    Captions read ``"a {size} {colour} {shape} at the {y} {x} on a {background} background"``; with no
    object visible, ``"no object on a {background} background"``, which :func:`attribute_presets` rejects
    (there is nothing to edit).

    Example:
        >>> from ems_core.world.scene import Scene, caption_of, render
        >>> scene = Scene(shape="star", colour="pink", background="gray", size=0.3, x=0.32, y=0.68)
        >>> WorldCaptioner().caption(render(scene)) == caption_of(scene)
        True
    """

    image_size: int = IMAGE_SIZE
    oracle = staticmethod(measure)
    demo_attribute = "colour"

    def out_of_domain(self, image: Image.Image) -> str | None:
        """Why ``image`` is not a scene of this world, from the oracle's confidences, or ``None``.

        Renders and degraded renders (blur, JPEG, upscaling) score far inside these limits (shape IoU
        >= 0.91, Lab distances <= 1.3, a uniform border); photos, noise, gradients and several objects
        fall outside (``tests/world/test_captioner.py``).
        """
        measured = self.measure(image)
        if not measured.found:
            return "no object stands out from the background"
        rgb = np.asarray(image.convert("RGB").resize((self.image_size,) * 2, Image.Resampling.BOX), dtype=np.float64)
        border = np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]])
        spread = float(np.median(np.linalg.norm(border - np.median(border, axis=0), axis=1)))
        if spread > OOD_MAX_BORDER_SPREAD:
            return "the background is not one plain colour"
        stray = (np.linalg.norm(rgb - np.asarray(measured.background_rgb), axis=-1) > MIN_CONTRAST) & (measured.mask == 0)
        if stray.mean() > OOD_MAX_STRAY_SHARE:
            return "there is more than one object"
        if measured.background_distance > OOD_MAX_LAB_DISTANCE:
            return "the background colour is none of the world's four"
        if measured.colour_distance > OOD_MAX_LAB_DISTANCE:
            return "the object's colour is none of the world's eight"
        if measured.shape_score < OOD_MIN_SHAPE_SCORE:
            return "the object is not one circle, square, triangle or star"
        return None

    def attribute_presets(self, caption: str) -> list[AttributePreset]:
        """:func:`attribute_presets` of ``caption``; none for a prompt the world's grammar does not parse."""
        try:
            return attribute_presets(caption)
        except ValueError:
            return []


ORDERED_SLOTS = ("size", "x", "y")  # their words are in order (small < medium < large...): a slider passes between

_SLOTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (UI attribute name, parse_caption key, the words of that slot)
    ("size", "size", tuple(SIZE_BANDS)),
    ("colour", "colour", tuple(COLOURS)),
    ("shape", "shape", SHAPES),
    ("vertical", "y", tuple(Y_BANDS)),
    ("horizontal", "x", tuple(X_BANDS)),
    ("background", "background", tuple(BACKGROUNDS)),
)


def attribute_presets(caption: str) -> list[AttributePreset]:
    """One editable attribute per caption slot, in caption order.

    Each entry has a ``name``, a ``source`` phrase exactly as written in
    ``caption`` (so ``caption.replace(source, choice, 1)`` performs the edit) and ``choices`` are the
    other words of the slot. The background's phrases include the word ``background``
    (``"white background"`` -> ``"black background"``) so they never clash with an object colour.
    Position is two attributes, ``horizontal`` (left/center/right) and ``vertical`` (top/middle/bottom).

    Raises:
        ValueError: if ``caption`` does not name every attribute (see :func:`parse_caption`).

    Example:
        >>> preset = attribute_presets("a large red circle at the top left on a white background")[1]
        >>> preset.name, preset.source, preset.choices
        ('colour', 'red', ('orange', 'yellow', 'green', 'cyan', 'blue', 'purple', 'pink'))
    """
    words = parse_caption(caption)
    presets = []
    for name, key, vocabulary in _SLOTS:
        suffix = r"\s+background" if key == "background" else ""
        match = re.search(rf"\b{words[key]}{suffix}\b", caption, flags=re.IGNORECASE)
        if match is None:  # parse_caption found it, so only odd spacing/punctuation can get here
            raise ValueError(f"cannot locate the {name} word {words[key]!r} in caption {caption!r}")
        template = "{} background" if key == "background" else "{}"
        choices = tuple(template.format(word) for word in vocabulary if word != words[key])
        scale = vocabulary if key in ORDERED_SLOTS else ()  # size and position: ordered words, waypoints between
        presets.append(AttributePreset(name, match.group(0), choices, scale))
    return presets
