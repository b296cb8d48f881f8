"""The portrait world: stylised 128x128 faces with continuous, known attributes.

``scene`` holds the ground truth (:class:`Portrait`: eleven semantic attributes and nuisance details
no caption names), the renderer and the captions; ``oracle`` measures every attribute back from the
pixels; ``captioner`` captions an image and lists its editable attributes. Pure numpy and Pillow.

    >>> import random
    >>> portrait = random_portrait(random.Random(0))
    >>> measure(render(portrait)).words == portrait.words
    True
"""

from .captioner import PortraitCaptioner, attribute_presets
from .oracle import PortraitMeasurement, agreement, background_distance, measure
from .scene import (ATTRIBUTES, BANDS, IMAGE_SIZE, VOCABULARY, Portrait, caption_of, parse_caption,
                    portrait_from_caption, random_portrait, render, word_for)

__all__ = [
    "ATTRIBUTES", "BANDS", "IMAGE_SIZE", "Portrait", "PortraitCaptioner", "PortraitMeasurement", "VOCABULARY",
    "agreement", "attribute_presets", "background_distance", "caption_of", "measure", "parse_caption",
    "portrait_from_caption", "random_portrait", "render", "word_for",
]
