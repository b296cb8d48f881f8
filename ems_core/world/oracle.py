"""The oracle: measure a world scene's attributes from the pixels of any RGB image.

Works on clean renders and on imperfect images (outputs of the bundled model, edited images:
slightly blurry, slightly off colours, small blobs of noise). Steps of :func:`measure`:

1. Background colour = median of the border pixels; nearest named background (CIE Lab distance).
2. Object = largest 8-connected component of the pixels whose 3x3-smoothed colour lies further than
   :data:`MIN_CONTRAST` (RGB distance) from the background.
3. Object colour = median colour of the component's most contrasted pixels; nearest named colour (Lab).
4. Soft mask by linear unmixing, ``p = bg + alpha * (obj - bg)``, solved by least squares in a
   YCbCr space with down-weighted chroma (:data:`CHROMA_WEIGHT`; JPEG halves chroma resolution).
   ``alpha`` is summed unclipped (so noise averages out) over the component grown by
   :data:`GROW_PIXELS`: ``size = sqrt(sum alpha) / side``, the renderer's definition. Blur and JPEG
   are (nearly) linear, so they move alpha around without changing its sum.
5. Centroid of the clipped soft mask gives ``x, y``.
6. Shape = best soft IoU of the clipped mask with each shape drawn by
   :func:`~ems_core.world.scene.render` at the measured size and centroid, the template blurred by
   each of :data:`TEMPLATE_BLURS` (a blurred square looks like a circle to a sharp template).

An image with no visible object (nothing differs from the background by more than
:data:`MIN_CONTRAST`, or the measured size is below :data:`MIN_SIZE`)
is not an error: :func:`measure` returns a :class:`Measurement` with ``found=False``,
``shape == colour == "none"`` and caption words ``"none"`` for shape, colour, size, x and y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Union

import numpy as np
from PIL import Image

from ..metrics import agreement as metrics_agreement
from .scene import BACKGROUNDS, COLOURS, SHAPES, Scene, caption_of, parse_caption, render

__all__ = ["ATTRIBUTES", "Measurement", "agreement", "measure", "measure_batch"]

ImageLike = Union[Image.Image, np.ndarray]

MIN_CONTRAST = 40.0  # RGB distance (0-255 scale) below which nothing counts as an object
MIN_SIZE = 0.03  # measured size below this (area under ~4 pixels at 64x64) -> no object; scenes have >= 0.05
GROW_PIXELS = 3  # the component is grown by this many pixels before summing alpha (covers blur)
TEMPLATE_BLURS = (0.0, 0.6, 1.0, 1.5, 2.0)  # Gaussian sigmas (pixels) tried per shape template; best one counts
ATTRIBUTES = ("shape", "colour", "background", "size", "x", "y")


@dataclass(frozen=True)
class Measurement:
    """Attributes measured from one image; ``size``, ``x``, ``y`` are fractions of the image side.

    ``mask`` is the soft object mask (H, W) in [0, 1]. Confidences: ``shape_score`` is the best soft
    IoU with a rendered template and ``shape_margin`` its lead over the runner-up; ``colour_distance``
    and ``background_distance`` are Lab distances to the chosen named colours (small = confident).
    """

    shape: str
    colour: str
    background: str
    size: float
    x: float
    y: float
    mask: np.ndarray = field(repr=False, compare=False)
    found: bool = True
    shape_score: float = 0.0
    shape_margin: float = 0.0
    colour_distance: float = 0.0
    background_distance: float = 0.0
    object_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    background_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_scene(self) -> Scene:
        """The measured scene, size clamped to [0.05, 0.4] and position to [0, 1] (words unchanged)."""
        if not self.found:
            raise ValueError("no object was found in the image")
        return Scene(
            shape=self.shape, colour=self.colour, background=self.background,
            size=min(max(self.size, 0.05), 0.4), x=min(max(self.x, 0.0), 1.0), y=min(max(self.y, 0.0), 1.0),
        )

    @property
    def words(self) -> dict[str, str]:
        """Caption words per attribute, exactly like :attr:`Scene.words` (``"none"`` when not found)."""
        if not self.found:
            return {"shape": "none", "colour": "none", "background": self.background,
                    "size": "none", "x": "none", "y": "none"}
        return self.to_scene().words

    @property
    def caption(self) -> str:
        """The caption of :func:`~ems_core.world.scene.caption_of`; ``"no object on a <bg> background"``."""
        if not self.found:
            return f"no object on a {self.background} background"
        return caption_of(self.to_scene())


# -- colour ---------------------------------------------------------------------------------------

def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) on the 0-255 scale -> CIE Lab (D65)."""
    c = np.clip(np.asarray(rgb, dtype=np.float64) / 255.0, 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805],
                             [0.2126, 0.7152, 0.0722],
                             [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_COLOUR_NAMES = tuple(COLOURS)
_COLOUR_LAB = _rgb_to_lab(np.array([COLOURS[n] for n in _COLOUR_NAMES], dtype=np.float64))
_BACKGROUND_NAMES = tuple(BACKGROUNDS)
_BACKGROUND_LAB = _rgb_to_lab(np.array([BACKGROUNDS[n] for n in _BACKGROUND_NAMES], dtype=np.float64))


def _nearest(rgb: np.ndarray, names: tuple[str, ...], table_lab: np.ndarray) -> tuple[str, float, float]:
    """Nearest named colour in Lab: (name, distance, margin to the runner-up)."""
    distances = np.linalg.norm(table_lab - _rgb_to_lab(rgb), axis=-1)
    order = np.argsort(distances)
    return names[order[0]], float(distances[order[0]]), float(distances[order[1]] - distances[order[0]])


_YCBCR = np.array([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]]).T  # RGB -> YCbCr
CHROMA_WEIGHT = 0.3  # weight of the chroma channels when unmixing (JPEG halves chroma resolution)
_UNMIX_BASIS = _YCBCR * np.sqrt(np.array([1.0, CHROMA_WEIGHT, CHROMA_WEIGHT]))


