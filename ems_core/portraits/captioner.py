"""Extract step for the portrait world: image -> caption, and the caption's editable attributes.

:class:`PortraitCaptioner` reads a caption off the pixels with the oracle
(:func:`~ems_core.portraits.oracle.measure`); :func:`attribute_presets` lists, for the UI, the editable
attributes of a caption, each with the exact phrase to replace and the phrases it may become.
"""

from __future__ import annotations

import re

from PIL import Image

from ..extract import AttributePreset, OracleCaptioner
from .oracle import PortraitMeasurement, measure
from .scene import (
    AGE_PHRASES, BACKGROUND_HUE_BANDS, EYES_PHRASES, FACE_WIDTH_BANDS, GLASSES_PHRASES, HAIR_COLOUR_WORDS,
    HAIR_LENGTH_BANDS, HAIR_LIGHTNESS_BANDS, IMAGE_SIZE, SKIN_BANDS, SMILE_PHRASES, parse_caption,
)

__all__ = ["PortraitCaptioner", "attribute_presets"]


class PortraitCaptioner(OracleCaptioner):
    """Caption portrait images by measuring them (no model, deterministic, ~15 ms per image).

    The caption is the canonical one of the measured words (:func:`~ems_core.portraits.scene.caption_of`);
    with no face seen it is ``"no face on a {background} background"``, which :func:`attribute_presets`
    rejects (there is nothing to edit).

    Example:
        >>> from ems_core.portraits.scene import Portrait, caption_of, render
        >>> portrait = Portrait(smile=0.62, eyes=0.9, age=0.5, hair_hue=0.8, hair_lightness=0.9, glasses=0.95)
        >>> PortraitCaptioner().caption(render(portrait)) == caption_of(portrait)
        True
    """

    image_size: int = IMAGE_SIZE
    oracle = staticmethod(measure)
    demo_attribute = "smile"

    def attribute_presets(self, caption: str) -> list[AttributePreset]:
        """:func:`attribute_presets` of ``caption``; none for a caption the portrait grammar does not parse."""
        try:
            return attribute_presets(caption)
        except ValueError:
            return []


def _hair_word(hue: str, lightness: str) -> str:
    return HAIR_COLOUR_WORDS[(hue, lightness)]


def _background(hue: str, lightness: str) -> str:
    return {"dark": "dark ", "medium": "", "light": "light "}[lightness] + f"{hue} background"


def _slots(words: dict[str, str]) -> list[tuple[str, str, list[str], list[str]]]:
    """(name, source phrase as generated, target phrases, the ordered scale or []) per editable attribute of a
    words dict. Ordered attributes (smile, eyes, age, hair lightness and length, glasses, face width, skin,
    background lightness) list every phrase in order, so a slider passes through the ones between; hues are
    circular and have no scale."""
    hair = _hair_word(words["hair_hue"], words["hair_lightness"])
    length = words["hair_length"]
    face_article = {"oval": "an"}.get(words["face_width"], "a")

    def ordered(name: str, phrases: list[str], source: str) -> tuple[str, str, list[str], list[str]]:
        return name, source, [p for p in phrases if p != source], phrases

    lightness = [f"{_hair_word(words['hair_hue'], w)} hair" for w in HAIR_LIGHTNESS_BANDS]
    background = _background(words["background_hue"], words["background_lightness"])
    return [
        ordered("smile", list(SMILE_PHRASES.values()), SMILE_PHRASES[words["smile"]]),
        ordered("eyes", list(EYES_PHRASES.values()), EYES_PHRASES[words["eyes"]]),
        ordered("age", list(AGE_PHRASES.values()), AGE_PHRASES[words["age"]]),
        ("hair colour", f"{hair} hair", [f"{w} hair" for w in HAIR_COLOUR_WORDS.values() if w != hair], []),
        ordered("hair lightness", lightness, f"{hair} hair"),
        ordered("hair length", [f"{w} {hair} hair" for w in HAIR_LENGTH_BANDS], f"{length} {hair} hair"),
        ordered("glasses", list(GLASSES_PHRASES.values()), GLASSES_PHRASES[words["glasses"]]),
        ordered("face width", [f"{'an' if w == 'oval' else 'a'} {w} face" for w in FACE_WIDTH_BANDS],
                f"{face_article} {words['face_width']} face"),
        ordered("skin", [f"{w} skin" for w in SKIN_BANDS], f"{words['skin']} skin"),
        ("background", background,
         [_background(w, words["background_lightness"]) for w in BACKGROUND_HUE_BANDS if w != words["background_hue"]], []),
        ordered("background lightness", [_background(words["background_hue"], w) for w in ("dark", "medium", "light")],
                background),
    ]


def attribute_presets(caption: str) -> list[AttributePreset]:
    """The editable attributes of a portrait caption, in caption order.

    Each entry has a ``name``, a ``source`` phrase exactly as written in
    ``caption`` and occurs there once, so ``caption.replace(source, choice, 1)`` performs the edit;
    ``choices`` are the phrases the other words of that attribute make. Phrases carry their context
    (``"black hair"``, ``"short black hair"``, ``"pale skin"``, ``"a narrow face"``,
    ``"light blue background"``), so a word that two attributes share (``light``, ``dark``) is never
    edited in the wrong place. Hair colour and hair lightness share a source phrase (lightness keeps
    the hue); so do background hue (``"background"``) and ``"background lightness"``.

    Raises:
        ValueError: if ``caption`` does not name every attribute (see
            :func:`~ems_core.portraits.scene.parse_caption`).

    Example:
        >>> from ems_core.portraits.scene import Portrait, caption_of
        >>> presets = attribute_presets(caption_of(Portrait()))
        >>> [preset.name for preset in presets][:4]
        ['age', 'hair length', 'hair colour', 'hair lightness']
        >>> presets[3].source
        'black hair'
        >>> presets[3].choices
        ('brown hair', 'blonde hair')
    """
    words = parse_caption(caption)
    presets = []
    for name, phrase, choices, scale in _slots(words):
        pattern = r"(?<![\w-])" + r"\s+".join(re.escape(token) for token in phrase.split()) + r"(?![\w-])"
        matches = list(re.finditer(pattern, caption, flags=re.IGNORECASE))
        if len(matches) != 1:  # parse_caption found the words, so only odd spacing/punctuation can get here
            raise ValueError(f"cannot locate the {name} phrase {phrase!r} once in caption {caption!r}")
        presets.append((matches[0].start(), AttributePreset(name, matches[0].group(0), tuple(choices), tuple(scale))))
    return [preset for _, preset in sorted(presets, key=lambda item: item[0])]
