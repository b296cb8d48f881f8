"""Edit regions of a portrait (for region-masked latent directions): where the eyes, the mouth and the face are.

Placed from the renderer's head geometry (:mod:`ems_core.portraits.scene`) at the head position the oracle
reads (:func:`ems_core.portraits.oracle.measure`: ``head_x``, ``head_y``; the tilt, at most 6 degrees, is covered
by the margins). Masks are ``(S, S)`` float arrays in {0, 1} at image resolution:

- ``eyes``: both eyes and glasses lenses, ``|x| <= EYE_X + LENS_RX + 2``, ``EYE_Y - LENS_RY - 2 <= y <= EYE_Y +
  LENS_RY + 2`` (head frame, pixels);
- ``mouth``: ``|x| <= 16``, ``|y - MOUTH_Y| <= 9``;
- ``face``: the face ellipse (half-width :func:`~ems_core.portraits.scene.face_rx` of the measured face width,
  half-height ``FACE_RY``) grown by 2 px.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .scene import EYE_X, EYE_Y, FACE_RY, HEAD_CENTRE, IMAGE_SIZE, LENS_RX, LENS_RY, MOUTH_Y, face_rx

__all__ = ["PORTRAIT_REGIONS", "portrait_region"]

PORTRAIT_REGIONS = ("face", "eyes", "mouth")


def portrait_region(image: Image.Image, region: str) -> np.ndarray:
    """The ``region`` mask of a portrait image (``ValueError`` when the oracle finds no face)."""
    from .oracle import measure

    if region not in PORTRAIT_REGIONS:
        raise ValueError(f"unknown portrait region {region!r}; choose one of {', '.join(PORTRAIT_REGIONS)}")
    measured = measure(image)
    if not measured.found:
        raise ValueError("the oracle finds no face in this image: no face region; use region 'none'")
    size = image.width
    scale = size / IMAGE_SIZE
    cx, cy = HEAD_CENTRE[0] + measured.head_x, HEAD_CENTRE[1] + measured.head_y
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    x, y = (xs + 0.5) / scale - cx, (ys + 0.5) / scale - cy  # head frame, renderer pixels
    if region == "eyes":
        inside = (np.abs(x) <= EYE_X + LENS_RX + 2) & (y >= EYE_Y - LENS_RY - 2) & (y <= EYE_Y + LENS_RY + 2)
    elif region == "mouth":
        inside = (np.abs(x) <= 16) & (np.abs(y - MOUTH_Y) <= 9)
    else:
        rx, ry = face_rx(measured.face_width) + 2, FACE_RY + 2
        inside = (x / rx) ** 2 + (y / ry) ** 2 <= 1
    return inside.astype(np.float32)