# -- masks ----------------------------------------------------------------------------------------

def _max_filter3(mask: np.ndarray) -> np.ndarray:
    """3x3 (8-neighbour) maximum of a 2-D array, zero padded."""
    p = np.pad(mask, 1)
    h, w = mask.shape
    out = p[1:h + 1, 1:w + 1].copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, p[dy:dy + h, dx:dx + w], out=out)
    return out


def _box3(rgb: np.ndarray) -> np.ndarray:
    """3x3 mean of an (H, W, C) array, edges replicated."""
    p = np.pad(rgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = rgb.shape[:2]
    return sum(p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """Largest 8-connected component of a boolean mask (min-label propagation with pointer jumping)."""
    h, w = mask.shape
    none = h * w
    labels = np.where(mask, np.arange(none).reshape(h, w), none)
    while True:
        p = np.pad(labels, 1, constant_values=none)
        new = labels.copy()
        for dy in range(3):
            for dx in range(3):
                np.minimum(new, p[dy:dy + h, dx:dx + w], out=new)
        new = np.where(mask, new, none)
        flat = np.append(new.ravel(), none)
        new = flat[new]  # pointer jumping: a label is a pixel index of the same component
        if np.array_equal(new, labels):
            break
        labels = new
    counts = np.bincount(labels[mask], minlength=none)
    return labels == int(np.argmax(counts))


def _template_alpha(shape: str, size: float, x: float, y: float, side: int) -> np.ndarray:
    """Soft mask (side, side) of ``shape`` drawn by the renderer (yellow on black, unmixed)."""
    scene = Scene(shape=shape, colour="yellow", background="black",
                  size=min(max(size, 0.05), 0.4), x=min(max(x, 0.0), 1.0), y=min(max(y, 0.0), 1.0))
    rgb = np.asarray(render(scene, image_size=side), dtype=np.float32)
    bg, fg = np.array(BACKGROUNDS["black"], np.float32), np.array(COLOURS["yellow"], np.float32)
    return (rgb - bg) @ (fg - bg) / float((fg - bg) @ (fg - bg))


@lru_cache(maxsize=32)
def _blur_matrix(side: int, sigma: float) -> np.ndarray:
    """(side, side) matrix ``K`` such that ``K @ a @ K.T`` is ``a`` blurred by a Gaussian (zero padded)."""
    radius = math.ceil(3 * sigma)
    offsets = np.arange(side)[:, None] - np.arange(side)[None, :]
    kernel = np.where(np.abs(offsets) <= radius, np.exp(-0.5 * (offsets / sigma) ** 2), 0.0)
    return kernel / np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()


def _shape_score(mask: np.ndarray, template: np.ndarray) -> float:
    """Best soft IoU of ``mask`` with ``template`` blurred by each of :data:`TEMPLATE_BLURS`."""
    scores = []
    for sigma in TEMPLATE_BLURS:
        k = _blur_matrix(mask.shape[0], sigma) if sigma > 0 else None
        scores.append(_soft_iou(mask, template if k is None else k @ template @ k.T))
    return max(scores)


def _soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.minimum(a, b).sum() / max(np.maximum(a, b).sum(), 1e-6))


# -- measurement ----------------------------------------------------------------------------------

def _as_rgb_array(image: ImageLike, value_range: tuple[float, float]) -> np.ndarray:
    """PIL image, or array (H, W, 3) / (3, H, W) -> float64 (H, W, 3) on the 0-255 scale."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float64)
    array = np.asarray(image)
    if array.ndim != 3 or 3 not in (array.shape[0], array.shape[-1]):
        raise ValueError(f"expected an RGB image (H, W, 3) or (3, H, W), got shape {array.shape}")
    if array.shape[-1] != 3:
        array = array.transpose(1, 2, 0)
    if array.dtype == np.uint8:
        return array.astype(np.float64)
    low, high = value_range
    return (array.astype(np.float64) - low) * (255.0 / (high - low))


def measure(image: ImageLike, value_range: tuple[float, float] = (0.0, 1.0)) -> Measurement:
    """Measure the scene in a square RGB image (64x64 for the bundled world, any side works).

    Args:
        image: PIL image, or array (H, W, 3) or (3, H, W) (anything ``np.asarray`` takes, e.g. a CPU
            tensor); uint8 arrays are on 0-255, other dtypes on ``value_range`` (pass ``(-1, 1)`` for
            model outputs and :func:`~ems_core.world.scene.to_tensor`).
        value_range: the (black, white) values of a non-uint8 array.

    Returns:
        A :class:`Measurement`; ``found=False`` (shape and colour ``"none"``) when no object is visible.
    """
    # 1. Background: robust median of the one-pixel border.
    rgb = _as_rgb_array(image, value_range)
    side, width, _ = rgb.shape
    if side != width:
        raise ValueError(f"expected a square image, got {width}x{side}")
    border = np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]])
    bg_rgb = np.median(border, axis=0)
    background, background_distance, _ = _nearest(bg_rgb, _BACKGROUND_NAMES, _BACKGROUND_LAB)

    # 2. Object: largest connected component of the clearly-not-background pixels (3x3-smoothed, so
    #    that pixel noise and specks do not count).
    distance = np.linalg.norm(_box3(rgb) - bg_rgb, axis=-1)  # (H, W)
    empty = Measurement(shape="none", colour="none", background=background, size=0.0, x=math.nan, y=math.nan,
                        mask=np.zeros((side, side), np.float32), found=False,
                        background_distance=background_distance, background_rgb=tuple(bg_rgb.tolist()))
    if distance.max() <= MIN_CONTRAST:
        return empty
    component = _largest_component(distance > MIN_CONTRAST)

    # 3. Object colour: median of the component's most contrasted pixels.
    core_distance = distance[component]
    core = component & (distance >= 0.85 * np.percentile(core_distance, 90))
    obj_rgb = np.median(rgb[core], axis=0)
    colour, colour_distance, _ = _nearest(obj_rgb, _COLOUR_NAMES, _COLOUR_LAB)

    # 4. Soft mask by unmixing; area summed unclipped over the grown component.
    direction = (obj_rgb - bg_rgb) @ _UNMIX_BASIS  # (3,)
    alpha = (rgb - bg_rgb) @ _UNMIX_BASIS @ direction / max(float(direction @ direction), 1e-6)  # (H, W)
    region = component
    for _ in range(GROW_PIXELS):
        region = _max_filter3(region)
    area = max(float(alpha[region].sum()), 0.0)
    if math.sqrt(area) / side < MIN_SIZE:
        return empty
    mask = np.where(region, np.clip(alpha, 0.0, 1.0), 0.0).astype(np.float32)

    # 5. Centroid of the clipped soft mask.
    total = float(mask.sum())
    ys, xs = np.mgrid[0:side, 0:side]
    x = float((mask * (xs + 0.5)).sum() / total / side)
    y = float((mask * (ys + 0.5)).sum() / total / side)
    size = math.sqrt(area) / side

    # 6. Shape: best soft IoU against rendered templates.
    scores = np.array([_shape_score(mask, _template_alpha(s, size, x, y, side)) for s in SHAPES])
    order = np.argsort(-scores)
    return Measurement(
        shape=SHAPES[order[0]], colour=colour, background=background, size=size, x=x, y=y, mask=mask,
        shape_score=float(scores[order[0]]), shape_margin=float(scores[order[0]] - scores[order[1]]),
        colour_distance=colour_distance, background_distance=background_distance,
        object_rgb=tuple(obj_rgb.tolist()), background_rgb=tuple(bg_rgb.tolist()),
    )


def measure_batch(images: Iterable[ImageLike], value_range: tuple[float, float] = (0.0, 1.0)) -> list[Measurement]:
    """:func:`measure` over a sequence of images (or a batch array (B, H, W, 3) / (B, 3, H, W))."""
    return [measure(image, value_range) for image in images]


def agreement(expected: Union[Scene, dict, str], measurement: Measurement) -> dict[str, bool]:
    """Per attribute, whether the measured caption word equals the expected one.

    ``expected`` is a :class:`Scene`, a words dict like :attr:`Scene.words`, or a caption.
    """
    if isinstance(expected, Scene):
        words = expected.words
    elif isinstance(expected, str):
        words = parse_caption(expected)
    else:
        words = dict(expected)
    return metrics_agreement(words, measurement.words, ATTRIBUTES)
