"""The portrait oracle: every attribute of a portrait measured back from the pixels of a 128x128 image.

Works on clean renders and on imperfect ones (blur, noise, JPEG: a generator's output is not pixel
perfect). Every measurement uses the renderer's geometry (:mod:`ems_core.portraits.scene`) in the
*head frame* once the pose is known. Steps of :func:`measure`:

1. Background: mean colour of the border band (:func:`~ems_core.portraits.scene.background_mask`; its
   texture has zero mean there), hue and lightness by the nearest colour on the background palette
   (Lab); the band's brightness pattern is the background signature.
2. Skin guess: median of a box below the nose.
3. Pose from the eyes. Starts: the best eye pair of a detector on the Lab distance to the skin, and
   the most point-symmetric pair of integer positions (two eyes 22 px apart) in the blurred luma.
   From each, every eye's centre of half-turn symmetry by Gauss-Newton (an eye, whatever its
   openness, and a lens frame are both symmetric about the eye centre; blur, noise and JPEG keep
   the symmetry), first on the blurred luma, then the sharp one; the more symmetric result wins.
   Tilt = angle between the eyes; head centre 4 px below their midpoint (rotated).
4. Head frame: the image resampled (bilinear) at head coordinates; lighting from the brightness ratio
   of the two cheeks (the renderer's lighting is linear in head-frame x), divided out.
5. Attributes in the head frame:

   - skin tone: both cheeks, nearest point on the skin palette;
   - face width: the cheek edge on rows 10-18 (half-way crossing of the colour projection, in YCbCr
     with the chroma down-weighted);
   - hair hue and lightness: median of the crown, nearest colour on the hair palette;
   - eyes and smile: least-squares fit of the eye windows' / mouth window's luma to templates
     rendered by :func:`~ems_core.portraits.scene.render` over a grid of values and three blurs
     (:func:`_templates`), interpolated between grid values;
   - age: darkness of the two forehead-line bands (line strength = age);
   - glasses: frame darkness integrated over a band along the lower half of each lens frame;
   - hair length: rows of hair-coloured pixels in strips just outside the face, below the temples.

   Age, glasses and hair length go through a monotone calibration of their statistic built lazily
   from clean renders (:func:`calibration`): a one-dimensional lookup, everything else fixed.

A blank, noise or non-portrait image is not an error: :func:`measure` returns ``found=False`` (face
attributes NaN, their words ``"none"``) when the skin guess matches the background, no eye pair
stands out, the cheeks are not smooth or the eyes are not symmetric.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

import numpy as np
from PIL import Image

from ..metrics import agreement as metrics_agreement
from .scene import (
    ATTRIBUTES, BACKGROUND_PALETTE, BANDS, CLOTHES_RGB, EYE_X, EYE_Y, FOREHEAD_LINES, FRAME_RGB, GREY_HAIR_LAB,
    HAIR_COLOUR_WORDS, HAIR_PALETTE, HEAD_CENTRE, IMAGE_SIZE, LENS_RX, LENS_RY, LIGHT_SLOPE, Portrait,
    background_mask, caption_from_words, colours_of, face_half_width, face_width_of_rx, lab_to_rgb, palette_lab,
    parse_caption,
    render, rgb_to_lab, skin_lab, word_for,
)

__all__ = ["ATTRIBUTES", "PortraitMeasurement", "agreement", "background_distance", "calibration", "hair_colour_word",
           "measure"]

ImageLike = Union[Image.Image, np.ndarray]

MIN_SKIN_CONTRAST = 12.0  # Lab distance between skin guess and background below which there is no face
MIN_EYE_SCORE = 0.05  # eye pair's core minus ring contrast below which there is no face
MAX_EYE_RING = 0.7  # mean contrast around the eyes above which there is no face (it is skin). Renders reach 0.42;
# generated faces wearing glasses (thick blurred frames) 0.60-0.64, so 0.6 called 5% of them faceless; at 0.7 the
# non-faces of tests/portraits/test_oracle.py and 340 stress images (noise, blobs, shape scenes) read as before
MAX_CHEEK_ROUGHNESS = 12.0  # luma MAD (0-255) of a cheek patch above which there is no face
MAX_EYE_ASYMMETRY = 0.25  # eyes' antisymmetric / symmetric energy above which there is no face (portraits: < 0.06)
POSE_SEARCH = 5  # px, head offsets searched for the eye pair (renders: <= 4 px; brows sit 10.5 px above the eyes)


@dataclass(frozen=True)
class PortraitMeasurement:
    """Attributes measured from one image (fields mirror :class:`~ems_core.portraits.scene.Portrait`).

    Semantic values are clipped to the attribute's range; ``head_x``/``head_y`` are pixel offsets
    from the default head centre, ``tilt`` degrees, ``lighting`` in the renderer's units.
    ``background_signature`` is the relative brightness of the border band in 24 segments
    (compare two with :func:`background_distance`). ``eye_score`` (eye detector: core minus ring
    contrast) and ``skin_contrast`` (Lab distance of the skin guess from the background) say how
    clearly a face was seen; ``raw`` holds the statistics behind the values (``asymmetry`` of the eyes
    at the pose found, ``eyes_residual`` / ``smile_residual`` of the template fits, ``face_rx`` and the
    image (x, y) of the cheek edges it was read from, ``face_edges``, ``forehead``, ``frame_darkness``,
    ``hair_rows``, ``grey_temples``...).
    """

    found: bool
    smile: float = math.nan
    eyes: float = math.nan
    age: float = math.nan
    hair_hue: float = math.nan
    hair_lightness: float = math.nan
    hair_length: float = math.nan
    glasses: float = math.nan
    face_width: float = math.nan
    skin: float = math.nan
    background_hue: float = math.nan
    background_lightness: float = math.nan
    head_x: float = math.nan
    head_y: float = math.nan
    tilt: float = math.nan
    lighting: float = math.nan
    background_signature: np.ndarray = field(default=None, repr=False, compare=False)
    eye_score: float = 0.0
    skin_contrast: float = 0.0
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def values(self) -> dict[str, float]:
        """Continuous value per semantic attribute."""
        return {name: getattr(self, name) for name in ATTRIBUTES}

    @property
    def words(self) -> dict[str, str]:
        """Caption word per attribute, like :attr:`Portrait.words`; ``"none"`` for face attributes when
        no face was found (the background is always read)."""
        words = {}
        for name, bands in BANDS.items():
            value = getattr(self, name)
            words[name] = "none" if math.isnan(value) else word_for(value, bands)
        return words

    @property
    def caption(self) -> str:
        """The canonical caption of the measured words; ``"no face on a ... background"`` when not found."""
        if not self.found:
            words = self.words
            modifier = {"dark": "dark ", "medium": "", "light": "light "}[words["background_lightness"]]
            return f"no face on a {modifier}{words['background_hue']} background"
        return caption_from_words(self.words)

    def to_portrait(self) -> Portrait:
        """The measured portrait (nuisance details clamped to the renderer's ranges; seeds 0)."""
        if not self.found:
            raise ValueError("no face was found in the image")
        return Portrait(
            **self.values,
            head_x=float(np.clip(self.head_x, -4, 4)), head_y=float(np.clip(self.head_y, -4, 4)),
            tilt=float(np.clip(self.tilt, -6, 6)), lighting=float(np.clip(self.lighting, -1, 1)),
        )


# -- pixels ---------------------------------------------------------------------------------------

def _as_rgb_array(image: ImageLike, value_range: tuple[float, float]) -> np.ndarray:
    """PIL image or array (H, W, 3) / (3, H, W) -> float64 (128, 128, 3) on 0-255 (resized if needed)."""
    if isinstance(image, Image.Image):
        image = image.convert("RGB")
        if image.size != (IMAGE_SIZE, IMAGE_SIZE):
            image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
        return np.asarray(image, dtype=np.float64)
    array = np.asarray(image)
    if array.ndim != 3 or 3 not in (array.shape[0], array.shape[-1]):
        raise ValueError(f"expected an RGB image (H, W, 3) or (3, H, W), got shape {array.shape}")
    if array.shape[-1] != 3:
        array = array.transpose(1, 2, 0)
    if array.dtype != np.uint8:
        low, high = value_range
        array = np.clip((array.astype(np.float64) - low) * (255.0 / (high - low)), 0, 255)
    if array.shape[:2] != (IMAGE_SIZE, IMAGE_SIZE):
        return _as_rgb_array(Image.fromarray(np.round(array).astype(np.uint8)), value_range)
    return array.astype(np.float64)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def _gaussian_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a 2-D array (edge-padded)."""
    radius = int(math.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    p = np.pad(a, radius, mode="edge")
    p = sum(kernel[i] * p[i:i + a.shape[0], :] for i in range(len(kernel)))
    return sum(kernel[i] * p[:, i:i + a.shape[1]] for i in range(len(kernel)))


def _bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample ``image`` (H, W[, C]) at image coordinates (pixel centres at i + 0.5), edge-clamped."""
    h, w = image.shape[:2]
    fx, fy = np.clip(x - 0.5, 0, w - 1.0001), np.clip(y - 0.5, 0, h - 1.0001)
    x0, y0 = fx.astype(int), fy.astype(int)
    ax, ay = fx - x0, fy - y0
    if image.ndim == 3:
        ax, ay = ax[..., None], ay[..., None]
    top = image[y0, x0] * (1 - ax) + image[y0, x0 + 1] * ax
    bottom = image[y0 + 1, x0] * (1 - ax) + image[y0 + 1, x0 + 1] * ax
    return top * (1 - ay) + bottom * ay


# -- palettes -------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _palette_table(which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hue grid, lightness grid, Lab of the rendered sRGB colour) over a fine grid of a palette."""
    palette = {"hair": HAIR_PALETTE, "background": BACKGROUND_PALETTE}[which]
    hue, lightness = np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, 1, 101), indexing="ij")
    lab = rgb_to_lab(np.round(lab_to_rgb(palette_lab(palette, hue, lightness))))
    return hue.ravel(), lightness.ravel(), lab.reshape(-1, 3)


