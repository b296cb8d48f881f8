"""``ems_core.recipe``: hostile recipes (JSON and result PNGs) refused in one line naming the field,
before any model work; a legitimate SD3-sized recipe (over Pillow's 1 MB text limit) loads."""

from __future__ import annotations

import io
import json
import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from ems_core import EditConfig
from ems_core.recipe import (MAX_RECIPE_BYTES, Recipe, allow_recipe_text_in_pillow, read_recipe,
                             save_png_with_recipe)

from .make_corpus import base_recipe, nested_json

CONFIG = "invalid recipe config: "
HOSTILE_RECIPES = {
    "refine-iters-1e9.json": CONFIG + r"refine_iters must be an integer in \[0, 50\], got 1000000000$",
    "refine-iters-1e9-float.json": CONFIG + r"refine_iters must be an integer .*got 1000000000.0 \(float\)",
    "fixed-point-1e6.json": CONFIG + r"inversion_fixed_point must be an integer in \[0, 10\], got 1000000$",
    "steps-150.json": CONFIG + r"steps must be an integer in \[1, 100\] .*got 150$",
    "steps-2.5.json": CONFIG + r"steps must be an integer .*got 2.5 \(float\)",
    "steps-abc.json": CONFIG + r"steps must be an integer .*got 'abc' \(str\)",
    "steps-true.json": CONFIG + r"steps must be an integer .*got True \(bool\)",
    "seed-negative.json": CONFIG + r"seed must be an integer in \[0, 4294967295\], got -1$",
    "seed-abc.json": CONFIG + r"seed must be an integer .*got 'abc' \(str\)",
    "seed-2pow70.json": CONFIG + r"seed must be an integer in \[0, 4294967295\], got 1180591620717411303424$",
    "seed-5000-digits.json": r"recipe is not valid JSON \(a number has more than 4300 digits\)",
    "lr-nan.json": CONFIG + r"refine_lr must be a finite number in \(0, 10\], got nan",
    "lr-inf.json": CONFIG + r"refine_lr must be a finite number in \(0, 10\], got inf",
    "lr-negative.json": CONFIG + r"refine_lr must be a finite number in \(0, 10\], got -1.0$",
    "guidance-nan.json": CONFIG + r"guidance must be a finite number",
    "degree-nan.json": r"recipe attributes\[0\].degree must be a finite number, got nan",
    "config-list.json": r"recipe config must be an object, got a list",
    "attributes-dict.json": r"recipe attributes must be a list of objects, got an object",
    "model-number.json": r"recipe model must be text, got a number",
    "prompt-list.json": r"recipe source_prompt must be text, got a list",
    "source-image-number.json": r"recipe source_image must be a base64 PNG string or null, got a number",
    "source-image-not-base64.json": r"the recipe's embedded source image is not a valid base64 PNG",
    "source-image-bomb.json": r"the recipe's embedded source image is too large \(900 MP\); the limit is 16.8 MP",
    "nested.json": r"recipe JSON is nested too deeply \(the limit is 8 levels\)",
    "wrong-types-everywhere.json": r"unsupported recipe version '1' \(this build reads 1\)",
    "not-json.json": r"recipe is not valid JSON \(Expecting property name",
    "recipe-refine-iters-1e9.png": CONFIG + r"refine_iters must be an integer in \[0, 50\]",
    "recipe-fixed-point-1e6.png": CONFIG + r"inversion_fixed_point must be an integer in \[0, 10\]",
    "recipe-nested.png": r"recipe JSON is nested too deeply",
    "recipe-text-bomb.png": r"recipe-text-bomb.png: its 'ems-recipe' text is larger than 8 MiB",
    "recipe-corrupt-crc.png": r"recipe-corrupt-crc.png: its 'ems-recipe' text chunk is truncated or corrupt",
    "top-level-list.json": r"top-level-list.json is neither a PNG with an EMS recipe nor a recipe JSON file",
}
BIG_HOSTILE = {
    "attributes-1e5.json": r"recipe has 100000 attributes; at most 16 are allowed",
    "prompt-1mb.json": r"recipe source_prompt is too long \(1040000 characters; the limit is 2000\)",
    "recipe-embedding-13000.png": r"embedded source image is too large \(13000x13000, 169 MP\)",
}


def one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text and len(text) < 300, text
    return text


@pytest.mark.parametrize("name", sorted(HOSTILE_RECIPES))
def test_read_recipe_refuses_each_hostile_file_in_one_line(corpus, name):
    with pytest.raises(ValueError, match=HOSTILE_RECIPES[name]) as error:
        read_recipe(corpus[name])
    one_line(error)


@pytest.mark.parametrize("name", sorted(n for n in HOSTILE_RECIPES if n.endswith(".json") and n != "top-level-list.json"))
def test_from_json_gives_the_same_message(corpus, name):
    with pytest.raises(ValueError, match=HOSTILE_RECIPES[name]) as error:
        Recipe.from_json(corpus[name].read_text())
    one_line(error)


@pytest.mark.parametrize("name", sorted(BIG_HOSTILE))
def test_big_hostile_recipes(big_corpus, name):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=BIG_HOSTILE[name]) as error:
        read_recipe(big_corpus[name])
    one_line(error)
    assert time.perf_counter() - started < 3.0


def test_huge_iteration_counts_are_refused_before_any_allocation_or_model_call(corpus, tiny_world, monkeypatch):
    calls = []
    monkeypatch.setattr(tiny_world, "velocity", lambda *a, **k: calls.append(1))
    tracemalloc.start()
    try:
        for name in ("recipe-refine-iters-1e9.png", "recipe-fixed-point-1e6.png"):
            with pytest.raises(ValueError, match="must be an integer in"):
                read_recipe(corpus[name]).session(tiny_world).render({"colour": 0.5})
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert calls == [] and peak < 2_000_000, peak


