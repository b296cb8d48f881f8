"""The oracle and the world captioner: agreement with ground truth on clean and degraded renders."""

import random

import numpy as np
import pytest
from PIL import Image

from ems_core.bench.degradations import chained, gaussian_blur, jpeg, pixel_noise, to_image
from ems_core.extract import AttributePreset
from ems_core.world.captioner import WorldCaptioner, attribute_presets
from ems_core.world.oracle import ATTRIBUTES, Measurement, agreement, measure, measure_batch
from ems_core.world.scene import (
    BACKGROUNDS, COLOURS, SHAPES, SIZE_BANDS, X_BANDS, Y_BANDS, Scene, caption_of, parse_caption, random_scene,
    render, to_tensor,
)


def scenes(n: int, offset: int = 0) -> list[Scene]:
    return [random_scene(random.Random(seed)) for seed in range(offset, offset + n)]


def agreement_rates(pairs) -> dict[str, float]:
    """Fraction of (scene, measurement) pairs that agree, per attribute."""
    pairs = list(pairs)
    hits = {name: 0 for name in ATTRIBUTES}
    for scene, measurement in pairs:
        for name, ok in agreement(scene, measurement).items():
            hits[name] += ok
    return {name: hits[name] / len(pairs) for name in ATTRIBUTES}


# -- degradations (an imperfect generator or editor) ------------------------------------------------

BLUR, NOISE, JPEG = gaussian_blur(1.0), pixel_noise(8.0), jpeg(75)


