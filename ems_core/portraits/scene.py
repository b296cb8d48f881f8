"""The portrait world: stylised faces at 128x128 with continuous, known attributes.

A :class:`Portrait` holds the ground truth: eleven semantic attributes that captions name (smile,
eyes, age, hair hue / lightness / length, glasses, face width, skin tone, background hue /
lightness), each a float in a documented range, and nuisance details that captions never name
(head offset and tilt, hair strand pattern, background texture, lighting side).

:func:`render` draws a portrait anti-aliased (4x supersampled polygons, box-filtered) in a few
milliseconds. Every face part is a polygon in *head coordinates* (pixels of the 128x128 image, origin
at the head centre, y down), rotated by the tilt and shifted by the offset; the oracle
(:mod:`ems_core.portraits.oracle`) reads the same geometry back.

Continuous attributes have caption words by band (``*_BANDS``: word -> inner band). Portraits sampled
by :func:`random_portrait` lie inside the bands so that every caption word is unambiguous; a value is
read as a word by splitting at the midpoints between bands (:func:`word_for`).
:func:`caption_of` writes a caption in one of :data:`N_PHRASINGS` phrasings, :func:`parse_caption`
reads the words back from any of them.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from ..world.bands import thresholds, word_for

IMAGE_SIZE = 128
SUPERSAMPLE = 4
HEAD_CENTRE = (64.0, 58.0)  # image pixels; the head is drawn at HEAD_CENTRE + (head_x, head_y)

# -- attributes and their words ---------------------------------------------------------------------

SMILE_BANDS = {"frowning": (-1.0, -0.6), "neutral": (-0.12, 0.12), "slightly smiling": (0.28, 0.42),
               "smiling": (0.56, 0.70), "beaming": (0.84, 1.0)}
EYES_BANDS = {"sleepy": (0.0, 0.2), "open": (0.4, 0.6), "wide-eyed": (0.8, 1.0)}
AGE_BANDS = {"young": (0.0, 0.2), "middle-aged": (0.4, 0.6), "old": (0.8, 1.0)}
HAIR_HUE_BANDS = {"natural": (0.0, 0.04), "copper": (0.16, 0.24), "pink": (0.36, 0.44),
                  "purple": (0.56, 0.64), "blue": (0.76, 0.84), "green": (0.96, 1.0)}
HAIR_LIGHTNESS_BANDS = {"dark": (0.0, 0.2), "medium": (0.4, 0.6), "light": (0.8, 1.0)}
HAIR_LENGTH_BANDS = {"short": (0.0, 0.2), "medium-length": (0.4, 0.6), "long": (0.8, 1.0)}
GLASSES_BANDS = {"none": (0.0, 0.06), "thin glasses": (0.4, 0.6), "glasses": (0.85, 1.0)}
FACE_WIDTH_BANDS = {"narrow": (0.0, 0.2), "oval": (0.4, 0.6), "wide": (0.8, 1.0)}
SKIN_BANDS = {"pale": (0.0, 0.1), "light": (0.26, 0.40), "tan": (0.60, 0.74), "dark": (0.90, 1.0)}
_H = 1 / 6
BACKGROUND_HUE_BANDS = {  # seven anchors at k / 6, each word +-0.035 around its anchor
    "red": (0.0, 0.035), "orange": (_H - 0.035, _H + 0.035), "yellow": (2 * _H - 0.035, 2 * _H + 0.035),
    "green": (0.5 - 0.035, 0.5 + 0.035), "teal": (4 * _H - 0.035, 4 * _H + 0.035),
    "blue": (5 * _H - 0.035, 5 * _H + 0.035), "purple": (0.965, 1.0),
}
BACKGROUND_LIGHTNESS_BANDS = {"dark": (0.0, 0.2), "medium": (0.4, 0.6), "light": (0.8, 1.0)}

BANDS: dict[str, dict[str, tuple[float, float]]] = {
    "smile": SMILE_BANDS, "eyes": EYES_BANDS, "age": AGE_BANDS, "hair_hue": HAIR_HUE_BANDS,
    "hair_lightness": HAIR_LIGHTNESS_BANDS, "hair_length": HAIR_LENGTH_BANDS, "glasses": GLASSES_BANDS,
    "face_width": FACE_WIDTH_BANDS, "skin": SKIN_BANDS, "background_hue": BACKGROUND_HUE_BANDS,
    "background_lightness": BACKGROUND_LIGHTNESS_BANDS,
}
ATTRIBUTES: tuple[str, ...] = tuple(BANDS)  # the semantic attributes, in Portrait field order
RANGES = {name: (bands[next(iter(bands))][0], bands[next(reversed(bands))][1]) for name, bands in BANDS.items()}

# The hair colour is one caption word per (hue word, lightness word).
HAIR_COLOUR_WORDS: dict[tuple[str, str], str] = {
    ("natural", "dark"): "black", ("natural", "medium"): "brown", ("natural", "light"): "blonde",
    ("copper", "dark"): "auburn", ("copper", "medium"): "red", ("copper", "light"): "strawberry-blonde",
    **{(hue, lightness): f"{prefix}{hue}" for hue in ("pink", "purple", "blue", "green")
       for lightness, prefix in (("dark", "dark-"), ("medium", ""), ("light", "light-"))},
}
_HAIR_FROM_WORD = {word: key for key, word in HAIR_COLOUR_WORDS.items()}

# Nuisance ranges (never in captions).
HEAD_OFFSET_MAX = 4.0  # pixels, each axis
TILT_MAX = 6.0  # degrees, clockwise positive (image y down)
LIGHT_SLOPE = 0.14  # relative brightness change per 40 px of head-frame x at lighting = 1


THRESHOLDS = {name: thresholds(bands) for name, bands in BANDS.items()}


@dataclass(frozen=True)
class Portrait:
    """Ground truth of one portrait; the semantic fields are floats in the ranges of :data:`BANDS`.

    Geometry is in pixels of the 128x128 image (head frame: origin at the head centre, y down).
    """

    smile: float = 0.0  # -1 frown .. 0 neutral .. 1 broad smile (corners 8 px above the middle at 1; teeth > 0.45)
    eyes: float = 0.5  # eye openness: 0 nearly closed .. 1 wide (eye half-height 0.6 + 3.8 * eyes px)
    age: float = 0.1  # 0 young .. 1 old: forehead-line strength = age (two 1.8 px lines), grey temples from 0.3
    hair_hue: float = 0.0  # position on the hair palette path: natural, copper, pink, purple, blue, green
    hair_lightness: float = 0.1  # 0 dark .. 1 light (CIE L* 14 .. 80)
    hair_length: float = 0.1  # 0 short (ends above the ears) .. 1 long (ends 58 px below the head centre)
    glasses: float = 0.0  # 0 none .. 1 full frames (frame width 0.5 + 1.1 g px, opacity min(1, 1.5 g))
    face_width: float = 0.5  # 0 narrow .. 1 wide (face half-width 24 + 16 * face_width px)
    skin: float = 0.3  # skin tone: 0 pale .. 1 dark, on the skin palette path
    background_hue: float = 5 / 6  # position on the background palette: red .. purple
    background_lightness: float = 0.9  # 0 dark .. 1 light (CIE L* 28 .. 88)
    # nuisance details, never named by a caption:
    head_x: float = 0.0  # head offset, pixels in [-4, 4]
    head_y: float = 0.0
    tilt: float = 0.0  # head tilt, degrees in [-6, 6]
    hair_seed: int = 0  # strand pattern, parting, fringe and tip jaggedness
    background_seed: int = 0  # background gradient direction/strength and low-frequency texture
    lighting: float = 0.0  # -1 lit from the left .. 1 lit from the right (0 flat)

    def __post_init__(self) -> None:
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not low - 1e-9 <= value <= high + 1e-9:
                raise ValueError(f"{name} = {value} outside [{low}, {high}]")
        if abs(self.head_x) > HEAD_OFFSET_MAX + 1e-9 or abs(self.head_y) > HEAD_OFFSET_MAX + 1e-9:
            raise ValueError(f"head offset ({self.head_x}, {self.head_y}) beyond {HEAD_OFFSET_MAX} px")
        if abs(self.tilt) > TILT_MAX + 1e-9:
            raise ValueError(f"tilt {self.tilt} beyond {TILT_MAX} degrees")
        if not -1.0 <= self.lighting <= 1.0:
            raise ValueError(f"lighting {self.lighting} outside [-1, 1]")

    @property
    def words(self) -> dict[str, str]:
        """The portrait as caption words, one per semantic attribute (see :data:`BANDS`)."""
        return {name: word_for(getattr(self, name), bands) for name, bands in BANDS.items()}

    @property
    def hair_colour(self) -> str:
        """The caption's hair colour word (``"black"``, ``"auburn"``, ``"light-blue"``...)."""
        words = self.words
        return HAIR_COLOUR_WORDS[(words["hair_hue"], words["hair_lightness"])]

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> "Portrait":
        return replace(self, **changes)


