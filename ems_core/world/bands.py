"""Caption words for continuous values, shared by the procedural worlds (shapes and portraits).

A continuous attribute has named bands ``{word: (low, high)}`` in increasing order; scenes sampled for
training lie inside a band so that their word is unambiguous, and a measured value is read as the word
of the band it falls in, splitting at the midpoints between neighbouring bands.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["Bands", "far_end", "thresholds", "word_for"]

Bands = dict[str, tuple[float, float]]


def thresholds(bands: Bands) -> list[float]:
    """The midpoints between neighbouring bands (one fewer than the bands)."""
    spans = list(bands.values())
    return [(a[1] + b[0]) / 2 for a, b in zip(spans, spans[1:])]


def word_for(value: float, bands: Bands) -> str:
    """Caption word of a continuous value: the band it falls in, split at midpoints between bands."""
    words = list(bands)
    for word, threshold in zip(words, thresholds(bands)):
        if value < threshold:
            return word
    return words[-1]


def far_end(words: Sequence[str], word: str) -> tuple[str, int]:
    """The end of the ordered scale ``words`` farther from ``word``, and the direction to it (+1 up the scale);
    the middle word goes up."""
    index = list(words).index(word)
    return (words[0], -1) if index > (len(words) - 1) / 2 else (words[-1], 1)
