"""Handler-level tests of the app on the tiny random bundled architecture (no weights, no browser)."""

from __future__ import annotations

import copy
import importlib
import sys
import types
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from ems_core import Attribute, EditConfig, EditSession, default_captioner
from ems_core.metrics import psnr
from ems_core.recipe import read_recipe
from ui import MAX_ROWS, Studio, create_demo
from ui.layout import COMPUTE
from ui.studio import CUSTOM, Rows, SweepRequest
from ui.workspace import EditRequest

CAPTION = "a large red circle at the middle center on a white background"


@pytest.fixture(scope="module")
def studio(tiny_world) -> Studio:
    return Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world))


FAST = dict(steps=6, refine_iters=1)  # short schedules keep these tests quick; the browser test runs the defaults


def request_for(studio: Studio, prompt: str, degree: float, target: str = "blue", source: str = "red",
                **config) -> EditRequest:
    return EditRequest(prompt, (Attribute("colour", source, target),), {"colour": degree},
                       studio.default_config().with_(**(FAST | config)))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_load_gives_captioner_and_explicit_defaults():
    studio = Studio.load("tiny-random-world")
    assert studio.captioner is not None
    config = studio.default_config()
    info = studio.backend.info
    # the backend's edit settings, shown in the form (edits use other steps and guidance than generation)
    assert (config.steps, config.guidance) == (info.default_edit_steps, info.default_edit_guidance) == (5, 3.0)
    assert (config.start_time, config.refine_iters) == (info.edit_config.start_time, info.edit_config.refine_iters)
    assert info.default_steps == 20 and info.default_guidance == 4.0


def test_a_new_image_edits_with_the_fields_the_form_does_not_show_from_the_model(studio, red_circle):
    """The source side's guidance and its ramp, the noise grid: the backend's edit settings, not EditConfig()'s."""
    workspace = studio.open_image(red_circle).workspace
    assert workspace.base_config == studio.default_config()
    assert (workspace.base_config.source_guidance, workspace.base_config.guidance_ramp) == (1.5, 1.0)


def test_upload_caption_set_attribute_render(studio, red_circle):
    opened = studio.open_image(red_circle)
    assert opened.prompt == CAPTION  # the world captioner reads the scene off the pixels
    row = opened.rows.attributes[0]
    assert (row.name, row.source) == ("colour", "red")
    assert "blue" in Studio.choices_for(opened.workspace.presets, row)
    assert opened.workspace.full is None  # nothing is computed before the first move

    request = request_for(studio, opened.prompt, 0.75)
    first = studio.render(opened.workspace, request)
    before, after = first.comparison
    assert pixels(before).tobytes() == pixels(red_circle).tobytes()
    assert pixels(after).tobytes() != pixels(red_circle).tobytes()
    assert "first move" in first.stats and "miss" in first.stats

    # the Python API with the same settings gives the same pixels
    session = EditSession(studio.backend, red_circle, prompt=CAPTION)
    session.set_attribute("colour", "red", "blue")
    expected = session.render(session.calibrated_degrees({"colour": 0.75}, request.config), request.config).image
    assert np.array_equal(pixels(after), pixels(expected))

    second = studio.render(first.workspace, request_for(studio, opened.prompt, 0.5))
    moves = second.workspace
    assert moves.first_move.cache_hit is False and moves.first_move.prepare_nfe > 0
    assert moves.latest_move.cache_hit is True and moves.latest_move.prepare_nfe == 0
    assert "cache hit" in second.stats