# -- colour ---------------------------------------------------------------------------------------

_M_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_M_XYZ_TO_RGB = np.linalg.inv(_M_RGB_TO_XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883])


def rgb_to_lab(rgb) -> np.ndarray:
    """sRGB (..., 3) on the 0-255 scale -> CIE Lab (D65)."""
    c = np.clip(np.asarray(rgb, dtype=np.float64) / 255.0, 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _M_RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_rgb(lab) -> np.ndarray:
    """CIE Lab (..., 3) -> sRGB on the 0-255 scale (float, clipped to the gamut)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f ** 3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    linear = np.clip(xyz @ _M_XYZ_TO_RGB.T, 0.0, 1.0)
    c = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return c * 255.0


# Palette paths: per anchor, the Lab colour at lightness 0, 0.5 and 1 (linear in between); a
# continuous hue is linear between adjacent anchors.
HAIR_PALETTE = np.array([
    [(14, 1, 3), (45, 10, 22), (78, 3, 32)],  # natural: black, brown, blonde
    [(26, 24, 20), (48, 42, 48), (70, 26, 42)],  # copper: auburn, red, strawberry-blonde
    [(30, 42, -4), (58, 54, -6), (80, 28, -4)],  # pink
    [(24, 30, -34), (45, 40, -46), (72, 22, -26)],  # purple
    [(24, 4, -38), (47, -2, -46), (76, -10, -26)],  # blue
    [(26, -26, 12), (50, -42, 20), (78, -30, 16)],  # green
], dtype=np.float64)
BACKGROUND_PALETTE = np.array([
    [(30, 40, 25), (52, 58, 38), (84, 20, 10)],  # red
    [(38, 24, 40), (66, 30, 62), (88, 12, 28)],  # orange
    [(42, -4, 40), (80, -4, 70), (94, -5, 32)],  # yellow
    [(32, -30, 22), (60, -46, 36), (88, -20, 14)],  # green
    [(32, -24, -6), (60, -36, -8), (88, -18, -4)],  # teal
    [(26, 10, -42), (52, 4, -46), (86, -4, -16)],  # blue
    [(26, 30, -30), (48, 40, -40), (84, 16, -14)],  # purple
], dtype=np.float64)
SKIN_PALETTE = np.array([(90, 5, 13), (78, 13, 21), (60, 17, 28), (38, 14, 22)], dtype=np.float64)  # pale .. dark
GREY_HAIR_LAB = (72.0, 0.0, 2.0)
CLOTHES_RGB = (236, 234, 228)
FRAME_RGB = (30, 28, 36)
EYE_WHITE_RGB = (242, 240, 234)
IRIS_RGB = (80, 52, 34)
PUPIL_RGB = (18, 12, 12)
EYE_LINE_RGB = (38, 26, 24)
MOUTH_INSIDE_RGB = (70, 20, 28)
TEETH_RGB = (238, 234, 222)


def palette_lab(palette: np.ndarray, hue, lightness) -> np.ndarray:
    """Lab colour(s) at ``hue`` (position on the anchor path, [0, 1]) and ``lightness`` ([0, 1])."""
    hue, lightness = np.asarray(hue, dtype=np.float64), np.asarray(lightness, dtype=np.float64)
    x = np.clip(hue, 0.0, 1.0) * (len(palette) - 1)
    i = np.minimum(np.floor(x).astype(int), len(palette) - 2)
    f = (x - i)[..., None]
    y = np.clip(lightness, 0.0, 1.0) * 2
    j = np.minimum(np.floor(y).astype(int), 1)
    g = (y - j)[..., None]

    def at(k):
        return (1 - g) * palette[k, j] + g * palette[k, j + 1]

    return (1 - f) * at(i) + f * at(i + 1)


def skin_lab(skin) -> np.ndarray:
    """Lab colour(s) of a skin tone in [0, 1] (linear between the :data:`SKIN_PALETTE` anchors)."""
    x = np.clip(np.asarray(skin, dtype=np.float64), 0.0, 1.0) * (len(SKIN_PALETTE) - 1)
    i = np.minimum(np.floor(x).astype(int), len(SKIN_PALETTE) - 2)
    f = (x - i)[..., None]
    return (1 - f) * SKIN_PALETTE[i] + f * SKIN_PALETTE[i + 1]


def _rgb(lab) -> tuple[int, int, int]:
    return tuple(int(round(v)) for v in lab_to_rgb(lab))


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def _scale(a, s: float) -> tuple[int, int, int]:
    return tuple(int(round(min(255.0, x * s))) for x in a)


@dataclass(frozen=True)
class Colours:
    """The flat colours of one portrait (RGB 0-255)."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_strand: tuple[int, int, int]
    grey: tuple[int, int, int]
    grey_strand: tuple[int, int, int]
    brow: tuple[int, int, int]
    background: tuple[int, int, int]


def colours_of(portrait: Portrait) -> Colours:
    """Skin, hair, grey hair, brow and background colours of a portrait."""
    hair = palette_lab(HAIR_PALETTE, portrait.hair_hue, portrait.hair_lightness)
    grey = np.array(GREY_HAIR_LAB)
    return Colours(
        skin=_rgb(skin_lab(portrait.skin)),
        hair=_rgb(hair),
        hair_strand=_rgb(hair - (9.0, 0.0, 0.0)),
        grey=_rgb(grey),
        grey_strand=_rgb(grey - (10.0, 0.0, 0.0)),
        brow=_rgb(hair * (0.6, 0.8, 0.8) if portrait.hair_lightness > 0.3 else hair - (4.0, 0.0, 0.0)),
        background=_rgb(palette_lab(BACKGROUND_PALETTE, portrait.background_hue, portrait.background_lightness)),
    )


# -- head geometry (head frame, pixels) ------------------------------------------------------------

FACE_RY = 34.0
EYE_X, EYE_Y, EYE_W = 11.0, -4.0, 6.5  # eye centres at (+-EYE_X, EYE_Y); eye half-width
IRIS_R, PUPIL_R = 3.3, 1.5
LENS_RX, LENS_RY = 10.0, 8.4  # glasses lens ellipse (frame centre line), centred on each eye
MOUTH_Y = 19.0  # mean height of the mouth's centre line
MOUTH_LIFT = 8.0  # corner-minus-centre rise of the mouth line at smile = 1, in px
CAP_CENTRE_Y, CAP_RY = -6.0, 37.0  # the hair cap's outer ellipse: centre (0, -6), radii (rx + 5, 37)
FRINGE_Y = -29.0  # fringe height at the centre line
FOREHEAD_LINES = (-25.0, -21.0)  # wrinkle rows on the forehead (centre height; they curve down at the ends)
FOREHEAD_LINE_WIDTH = 1.8  # px; the lines are the skin darkened by FOREHEAD_LINE_DARKNESS x age
FOREHEAD_LINE_DARKNESS = 0.6
FOREHEAD_LINE_HALF_LENGTH = 12.0  # px, the upper line; the lower one is 1 px shorter each side
FACE_RX_NARROW, FACE_RX_SPAN = 24.0, 16.0  # face half-width = 24 + 16 * face_width px
GREY_START, GREY_SPAN = 0.3, 0.6  # grey share = clip((age - 0.3) / 0.6, 0, 1)
GREY_EDGE_OLD = 12.0  # hair is grey beyond |x| = rx + 10 - (rx + 10 - 12) * grey share (from the sides inwards)
GREY_SLOPE, GREY_PIVOT_Y = 0.35, -15.0  # ... + 0.35 min(y + 15, 0): above the temples the grey line slants inwards


def face_rx(face_width: float) -> float:
    """Face half-width (px) at the widest row."""
    return FACE_RX_NARROW + FACE_RX_SPAN * face_width


def face_width_of_rx(rx: float) -> float:
    """Inverse of :func:`face_rx`."""
    return (rx - FACE_RX_NARROW) / FACE_RX_SPAN


def eye_half_height(eyes: float) -> float:
    return 0.6 + 3.8 * eyes


def hair_end(hair_length: float) -> float:
    """Head-frame y (px) where the hair ends."""
    return -6.0 + 64.0 * hair_length


def grey_share(age: float) -> float:
    return min(max((age - GREY_START) / GREY_SPAN, 0.0), 1.0)


def grey_edge(age: float, rx: float) -> float:
    """|x| (px) beyond which hair is grey at temple height (y = -15; beyond all hair at grey share 0)."""
    young = rx + 10.0
    return young - (young - GREY_EDGE_OLD) * grey_share(age)


def frame_width(glasses: float) -> float:
    return 0.5 + 1.1 * glasses


def frame_opacity(glasses: float) -> float:
    return min(1.0, 1.5 * glasses)


def jaw(t: np.ndarray) -> np.ndarray:
    """Narrowing of the face outline towards the chin, as a factor on x at outline angle ``t``."""
    return 1.0 - 0.12 * np.maximum(np.sin(t), 0.0) ** 2


def face_half_width(rx: float, y):
    """Half-width of the face outline at head-frame row ``y``."""
    s = np.clip(np.asarray(y, dtype=np.float64) / FACE_RY, -1.0, 1.0)
    return rx * np.sqrt(1 - s ** 2) * (1.0 - 0.12 * np.maximum(s, 0.0) ** 2)


@lru_cache(maxsize=None)
def _unit_circle(n: int) -> np.ndarray:
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40) -> np.ndarray:
    return _unit_circle(n) * (rx, ry) + (cx, cy)


