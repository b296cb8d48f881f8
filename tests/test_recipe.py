"""``ems_core.recipe``: JSON and PNG round trips, and clear errors (library code, no gradio)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ems_core import Attribute, EditConfig, EditSession
from ems_core.recipe import Recipe, read_recipe, save_png_with_recipe

PROMPT = "a large red circle at the middle center on a white background"


@pytest.fixture()
def recipe(red_circle) -> Recipe:
    attributes = (Attribute("colour", "red", "blue"), Attribute("size", "large", "small"))
    degrees = {"colour": 0.75, "size": -0.5}
    return Recipe("world", PROMPT, attributes, degrees, EditConfig(steps=12, seed=7, refine_iters=1)).with_source_image(
        red_circle)


def test_json_round_trip(recipe):
    again = Recipe.from_json(recipe.to_json())
    assert again == recipe and again.degrees == {"colour": 0.75, "size": -0.5} and again.seed == 7
    assert json.loads(recipe.to_json())["config"] == recipe.config.to_dict()


def test_png_round_trip_keeps_pixels_and_source(recipe, red_circle, tmp_path):
    image = Image.new("RGB", (64, 64), (10, 200, 30))
    path = save_png_with_recipe(image, recipe, tmp_path / "edit.png")
    assert read_recipe(path) == recipe
    with Image.open(path) as opened:
        assert read_recipe(opened) == recipe
        assert np.array_equal(np.asarray(opened.convert("RGB")), np.asarray(image))
    assert np.array_equal(np.asarray(recipe.source_pil()), np.asarray(red_circle))
    (tmp_path / "edit.json").write_text(recipe.to_json())
    assert read_recipe(tmp_path / "edit.json") == recipe


def test_recipe_without_source_image(recipe, red_circle, tiny_world):
    bare = recipe.with_source_image(None)
    assert bare.source_pil() is None and Recipe.from_json(bare.to_json()) == bare
    with pytest.raises(ValueError, match="does not carry its source image"):
        bare.session(tiny_world)
    assert bare.session(tiny_world, red_circle).attributes["colour"].target == "blue"


def test_whole_target_prompt_round_trips(red_circle, tiny_world):
    whole = Attribute("scene", "", "a small blue star at the top left on a black background", full_prompt=True)
    recipe = Recipe("tiny-random-world", PROMPT, (whole,), {"scene": 0.5}).with_source_image(red_circle)
    again = Recipe.from_json(recipe.to_json())
    assert again == recipe and again.attributes[0].full_prompt
    assert again.session(tiny_world).target_prompt("scene") == whole.target


def test_session_reproduces_the_render(tiny_world, red_circle):
    config = EditConfig(steps=8, refine_iters=1, seed=1)
    session = EditSession(tiny_world, red_circle, prompt=PROMPT)
    session.set_attribute("colour", "red", "blue")
    image = session.render({"colour": 0.6}, config).image
    recipe = Recipe.from_session(session, {"colour": 0.6}, "tiny-random-world", config)
    again = Recipe.from_json(recipe.to_json())
    redo = again.session(tiny_world).render(again.degrees, again.config).image
    assert np.array_equal(np.asarray(redo), np.asarray(image))


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("source_prompt"), "missing: source_prompt"),
    (lambda d: d.update(format="other"), "not an EMS Studio recipe"),
    (lambda d: d.update(version=99), "unsupported recipe version"),
    (lambda d: d["config"].update(warp=1), "unknown config fields in recipe: warp"),
    (lambda d: d["config"].update(steps=0), "steps must be an integer in \\[1, 100\\]"),
    (lambda d: d["attributes"][0].update(degree=9), "allowed range"),
    (lambda d: d["attributes"][0].update(degree="high"), "degree must be a number"),
    (lambda d: d["attributes"][0].update(colour="x"), "invalid recipe attribute: unknown fields colour"),
    (lambda d: d["attributes"][0].pop("target"), "invalid recipe attribute: missing target"),
    (lambda d: d["attributes"][0].update(source=3), "source must be text"),
    (lambda d: d["attributes"][0].update(full_prompt="yes"), "full_prompt must be true or false"),
    (lambda d: d["attributes"].append(dict(d["attributes"][0])), "duplicate attribute names: colour"),
    (lambda d: d.update(source_image="@@@"), "not a valid base64 PNG"),
])
def test_invalid_recipes_raise_clear_value_errors(recipe, change, message):
    data = recipe.to_dict()
    change(data)
    with pytest.raises(ValueError, match=message):
        Recipe.from_dict(data)


def test_read_recipe_errors(tmp_path, red_circle):
    with pytest.raises(FileNotFoundError):
        read_recipe(tmp_path / "missing.png")
    red_circle.save(tmp_path / "plain.png")
    with pytest.raises(ValueError, match="carries no EMS Studio recipe"):
        read_recipe(tmp_path / "plain.png")
    with pytest.raises(ValueError, match="carries no EMS Studio recipe"):
        read_recipe(red_circle)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither a PNG"):
        read_recipe(tmp_path / "notes.txt")
    (tmp_path / "bad.json").write_text("{\"format\": ")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_recipe(tmp_path / "bad.json")


def test_waypoints_round_trip_and_are_checked():
    import json

    vertical = Attribute("vertical", "top", "bottom", via=("middle",))
    recipe = Recipe("tiny-random-world", PROMPT, (vertical,), {"vertical": 0.5})
    again = Recipe.from_json(recipe.to_json())
    assert again == recipe and again.attributes[0].via == ("middle",)
    assert "via" not in json.loads(Recipe("m", PROMPT, (Attribute("c", "red", "blue"),)).to_json())["attributes"][0]
    data = json.loads(recipe.to_json())
    for bad, message in ((["x"] * 9, "at most 8"), ("middle", "must be a list"), ([""], "non-empty"), ([3], "must be text")):
        data["attributes"][0]["via"] = bad
        with pytest.raises(ValueError, match=message):
            Recipe.from_json(json.dumps(data))


def test_recipes_written_before_a_setting_existed_load_as_they_rendered(recipe):
    """Missing fields mean the behaviour of the build that wrote the recipe: EMS's sum, the raw noise draw, the
    target side's full guidance at every nonzero degree."""
    data = json.loads(recipe.to_json())
    for name in ("composition", "noise_grid", "guidance_ramp"):
        del data["config"][name]
    old = Recipe.from_dict(data)
    assert (old.config.composition, old.config.noise_grid, old.config.guidance_ramp) == ("sum", 0, 0.0)
    now = Recipe.from_dict(json.loads(recipe.to_json())).config
    assert (now.noise_grid, now.guidance_ramp) == (EditConfig().noise_grid, EditConfig().guidance_ramp) == (4, 1.0)
