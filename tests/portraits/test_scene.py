"""The portrait world: renders, sampling inside word bands, captions in every phrasing, validation."""

import random

import numpy as np
import pytest

from ems_core.portraits.scene import (
    ATTRIBUTES, BANDS, HAIR_COLOUR_WORDS, IMAGE_SIZE, N_PHRASINGS, PHRASINGS, THRESHOLDS, VOCABULARY, Portrait,
    background_field, background_mask, caption_from_words, caption_of, caption_words, colours_of, face_rx,
    face_width_of_rx, parse_caption, portrait_from_caption, random_portrait, render, word_for,
)

SEEDS = range(150)


def portraits(n: int = len(SEEDS), offset: int = 0) -> list[Portrait]:
    return [random_portrait(random.Random(seed)) for seed in range(offset, offset + n)]


def test_render_is_128x128_rgb_and_deterministic():
    portrait = random_portrait(random.Random(7))
    image = render(portrait)
    assert image.mode == "RGB" and image.size == (IMAGE_SIZE, IMAGE_SIZE)
    assert image.tobytes() == render(portrait).tobytes()
    assert render(portrait, image_size=64).size == (64, 64)


def test_every_attribute_and_nuisance_changes_the_pixels():
    base = Portrait(hair_length=0.5, glasses=0.5, age=0.5)
    pixels = np.asarray(render(base), dtype=np.int16)
    changes = {name: BANDS[name][next(reversed(BANDS[name]))][1] for name in ATTRIBUTES}
    changes.update(head_x=2.0, head_y=-2.0, tilt=3.0, hair_seed=5, background_seed=9, lighting=0.8)
    for name, value in changes.items():
        other = np.asarray(render(base.with_(**{name: value})), dtype=np.int16)
        assert np.abs(other - pixels).max() > 20, name


def test_age_and_face_width_span_many_pixels():
    # Generation draws a cue about as precisely in pixels whatever it encodes, so the two attributes it drew least
    # faithfully get large cues: the face half-width spans 16 px, and a full age darkens the forehead over 90 px^2
    # (the first world's two 0.9 px lines: 40).
    assert face_rx(1.0) - face_rx(0.0) == 16.0
    assert all(abs(face_width_of_rx(face_rx(w)) - w) < 1e-12 for w in (0.0, 0.3, 1.0))
    young, old = (np.asarray(render(Portrait(age=a, hair_lightness=0.1)), dtype=np.float64) for a in (0.0, 1.0))
    forehead = np.zeros(young.shape[:2], bool)
    forehead[25:42, 44:85] = True  # the fringe down to the brows (head at the default centre, no tilt)
    older = (young - old).mean(axis=-1)
    assert (older[forehead] > 30).sum() >= 90  # the lines, darker
    assert (older[~forehead] < -30).sum() >= 100  # and the grey temples, lighter than dark hair


def test_background_band_is_the_textured_named_colour():
    # The band is background in every portrait: the named colour times (1 + the seeded field), whose
    # mean over the band is zero (so the band's mean is the named colour, up to clipping at 255: a few
    # units in a channel near 255).
    band = background_mask()
    for portrait in portraits(40):
        pixels = np.asarray(render(portrait), dtype=np.float64)[band]
        named = np.array(colours_of(portrait).background, dtype=np.float64)
        expected = np.clip(np.round(named * (1.0 + background_field(portrait.background_seed))[..., None]), 0, 255)
        assert np.abs(pixels - expected[band]).max() <= 1.0
        assert np.abs(pixels.mean(axis=0) - named).max() < 8.0
        assert pixels.std(axis=0).max() > 1.0  # the texture is there


def test_random_portraits_lie_inside_their_word_bands():
    seen = {name: set() for name in ATTRIBUTES}
    for portrait in portraits():
        words = portrait.words
        for name in ATTRIBUTES:
            low, high = BANDS[name][words[name]]
            assert low <= getattr(portrait, name) <= high, name
            seen[name].add(words[name])
        assert abs(portrait.head_x) <= 4 and abs(portrait.head_y) <= 4 and abs(portrait.tilt) <= 6
    assert all(seen[name] == set(BANDS[name]) for name in ATTRIBUTES)


def test_word_for_splits_at_midpoints_between_bands():
    for name, bands in BANDS.items():
        spans = list(bands.values())
        words = list(bands)
        for word, (low, high) in bands.items():
            assert word_for((low + high) / 2, bands) == word
        for threshold, upper in zip(THRESHOLDS[name], words[1:]):
            assert word_for(threshold + 1e-9, bands) == upper
        assert THRESHOLDS[name] == [(a[1] + b[0]) / 2 for a, b in zip(spans, spans[1:])]