def _stroke(points: np.ndarray, width) -> np.ndarray:
    """Polygon of a polyline thickened to ``width`` (px, scalar or per point), flat ends."""
    d = np.empty_like(points)
    d[1:-1] = points[2:] - points[:-2]
    d[0], d[-1] = points[1] - points[0], points[-1] - points[-2]
    n = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    half = np.asarray(width, dtype=np.float64).reshape(-1, 1) / 2
    return np.concatenate([points + n * half, (points - n * half)[::-1]])


def _is_grey(x: float, y: float, edge: float) -> bool:
    return abs(x) >= edge + GREY_SLOPE * min(y - GREY_PIVOT_Y, 0.0)


def _clip_outside(poly: np.ndarray, edge: float, slope: float = GREY_SLOPE) -> list[np.ndarray]:
    """Parts of a polygon beyond the lines |x| = edge + slope * min(y - GREY_PIVOT_Y, 0), one per side
    (vertical below temple height, slanting inwards above it; Sutherland-Hodgman against each)."""
    parts = []
    for sign in (-1.0, 1.0):
        margin = sign * poly[:, 0] - edge - slope * np.minimum(poly[:, 1] - GREY_PIVOT_Y, 0.0)  # >= 0: outside
        out = []
        n = len(poly)
        for k in range(n):
            j = (k + 1) % n
            if margin[k] >= 0:
                out.append(poly[k])
            if (margin[k] >= 0) != (margin[j] >= 0):
                t = margin[k] / (margin[k] - margin[j])
                out.append(poly[k] + t * (poly[j] - poly[k]))
        if len(out) >= 3:
            parts.append(np.array(out))
    return parts


