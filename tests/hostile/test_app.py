"""The editor's handlers on the hostile corpus: every bad image, recipe or setting gives one clear line
(no server path, no traceback) and leaves the user's workspace as it was (it still renders, cached)."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest

from ems_core import Attribute, default_captioner
from ui import Studio, create_demo
from ui.workspace import EditRequest

from .test_recipes import BIG_HOSTILE, HOSTILE_RECIPES

CAPTION = "a large red circle at the middle center on a white background"
BAD_IMAGES = ["bomb-30000x30000.png", "truncated.png", "not-an-image.png", "postscript.eps"]
ODD_BUT_FINE = ["gray16.png", "rgba-transparent.png", "palette-transparent.png", "la-transparent.png", "cmyk.jpg",
                "animated.gif", "exif-rotated.jpg", "float.tiff"]


@pytest.fixture(scope="module")
def studio(tiny_world) -> Studio:
    return Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world))


@pytest.fixture()
def workspace(studio, red_circle):
    """A user's workspace with one rendered move (its inversion cached)."""
    workspace = studio.open_image(red_circle).workspace
    studio.render(workspace, request(studio, 0.5))
    return workspace


def request(studio: Studio, degree: float) -> EditRequest:
    return EditRequest(CAPTION, (Attribute("colour", "red", "blue"),), {"colour": degree},
                       studio.default_config().with_(steps=4))


def assert_one_clear_line(error: gr.Error, tmp_root: str) -> None:
    message = error.message
    assert message and "\n" not in message and "Traceback" not in message
    assert tmp_root not in message and "/tmp/" not in message, message


def assert_intact(studio: Studio, workspace) -> None:
    """The workspace still renders, with its cached inversion."""
    inversions = workspace.full.preparations
    rendered = studio.render(workspace, request(studio, 0.25))
    assert rendered.workspace.latest_move.cache_hit and workspace.full.preparations == inversions


@pytest.mark.parametrize("name", BAD_IMAGES)
def test_hostile_images_are_refused_in_one_line(studio, workspace, corpus, name, tmp_path):
    with pytest.raises(gr.Error) as caught:
        studio.open_image(str(corpus[name]))
    assert_one_clear_line(caught.value, str(corpus[name].parent))
    assert_intact(studio, workspace)


def test_a_huge_upload_is_refused_before_decoding(studio, workspace, big_corpus):
    name = next(n for n in big_corpus if n.endswith(".png") and "13000" in n)
    with pytest.raises(gr.Error, match="too large") as caught:
        studio.open_image(str(big_corpus[name]))
    assert_one_clear_line(caught.value, str(big_corpus[name].parent))
    assert_intact(studio, workspace)


@pytest.mark.parametrize("name", ODD_BUT_FINE)
def test_odd_but_valid_images_open_as_a_browser_shows_them(studio, corpus, name):
    opened = studio.open_image(str(corpus[name]))
    image = np.asarray(opened.workspace.image)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("name", sorted(HOSTILE_RECIPES))
def test_hostile_recipes_are_refused_in_one_line(studio, workspace, corpus, name):
    with pytest.raises(gr.Error) as caught:
        studio.load_recipe(workspace, str(corpus[name]))
    assert_one_clear_line(caught.value, str(corpus[name].parent))
    assert_intact(studio, workspace)


@pytest.mark.parametrize("name", sorted(BIG_HOSTILE))
def test_big_hostile_recipes_are_refused_in_one_line(studio, workspace, big_corpus, name):
    with pytest.raises(gr.Error) as caught:
        studio.load_recipe(workspace, str(big_corpus[name]))
    assert_one_clear_line(caught.value, str(big_corpus[name].parent))
    assert_intact(studio, workspace)


@pytest.mark.parametrize("setting, value, message", [
    ("steps", 1e9, "steps must be an integer in"),
    ("refine_iters", 10**9, "refine_iters must be an integer in"),
    ("seed", -1, "seed must be an integer in"),
    ("seed", 2**70, "seed must be an integer in"),
    ("guidance", float("nan"), "guidance must be a finite number"),
    ("start_time", "abc", "could not convert"),
    ("sampler", "ddim", "sampler must be one of difference, inversion"),
    ("sampler", None, "sampler must be one of"),
])
def test_hostile_settings_from_an_api_client_are_one_warning(studio, red_circle, setting, value, message):
    """Values a client sends to the page's render endpoint, bypassing the sliders' ranges."""
    demo = create_demo(studio)
    form = demo.ems_form
    on_render = next(fn for fn in demo.fns.values() if fn.name == "on_render").fn
    opened = studio.open_image(red_circle)
    values = {form.workspace: opened.workspace, form.row_count: 1, form.prompt: CAPTION,
              form.seed: 0, form.steps: 4, form.refine_iters: 0, form.start_time: 0.8, form.guidance: 2.0,
              form.live_preview: True, form.sampler: "difference", form.calibrated: True}
    row = form.rows[0]
    values.update({row.name: "colour", row.source: "red", row.target: "blue", row.whole_prompt: False,
                   row.degree: 0.5})
    for other in form.rows[1:]:
        values.update({other.name: "", other.source: "", other.target: "", other.whole_prompt: False,
                       other.degree: 0.0})
    good = on_render(dict(values), None)
    assert good[form.workspace] is opened.workspace and opened.workspace.latest_move is not None
    moves = opened.workspace.latest_move
    component = {"steps": form.steps, "refine_iters": form.refine_iters, "seed": form.seed,
                 "guidance": form.guidance, "start_time": form.start_time, "sampler": form.sampler}[setting]
    with pytest.warns(UserWarning, match=message):
        result = on_render({**values, component: value}, None)
    assert result and all(update == gr.skip() for update in result.values())  # every output left as it was
    assert opened.workspace.latest_move is moves  # nothing was rendered, nothing changed