def test_caption_round_trip_in_every_phrasing():
    for portrait in portraits(60):
        for phrasing in range(N_PHRASINGS):
            assert parse_caption(caption_from_words(portrait.words, phrasing)) == portrait.words
        rng = random.Random(portrait.hair_seed)
        assert parse_caption(caption_of(portrait, rng)) == portrait.words


def test_caption_of_uses_several_phrasings():
    portrait = random_portrait(random.Random(3))
    rng = random.Random(0)
    captions = {caption_of(portrait, rng) for _ in range(60)}
    assert N_PHRASINGS >= 3 and len(captions) == N_PHRASINGS
    assert caption_of(portrait) == caption_from_words(portrait.words, 0)  # canonical without an rng
    words = caption_words(caption_of(portrait))
    assert len(set(caption_words(caption_of(portrait, random.Random(1))))) > 0 and len(words) >= 25


def test_caption_of_example():
    caption = caption_of(Portrait(smile=0.35, age=0.1, hair_hue=0.0, hair_lightness=0.5, glasses=0.5, face_width=0.1,
                                  skin=0.05, background_hue=5 / 6, background_lightness=0.9))
    assert caption == ("a portrait of a young person with short brown hair and pale skin, slightly smiling, with open "
                       "eyes, wearing thin glasses, with a narrow face, on a light blue background")


def test_vocabulary_covers_every_caption():
    vocabulary = set(VOCABULARY)
    assert len(vocabulary) == len(VOCABULARY)
    rng = random.Random(0)
    for portrait in portraits(80):
        for phrasing in range(N_PHRASINGS):
            assert set(caption_words(caption_from_words(portrait.words, phrasing))) <= vocabulary
    # every word of every attribute, in every phrasing
    base = portraits(1)[0].words
    for name, bands in BANDS.items():
        for word in bands:
            for phrasing in range(N_PHRASINGS):
                words = caption_words(caption_from_words({**base, name: word}, phrasing))
                assert set(words) <= vocabulary, (name, word)
    assert rng is not None and all("{" not in w and "," not in w for w in VOCABULARY)


def test_hair_colour_words_are_one_per_hue_and_lightness():
    assert len(set(HAIR_COLOUR_WORDS.values())) == len(HAIR_COLOUR_WORDS) == len(BANDS["hair_hue"]) * len(
        BANDS["hair_lightness"])
    assert Portrait(hair_hue=0.0, hair_lightness=0.05).hair_colour == "black"
    assert Portrait(hair_hue=0.8, hair_lightness=0.9).hair_colour == "light-blue"


def test_parse_caption_is_order_free_and_names_what_is_missing():
    words = parse_caption("dark red background, pale skin, an old person, long auburn hair, a wide face, beaming, "
                          "wide-eyed, wearing glasses")
    assert words == {"smile": "beaming", "eyes": "wide-eyed", "age": "old", "hair_hue": "copper",
                     "hair_lightness": "dark", "hair_length": "long", "glasses": "glasses", "face_width": "wide",
                     "skin": "pale", "background_hue": "red", "background_lightness": "dark"}
    with pytest.raises(ValueError, match="smile.*glasses"):
        parse_caption("an old person with long auburn hair and pale skin, with sleepy eyes, with a wide face, "
                      "on a red background")
    assert parse_caption(PHRASINGS[0].format(
        person="a young person", length="short", hair="black", skin="tan", smile="frowning",
        eyes="with sleepy eyes", glasses="without glasses", face="an oval face", background="a teal background",
    ))["background_lightness"] == "medium"


def test_portrait_from_caption_matches_the_caption():
    rng = random.Random(5)
    for portrait in portraits(20, offset=500):
        caption = caption_of(portrait, rng)
        sampled = portrait_from_caption(caption, rng)
        assert sampled.words == portrait.words
        assert sampled != portrait


def test_portrait_validates_its_ranges():
    with pytest.raises(ValueError, match="smile"):
        Portrait(smile=1.5)
    with pytest.raises(ValueError, match="offset"):
        Portrait(head_x=5.0)
    with pytest.raises(ValueError, match="tilt"):
        Portrait(tilt=-7.0)
    with pytest.raises(ValueError, match="lighting"):
        Portrait(lighting=2.0)
    assert Portrait().with_(smile=1.0).smile == 1.0
    assert Portrait(**Portrait(smile=0.3).to_dict()) == Portrait(smile=0.3)