def _nearest_on_palette(which: str, lab: np.ndarray) -> tuple[float, float, float]:
    """(hue, lightness, Lab distance) of the palette colour nearest to ``lab``."""
    hue, lightness, table = _palette_table(which)
    d = np.sum((table - lab) ** 2, axis=1)
    k = int(np.argmin(d))
    return float(hue[k]), float(lightness[k]), float(math.sqrt(d[k]))


@lru_cache(maxsize=None)
def _skin_table() -> tuple[np.ndarray, np.ndarray]:
    tone = np.linspace(0, 1, 1001)
    return tone, rgb_to_lab(np.round(lab_to_rgb(skin_lab(tone))))


def _nearest_skin(lab: np.ndarray) -> float:
    tone, table = _skin_table()
    return float(tone[np.argmin(np.sum((table - lab) ** 2, axis=1))])


# -- pose -----------------------------------------------------------------------------------------

def _box_sum_kernel(kernel: np.ndarray, image: np.ndarray, top: int, left: int, n: int) -> np.ndarray:
    """Correlation of ``kernel`` with ``image`` at the ``n`` x ``n`` placements from (top, left)."""
    kh, kw = kernel.shape
    patch = image[top:top + n + kh - 1, left:left + n + kw - 1]
    windows = np.lib.stride_tricks.sliding_window_view(patch, (kh, kw))  # (n, n, kh, kw)
    return np.einsum("ijkl,kl->ij", windows, kernel)


EYE_ROW = 15  # row of the eye centre in the detector kernels


@lru_cache(maxsize=None)
def _eye_kernels() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eye detector parts (25, 23), eye centre at (EYE_ROW, 11), each a mean over its region: the core
    every eye has (lid lines or iris, |du| <= 6, |dv| <= 1.2); the brow bar 10.5-11.7 px above it; the
    ring between the widest eye and a lens frame's inside (always skin)."""
    dv, du = np.mgrid[-EYE_ROW:10, -11:12].astype(np.float64)
    core = (np.abs(du) <= 6.0) & (np.abs(dv) <= 1.2)
    brow = (np.abs(du) <= 6.0) & (np.abs(dv + 11.1) <= 1.5)
    rho_eye = np.sqrt((du / 8.0) ** 2 + (dv / 6.0) ** 2)
    rho_lens = np.sqrt((du / 9.0) ** 2 + (dv / 7.2) ** 2)
    ring = (rho_eye >= 1.0) & (rho_lens <= 1.0)
    return core / core.sum(), brow / brow.sum(), ring / ring.sum()


