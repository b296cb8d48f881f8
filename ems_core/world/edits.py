"""Edits of world scenes with known answers: the cases the benchmarks judge with the oracle."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..extract import Attribute
from .oracle import ATTRIBUTES
from .scene import BACKGROUNDS, COLOURS, SHAPES, SIZE_BANDS, X_BANDS, Y_BANDS, Scene, random_scene

__all__ = ["CHOICES", "ORDERED", "EditCase", "edit_cases", "random_edit", "waypoints"]

#: The caption words each oracle attribute can take.
CHOICES: dict[str, tuple[str, ...]] = {
    "shape": SHAPES, "colour": tuple(COLOURS), "background": tuple(BACKGROUNDS), "size": tuple(SIZE_BANDS),
    "x": tuple(X_BANDS), "y": tuple(Y_BANDS)}

ORDERED = ("size", "x", "y")  # attributes whose words are in order (CHOICES lists them so)


def waypoints(attribute: str, source_word: str, target_word: str) -> tuple[str, ...]:
    """The words strictly between source and target on an ordered attribute (``top`` -> ``bottom``:
    ``("middle",)``); none for the others."""
    if attribute not in ORDERED:
        return ()
    words = CHOICES[attribute]
    i, j = words.index(source_word), words.index(target_word)
    return words[i + 1:j] if i < j else words[j + 1:i][::-1]


@dataclass(frozen=True)
class EditCase:
    """A scene, one attribute to move to another word, and the phrases that say so in its caption."""

    scene: Scene
    attribute: str  # an oracle attribute (shape, colour, background, size, x, y)
    target_word: str

    @property
    def source_word(self) -> str:
        return self.scene.words[self.attribute]

    def as_attribute(self) -> Attribute:
        """The slider of this edit; background phrases carry the word "background" (never an object colour)."""
        suffix = " background" if self.attribute == "background" else ""
        return Attribute(self.attribute, self.source_word + suffix, self.target_word + suffix,
                         via=waypoints(self.attribute, self.source_word, self.target_word))


def random_edit(rng: random.Random, attribute: str) -> EditCase:
    """A random scene and a random other word for ``attribute`` (draws the scene, then the word)."""
    scene = random_scene(rng)
    target = rng.choice([w for w in CHOICES[attribute] if w != scene.words[attribute]])
    return EditCase(scene, attribute, target)


def edit_cases(n: int, seed: int) -> list[EditCase]:
    """``n`` seeded edits cycling through the attributes."""
    rng = random.Random(seed)
    return [random_edit(rng, ATTRIBUTES[i % len(ATTRIBUTES)]) for i in range(n)]