@dataclass(frozen=True)
class HairStyle:
    """The seeded strand pattern of one hair seed (head frame, px)."""

    parting: float
    fringe_jag: np.ndarray  # (9,) offsets of the fringe line
    tip_jag: np.ndarray  # (9,) offsets of the hair ends
    strands: np.ndarray  # (S, 2): (start x at the crown, end position along the fringe in [-1, 1])
    lock_strands: np.ndarray  # (L,) x positions inside a lock, as fractions of its width


@lru_cache(maxsize=4096)
def hair_style(seed: int) -> HairStyle:
    rng = random.Random(seed)
    strands = [(rng.uniform(-10, 10), rng.uniform(-1.0, 1.0)) for _ in range(rng.randint(5, 8))]
    return HairStyle(
        parting=rng.uniform(-7.0, 7.0),
        fringe_jag=np.array([rng.uniform(-0.9, 0.6) for _ in range(9)]),
        tip_jag=np.array([rng.uniform(-2.0, 2.0) for _ in range(9)]),
        strands=np.array(strands),
        lock_strands=np.array([rng.uniform(0.25, 0.75) for _ in range(rng.randint(1, 3))]),
    )


def _fringe_line(rx: float, style: HairStyle, n: int = 25) -> np.ndarray:
    """The fringe's lower edge, from the left temple to the right temple."""
    x = np.linspace(-(rx + 1.0), rx + 1.0, n)
    jag = np.interp(x, np.linspace(-(rx + 1.0), rx + 1.0, len(style.fringe_jag)), style.fringe_jag)
    y = FRINGE_Y + 12.0 * (np.abs(x) / (rx + 1.0)) ** 2.5 + jag
    return np.stack([x, y], axis=1)


def _cap(rx: float, style: HairStyle) -> np.ndarray:
    """The hair cap: from the fringe line up and over the head (outer ellipse (rx + 5, 37))."""
    fringe = _fringe_line(rx, style)
    top_y = fringe[-1, 1]
    start = math.asin(max(min((top_y - CAP_CENTRE_Y) / CAP_RY, 1.0), -1.0))  # negative: above centre
    t = np.linspace(start, -math.pi - start, 30)  # right end, over the top (angle -pi/2), to the left end
    arc = np.stack([(rx + 5.0) * np.cos(t), CAP_CENTRE_Y + CAP_RY * np.sin(t)], axis=1)
    return np.concatenate([fringe, arc])


def _hair_back(rx: float, end: float, style: HairStyle) -> np.ndarray:
    """The hair behind the head: a dome over the head and, for longer hair, the fall behind the neck."""
    t = np.linspace(0.0, -math.pi, 28)  # right side over the top to the left side, y = -4
    dome = np.stack([(rx + 6.0) * np.cos(t), -4.0 + 39.0 * np.sin(t)], axis=1)
    if end <= -4.0:
        return dome
    x = np.linspace(-(rx - 1.0), rx - 1.0, len(style.tip_jag))
    middle = np.stack([x, end + style.tip_jag], axis=1)  # ragged ends behind the neck
    side = end - 4.0  # beside the face the front locks end the hair (a clean tip)
    bottom = np.concatenate([[(-(rx + 7.0), side), (-(rx + 1.0), side)], middle, [(rx + 1.0, side), (rx + 7.0, side)]])
    return np.concatenate([dome, [(-(rx + 7.0), -4.0)], bottom, [(rx + 7.0, -4.0)]])


