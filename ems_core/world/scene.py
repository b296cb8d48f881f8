"""The procedural world: one coloured shape on a plain background, with known attributes.

A :class:`Scene` holds the ground truth (shape, colour, background, continuous size and position);
:func:`render` draws it anti-aliased (4x supersampled); :func:`caption_of` / :func:`parse_caption`
map between scenes and captions such as ``"a large red circle at the top left on a white background"``.

Continuous attributes have caption words by band. Scenes sampled for training and evaluation lie in
the inner part of each band (``*_BANDS``), so that a caption word is unambiguous; the oracle splits
at the midpoints between bands (``*_THRESHOLDS``).
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

from .bands import thresholds, word_for

IMAGE_SIZE = 64
SUPERSAMPLE = 4

SHAPES = ("circle", "square", "triangle", "star")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (255, 140, 0),
    "yellow": (250, 220, 30),
    "green": (30, 170, 50),
    "cyan": (0, 200, 220),
    "blue": (30, 60, 220),
    "purple": (130, 40, 180),
    "pink": (255, 105, 180),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "brown": (110, 70, 35),
}
# size = sqrt(object area) / image side; position = object centroid / image side.
SIZE_BANDS = {"small": (0.16, 0.20), "medium": (0.235, 0.275), "large": (0.31, 0.34)}
X_BANDS = {"left": (0.30, 0.35), "center": (0.475, 0.525), "right": (0.65, 0.70)}
Y_BANDS = {"top": (0.30, 0.35), "middle": (0.475, 0.525), "bottom": (0.65, 0.70)}


SIZE_THRESHOLDS = thresholds(SIZE_BANDS)
X_THRESHOLDS = thresholds(X_BANDS)
Y_THRESHOLDS = thresholds(Y_BANDS)


@dataclass(frozen=True)
class Scene:
    """Ground-truth attributes of one scene (all positions/sizes as fractions of the image side)."""

    shape: str = "circle"
    colour: str = "red"
    background: str = "white"
    size: float = 0.255
    x: float = 0.5
    y: float = 0.5

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; choose from {SHAPES}")
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; choose from {tuple(COLOURS)}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"unknown background {self.background!r}; choose from {tuple(BACKGROUNDS)}")
        if not 0.05 <= self.size <= 0.4:
            raise ValueError(f"size {self.size} outside [0.05, 0.4]")
        if not (0.0 <= self.x <= 1.0 and 0.0 <= self.y <= 1.0):
            raise ValueError("x and y must lie in [0, 1]")

    @property
    def words(self) -> dict[str, str]:
        """The scene as caption words, one per attribute."""
        return {
            "shape": self.shape,
            "colour": self.colour,
            "background": self.background,
            "size": word_for(self.size, SIZE_BANDS),
            "x": word_for(self.x, X_BANDS),
            "y": word_for(self.y, Y_BANDS),
        }

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> "Scene":
        return replace(self, **changes)


def _unit_polygon(shape: str) -> list[tuple[float, float]]:
    """Vertices of a shape with its centroid at the origin (unit scale, y down)."""
    if shape == "square":
        return [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    if shape == "triangle":  # equilateral, centroid at origin, apex up
        return [(math.cos(math.radians(a)), math.sin(math.radians(a))) for a in (-90, 30, 150)]
    if shape == "star":
        points = []
        for k in range(10):
            radius = 1.0 if k % 2 == 0 else 0.5
            angle = math.radians(-90 + 36 * k)
            points.append((radius * math.cos(angle), radius * math.sin(angle)))
        return points
    raise ValueError(shape)


def _polygon_area(points: list[tuple[float, float]]) -> float:
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1])))


def render(scene: Scene, image_size: int = IMAGE_SIZE) -> Image.Image:
    """Draw ``scene`` as an RGB image; the object's area is ``(size * image_size)^2``."""
    big = image_size * SUPERSAMPLE
    image = Image.new("RGB", (big, big), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(image)
    cx, cy = scene.x * big, scene.y * big
    side = scene.size * big  # sqrt of the target area, in supersampled pixels
    colour = COLOURS[scene.colour]
    if scene.shape == "circle":
        radius = side / math.sqrt(math.pi)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
    else:
        unit = _unit_polygon(scene.shape)
        scale = side / math.sqrt(_polygon_area(unit))
        draw.polygon([(cx + scale * px, cy + scale * py) for px, py in unit], fill=colour)
    return image.resize((image_size, image_size), Image.Resampling.BOX)


def random_scene(rng: random.Random) -> Scene:
    """A scene with every attribute uniform over its words, continuous values inside the word's band."""
    size_word, x_word, y_word = rng.choice(list(SIZE_BANDS)), rng.choice(list(X_BANDS)), rng.choice(list(Y_BANDS))
    return Scene(
        shape=rng.choice(SHAPES),
        colour=rng.choice(list(COLOURS)),
        background=rng.choice(list(BACKGROUNDS)),
        size=rng.uniform(*SIZE_BANDS[size_word]),
        x=rng.uniform(*X_BANDS[x_word]),
        y=rng.uniform(*Y_BANDS[y_word]),
    )


def caption_of(scene: Scene) -> str:
    """``"a {size} {colour} {shape} at the {y} {x} on a {background} background"``."""
    w = scene.words
    return f"a {w['size']} {w['colour']} {w['shape']} at the {w['y']} {w['x']} on a {w['background']} background"


def parse_caption(caption: str) -> dict[str, str]:
    """Caption words -> attribute words; raises ``ValueError`` naming what is missing or unknown.

    Order-free: any caption naming one shape, one object colour, one background colour
    (``"<colour> background"``), one size word and one word of each position axis is accepted.
    """
    tokens = caption.lower().replace(",", " ").split()
    found: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if token in BACKGROUNDS and i + 1 < len(tokens) and tokens[i + 1] == "background":
            found["background"] = token
        elif token in COLOURS:
            found["colour"] = token
        elif token in SHAPES:
            found["shape"] = token
        elif token in SIZE_BANDS:
            found["size"] = token
        elif token in X_BANDS:
            found["x"] = token
        elif token in Y_BANDS:
            found["y"] = token
    missing = [k for k in ("shape", "colour", "background", "size", "x", "y") if k not in found]
    if missing:
        raise ValueError(f"caption {caption!r} does not name: {', '.join(missing)}")
    return found


def scene_from_caption(caption: str) -> Scene:
    """The band-centre scene described by ``caption``."""
    words = parse_caption(caption)

    def centre(bands: dict[str, tuple[float, float]], word: str) -> float:
        return sum(bands[word]) / 2

    return Scene(
        shape=words["shape"], colour=words["colour"], background=words["background"],
        size=centre(SIZE_BANDS, words["size"]), x=centre(X_BANDS, words["x"]), y=centre(Y_BANDS, words["y"]),
    )


def to_tensor(image: Image.Image) -> "np.ndarray":
    """PIL RGB -> float32 array (3, H, W) in [-1, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0


VOCABULARY: tuple[str, ...] = tuple(
    ["a", "at", "the", "on", "background"]
    + list(SHAPES) + list(COLOURS) + list(BACKGROUNDS)
    + list(SIZE_BANDS) + list(X_BANDS) + list(Y_BANDS)
)