def test_preview_keeps_its_own_cache(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    studio.render(workspace, request_for(studio, CAPTION, 0.5))
    dragged = request_for(studio, CAPTION, 0.6)
    preview = studio.preview(workspace, dragged)
    assert preview.comparison[1].size == (64, 64)
    assert workspace.latest_preview.nfe == workspace.preview.edit_nfe(dragged.preview_config())
    assert dragged.preview_config().steps == 2 and dragged.preview_config().seed == dragged.config.seed
    assert workspace.latest_preview.nfe <= 4  # a live preview costs at most 4 evaluations
    studio.render(workspace, request_for(studio, CAPTION, 0.7))
    assert workspace.latest_move.cache_hit  # the preview did not evict the full-quality inversion
    off = EditRequest(CAPTION, (Attribute("colour", "red", "blue"),), {"colour": 0.8}, studio.default_config(),
                      live_preview=False)
    assert studio.preview(workspace, off) is None
    assert studio.preview(workspace, request_for(studio, CAPTION, 0.8, source="green")) is None  # silent
    # a preview that reaches the queue after the release of the same move must not cover the full result
    assert studio.preview(workspace, request_for(studio, CAPTION, 0.7)) is None


def test_a_first_move_that_was_a_drag_is_labelled_a_preview(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    studio.preview(workspace, request_for(studio, CAPTION, 0.6))  # a drag before any release
    assert workspace.first_move.kind == "preview"
    released = studio.render(workspace, request_for(studio, CAPTION, 0.6))
    rows = {line.split("|")[1].strip(): line for line in released.stats.splitlines() if line.startswith("| ")}
    assert "first move (a drag's preview)" in rows and "first move" not in rows
    assert "latest move" in rows and "latest preview" in rows


def test_prompt_and_row_changes_resync_the_session(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    studio.render(workspace, request_for(studio, CAPTION, 0.5))
    new_prompt = CAPTION.replace("red", "crimson")
    studio.render(workspace, request_for(studio, new_prompt, 0.5, source="crimson"))
    assert workspace.full.source_prompt == new_prompt
    assert workspace.full.attributes["colour"].source == "crimson"
    two_rows = EditRequest(CAPTION, (Attribute("colour", "red", "blue"), Attribute("size", "large", "small")),
                           {"colour": 0.5, "size": 0.3}, studio.default_config().with_(**FAST))
    studio.render(workspace, two_rows)
    assert set(workspace.full.attributes) == {"colour", "size"}
    studio.render(workspace, request_for(studio, CAPTION, 0.5))
    assert set(workspace.full.attributes) == {"colour"}


@pytest.mark.parametrize("bad, message", [
    (dict(source="green"), "not in the prompt"),
    (dict(target=""), "choose or type a target"),
    (dict(degree=5.0), "allowed range"),
    (dict(prompt=" "), "prompt is empty"),
])
def test_errors_become_gr_error_and_session_stays_usable(studio, red_circle, bad, message):
    workspace = studio.open_image(red_circle).workspace
    studio.render(workspace, request_for(studio, CAPTION, 0.5))
    values = dict(prompt=CAPTION, degree=0.5, target="blue", source="red") | bad
    prompt = values.pop("prompt")
    with pytest.raises(gr.Error, match=message):
        studio.render(workspace, request_for(studio, prompt, **values))
    again = studio.render(workspace, request_for(studio, CAPTION, 0.25))
    assert again.workspace.latest_move.cache_hit  # the cached inversion survived the error


def test_errors_without_an_image(studio):
    with pytest.raises(gr.Error, match="upload an image"):
        studio.render(None, request_for(studio, CAPTION, 0.5))
    with pytest.raises(gr.Error, match="upload an image"):
        studio.reconstruct(None, request_for(studio, CAPTION, 0.0))
    assert studio.preview(None, request_for(studio, CAPTION, 0.5)) is None
    assert studio.open_image(None).workspace is None


def test_two_users_never_share_state(studio, red_circle, blue_square):
    a = studio.open_image(red_circle)
    b = studio.open_image(blue_square)
    assert b.prompt == "a medium blue square at the top left on a white background"
    result_a = studio.render(a.workspace, request_for(studio, a.prompt, 0.75))
    result_b = studio.render(b.workspace, request_for(studio, b.prompt, 0.75, source="blue", target="red"))
    assert pixels(result_a.comparison[0]).tobytes() == pixels(red_circle).tobytes()
    assert pixels(result_b.comparison[0]).tobytes() == pixels(blue_square).tobytes()
    assert a.workspace.full is not b.workspace.full
    assert a.workspace.full.attributes["colour"].target == "blue"
    assert b.workspace.full.attributes["colour"].target == "red"
    # gr.State deep-copies initial values: a copy keeps the shared backend but owns its caches
    clone = copy.deepcopy(a.workspace)
    assert clone.backend is studio.backend and clone.full.backend is studio.backend
    assert clone.full is not a.workspace.full
    clone.full.set_attribute("colour", "red", "green")
    assert a.workspace.full.attributes["colour"].target == "blue"


def test_rows_add_and_remove(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    request = request_for(studio, CAPTION, 0.5)
    rows = studio.add_row(workspace, request, "size")
    assert [a.name for a in rows.attributes] == ["colour", "size"] and rows.attributes[1].source == "large"
    assert "small" in Studio.choices_for(workspace.presets, rows.attributes[1]) and rows.degrees == {"colour": 0.5}
    assert "size" not in Studio.add_choices(workspace.presets, rows.attributes)
    request = EditRequest(CAPTION, tuple(rows.attributes), rows.degrees, request.config)
    rows = studio.add_row(workspace, request, CUSTOM)
    assert rows.attributes[-1] == Attribute("attribute 3", "", "")
    request = EditRequest(CAPTION, tuple(rows.attributes), rows.degrees, request.config)
    assert [a.name for a in studio.remove_row(request, 0).attributes] == ["size", "attribute 3"]
    assert studio.remove_row(request, 0).degrees == {}
    full = EditRequest(CAPTION, tuple(Attribute(f"a{i}", "red", "blue") for i in range(MAX_ROWS)), {}, request.config)
    with pytest.raises(ValueError, match="at most"):
        studio.add_row(workspace, full, CUSTOM)


def test_whole_target_prompt_row_round_trips_through_the_recipe(studio, red_circle):
    whole = Attribute("scene", "", "a small blue star at the top left on a black background", full_prompt=True)
    request = EditRequest(CAPTION, (whole,), {"scene": 0.6}, studio.default_config().with_(**FAST))
    workspace = studio.open_image(red_circle).workspace
    rendered = studio.render(workspace, request)
    restored = studio.load_recipe(None, studio.save_result(workspace)[0])
    # the recipe keeps the degree rendered (slider 0.6 through the calibration), shown uncalibrated
    calibrated = workspace.full.calibration("scene", request.config).degree(0.6)
    assert calibrated != 0.6 and restored.opened.rows == Rows([whole], {"scene": calibrated})
    assert np.array_equal(pixels(restored.rendered.comparison[1]), pixels(rendered.comparison[1]))


def test_sweep_strip_and_animation(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    swept = studio.sweep(workspace, request_for(studio, CAPTION, 0.5, refine_iters=0),
                         SweepRequest("colour", 0.0, 1.0, 3))
    assert swept.strip.size == (3 * 256 + 2 * 2, 256)  # 64-pixel frames enlarged 4x for the page
    with Image.open(swept.animation) as gif:
        assert gif.n_frames == 4  # forth and back: 0, 0.5, 1, 0.5
    with pytest.raises(gr.Error, match="no attribute row called 'size'"):
        studio.sweep(workspace, request_for(studio, CAPTION, 0.5), SweepRequest("size"))
    with pytest.raises(gr.Error, match="2 to 16 frames"):
        studio.sweep(workspace, request_for(studio, CAPTION, 0.5), SweepRequest("colour", frames=1))


def test_reconstruction_reports_psnr(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    recon = studio.reconstruct(workspace, request_for(studio, CAPTION, 0.5))
    source, rebuilt = recon.comparison
    assert f"{psnr(rebuilt, source):.2f} dB" in recon.report


def test_result_png_restores_the_edit(studio, red_circle):
    opened = studio.open_image(red_circle)
    request = request_for(studio, CAPTION, 0.75, seed=3, refine_iters=1)
    rendered = studio.render(opened.workspace, request)
    assert opened.workspace.scratch is None  # a render writes nothing to disk
    png, json_path = studio.save_result(opened.workspace)
    recipe = read_recipe(png)
    assert recipe == read_recipe(json_path) == opened.workspace.recipe()
    calibrated = opened.workspace.full.calibration("colour", request.config).degree(0.75)
    assert recipe.degrees == {"colour": calibrated} and recipe.seed == 3 and recipe.config == request.config
    with Image.open(png) as image:
        assert np.array_equal(pixels(image), pixels(rendered.comparison[1]))

    for path in (png, json_path):  # a fresh user loads the file: everything comes back, same pixels
        restored = studio.load_recipe(None, path)
        assert restored.opened.prompt == CAPTION and restored.config == request.config
        assert restored.opened.rows == Rows([Attribute("colour", "red", "blue")], {"colour": calibrated})
        assert np.array_equal(pixels(restored.rendered.comparison[1]), pixels(rendered.comparison[1]))


def test_recipe_errors_are_clear(studio, red_circle, tmp_path):
    plain = tmp_path / "plain.png"
    red_circle.save(plain)
    with pytest.raises(gr.Error, match="carries no EMS Studio recipe"):
        studio.load_recipe(None, str(plain))
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(gr.Error, match="not valid JSON"):
        studio.load_recipe(None, str(junk))


def test_demo_wires_compute_events_to_one_queue(studio):
    demo = create_demo(studio)
    assert demo._queue is not None
    compute = [fn for fn in demo.fns.values() if fn.concurrency_id == COMPUTE]
    names = {fn.name for fn in compute}
    assert {"on_render", "on_preview", "on_sweep", "on_reconstruct", "on_recipe", "on_open"} <= names
    assert all(fn.concurrency_limit == 1 for fn in compute)
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    assert states and all(s.time_to_live <= 3600 for s in states)


def test_gpu_decorator_is_a_no_op_without_spaces(monkeypatch):
    import ui.zerogpu

    def f(x):
        return x + 1

    monkeypatch.setitem(sys.modules, "spaces", None)  # make `import spaces` fail
    module = importlib.reload(ui.zerogpu)
    assert module.gpu(f) is f and module.gpu(duration=5)(f) is f

    calls = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda duration=60: (lambda fn: calls.append(duration) or fn)
    monkeypatch.setitem(sys.modules, "spaces", fake)
    module = importlib.reload(ui.zerogpu)
    module.gpu(f)
    module.gpu(duration=120)(f)
    assert calls == [60, 120]
    monkeypatch.delitem(sys.modules, "spaces")
    importlib.reload(ui.zerogpu)


def test_files_are_written_on_demand_and_released_with_the_session(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    with pytest.raises(gr.Error, match="nothing rendered yet"):
        studio.save_result(workspace)
    studio.render(workspace, request_for(studio, CAPTION, 0.5))
    studio.sweep(workspace, request_for(studio, CAPTION, 0.5, refine_iters=0), SweepRequest("colour", 0, 1, 2))
    saved = studio.save_result(workspace)
    assert {Path(p).name for p in saved} == {"ems-edit.png", "ems-recipe.json"}
    folder = workspace.scratch
    assert sorted(p.name for p in folder.iterdir()) == ["ems-edit.png", "ems-recipe.json", "sweep.gif"]
    assert studio.save_result(workspace) == saved  # saving again overwrites, never accumulates
    studio.release(workspace)  # what gr.State's delete_callback calls when the session ends or expires
    assert not folder.exists() and workspace.scratch is None
    studio.release(None)


def test_sweep_frames_of_a_small_model_are_enlarged_crisply(studio):
    small = Image.new("RGB", (64, 64), (10, 20, 30))
    small.putpixel((0, 0), (255, 0, 0))
    big = studio.for_display(small)
    assert big.size == (256, 256) and big.getpixel((3, 3)) == (255, 0, 0) and big.getpixel((4, 4)) == (10, 20, 30)
    assert studio.for_display(Image.new("RGB", (512, 512))).size == (512, 512)


def test_stale_marker_appears_only_after_a_render(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    assert "Stale" not in studio.stats(workspace, stale=True)  # nothing shown yet, nothing stale
    studio.render(workspace, request_for(studio, CAPTION, 0.5))
    assert studio.stats(workspace, stale=True).startswith("**Stale:**")
    assert "Stale" not in studio.stats(workspace)


def test_an_image_outside_the_world_is_flagged(studio, red_circle):
    noise = Image.fromarray((np.random.RandomState(0).rand(64, 64, 3) * 255).astype("uint8"))
    opened = studio.open_image(noise)
    assert "Outside the model's world" in opened.stats
    assert "Outside" not in studio.open_image(red_circle).stats


def test_user_errors_name_no_server_paths(studio, tmp_path):
    missing = tmp_path / "deep" / "folder" / "recipe.png"
    with pytest.raises(gr.Error) as caught:
        studio.load_recipe(None, str(missing))
    assert str(tmp_path) not in caught.value.message and "recipe.png" in caught.value.message


def test_a_request_stops_at_its_next_step_past_its_budget(studio, red_circle):
    from ui.layout import guarded

    demo = create_demo(studio)
    workspace = studio.open_image(red_circle).workspace
    calls = []
    out_of_time = guarded(lambda fraction, desc: calls.append(fraction), demo, None, budget_s=-1.0)
    with pytest.raises(gr.Error, match="ran past"):
        studio.render(workspace, request_for(studio, CAPTION, 0.5), out_of_time)
    assert calls == [] and workspace.full.preparations == 0  # stopped at the first step, nothing kept
    in_time = guarded(lambda fraction, desc: calls.append(fraction), demo, None, budget_s=60.0)
    studio.render(workspace, request_for(studio, CAPTION, 0.5), in_time)
    assert calls and calls[-1] == 1.0


def test_a_request_stops_when_its_tab_has_closed(studio, red_circle):
    from ui.errors import Stopped
    from ui.layout import guarded

    demo = create_demo(studio)
    request = types.SimpleNamespace(session_hash="closed-tab")
    demo.state_holder["closed-tab"]  # gradio's record of that browser session
    report = guarded(None, demo, request, budget_s=60.0)
    report(0.1, "sampling")  # the tab is open: nothing happens
    demo.state_holder.session_data["closed-tab"].is_closed = True  # what gradio sets when its heartbeat stops
    with pytest.raises(Stopped, match="closed"):
        report(0.2, "sampling")
    workspace = studio.open_image(red_circle).workspace
    with pytest.raises(gr.Error, match="closed"):
        studio.render(workspace, request_for(studio, CAPTION, 0.5), report)
    assert workspace.full.preparations == 0  # stopped at its first step


def test_calibrated_sliders_map_moves_and_sweeps_and_can_be_turned_off(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    plain = EditRequest(CAPTION, (Attribute("colour", "red", "blue"),), {"colour": 0.75},
                        studio.default_config().with_(**FAST), calibrated=False)
    studio.render(workspace, plain)
    assert workspace.result.degrees == {"colour": 0.75} and workspace.full._calibrations == {}
    calibrated = request_for(studio, CAPTION, 0.75)
    studio.render(workspace, calibrated)
    calibration = workspace.full.calibration("colour", calibrated.config)
    assert workspace.result.degrees == {"colour": calibration.degree(0.75)} != {"colour": 0.75}
    assert workspace.latest_move.prepare_nfe > 0  # fitting the calibration is this move's preparation
    frames = workspace.sweep(calibrated, "colour", [0.0, 0.5, 1.0, 1.5])
    assert [r.degrees["colour"] for r in frames] == [0.0, calibration.degree(0.5), 1.0, 1.5]
    frames = workspace.sweep(plain, "colour", [0.0, 0.5])
    assert [r.degrees["colour"] for r in frames] == [0.0, 0.5]


def test_an_ordered_slider_gets_its_waypoints_from_the_presets(studio, red_circle):
    opened = studio.open_image(red_circle)  # "a large red circle ...": size is an ordered slider
    request = EditRequest(CAPTION, (Attribute("size", "large", "small"),), {"size": 0.5},
                          studio.default_config().with_(**FAST), calibrated=False)
    studio.render(opened.workspace, request)
    assert opened.workspace.full.attributes["size"].via == ("medium",)
    assert opened.workspace.recipe().attributes[0].via == ("medium",)


def test_each_bundled_world_offers_its_own_examples():
    from ems_core.backends import load_backend
    from ui.layout import EXAMPLES_DIR, examples_dir

    portraits = examples_dir(load_backend("tiny-random-portraits").info)
    assert portraits.name == "examples-portraits" and len(list(portraits.glob("*.png"))) == 6
    assert examples_dir(load_backend("tiny-random-world").info) == EXAMPLES_DIR
    with Image.open(next(portraits.glob("*.png"))) as image:
        assert image.size == (128, 128)


def test_a_portrait_opens_on_its_worlds_demo_slider_and_a_shapes_scene_on_its_own():
    """The first row is the captioner's ``demo_attribute`` (smile, colour), not the first preset it lists."""
    from ems_core.backends import load_backend
    from ui.layout import examples_dir

    backend = load_backend("tiny-random-portraits")
    studio = Studio(backend, "tiny-random-portraits", default_captioner(backend))
    with Image.open(sorted(examples_dir(backend.info).glob("*.png"))[0]) as image:
        opened = studio.open_image(image.convert("RGB"))
    names = [preset.name for preset in opened.workspace.presets]
    assert names.index("smile") > 0 and opened.rows.attributes[0].name == "smile"