def test_wrong_types_in_each_field_name_the_field():
    cases = [
        (("version",), True, r"unsupported recipe version True"),
        (("source_prompt",), 5, r"recipe source_prompt must be text, got a number"),
        (("attributes", 0), "x", r"recipe attributes\[0\] must be an object, got text"),
        (("attributes", 0, "name"), 5, r"recipe attributes\[0\].name must be text, got a number"),
        (("attributes", 0, "source"), None, r"recipe attributes\[0\].source must be text, got null"),
        (("attributes", 0, "target"), {}, r"recipe attributes\[0\].target must be text, got an object"),
        (("attributes", 0, "degree"), "1", r"recipe attributes\[0\].degree must be a number, got '1' \(text\)"),
        (("attributes", 0, "degree"), True, r"recipe attributes\[0\].degree must be a number, got True"),
        (("attributes", 0, "full_prompt"), "yes", r"recipe attributes\[0\].full_prompt must be true or false"),
        (("config", "start_time"), [0.5], r"start_time must be a finite number in \(0, 1\], got \[0.5\] \(list\)"),
        (("config", "refine_proximity"), None, r"refine_proximity must be a finite number .*got None"),
    ]
    for path, value, message in cases:
        data = base_recipe()
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ValueError, match=message) as error:
            Recipe.from_dict(data)
        one_line(error)


def test_depth_is_checked_on_dicts_too():
    data = base_recipe()
    data["extra"] = json.loads(nested_json(20))
    with pytest.raises(ValueError, match="nested too deeply"):
        Recipe.from_dict(data)


def test_json_over_the_size_limit_is_refused_unparsed():
    text = json.dumps(base_recipe()) + " " * MAX_RECIPE_BYTES
    with pytest.raises(ValueError, match=r"recipe is too large \(8.0 MiB of JSON\); the limit is 8 MiB"):
        Recipe.from_json(text)


def test_legit_1024_recipe_over_one_megabyte_loads_back(big_corpus, tmp_path):
    """A 1024x1024 source (SD3's size) makes ~4 MB of JSON: over Pillow's 1 MB text limit, under ours."""
    assert big_corpus["legit-1024.json"].stat().st_size > 2**20
    from_json = read_recipe(big_corpus["legit-1024.json"])
    from_png = read_recipe(big_corpus["legit-1024.png"])
    assert from_json == from_png and from_png.source_pil().size == (1024, 1024)
    again = save_png_with_recipe(Image.new("RGB", (1024, 1024)), from_png, tmp_path / "again.png")
    assert read_recipe(again) == from_png
    assert np.array_equal(np.asarray(read_recipe(again).source_pil()), np.asarray(from_png.source_pil()))


def test_pil_image_of_a_big_recipe_png(big_corpus):
    """Pillow itself refuses to open it by default; after allow_recipe_text_in_pillow() it can, and
    read_recipe reads the chunk either from Pillow's text or from the file."""
    from PIL import PngImagePlugin

    before = PngImagePlugin.MAX_TEXT_CHUNK
    try:
        allow_recipe_text_in_pillow()
        with Image.open(big_corpus["legit-1024.png"]) as image:
            assert read_recipe(image).source_pil().size == (1024, 1024)
    finally:
        PngImagePlugin.MAX_TEXT_CHUNK = before


def test_saving_a_recipe_that_could_not_be_read_back_is_refused(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (2048, 2048, 3), dtype=np.uint8)
    recipe = Recipe("world", "a red circle", config=EditConfig()).with_source_image(Image.fromarray(noise))
    with pytest.raises(ValueError, match="too large to embed"):
        save_png_with_recipe(Image.new("RGB", (8, 8)), recipe, tmp_path / "r.png")
    assert not (tmp_path / "r.png").exists()


def test_result_png_pixels_are_never_decoded(tmp_path):
    """A result PNG whose header claims 30000x30000 still gives its recipe at once: only chunks are read."""
    import zlib

    from .make_corpus import _chunk, bomb_header_png

    text = zlib.compress(json.dumps(base_recipe()).encode())
    itxt = _chunk(b"iTXt", b"ems-recipe\0\x01\x00\0\0" + text)
    bomb = bomb_header_png()
    path = tmp_path / "bomb-with-recipe.png"
    path.write_bytes(bomb[:33] + itxt + bomb[33:])  # after the signature (8) and IHDR (25)
    started = time.perf_counter()
    assert read_recipe(path).config.steps == 8
    assert time.perf_counter() - started < 1.0


def test_recipe_made_in_code_is_bounded_too():
    with pytest.raises(ValueError, match="at most 16 are allowed"):
        from ems_core import Attribute
        Recipe("world", "a red circle", tuple(Attribute(f"a{i}", "red", "blue") for i in range(17)))
    with pytest.raises(ValueError, match="recipe source_prompt is too long"):
        Recipe("world", "a" * 3000)


def test_recipe_json_stays_version_1_and_readable(corpus):
    text = json.dumps(base_recipe())
    recipe = Recipe.from_json(text)
    assert json.loads(recipe.to_json())["version"] == 1 and Recipe.from_json(recipe.to_json()) == recipe
    assert recipe.source_pil().size == (64, 64)
    assert read_recipe(Image.open(io.BytesIO(recipe_bytes(recipe)))) == recipe


def recipe_bytes(recipe: Recipe) -> bytes:
    from .make_corpus import recipe_png

    return recipe_png(recipe.to_json(indent=None))