def _find_eyes(contrast: np.ndarray) -> tuple[float, float, float, float]:
    """Coarse head centre (x, y) from the best eye pair over integer offsets of +-POSE_SEARCH px, and the
    pair's mean core and ring contrast.

    The score ``core + brow / 2 - ring`` is high on an eye (whatever its openness, with or without
    glasses), low on a lens frame (skin is not around it) and on a brow (no second brow above it).
    """
    cx0, cy0 = HEAD_CENTRE
    n = 2 * POSE_SEARCH + 1
    core, brow, ring = _eye_kernels()
    parts = []
    for ex in (-EYE_X, EYE_X):
        top = int(cy0 + EYE_Y) - POSE_SEARCH - EYE_ROW
        left = int(cx0 + ex) - POSE_SEARCH - core.shape[1] // 2
        parts.append([_box_sum_kernel(k, contrast, top, left, n) for k in (core, brow, ring)])
    core_r, brow_r, ring_r = [(a + b) / 2 for a, b in zip(*parts)]
    score = core_r + 0.5 * brow_r - ring_r
    dy, dx = np.unravel_index(int(np.argmax(score)), score.shape)
    return cx0 + dx - POSE_SEARCH, cy0 + dy - POSE_SEARCH, float(core_r[dy, dx]), float(ring_r[dy, dx])