def colour_shift(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return to_image(np.asarray(image, dtype=np.float64) + rng.uniform(-20.0, 20.0, 3))


def specks(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Three small blobs (radius about 1 pixel) of random colour at random places."""
    array = np.asarray(image, dtype=np.float64).copy()
    ys, xs = np.mgrid[0:64, 0:64]
    for _ in range(3):
        cy, cx = rng.integers(0, 64, 2)
        array[(ys - cy) ** 2 + (xs - cx) ** 2 <= rng.uniform(0.7, 1.6) ** 2] = rng.uniform(0, 255, 3)
    return to_image(array)


# -- oracle ---------------------------------------------------------------------------------------

def test_clean_renders_agree():
    rates = agreement_rates((scene, measure(render(scene))) for scene in scenes(300))
    assert min(rates.values()) >= 0.99, rates


@pytest.mark.parametrize("degrade", [BLUR, NOISE, JPEG, colour_shift, specks, chained(BLUR, NOISE, JPEG)],
                         ids=["blur", "noise", "jpeg", "colour_shift", "specks", "combined"])
def test_degraded_renders_agree(degrade):
    # Measured on 1000 scenes: 100% for each degradation alone, >= 99.5% for the combination.
    rng = np.random.default_rng(0)
    rates = agreement_rates((scene, measure(degrade(render(scene), rng))) for scene in scenes(150, offset=1000))
    assert min(rates.values()) >= 0.97, rates


def test_continuous_values_are_accurate():
    for scene in scenes(100):
        m = measure(render(scene))
        # The renderer draws 0-10% more area than nominal (see test_scene), i.e. up to +5% in size.
        assert 0.99 * scene.size < m.size < 1.06 * scene.size
        assert abs(m.x - scene.x) * 64 < 0.25 and abs(m.y - scene.y) * 64 < 0.25
        assert m.found and m.shape_score > 0.9 and m.shape_margin > 0.05
        assert m.colour_distance < 1.0 and m.background_distance < 1.0


def test_mask_is_soft_and_covers_the_object():
    scene = Scene(shape="square", colour="green", background="white", size=0.3, x=0.5, y=0.5)
    m = measure(render(scene))
    assert m.mask.shape == (64, 64) and 0.0 <= m.mask.min() and m.mask.max() <= 1.0
    assert m.mask[32, 32] == pytest.approx(1.0) and m.mask[0, 0] == 0.0
    assert m.mask.sum() == pytest.approx((0.3 * 64) ** 2, rel=0.06)


def test_words_and_caption_match_the_scene_helpers():
    scene = Scene(shape="triangle", colour="orange", background="gray", size=0.16, x=0.68, y=0.5)
    m = measure(render(scene))
    assert m.words == scene.words
    assert m.caption == caption_of(scene)
    assert m.to_scene().words == scene.words


def test_every_named_colour_and_background_is_recognised():
    for colour in COLOURS:
        for background in BACKGROUNDS:
            scene = Scene(shape="circle", colour=colour, background=background, size=0.16)
            m = measure(render(scene))
            assert (m.colour, m.background) == (colour, background)


@pytest.mark.parametrize("shape", SHAPES)
def test_extreme_sizes_and_positions(shape):
    for size in (0.05, 0.4):
        for x, y in ((0.3, 0.3), (0.7, 0.7)):
            scene = Scene(shape=shape, colour="purple", background="black", size=size, x=x, y=y)
            m = measure(render(scene))
            assert m.shape == shape
            assert m.size == pytest.approx(size, rel=0.12)


def test_input_formats_agree():
    scene = Scene(shape="star", colour="cyan", background="brown", size=0.23, x=0.33, y=0.67)
    image = render(scene)
    pixels = np.asarray(image)
    expected = measure(image)
    for other in (measure(pixels), measure(pixels / 255.0), measure(pixels.transpose(2, 0, 1)),
                  measure(to_tensor(image), value_range=(-1.0, 1.0))):
        assert other.words == expected.words
        assert other.size == pytest.approx(expected.size, rel=1e-4)


def test_other_square_sizes_work():
    scene = Scene(shape="square", colour="red", background="black", size=0.3, x=0.32, y=0.68)
    for side in (32, 128):
        assert measure(render(scene, image_size=side)).words == scene.words


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="square"):
        measure(Image.new("RGB", (64, 32)))
    with pytest.raises(ValueError, match="RGB"):
        measure(np.zeros((64, 64)))


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_no_object_is_reported_not_raised(background):
    plain = Image.new("RGB", (64, 64), BACKGROUNDS[background])
    noisy = NOISE(NOISE(plain, np.random.default_rng(1)), np.random.default_rng(2))  # sigma ~11
    for image in (plain, noisy):
        m = measure(image)
        assert not m.found and m.shape == "none" and m.colour == "none"
        assert m.background == background
        assert m.words == {"shape": "none", "colour": "none", "background": background,
                           "size": "none", "x": "none", "y": "none"}
        assert m.caption == f"no object on a {background} background"
        assert not any(agreement(Scene(background=background), m)[k] for k in ("shape", "colour", "size"))
        with pytest.raises(ValueError):
            m.to_scene()


def test_measure_batch_and_agreement_forms():
    batch = scenes(5)
    measurements = measure_batch([render(s) for s in batch])
    assert len(measurements) == 5 and all(isinstance(m, Measurement) for m in measurements)
    stacked = measure_batch(np.stack([np.asarray(render(s)) for s in batch]))
    for scene, m, other in zip(batch, measurements, stacked):
        assert m.words == other.words == scene.words
        assert agreement(scene, m) == agreement(scene.words, m) == agreement(caption_of(scene), m)
        assert all(agreement(scene, m).values())
    wrong = agreement(batch[0].with_(colour="pink" if batch[0].colour != "pink" else "red"), measurements[0])
    assert wrong == {**{k: True for k in ATTRIBUTES}, "colour": False}


# -- captioner ------------------------------------------------------------------------------------

def test_captioner_matches_caption_of():
    captioner = WorldCaptioner()
    for scene in scenes(50, offset=500):
        assert captioner.caption(render(scene)) == caption_of(scene)


def test_captioner_resizes_other_sizes():
    scene = Scene(shape="circle", colour="yellow", background="gray", size=0.3, x=0.68, y=0.32)
    captioner = WorldCaptioner()
    assert captioner.caption(render(scene, image_size=256)) == caption_of(scene)
    assert captioner.caption(render(scene, image_size=48).convert("RGBA")) == caption_of(scene)


def test_attribute_presets_structure():
    caption = "a large red circle at the top left on a white background"
    presets = attribute_presets(caption)
    assert [p.name for p in presets] == ["size", "colour", "shape", "vertical", "horizontal", "background"]
    by_name = {p.name: p for p in presets}
    assert by_name["colour"] == AttributePreset("colour", "red", tuple(c for c in COLOURS if c != "red"))
    assert by_name["shape"].choices == ("square", "triangle", "star")
    assert by_name["size"] == AttributePreset("size", "large", ("small", "medium"), ("small", "medium", "large"))
    assert by_name["horizontal"] == AttributePreset("horizontal", "left", ("center", "right"), ("left", "center", "right"))
    assert by_name["vertical"] == AttributePreset("vertical", "top", ("middle", "bottom"), ("top", "middle", "bottom"))
    # an ordered slider passes through the words between: top -> bottom via middle, large -> small via medium
    assert by_name["vertical"].attribute("bottom").via == ("middle",) and by_name["vertical"].attribute("middle").via == ()
    assert by_name["size"].attribute("small").via == ("medium",) and by_name["colour"].attribute("blue").via == ()
    assert by_name["background"] == AttributePreset("background", "white background",
                                                    ("black background", "gray background", "brown background"))


def test_attribute_presets_edits_are_single_attribute_changes():
    for scene in scenes(30):
        caption = caption_of(scene)
        words = parse_caption(caption)
        for preset in attribute_presets(caption):
            assert caption.count(preset.source) == 1
            assert preset.source not in preset.choices
            for choice in preset.choices:
                edited = parse_caption(caption.replace(preset.source, choice))
                changed = {k for k in words if edited[k] != words[k]}
                assert len(changed) == 1


def test_attribute_presets_keep_the_caption_spelling():
    presets = {p.name: p for p in attribute_presets("A Small PINK star at the Bottom Center on a Brown  Background")}
    assert presets["colour"].source == "PINK" and presets["size"].source == "Small"
    assert presets["background"].source == "Brown  Background"
    assert "pink" not in presets["colour"].choices


def test_attribute_presets_rejects_incomplete_captions():
    with pytest.raises(ValueError):
        attribute_presets("a red circle")
    with pytest.raises(ValueError):
        attribute_presets("no object on a white background")
    assert WorldCaptioner().attribute_presets("a red circle") == []  # the captioner offers none instead


def test_vocabulary_sizes():
    # One preset per slot, each offering every other word of its slot.
    counts = {p.name: len(p.choices) for p in attribute_presets(caption_of(Scene()))}
    assert counts == {"size": len(SIZE_BANDS) - 1, "colour": len(COLOURS) - 1, "shape": len(SHAPES) - 1,
                      "vertical": len(Y_BANDS) - 1, "horizontal": len(X_BANDS) - 1,
                      "background": len(BACKGROUNDS) - 1}
