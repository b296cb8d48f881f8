"""``ems_core.images``: hostile image files refused in one line before decoding, odd modes read as a
browser shows them."""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from ems_core.images import DRAFT_SIZE, MAX_IMAGE_PIXELS, fit_square, load_image, sanitize_image

from .make_corpus import bomb_header_png


@pytest.mark.parametrize("name, message", [
    ("bomb-30000x30000.png", r"is too large \(900 MP\); the limit is 40 MP"),
    ("truncated.png", r"could not be decoded \(OSError: image file is truncated"),
    ("not-an-image.png", r"is not an image in a supported format \(PNG, JPEG, WEBP, GIF, BMP, TIFF\)"),
    ("postscript.eps", r"is not an image in a supported format"),
])
def test_hostile_files_give_one_line(corpus, name, message):
    with pytest.raises(ValueError, match=message) as error:
        load_image(corpus[name])
    assert "\n" not in str(error.value) and name in str(error.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="image not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="is not a file"):
        load_image(tmp_path)


def test_image_just_under_pillows_bomb_limit_is_refused_from_its_header(big_corpus):
    """13000x13000 (169 MP, Pillow only warns) once took 2.2 GB and 5 s to decode; now nothing is decoded."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=r"too large \(13000x13000, 169 MP\); the limit is 40 MP"):
            load_image(big_corpus["big-13000x13000.png"])
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0 and peak < 5_000_000, (elapsed, peak)


def test_budget_is_a_parameter_and_bytes_and_streams_work(corpus):
    data = corpus["gray16.png"].read_bytes()
    assert load_image(data).size == load_image(io.BytesIO(data)).size == (32, 32)
    with pytest.raises(ValueError, match=r"the recipe source is too large \(32x32, 0 MP\)"):
        load_image(data, max_pixels=1000, what="the recipe source")
    with pytest.raises(ValueError, match="too large"):
        load_image(bomb_header_png(7000, 7000))  # 49 MP: over our budget, under Pillow's
    assert 7000 * 7000 > MAX_IMAGE_PIXELS


def test_16_bit_grey_is_scaled_not_clipped(corpus):
    array = np.asarray(load_image(corpus["gray16.png"]))  # left half 32896/65535, right half 65535
    assert array.shape == (32, 32, 3)
    assert np.all(array[:, :16] == 128) and np.all(array[:, 16:] == 255)


def test_float_image_is_scaled(corpus):
    array = np.asarray(load_image(corpus["float.tiff"]))  # 0.5 and 1.0
    assert np.all(array[:, :16] == 128) and np.all(array[:, 16:] == 255)


@pytest.mark.parametrize("name, clear_pixel, solid_pixel", [
    ("rgba-transparent.png", (0, 0), (31, 0)),  # (row, column): transparent top, red bottom
    ("palette-transparent.png", (0, 0), (0, 31)),  # transparent left, blue right
    ("la-transparent.png", (0, 0), None),
])
def test_transparency_is_composited_on_white(corpus, name, clear_pixel, solid_pixel):
    array = np.asarray(load_image(corpus[name]))
    assert tuple(array[clear_pixel]) == (255, 255, 255)
    if solid_pixel is not None:
        assert tuple(array[solid_pixel]) in {(255, 0, 0), (0, 0, 255)}


def test_cmyk_animated_and_rotated_files(corpus):
    red = np.asarray(load_image(corpus["cmyk.jpg"]))[16, 16].astype(int)
    assert red[0] > 240 and red[1] < 15 and red[2] < 15
    gif = load_image(corpus["animated.gif"])  # first frame (red) of three
    assert gif.mode == "RGB" and tuple(np.asarray(gif)[0, 0]) == (255, 0, 0)
    assert load_image(corpus["exif-rotated.jpg"]).size == (20, 40)  # stored 40x20, orientation 6


def test_big_jpeg_decodes_at_reduced_scale(tmp_path):
    path = tmp_path / "big.jpg"
    side = 2 * DRAFT_SIZE + 100
    Image.new("RGB", (side, side), (10, 120, 200)).save(path, quality=80)
    drafted = load_image(path)
    assert DRAFT_SIZE <= drafted.width < side and drafted.size == (drafted.width, drafted.width)
    assert load_image(path, draft_size=None).size == (side, side)


def test_sanitize_image_applies_the_same_rules_to_open_images(corpus):
    with Image.open(corpus["rgba-transparent.png"]) as image:
        assert tuple(np.asarray(sanitize_image(image))[0, 0]) == (255, 255, 255)
    array = np.full((8, 8), 32896, dtype=np.uint16)
    grey = sanitize_image(Image.fromarray(array))
    assert grey.mode == "RGB" and np.all(np.asarray(grey) == 128)
    ints = sanitize_image(Image.fromarray(np.array([[-5, 5]], dtype=np.int32), "I"))  # not 16-bit: stretched
    assert np.asarray(ints)[0, :, 0].tolist() == [0, 255]
    with pytest.raises(ValueError, match=r"the image is too large \(9000x5000, 45 MP\)"):
        sanitize_image(Image.new("1", (9000, 5000)))
    assert sanitize_image(Image.new("1", (9000, 5000)), max_pixels=None).mode == "RGB"


def test_fit_square_uses_the_same_mode_rules():
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    assert tuple(np.asarray(fit_square(clear, 16))[0, 0]) == (255, 255, 255)
    deep = Image.fromarray(np.full((40, 40), 65535, dtype=np.uint16))
    assert np.all(np.asarray(fit_square(deep, 16)) == 255)
    mid = Image.fromarray(np.full((40, 40), 32896, dtype=np.uint16))
    assert np.all(np.asarray(fit_square(mid, 16)) == 128)