def _lock(rx: float, end: float, side: float, style: HairStyle) -> np.ndarray:
    """One front lock: a band from the temple down to the hair end, tip rounded."""
    top = -24.0
    end = max(end, top + 6.0)
    flare = 2.0 * min(max((end - 20.0) / 40.0, 0.0), 1.0)  # long hair spreads a little over the shoulders
    inner, outer = rx - 2.5, rx + 6.0 + flare
    tip = np.linspace(0.0, math.pi, 7)
    tip_pts = np.stack([(inner + outer) / 2 + (outer - inner) / 2 * np.cos(tip), end + 2.5 * np.sin(tip) - 2.5], axis=1)
    pts = np.concatenate([[(inner, top), (rx + 6.0, top + 4.0), (rx + 6.0, min(20.0, end - 2.5))], tip_pts])
    return pts * (side, 1.0)


def _face_outline(rx: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.stack([rx * np.cos(t) * jaw(t), FACE_RY * np.sin(t)], axis=1)


_NECK = np.array([(-9.5, 18.0), (9.5, 18.0), (13.0, 60.0), (-13.0, 60.0)])
_CLOTHES = np.array([(-46.0, 100.0), (-45.0, 61.0), (-37.0, 49.0), (-13.0, 43.0), (0.0, 54.0), (13.0, 43.0),
                     (37.0, 49.0), (45.0, 61.0), (46.0, 100.0)])


def mouth_shape(smile: float, n: int = 25) -> dict[str, np.ndarray]:
    """Mouth curves (head frame): x, centre line, upper/lower lip boundary, opening depth.

    The centre line is ``MOUTH_Y - MOUTH_LIFT * smile * ((x / w)^2 - 1/3)`` (mean height fixed); the mouth
    widens for smiles and opens (teeth) above smile 0.45.
    """
    w = 8.5 + 3.0 * max(smile, 0.0)
    x = np.linspace(-w, w, n)
    r = x / w
    centre = MOUTH_Y - MOUTH_LIFT * smile * (r ** 2 - 1 / 3)
    taper = 1.0 - 0.75 * np.clip((np.abs(r) - 0.7) / 0.3, 0.0, 1.0) ** 2
    opening = 5.0 * min(max((smile - 0.45) / 0.55, 0.0), 1.0) * (1 - r ** 2)
    upper = centre - 1.3 * taper
    lower = centre + 1.5 * taper + opening
    return {"x": x, "centre": centre, "upper": upper, "lower": lower, "opening": opening, "half_width": w}


# -- rendering ------------------------------------------------------------------------------------

class _Canvas:
    """Draws head-frame polygons, opaque, on a transparent supersampled RGBa image at one pose."""

    def __init__(self, image: Image.Image, centre: tuple[float, float], tilt: float, scale: float):
        self.draw = ImageDraw.Draw(image)
        c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
        self.matrix = np.array([[c, s], [-s, c]]) * scale  # row vectors: p @ matrix == R p
        self.offset = np.array(centre) * scale

    def fill(self, pts: np.ndarray, colour: tuple[int, int, int]) -> None:
        self.draw.polygon((pts @ self.matrix + self.offset).ravel().tolist(), fill=(*colour, 255))


@lru_cache(maxsize=8)
def _pixel_grid(image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (in 128-px units) of an image of side ``image_size``: (X (1, W), Y (H, 1))."""
    c = (np.arange(image_size, dtype=np.float32) + 0.5) * (IMAGE_SIZE / image_size)
    return c[None, :], c[:, None]


def background_mask(image_size: int = IMAGE_SIZE) -> np.ndarray:
    """The border band (top 9 rows, and 11 columns each side down to row 96) that is background in every
    portrait (bool (H, W))."""
    return _background_mask(image_size)


@lru_cache(maxsize=8)
def _background_mask(image_size: int) -> np.ndarray:
    x, y = _pixel_grid(image_size)
    band = (y < 9.0) | (((x < 11.0) | (x > IMAGE_SIZE - 11.0)) & (y < 96.0))  # the shoulders may reach lower corners
    band = np.broadcast_to(band, (image_size, image_size)).copy()
    band.flags.writeable = False
    return band


@lru_cache(maxsize=2048)
def background_field(seed: int, image_size: int = IMAGE_SIZE) -> np.ndarray:
    """Relative brightness field (H, W) of the background: a seeded linear gradient plus low-frequency
    texture, with zero mean over :func:`background_mask` (so that band's mean colour is the named one)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2 * math.pi)
    strength = rng.uniform(0.02, 0.07)
    grid = rng.normal(0.0, 0.03, (5, 5)).astype(np.float32)
    texture = np.asarray(Image.fromarray(grid).resize((image_size, image_size), Image.Resampling.BICUBIC))  # mode F
    x, y = _pixel_grid(image_size)
    field = texture + strength * (math.cos(angle) * (x - 64.0) + math.sin(angle) * (y - 64.0)) / 64.0
    field = field - field[_background_mask(image_size)].mean()
    field = field.astype(np.float32)
    field.flags.writeable = False
    return field


def render(portrait: Portrait, image_size: int = IMAGE_SIZE) -> Image.Image:
    """Draw ``portrait`` as an RGB image (4x supersampled polygons, box-filtered)."""
    # 1. Colours, pose and the supersampled canvas (transparent black: the box filter then gives the
    #    figure's colour premultiplied by its coverage, and the coverage).
    p = portrait
    col = colours_of(p)
    big = image_size * SUPERSAMPLE
    image = Image.new("RGBa", (big, big), (0, 0, 0, 0))  # premultiplied: reduce() averages channels as they are
    centre = (HEAD_CENTRE[0] + p.head_x, HEAD_CENTRE[1] + p.head_y)
    cv = _Canvas(image, centre, p.tilt, SUPERSAMPLE * image_size / IMAGE_SIZE)
    rx = face_rx(p.face_width)
    end = hair_end(p.hair_length)
    style = hair_style(p.hair_seed)
    edge = grey_edge(p.age, rx)

    def hair(poly: np.ndarray) -> None:
        cv.fill(poly, col.hair)
        if p.age > GREY_START:
            for part in _clip_outside(poly, edge):
                cv.fill(part, col.grey)

    # 2. Back to front: hair behind the head, neck, clothes, ears, front locks, face.
    hair(_hair_back(rx, end, style))
    cv.fill(_NECK, _scale(col.skin, 0.86))
    cv.fill(_CLOTHES, CLOTHES_RGB)
    for side in (-1.0, 1.0):
        cv.fill(_ellipse(side * (rx - 1.0), 1.0, 4.5, 7.5, 20), _scale(col.skin, 0.94))
    for side in (-1.0, 1.0):  # front locks over the ears (a short lock ends above them)
        hair(_lock(rx, end, side, style))
    if end > -4.0:  # lock strands (over the ears' height only for longer hair)
        for f in style.lock_strands:
            for side in (-1.0, 1.0):
                x = side * (rx - 2.5 + 9.0 * f)
                line = np.array([(x, -20.0), (x + side * 0.6, (end - 20.0) / 2), (x, end - 3.0)])
                cv.fill(_stroke(line, 0.9), col.grey_strand if _is_grey(x, 0.0, edge) else col.hair_strand)
    cv.fill(_face_outline(rx), col.skin)

    # 3. Forehead lines (age), then the hair cap and its strands over them.
    if p.age > 0.0:
        wrinkle = _mix(col.skin, _scale(col.skin, 1.0 - FOREHEAD_LINE_DARKNESS), p.age)
        for k, y in enumerate(FOREHEAD_LINES):
            half = FOREHEAD_LINE_HALF_LENGTH - k
            x = np.linspace(-half, half, 9)
            line = np.stack([x, y + 0.8 * (x / 9.0) ** 2], axis=1)
            cv.fill(_stroke(line, FOREHEAD_LINE_WIDTH), wrinkle)
    cap = _cap(rx, style)
    hair(cap)
    fringe = _fringe_line(rx, style, 9)
    for sx, f in style.strands:
        k = int(round((f + 1) / 2 * (len(fringe) - 1)))
        end_pt = fringe[k] + (0.0, -2.5)
        start = np.array([style.parting + 0.35 * sx, -34.0])
        mid = (start + end_pt) / 2 + (0.15 * (end_pt[0] - start[0]), -1.5)
        line = np.array([start, mid, end_pt])
        cv.fill(_stroke(line, np.array([0.5, 1.0, 0.6])), col.grey_strand if _is_grey(*mid, edge) else col.hair_strand)

    # 4. Brows (raised with the eyes), nose, mouth.
    brow_y = -14.5 - 1.2 * p.eyes
    for side in (-1.0, 1.0):
        brow = np.array([(4.5, brow_y + 1.2), (8.0, brow_y - 0.2), (12.0, brow_y - 0.6), (17.5, brow_y + 1.0)])
        cv.fill(_stroke(brow * (side, 1.0), np.array([1.6, 2.0, 2.0, 1.2])), col.brow)
    nose = _scale(col.skin, 0.72)
    cv.fill(_stroke(np.array([(1.2, 3.5), (2.6, 8.0), (1.2, 9.6)]), np.array([0.4, 0.9, 0.7])), nose)
    for side in (-1.0, 1.0):
        cv.fill(_ellipse(side * 2.2, 9.6, 1.0, 0.6, 10), nose)
    m = mouth_shape(p.smile)
    lip = tuple(int(round(v)) for v in np.clip(np.array(col.skin) * 0.55 + (45.0, 0.0, 6.0), 0, 255))
    cv.fill(np.concatenate([np.stack([m["x"], m["upper"]], 1), np.stack([m["x"], m["lower"]], 1)[::-1]]), lip)
    if m["opening"].max() > 0.05:
        inner = m["x"][2:-2]
        top = m["centre"][2:-2] + 0.2
        bottom = m["centre"][2:-2] + m["opening"][2:-2] + 0.1
        cv.fill(np.concatenate([np.stack([inner, top], 1), np.stack([inner, bottom], 1)[::-1]]), MOUTH_INSIDE_RGB)
        teeth = top + np.minimum(m["opening"][2:-2], 2.2)
        cv.fill(np.concatenate([np.stack([inner, top], 1), np.stack([inner, teeth], 1)[::-1]]), TEETH_RGB)

    # 5. Glasses: lens frames (outer ellipse in frame colour, inner ellipse back to skin), then eyes.
    g = p.glasses
    frame = _mix(col.skin, FRAME_RGB, frame_opacity(g))
    fw = frame_width(g)
    if g > 0.0:
        for side in (-1.0, 1.0):
            cv.fill(_ellipse(side * EYE_X, EYE_Y, LENS_RX + fw / 2, LENS_RY + fw / 2, 40), frame)
            cv.fill(_ellipse(side * EYE_X, EYE_Y, LENS_RX - fw / 2, LENS_RY - fw / 2, 40), col.skin)
    h = eye_half_height(p.eyes)
    for side in (-1.0, 1.0):
        ex = side * EYE_X
        cv.fill(_ellipse(ex, EYE_Y, EYE_W + 0.8, h + 0.8, 28), EYE_LINE_RGB)
        cv.fill(_ellipse(ex, EYE_Y, EYE_W, h, 28), EYE_WHITE_RGB)
        for radius, colour in ((IRIS_R, IRIS_RGB), (PUPIL_R, PUPIL_RGB)):
            circle = _unit_circle(16) * radius
            limit = h * np.sqrt(np.clip(1 - (circle[:, 0] / EYE_W) ** 2, 0.0, 1.0))
            circle[:, 1] = np.clip(circle[:, 1], -limit, limit)
            cv.fill(circle + (ex, EYE_Y), colour)
    if g > 0.0:
        b = EYE_X - LENS_RX + 0.5  # the bridge reaches half a pixel into each lens frame
        bridge = np.array([(-b, -6.0), (0.0, -7.2), (b, -6.0)])
        cv.fill(_stroke(bridge, fw), frame)
        for side in (-1.0, 1.0):
            arm = np.array([(EYE_X + LENS_RX - 0.3, -7.5), (rx + 0.5, -6.5)]) * (side, 1.0)
            cv.fill(_stroke(arm, fw), frame)

    # 6. Box-downsample; lighting on the figure, the textured background behind it.
    small = np.asarray(image.reduce(SUPERSAMPLE), dtype=np.float32)  # (H, W, 4): coverage-weighted colour, coverage
    figure, alpha = small[..., :3], small[..., 3:] / 255.0
    x, y = _pixel_grid(image_size)
    c, s = math.cos(math.radians(p.tilt)), math.sin(math.radians(p.tilt))
    u = (x - centre[0]) * c + (y - centre[1]) * s  # head-frame x of each pixel
    light = 1.0 + LIGHT_SLOPE * p.lighting * u / 40.0
    texture = 1.0 + background_field(p.background_seed, image_size)
    background = np.asarray(col.background, dtype=np.float32) * texture[..., None]
    out = figure * light[..., None] + (1.0 - alpha) * background
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


# -- sampling -------------------------------------------------------------------------------------

MIN_HAIR_BACKGROUND_DISTANCE = 24.0  # Lab distance; sampled portraits keep hair visible against the background
MIN_SKIN_BACKGROUND_DISTANCE = 20.0
MIN_HAIR_SKIN_DISTANCE = 18.0
MIN_FACE_EDGE_CONTRAST = 8.0  # |YCbCr difference| (0-255, chroma weighted 0.2) of the skin from hair and background
_YCC_LUMA_FIRST = np.array([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5],
                            [0.5, -0.4187, -0.0813]]).T * (1.0, 0.2, 0.2)  # RGB -> YCbCr, chroma x 0.2


def colours_distinct(p: Portrait) -> bool:
    """Whether hair, skin and background are far enough apart to be told apart (in Lab), and the face's
    outline shows in luma against hair and background (a mostly-chroma edge is what JPEG blurs most)."""
    hair = palette_lab(HAIR_PALETTE, p.hair_hue, p.hair_lightness)
    skin = skin_lab(p.skin)
    bg = palette_lab(BACKGROUND_PALETTE, p.background_hue, p.background_lightness)
    skin_rgb, edge = lab_to_rgb(skin), MIN_FACE_EDGE_CONTRAST
    return (np.linalg.norm(hair - bg) >= MIN_HAIR_BACKGROUND_DISTANCE
            and np.linalg.norm(skin - bg) >= MIN_SKIN_BACKGROUND_DISTANCE
            and np.linalg.norm(hair - skin) >= MIN_HAIR_SKIN_DISTANCE
            and np.linalg.norm((lab_to_rgb(hair) - skin_rgb) @ _YCC_LUMA_FIRST) >= edge
            and np.linalg.norm((lab_to_rgb(bg) - skin_rgb) @ _YCC_LUMA_FIRST) >= edge)


def _nuisance(rng: random.Random) -> dict:
    return {
        "head_x": rng.uniform(-HEAD_OFFSET_MAX, HEAD_OFFSET_MAX),
        "head_y": rng.uniform(-HEAD_OFFSET_MAX, HEAD_OFFSET_MAX),
        "tilt": rng.uniform(-TILT_MAX, TILT_MAX),
        "hair_seed": rng.randrange(2 ** 31),
        "background_seed": rng.randrange(2 ** 31),
        "lighting": rng.uniform(-1.0, 1.0),
    }


def _sample(words: dict[str, str], rng: random.Random, tries: int = 50) -> Portrait:
    """A portrait with the given words, values uniform in each word's band; colours kept apart when possible."""
    portrait = None
    for _ in range(tries):
        values = {name: rng.uniform(*BANDS[name][words[name]]) for name in ATTRIBUTES}
        portrait = Portrait(**values, **_nuisance(rng))
        if colours_distinct(portrait):
            return portrait
    return portrait


def random_portrait(rng: random.Random) -> Portrait:
    """A portrait with every attribute's word uniform over its words and the value uniform inside the
    word's band; nuisance details uniform over their ranges. Words whose colours would make hair, skin
    and background hard to tell apart (Lab distances below ``MIN_*_DISTANCE``) are redrawn."""
    while True:
        words = {name: rng.choice(list(bands)) for name, bands in BANDS.items()}
        for _ in range(5):
            portrait = _sample(words, rng, tries=10)
            if colours_distinct(portrait):
                return portrait


def portrait_from_caption(caption: str, rng: random.Random) -> Portrait:
    """A random portrait matching ``caption``'s words (values inside the bands, nuisance details free)."""
    return _sample(parse_caption(caption), rng)


# -- captions -------------------------------------------------------------------------------------

SMILE_PHRASES = {"frowning": "frowning", "neutral": "with a neutral expression", "slightly smiling": "slightly smiling",
                 "smiling": "smiling", "beaming": "beaming"}
EYES_PHRASES = {"sleepy": "with sleepy eyes", "open": "with open eyes", "wide-eyed": "wide-eyed"}
GLASSES_PHRASES = {"none": "without glasses", "thin glasses": "wearing thin glasses", "glasses": "wearing glasses"}
AGE_PHRASES = {"young": "a young person", "middle-aged": "a middle-aged person", "old": "an old person"}

PHRASINGS = (
    "a portrait of {person} with {length} {hair} hair and {skin} skin, {smile}, {eyes}, {glasses}, with {face}, "
    "on {background}",
    "{person} {glasses} and {smile}, {eyes}, {skin} skin, {length} {hair} hair, {face}, against {background}",
    "{background} behind {person} with {skin} skin and {length} {hair} hair, with {face}, {eyes}, {smile}, {glasses}",
    "close-up portrait, {person}, {smile}, {glasses}, {eyes}, {length} {hair} hair, {skin} skin, {face}, "
    "in front of {background}",
)
N_PHRASINGS = len(PHRASINGS)


def _slots(words: dict[str, str]) -> dict[str, str]:
    bg_mod = {"dark": "dark ", "medium": "", "light": "light "}[words["background_lightness"]]
    article = "an" if words["face_width"] == "oval" else "a"
    return {
        "person": AGE_PHRASES[words["age"]],
        "length": words["hair_length"],
        "hair": HAIR_COLOUR_WORDS[(words["hair_hue"], words["hair_lightness"])],
        "skin": words["skin"],
        "smile": SMILE_PHRASES[words["smile"]],
        "eyes": EYES_PHRASES[words["eyes"]],
        "glasses": GLASSES_PHRASES[words["glasses"]],
        "face": f"{article} {words['face_width']} face",
        "background": f"a {bg_mod}{words['background_hue']} background",
    }


def caption_from_words(words: dict[str, str], phrasing: int = 0) -> str:
    """The caption of a words dict (as :attr:`Portrait.words`) in phrasing ``phrasing``."""
    return PHRASINGS[phrasing].format(**_slots(words))


def caption_of(portrait: Portrait, rng: random.Random | None = None) -> str:
    """Caption of a portrait: the canonical phrasing, or one of :data:`PHRASINGS` picked by ``rng``.

    Example:
        >>> caption_of(Portrait())  # doctest: +NORMALIZE_WHITESPACE
        'a portrait of a young person with short black hair and light skin, with a neutral expression,
        with open eyes, without glasses, with an oval face, on a light blue background'
    """
    phrasing = 0 if rng is None else rng.randrange(N_PHRASINGS)
    return caption_from_words(portrait.words, phrasing)


def caption_words(caption: str) -> list[str]:
    """The caption's words as the world's word tokenizer splits them (lower case, ``,`` and ``.`` dropped)."""
    return caption.lower().replace(",", " ").replace(".", " ").split()


def parse_caption(caption: str) -> dict[str, str]:
    """Caption -> attribute words (as :attr:`Portrait.words`), from any phrasing.

    Order-free: the hair colour is the word before ``hair`` (its length the word before that), skin the
    word before ``skin``, face width the word before ``face``, the background hue the word before
    ``background`` (optionally after ``dark``/``light``); age, smile, eyes and glasses by their phrases.

    Raises:
        ValueError: naming the attributes the caption does not name.
    """
    tokens = caption_words(caption)
    found: dict[str, str] = {}

    def before(anchor: str, k: int = 1) -> str | None:
        if anchor in tokens and tokens.index(anchor) >= k:
            return tokens[tokens.index(anchor) - k]
        return None

    for word in AGE_BANDS:
        if word in tokens:
            found["age"] = word
    hair = before("hair")
    if hair in _HAIR_FROM_WORD:
        found["hair_hue"], found["hair_lightness"] = _HAIR_FROM_WORD[hair]
    if before("hair", 2) in HAIR_LENGTH_BANDS:
        found["hair_length"] = before("hair", 2)
    if before("skin") in SKIN_BANDS:
        found["skin"] = before("skin")
    if before("face") in FACE_WIDTH_BANDS:
        found["face_width"] = before("face")
    if before("background") in BACKGROUND_HUE_BANDS:
        found["background_hue"] = before("background")
        modifier = before("background", 2)
        found["background_lightness"] = modifier if modifier in ("dark", "light") else "medium"
    text = " ".join(tokens)
    for word, phrase in SMILE_PHRASES.items():
        if f" {phrase} " in f" {text} " and not (word == "smiling" and "slightly smiling" in text):
            found["smile"] = word
    for word, phrase in EYES_PHRASES.items():
        if f" {phrase} " in f" {text} ":
            found["eyes"] = word
    if "glasses" in tokens:
        found["glasses"] = {"without": "none", "thin": "thin glasses"}.get(before("glasses"), "glasses")
    missing = [name for name in ATTRIBUTES if name not in found]
    if missing:
        raise ValueError(f"caption {caption!r} does not name: {', '.join(missing)}")
    return {name: found[name] for name in ATTRIBUTES}


def _vocabulary() -> tuple[str, ...]:
    words: list[str] = []
    for template in PHRASINGS:
        for token in caption_words(template):
            if "{" not in token:
                words.append(token)
    phrases = [*SMILE_PHRASES.values(), *EYES_PHRASES.values(), *GLASSES_PHRASES.values(), *AGE_PHRASES.values(),
               *HAIR_LENGTH_BANDS, *HAIR_COLOUR_WORDS.values(), *SKIN_BANDS, *FACE_WIDTH_BANDS, "a an face",
               *BACKGROUND_HUE_BANDS, "a dark light background"]
    for phrase in phrases:
        words.extend(caption_words(phrase))
    return tuple(dict.fromkeys(words))


VOCABULARY: tuple[str, ...] = _vocabulary()