@lru_cache(maxsize=None)
def _integer_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Half of a point-symmetric integer window (inside an 8 x 6 px ellipse): offsets (dx, dy)."""
    dy, dx = np.mgrid[0:7, -8:9]
    keep = ((dy > 0) | (dx > 0)) & ((dx / 8.0) ** 2 + (dy / 6.0) ** 2 <= 1.0)
    return dx[keep], dy[keep]


def _asymmetry_map(luma: np.ndarray, x0: float, y0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate eye centres (pixel centres within 5 px across / 6 px down or up of (x0, y0): not reaching
    the face's midline, where a pair of glasses is symmetric too) and how asymmetric their
    neighbourhood is under a half turn: sum asym^2 / (sum sym^2 + 5% of its largest value), with
    sym / asym the mean / half difference of the two pixels of each pair (sym minus the window mean).
    Returns (x (N,), y (N,), ratio (N,))."""
    dx, dy = _integer_pairs()
    oy, ox = np.mgrid[-6:7, -5:6]
    cx = int(x0) + ox.ravel()[:, None]  # (candidates, 1): pixel index of the candidate centre
    cy = int(y0) + oy.ravel()[:, None]
    h, w = luma.shape
    plus = luma[np.clip(cy + dy, 0, h - 1), np.clip(cx + dx, 0, w - 1)]  # (candidates, pairs)
    minus = luma[np.clip(cy - dy, 0, h - 1), np.clip(cx - dx, 0, w - 1)]
    sym = (plus + minus) / 2
    sym = ((sym - sym.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    asym = (((plus - minus) / 2) ** 2).sum(axis=1)
    return cx[:, 0] + 0.5, cy[:, 0] + 0.5, asym / (sym + 0.05 * sym.max() + 1e-6)


def _symmetric_pair(luma: np.ndarray) -> tuple[float, float, float] | None:
    """Head pose (x, y, tilt) of the most symmetric pair of eye candidates that sits like a pair of eyes
    (22 +- 1.5 px apart, tilt within 8 degrees); None when no pair does."""
    cx0, cy0 = HEAD_CENTRE
    lx, ly, lr = _asymmetry_map(luma, cx0 - EYE_X, cy0 + EYE_Y)
    rx, ry, rr = _asymmetry_map(luma, cx0 + EYE_X, cy0 + EYE_Y)
    ddx, ddy = rx[None, :] - lx[:, None], ry[None, :] - ly[:, None]
    ok = (np.abs(np.hypot(ddx, ddy) - 2 * EYE_X) <= 1.5) & (np.abs(ddy) <= np.tan(math.radians(8.0)) * ddx)
    if not ok.any():
        return None
    cost = np.where(ok, lr[:, None] + rr[None, :], np.inf)
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    tilt = math.atan2(ddy[i, j], ddx[i, j])
    return ((lx[i] + rx[j]) / 2 + EYE_Y * math.sin(tilt), (ly[i] + ry[j]) / 2 - EYE_Y * math.cos(tilt), tilt)


@lru_cache(maxsize=None)
def _pair_offsets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half of a point-symmetric window around an eye (head frame, 0.5 px grid inside an 8.5 x 6.5 px
    ellipse, so inside a lens frame): offsets (du, dv) and a soft weight."""
    du, dv = np.meshgrid(np.arange(-8.5, 8.51, 0.5), np.arange(0.0, 6.51, 0.5))
    r = np.sqrt((du / 8.5) ** 2 + (dv / 6.5) ** 2)
    keep = ((dv > 0) | (du > 0)) & (r < 1.0)
    return du[keep], dv[keep], np.clip((1.0 - r[keep]) * 4.0, 0.0, 1.0)


def _with_gradients(luma: np.ndarray) -> np.ndarray:
    """(H, W, 3): the luma and its x and y derivatives (central differences), sampled together."""
    gy, gx = np.gradient(luma)
    return np.stack([luma, gx, gy], axis=-1)


def _symmetry_centre(image: np.ndarray, x: float, y: float, tilt: float, steps: int = 8) -> tuple[float, float]:
    """The point about which the eye's neighbourhood is most symmetric under a half turn.

    The eye (lids, white, iris) and a lens frame are symmetric about the eye centre, at any openness;
    minimises ``sum w (I(c + d) - I(c - d) - 2 g.d)^2`` over the centre ``c`` and a brightness slope
    ``g`` (lighting) by Gauss-Newton on ``image`` from :func:`_with_gradients`. Linear in the image,
    so blur, noise and JPEG add no bias.
    """
    du, dv, w = _pair_offsets()
    c, s = math.cos(tilt), math.sin(tilt)
    dx, dy = du * c - dv * s, du * s + dv * c
    sw = np.sqrt(w)
    ridge = 4.0 * float(np.sum(w * (dx ** 2 + dy ** 2)))  # ~ a slope's own curvature: slopes are shrunk by half
    for _ in range(steps):
        plus, minus = _bilinear(image, x + dx, y + dy), _bilinear(image, x - dx, y - dy)  # (N, 3)
        gradient = plus[:, 1:] - minus[:, 1:]
        plus, minus = plus[:, 0], minus[:, 0]
        jacobian = np.stack([gradient[:, 0], gradient[:, 1], -2 * dx, -2 * dy], axis=1) * sw[:, None]
        gram = jacobian.T @ jacobian + np.diag([0.0, 0.0, ridge, ridge])  # the slope only where it pays
        try:
            step = np.linalg.solve(gram, -jacobian.T @ ((plus - minus) * sw))
        except np.linalg.LinAlgError:  # a flat neighbourhood (no eye there): nothing to move towards
            break
        x += float(np.clip(step[0], -1.5, 1.5))
        y += float(np.clip(step[1], -1.5, 1.5))
        if abs(step[0]) + abs(step[1]) < 1e-3:
            break
    return x, y


def _symmetric_pose(image: np.ndarray, hx: float, hy: float, tilt: float) -> tuple[float, float, float]:
    """Head centre and tilt from both eyes' symmetry centres, starting at a head pose."""
    c, s = math.cos(tilt), math.sin(tilt)
    lx, ly = _symmetry_centre(image, hx - EYE_X * c - EYE_Y * s, hy - EYE_X * s + EYE_Y * c, tilt)
    rx, ry = _symmetry_centre(image, hx + EYE_X * c - EYE_Y * s, hy + EYE_X * s + EYE_Y * c, tilt)
    tilt = math.atan2(ry - ly, rx - lx)
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    c, s = math.cos(tilt), math.sin(tilt)
    return mx + EYE_Y * s, my - EYE_Y * c, tilt


def _asymmetry(luma: np.ndarray, hx: float, hy: float, tilt: float) -> float:
    """Antisymmetric over symmetric energy of both eye windows at a pose (0: perfectly point-symmetric)."""
    du, dv, w = _pair_offsets()
    c, s = math.cos(tilt), math.sin(tilt)
    dx, dy = du * c - dv * s, du * s + dv * c
    anti, sym = 0.0, 0.0
    for side in (-1.0, 1.0):
        ex = hx + side * EYE_X * c - EYE_Y * s
        ey = hy + side * EYE_X * s + EYE_Y * c
        plus, minus = _bilinear(luma, ex + dx, ey + dy), _bilinear(luma, ex - dx, ey - dy)
        mean = float(np.sum(w * (plus + minus)) / (2 * np.sum(w)))
        anti += float(np.sum(w * (plus - minus) ** 2))
        sym += float(np.sum(w * (plus + minus - 2 * mean) ** 2))
    return anti / max(sym, 1e-6)


class _HeadFrame:
    """Samples the image at head-frame coordinates (u right, v down, origin at the head centre)."""

    def __init__(self, rgb: np.ndarray, cx: float, cy: float, tilt: float, light: float = 0.0):
        self.rgb, self.cx, self.cy = rgb, cx, cy
        self.c, self.s = math.cos(tilt), math.sin(tilt)
        self.light = light  # relative brightness slope per px of u (divided out)

    def to_image(self, u, v) -> tuple:
        """Image (x, y) of the head-frame point(s) (u, v): floats or arrays."""
        return self.cx + u * self.c - v * self.s, self.cy + u * self.s + v * self.c

    def sample(self, u, v) -> np.ndarray:
        u, v = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
        x, y = self.to_image(u, v)
        out = _bilinear(self.rgb, x, y)
        return out / (1.0 + self.light * u)[..., None]

    def grid(self, u0: float, u1: float, v0: float, v1: float,
             step: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb (V, U, 3), u (U,), v (V,)) on a regular grid, both ends included."""
        u = np.arange(u0, u1 + 1e-9, step)
        v = np.arange(v0, v1 + 1e-9, step)
        return self.sample(u[None, :], v[:, None]), u, v


# -- attributes -----------------------------------------------------------------------------------

def _cheeks(frame: _HeadFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Median RGB of the left and right cheek patches (below the lenses, beside the nose), and their
    roughness (median absolute deviation of the luma: ~0 on a face, large on noise or texture)."""
    left, _, _ = frame.grid(-18, -14, 6, 11, 0.5)
    right, _, _ = frame.grid(14, 18, 6, 11, 0.5)
    roughness = []
    for patch in (left, right):
        y = _luma(patch)
        roughness.append(float(np.median(np.abs(y - np.median(y)))))
    return np.median(left.reshape(-1, 3), axis=0), np.median(right.reshape(-1, 3), axis=0), max(roughness)


_YCC = np.array([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]]).T
"""RGB -> YCbCr (row vectors): linear in the pixel, so blur keeps edges in place."""


FACE_EDGE_ROWS = (10.0, 12.0, 14.0, 16.0, 18.0)
"""Head-frame rows (px below the eyes) whose cheek edges give the face width."""


def _face_rx(frame: _HeadFrame) -> tuple[float, list[tuple[float, float]]]:
    """Face half-width at its widest row, from the cheek edges on rows 10-18 (below the ears), and the image
    (x, y) of every edge it was read from.

    Along each row (5 rows averaged), outwards from the cheek: the edge is where the colour's
    projection onto (outside colour - skin colour) crosses one half; the edge's skin colour is the mean 2-4 px
    inside the first sample that starts 2 px clearly unlike it, the outside colour the one furthest from that
    skin within 3 px past it (:func:`_edge`: a slow drift across the cheek is not an edge).
    Colours in YCbCr with the chroma weighted 0.2 (JPEG halves its resolution and moves its edges by up
    to a pixel), or with full chroma where no row shows an edge that way. Hair of the skin's luma and
    a chroma difference below ~40 (8 after weighting) is missed and the next edge out is read:
    :func:`~ems_core.portraits.scene.random_portrait` does not draw such pairs.
    """
    u = np.arange(14.0, 54.0, 0.25)
    rows = np.arange(-1.0, 1.01, 0.5)  # each profile averages 5 rows (noise)
    spaces = {"luma": _YCC @ np.diag([1.0, 0.2, 0.2]), "chroma": _YCC}
    estimates = {name: [] for name in spaces}
    points = {name: [] for name in spaces}
    for v in FACE_EDGE_ROWS:
        for side in (-1.0, 1.0):
            rgb = frame.sample(side * u[None, :], v + rows[:, None]).mean(axis=0)
            for name, space in spaces.items():
                edge = _edge(rgb @ space, u)
                if not math.isnan(edge):
                    estimates[name].append(edge / float(face_half_width(1.0, v)))
                    points[name].append(frame.to_image(side * edge, v))
                    break
    for name in spaces:  # full chroma only where the luma shows no edge at all
        if estimates[name]:
            return float(np.median(estimates[name])), points[name]
    return math.nan, []


EDGE_REFERENCE = (8, 16)
"""A profile sample is compared with the mean colour of the samples 2-4 px further in (``(near, far)`` in 0.25 px
samples): a slow drift of the cheek's colour (shading a generative model paints on flat skin) is not an edge."""


def _edge(profile: np.ndarray, u: np.ndarray) -> float:
    """First skin-to-outside edge along a colour profile (linear colour space, ``u`` ascending from the
    cheek), or NaN. Each sample is compared with the colour just inside it (:data:`EDGE_REFERENCE`), not with the
    cheek's at ``|u|`` 14-17: an edge is a change within 2 px."""
    inner = profile[:12].mean(axis=0)  # |u| in [14, 17)
    noise = float(np.sqrt(np.mean(np.sum((profile[:12] - inner) ** 2, axis=1))))
    near, far_off = EDGE_REFERENCE
    index = np.arange(len(profile))
    lo, hi = np.maximum(index - far_off, 0), np.maximum(index - near, 1)
    sums = np.concatenate([np.zeros((1, profile.shape[1])), np.cumsum(profile, axis=0)])
    reference = (sums[hi] - sums[lo]) / (hi - lo)[:, None]
    reference[index < near] = inner
    above = np.linalg.norm(profile - reference, axis=1) > max(5.0, 4.0 * noise)
    lasting = np.lib.stride_tricks.sliding_window_view(np.append(above, [False] * 7), 8).all(axis=1)
    outside = np.nonzero(lasting)[0]  # non-skin for 2 px on (not a JPEG ripple)
    if len(outside) == 0:
        return math.nan
    k = int(outside[0])
    skin = reference[k]
    d = np.linalg.norm(profile - skin, axis=1)
    far = k + int(np.argmax(d[k:k + 12]))  # the plateau past the edge (within 3 px)
    direction = profile[far] - skin
    norm2 = float(direction @ direction)
    if norm2 < 6.0 ** 2:
        return math.nan
    t = (profile - skin) @ direction / norm2
    lo = max(k - 10, 0)
    seg = t[lo:k + 7]
    cross = np.nonzero((seg[:-1] < 0.5) & (seg[1:] >= 0.5))[0]
    if len(cross) == 0:
        return math.nan
    j = lo + int(cross[0])
    return float(u[j] + 0.25 * (0.5 - t[j]) / max(t[j + 1] - t[j], 1e-6))


FOREHEAD_REFERENCE = (-3.0, 3.0, -18.0, -15.0)  # head-frame box (u0, u1, v0, v1): bare forehead skin between the
# brows (they start at |u| 3.7, below v -14), 3-6 px below the lower line's centre: the skin the lines darken


def _forehead_lines(frame: _HeadFrame) -> float:
    """Darkness relative to the forehead's own skin (the median luma in :data:`FOREHEAD_REFERENCE`), summed over
    the two forehead-line bands (|u| <= 9, +-2.2 px), per px of line length (the line colour is the skin darkened
    by FOREHEAD_LINE_DARKNESS x age). The reference is a few px from the lines, not the cheeks 25 px below them:
    a slow shading across the face (the model paints some) is then nearly the same at the lines and at their
    reference."""
    rgb, u, v = frame.grid(-9, 9, -28, -17, 0.25)
    reference, _, _ = frame.grid(*FOREHEAD_REFERENCE, 0.5)
    darkness = 1.0 - _luma(rgb) / max(float(np.mean(_luma(reference))), 1.0)
    total = 0.0
    for line in FOREHEAD_LINES:
        centre = line + 0.8 * (u / 9.0) ** 2  # the lines' curvature in the renderer
        band = np.abs(v[:, None] - centre[None, :]) <= 2.2
        total += float((darkness * band).sum()) * 0.25 * 0.25
    return total / (2 * 18.0)


# Template fits (eyes, mouth): the renderer's own drawing, sampled in the head frame. A pixel's luma
# is linear in the skin's luma Y_s for fixed part colours (lip colour is linear in the skin), so two
# renders at two skin tones give, per sample, Y = Y_s * A + B for any skin.

TEMPLATE_EYES = np.linspace(0.0, 1.0, 21)
TEMPLATE_SMILES = np.linspace(-1.0, 1.0, 41)
TEMPLATE_BLURS = (0.0, 0.7, 1.1)  # Gaussian sigmas (px) applied to template renders; the best one counts
_TEMPLATE_SKINS = (0.15, 0.85)


@lru_cache(maxsize=None)
def _eye_points() -> tuple[np.ndarray, np.ndarray]:
    """Head-frame sample points (u, v) of both eye windows (0.5 px grid inside 8.5 x 6.5 px ellipses)."""
    du, dv = np.meshgrid(np.arange(-8.5, 8.51, 0.5), np.arange(-6.5, 6.51, 0.5))
    keep = (du / 8.5) ** 2 + (dv / 6.5) ** 2 < 1.0
    u = np.concatenate([du[keep] - EYE_X, du[keep] + EYE_X])
    v = np.concatenate([dv[keep], dv[keep]]) + EYE_Y
    return u, v


@lru_cache(maxsize=None)
def _mouth_points() -> tuple[np.ndarray, np.ndarray]:
    """Head-frame sample points (u, v) of the mouth window (|u| <= 13, 11 <= v <= 30, 0.5 px grid)."""
    u, v = np.meshgrid(np.arange(-13.0, 13.01, 0.5), np.arange(11.0, 30.01, 0.5))
    return u.ravel(), v.ravel()


@lru_cache(maxsize=None)
def _templates() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per feature (``"eyes"``, ``"smile"``), (A, B) of shape (values, blurs, samples): template luma
    ``Y_s * A + B`` at each template value and blur."""
    from PIL import ImageFilter

    n = max(len(TEMPLATE_EYES), len(TEMPLATE_SMILES))
    lumas = {"eyes": np.zeros((2, len(TEMPLATE_EYES), len(TEMPLATE_BLURS), len(_eye_points()[0]))),
             "smile": np.zeros((2, len(TEMPLATE_SMILES), len(TEMPLATE_BLURS), len(_mouth_points()[0])))}
    skins = []
    for k, skin in enumerate(_TEMPLATE_SKINS):
        base = CALIBRATION_BASE.with_(skin=skin, glasses=0.0, age=0.0)
        skins.append(float(_luma(np.array(colours_of(base).skin, dtype=np.float64))))
        for i in range(n):
            e = TEMPLATE_EYES[min(i, len(TEMPLATE_EYES) - 1)]
            portrait = base.with_(eyes=float(e), smile=float(TEMPLATE_SMILES[i]))
            image = render(portrait)
            for b, sigma in enumerate(TEMPLATE_BLURS):
                blurred = image.filter(ImageFilter.GaussianBlur(sigma)) if sigma > 0 else image
                frame = _HeadFrame(np.asarray(blurred, dtype=np.float64), *HEAD_CENTRE, 0.0)
                if i < len(TEMPLATE_EYES):
                    lumas["eyes"][k, i, b] = _luma(frame.sample(*_eye_points()))
                lumas["smile"][k, i, b] = _luma(frame.sample(*_mouth_points()))
    out = {}
    for name, y in lumas.items():
        a = (y[0] - y[1]) / (skins[0] - skins[1])
        out[name] = (a, y[0] - skins[0] * a)
    return out


def _template_fit(observed: np.ndarray, y_skin: float, name: str, values: np.ndarray) -> tuple[float, float]:
    """Template value whose luma best matches ``observed`` (least squares, best blur, parabolic
    interpolation between grid values), and the relative residual (0 = perfect)."""
    a, b = _templates()[name]
    predicted = y_skin * a + b  # (values, blurs, samples)
    sse = np.sum((predicted - observed) ** 2, axis=-1).min(axis=1)  # (values,)
    k = int(np.argmin(sse))
    value = float(values[k])
    if 0 < k < len(values) - 1:
        left, mid, right = sse[k - 1], sse[k], sse[k + 1]
        curvature = left - 2 * mid + right
        if curvature > 0:
            value += float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) * (values[1] - values[0])
    spread = float(np.sum((observed - observed.mean()) ** 2))
    return value, float(sse[k] / max(spread, 1e-6))


def _eyes_fit(frame: _HeadFrame, y_skin: float) -> tuple[float, float]:
    return _template_fit(_luma(frame.sample(*_eye_points())), y_skin, "eyes", TEMPLATE_EYES)


def _smile_fit(frame: _HeadFrame, y_skin: float) -> tuple[float, float]:
    return _template_fit(_luma(frame.sample(*_mouth_points())), y_skin, "smile", TEMPLATE_SMILES)


_FRAME_Y = float(_luma(np.array(FRAME_RGB, dtype=np.float64)))


def _frame_darkness(frame: _HeadFrame, skin_rgb: np.ndarray) -> float:
    """Frame darkness integrated along the lower half of both lens frames (px of full frame per px)."""
    y_skin = float(_luma(skin_rgb))
    total = 0.0
    for side in (-1.0, 1.0):
        du = np.arange(-12.5, 12.51, 0.25)
        dv = np.arange(2.5, 11.51, 0.25)
        rgb = frame.sample(side * EYE_X + du[None, :], EYE_Y + dv[:, None])
        rho = np.sqrt((du[None, :] / LENS_RX) ** 2 + (dv[:, None] / LENS_RY) ** 2)
        band = (np.abs(rho - 1.0) <= 2.2 / LENS_RY) & (np.abs(side * EYE_X + du[None, :]) >= 4.0)
        d = np.clip((y_skin - _luma(rgb)) / max(y_skin - _FRAME_Y, 20.0), -0.3, 1.3)
        total += float((d * band).sum()) * 0.25 * 0.25
    return total


def _hair_length(frame: _HeadFrame, rx: float, hair_lab: np.ndarray, skin_lab_ref: np.ndarray,
                 background_lab: np.ndarray) -> float:
    """Head-frame row where the front locks end: -8 + the number of hair-coloured rows below -8 in
    strips 2-5 px outside the face.

    A pixel is hair when it is nearer (Lab, chroma weighted 0.6: JPEG smears chroma) to the crown's
    colour, its strands' or grey hair than to what else can be there: the background, the clothes and,
    at ear height when the hair does not reach below the ears, the ears.
    """
    u = np.concatenate([np.arange(-(rx + 5.0), -(rx + 1.99), 1.0), np.arange(rx + 2.0, rx + 5.01, 1.0)])
    v = np.arange(-8.0, 70.0, 1.0)
    weight = np.array([1.0, 0.6, 0.6])
    unlit = frame.sample(u[None, :], v[:, None])  # (V, U, 3), the figure's lighting divided out
    lab = rgb_to_lab(unlit) * weight
    lab_lit = rgb_to_lab(unlit * (1.0 + frame.light * u)[None, :, None]) * weight  # the background is not lit

    def distance(colours, pixels=lab) -> np.ndarray:
        return np.min([np.linalg.norm(pixels - np.asarray(c) * weight, axis=-1) for c in colours], axis=0)

    d_hair = distance([hair_lab, hair_lab - (9.0, 0.0, 0.0), GREY_HAIR_LAB, np.asarray(GREY_HAIR_LAB) - (10.0, 0, 0)])
    clothes = rgb_to_lab(np.array(CLOTHES_RGB, dtype=np.float64))
    d_other = np.minimum(distance([background_lab], lab_lit), distance([clothes]))
    hairy = (d_hair < d_other).mean(axis=1)  # (V,)
    if hairy[(v >= 10.0) & (v <= 13.0)].mean() < 0.5:  # the hair ends above the ears' bottom: mind the ears
        ears = (v >= -7.0) & (v <= 9.0)
        d_ear = distance([skin_lab_ref, skin_lab_ref - (2.5, 0.0, 0.0)])
        hairy[ears] = (d_hair < np.minimum(d_other, d_ear))[ears].mean(axis=1)
    x = frame.cx + u[None, :] * frame.c - v[:, None] * frame.s  # count rows inside the image only
    y = frame.cy + u[None, :] * frame.s + v[:, None] * frame.c
    inside = ((x >= 0) & (x < IMAGE_SIZE) & (y >= 0) & (y < IMAGE_SIZE)).all(axis=1)
    return -8.0 + float(hairy[inside].sum())


def _grey_temples(frame: _HeadFrame, rx: float, hair_lab: np.ndarray, skin_lab_ref: np.ndarray,
                  background_lab: np.ndarray) -> float:
    """Share of grey among the hair pixels beside the temples (rows -34 .. -12, 10 <= |u| <= rx + 7; each pixel
    is grey hair, the crown's colour, skin or background, whichever is nearest in Lab): the world's second age
    cue (grey from the sides inwards from age 0.3). A raw statistic for diagnostics; age is read from the lines."""
    u = np.concatenate([np.arange(-(rx + 7.0), -9.99, 0.5), np.arange(10.0, rx + 7.01, 0.5)])
    lab = rgb_to_lab(frame.sample(u[None, :], np.arange(-34.0, -11.99, 0.5)[:, None]))
    nearest = np.argmin([np.linalg.norm(lab - np.asarray(c), axis=-1)
                         for c in (GREY_HAIR_LAB, hair_lab, skin_lab_ref, background_lab)], axis=0)
    return float((nearest == 0).sum() / max(int((nearest <= 1).sum()), 1))


def _background(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean background colour over the border band, and the band's brightness signature (24,)."""
    band = background_mask(IMAGE_SIZE)
    pixels = rgb[band]
    median = np.median(pixels, axis=0)
    close = np.linalg.norm(pixels - median, axis=1) < 60.0
    mean = pixels[close].mean(axis=0) if close.any() else median
    rel = _luma(rgb) / max(float(_luma(mean)), 1.0) - 1.0
    top = rel[:9].reshape(9, 8, 16).mean(axis=(0, 2))
    left = rel[:96, :11].reshape(8, 12, 11).mean(axis=(1, 2))
    right = rel[:96, -11:].reshape(8, 12, 11).mean(axis=(1, 2))
    return mean, np.concatenate([top, left, right])


def background_distance(a: PortraitMeasurement, b: PortraitMeasurement) -> float:
    """RMS difference of two measurements' background signatures (relative brightness; ~0.005 for the
    same background texture under another face, several times that for another texture)."""
    return float(np.sqrt(np.mean((a.background_signature - b.background_signature) ** 2)))


# -- measurement ----------------------------------------------------------------------------------

def _measure_raw(rgb: np.ndarray) -> dict:
    """Every measurement before calibration (``found`` False when no face is seen)."""
    # 1. Background.
    bg_rgb, signature = _background(rgb)
    bg_lab = rgb_to_lab(bg_rgb)
    bg_hue, bg_lightness, _ = _nearest_on_palette("background", bg_lab)
    out = {"background_hue": bg_hue, "background_lightness": bg_lightness, "background_signature": signature,
           "found": False, "eye_score": 0.0, "skin_contrast": 0.0}

    # 2. Skin guess below the nose (median: robust to the nose, the mouth's edge and offsets).
    cx0, cy0 = HEAD_CENTRE
    box = rgb[int(cy0) + 6:int(cy0) + 13, int(cx0) - 6:int(cx0) + 7].reshape(-1, 3)
    skin_guess = np.median(box, axis=0)
    out["skin_contrast"] = float(np.linalg.norm(rgb_to_lab(skin_guess) - bg_lab))
    if out["skin_contrast"] < MIN_SKIN_CONTRAST:
        return out

    # 3. Pose: the eye pair in a contrast map (Lab distance to the skin), then each eye's centre of
    #    half-turn symmetry in the luma.
    contrast = np.clip(np.linalg.norm(rgb_to_lab(rgb) - rgb_to_lab(skin_guess), axis=-1) / 40.0, 0.0, 1.2)
    cx, cy, core, ring = _find_eyes(contrast)
    out["eye_score"] = core - ring
    if core - ring < MIN_EYE_SCORE or ring > MAX_EYE_RING:
        return out
    luma = _luma(rgb)
    blurred = _gaussian_blur(luma, 1.5)  # widens the basin of the symmetry fit (a thin lid line)
    starts = [(cx, cy, 0.0)]
    pair = _symmetric_pair(blurred)
    if pair is not None:
        starts.append(pair)
    poses = []
    images = (_with_gradients(blurred), _with_gradients(luma))
    for cx, cy, tilt in starts:  # from the detector's pair and from the most symmetric pair
        for image in images:
            for _ in range(2):
                cx, cy, tilt = _symmetric_pose(image, cx, cy, tilt)
        poses.append((_asymmetry(luma, cx, cy, tilt), cx, cy, tilt))
    out["asymmetry"], cx, cy, tilt = min(poses)
    if out["asymmetry"] > MAX_EYE_ASYMMETRY:
        return out

    # 4. Head frame; lighting from the cheeks' brightness ratio (the renderer's light is linear in
    #    head-frame u), divided out; skin = both cheeks. The cheeks of a face are smooth.
    frame = _HeadFrame(rgb, cx, cy, tilt)
    left, right, roughness = _cheeks(frame)
    ratio = float(_luma(right)) / max(float(_luma(left)), 1.0)
    slope = (ratio - 1.0) / (ratio + 1.0) / 16.0  # (1 + 16 a) / (1 - 16 a) = ratio
    frame.light = slope
    skin_rgb = (left / (1 - 16 * slope) + right / (1 + 16 * slope)) / 2
    skin_l = rgb_to_lab(skin_rgb)
    out["cheek_roughness"] = roughness
    if float(np.linalg.norm(skin_l - bg_lab)) < MIN_SKIN_CONTRAST or roughness > MAX_CHEEK_ROUGHNESS:
        return out
    out.update(found=True, head_x=cx - cx0, head_y=cy - cy0, tilt=math.degrees(tilt),
               lighting=slope * 40.0 / LIGHT_SLOPE, skin=_nearest_skin(skin_l))
    y_skin = float(_luma(skin_rgb))

    # 5. Attributes in the head frame.
    rx, out["face_edges"] = _face_rx(frame)
    out["face_rx"] = rx
    out["face_width"] = face_width_of_rx(rx) if not math.isnan(rx) else 0.5
    crown, _, _ = frame.grid(-2.5, 2.5, -40, -36, 0.5)  # inside the colour kept at the crown at any age
    hair_lab = rgb_to_lab(np.median(crown.reshape(-1, 3), axis=0))
    out["hair_hue"], out["hair_lightness"], _ = _nearest_on_palette("hair", hair_lab)
    out["forehead"] = _forehead_lines(frame)
    out["eyes"], out["eyes_residual"] = _eyes_fit(frame, y_skin)
    out["smile"], out["smile_residual"] = _smile_fit(frame, y_skin)
    out["frame_darkness"] = _frame_darkness(frame, skin_rgb)
    out["hair_rows"] = _hair_length(frame, rx if not math.isnan(rx) else 28.0, hair_lab, skin_l, bg_lab)
    out["grey_temples"] = _grey_temples(frame, rx if not math.isnan(rx) else 28.0, hair_lab, skin_l, bg_lab)
    return out


_CALIBRATED = {  # measured attribute -> raw statistic it is read from
    "age": "forehead", "glasses": "frame_darkness", "hair_length": "hair_rows",
}
CALIBRATION_BASE = Portrait(smile=0.0, eyes=0.5, age=0.5, hair_hue=0.0, hair_lightness=0.1, hair_length=0.5,
                            glasses=0.5, face_width=0.5, skin=0.5, background_hue=5 / 6, background_lightness=0.9)


CALIBRATION_POSES = ((2.3, 0.37, -0.21), (-4.1, -1.3, 0.71))  # (tilt, head x, head y): off the pixel grid, so
# thin strokes are not rasterised at one lucky phase


@lru_cache(maxsize=None)
def calibration() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per calibrated attribute, (raw statistic, value) from clean renders of :data:`CALIBRATION_BASE`
    with only that attribute swept over its range (11 values, statistic averaged over
    :data:`CALIBRATION_POSES`), the statistic made non-decreasing."""
    table = {}
    for name, stat in _CALIBRATED.items():
        low, high = BANDS[name][next(iter(BANDS[name]))][0], BANDS[name][next(reversed(BANDS[name]))][1]
        values = np.linspace(low, high, 11)
        raws = []
        for value in values:
            stats = []
            for tilt, head_x, head_y in CALIBRATION_POSES:
                portrait = CALIBRATION_BASE.with_(**{name: float(value)}, tilt=tilt, head_x=head_x, head_y=head_y)
                stats.append(_measure_raw(np.asarray(render(portrait), dtype=np.float64))[stat])
            raws.append(float(np.mean(stats)))
        raws = np.maximum.accumulate(np.array(raws, dtype=np.float64))
        table[name] = (raws + np.arange(len(raws)) * 1e-9, values)
    return table


def measure(image: ImageLike, value_range: tuple[float, float] = (0.0, 1.0)) -> PortraitMeasurement:
    """Measure a portrait in an RGB image (128x128; other sizes are box-resized first).

    Args:
        image: PIL image, or array (H, W, 3) / (3, H, W); uint8 arrays are on 0-255, other dtypes on
            ``value_range``.
        value_range: the (black, white) values of a non-uint8 array.

    Returns:
        A :class:`PortraitMeasurement`; ``found=False`` (face attributes NaN, words ``"none"``) when no
        face is seen.
    """
    rgb = _as_rgb_array(image, value_range)
    raw = _measure_raw(rgb)
    common = dict(background_hue=raw["background_hue"], background_lightness=raw["background_lightness"],
                  background_signature=raw["background_signature"], eye_score=raw["eye_score"],
                  skin_contrast=raw["skin_contrast"], raw=raw)
    if not raw["found"]:
        return PortraitMeasurement(found=False, **common)
    table = calibration()
    values = {}
    for name, stat in _CALIBRATED.items():
        xs, ys = table[name]
        value = raw[stat]
        values[name] = float(np.interp(value, xs, ys)) if not math.isnan(value) else math.nan
    for name in ("smile", "eyes", "hair_hue", "hair_lightness", "face_width", "skin"):
        low, high = BANDS[name][next(iter(BANDS[name]))][0], BANDS[name][next(reversed(BANDS[name]))][1]
        values[name] = float(np.clip(raw[name], low, high))
    return PortraitMeasurement(found=True, **values, head_x=raw["head_x"], head_y=raw["head_y"], tilt=raw["tilt"],
                               lighting=raw["lighting"], **common)


def agreement(expected: Union[Portrait, dict, str], measurement: PortraitMeasurement) -> dict[str, bool]:
    """Per semantic attribute, whether the measured word equals the expected one.

    ``expected`` is a :class:`Portrait`, a words dict like :attr:`Portrait.words`, or a caption.
    """
    words = expected.words if isinstance(expected, Portrait) else (
        parse_caption(expected) if isinstance(expected, str) else dict(expected))
    return metrics_agreement(words, measurement.words, ATTRIBUTES)


def hair_colour_word(measurement: PortraitMeasurement) -> str:
    """The measured hair colour as the caption's single word (``"black"``, ``"light-blue"``...)."""
    words = measurement.words
    return HAIR_COLOUR_WORDS.get((words["hair_hue"], words["hair_lightness"]), "none")
