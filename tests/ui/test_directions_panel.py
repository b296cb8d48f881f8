"""The editor's latent-direction sliders (issue 11, part 4) on the tiny random bundled architecture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ems_core import Attribute, EditSession, default_captioner
from ems_core.directions import load_direction, save_direction
from ems_core.edit_directions import render_directions
from ui import Studio
from ui.directions import DIRECTION_RANGE, LOCO_PMP_FRACTION, LOCO_UNIT_FRACTION, MAX_DIRECTIONS, loco_unit
from ui.workspace import EditRequest

CAPTION = "a large red circle at the middle center on a white background"


@pytest.fixture(scope="module")
def studio(tiny_world) -> Studio:
    return Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world))


def request_for(studio: Studio, prompt: str = CAPTION) -> EditRequest:
    return EditRequest(prompt, (Attribute("colour", "red", "blue"),), {"colour": 0.0},
                       studio.default_config().with_(steps=5))


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


@pytest.fixture()
def discovered(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    request = request_for(studio)
    shown = studio.discover_directions(workspace, request, 2, "none", [])
    return workspace, request, shown


def test_discover_gives_sliders_with_thumbnails_and_a_sized_unit(studio, discovered):
    workspace, request, shown = discovered
    assert [row.label.split(" (")[0] for row in shown.rows] == ["LOCO #1", "LOCO #2"]
    assert all(row.value == 0.0 and row.thumbnail is not None for row in shown.rows)
    assert "Found 2 directions" in shown.report
    norm = float(workspace.full.inversion.norm())
    for slider in workspace.directions.sliders:
        gain = slider.direction.provenance["gain"]  # ||J v||: the singular value on the whole image
        assert gain == pytest.approx(slider.direction.provenance["singular_value"], rel=0.05)
        unit = min(LOCO_UNIT_FRACTION, LOCO_PMP_FRACTION / gain) * norm
        assert slider.scale == pytest.approx(unit) and 0 < unit <= LOCO_UNIT_FRACTION * norm
        assert slider.direction.unit_strength == pytest.approx(unit)  # a saved file keeps what 1 means
        assert slider.found_on(workspace.image)


def test_a_direction_of_higher_gain_gets_a_smaller_slider_unit():
    """Strength 1 moves the linearised PMP by LOCO_PMP_FRACTION ||z_t0|| (sigma lambda), never more than the fixed
    fraction of the latent's norm; without a singular value the unit is that fixed fraction."""
    norm = 100.0
    assert loco_unit(norm, 31.5) == pytest.approx(LOCO_PMP_FRACTION / 31.5 * norm)
    assert loco_unit(norm, 31.5) < loco_unit(norm, 7.0) < loco_unit(norm, 1.0) == LOCO_UNIT_FRACTION * norm
    assert loco_unit(norm, None) == loco_unit(norm, 0.0) == LOCO_UNIT_FRACTION * norm


def test_slider_values_map_linearly_to_latent_strengths_and_render_the_composed_move(studio, discovered):
    workspace, request, _ = discovered
    sliders = workspace.directions.sliders
    assert workspace.directions.strengths([1.0, -0.5]) == pytest.approx([sliders[0].scale, -0.5 * sliders[1].scale])
    with pytest.raises(ValueError, match="one value per direction slider"):
        workspace.directions.strengths([1.0])
    with pytest.raises(ValueError, match=r"direction slider 2 must be in"):
        workspace.directions.strengths([0.0, DIRECTION_RANGE[1] + 1])
    rendered = studio.apply_directions(workspace, request, [1.0, -0.5, 0.7])  # hidden sliders' values are ignored
    expected = render_directions(workspace.full, [s.direction for s in sliders],
                                 [[sliders[0].scale, -0.5 * sliders[1].scale]], workspace.direction_config(request))[0]
    assert np.array_equal(pixels(rendered.comparison[1]), pixels(expected.image))
    assert "8 NFE" in rendered.stats and "+1.00, -0.50" in rendered.stats
    still = studio.apply_directions(workspace, request, [0.0, 0.0]).comparison[1]
    assert not np.array_equal(pixels(still), pixels(rendered.comparison[1]))  # the move did something


def test_saved_direction_transfers_to_another_image_exactly(studio, discovered, blue_square, tmp_path):
    workspace, request, _ = discovered
    path = studio.save_direction(workspace, 0)
    saved = load_direction(path)
    original = workspace.directions.sliders[0].direction
    assert torch.equal(saved.vector, original.vector) and saved.provenance == original.provenance

    other = studio.open_image(blue_square).workspace  # a fresh user: no sliders yet
    other_request = request_for(studio, "a medium blue square at the top left on a white background")
    shown = studio.load_direction(other, other_request, path, [])
    assert len(shown.rows) == 1 and shown.rows[0].label.endswith("· loaded · found on another image")
    moved = studio.apply_directions(other, other_request, [1.5]).comparison[1]
    scale = other.directions.sliders[0].scale
    assert scale == pytest.approx(original.unit_strength)  # 1 means the same latent move on every image
    expected = render_directions(other.full, [saved], [[1.5 * scale]], other.direction_config(other_request))[0]
    assert np.array_equal(pixels(moved), pixels(expected.image))


def test_sliders_come_along_to_the_next_image_and_discovery_keeps_loaded_ones(studio, discovered, blue_square,
                                                                          tmp_path):
    workspace, request, _ = discovered
    path = studio.save_direction(workspace, 1)
    studio.load_direction(workspace, request, path, [0.0, 0.0])
    opened = studio.open_image(blue_square, previous=workspace)
    assert len(opened.workspace.directions) == 3
    assert not opened.workspace.directions.sliders[0].found_on(opened.workspace.image)
    blue_request = request_for(studio, "a medium blue square at the top left on a white background")
    shown = studio.discover_directions(opened.workspace, blue_request, 3, "none", [])
    labels = [row.label for row in shown.rows]
    assert labels[0].startswith("LOCO #2") and "loaded" in labels[0]  # the loaded one stays, first
    assert [label.split(" (")[0] for label in labels[1:]] == ["LOCO #1", "LOCO #2", "LOCO #3"]


def test_text_direction_from_a_row_and_limits(studio, discovered, tmp_path):
    workspace, request, _ = discovered
    shown = studio.add_text_direction(workspace, request, "colour", "hsds", "none", [0.3, 0.0])
    assert shown.rows[-1].label == "HSDS colour: red → blue" and [r.value for r in shown.rows] == [0.3, 0.0, 0.0]
    slider = workspace.directions.sliders[-1]
    assert slider.scale == pytest.approx(slider.direction.unit_strength) and slider.scale > 0
    with pytest.raises(Exception, match="no attribute row called 'size'"):
        studio.add_text_direction(workspace, request, "size", "tloco", "none", [])
    with pytest.raises(Exception, match="discover 1 to"):
        studio.discover_directions(workspace, request, MAX_DIRECTIONS, "none", [])
    shown = studio.remove_direction(workspace, request, 0, [0.3, 0.0, 0.2])
    assert [r.value for r in shown.rows] == [0.0, 0.2] and len(workspace.directions) == 2


def test_a_file_from_another_noise_level_or_without_a_unit_is_handled(studio, discovered, tmp_path):
    workspace, request, _ = discovered
    direction = workspace.directions.sliders[0].direction
    elsewhere = type(direction)(direction.vector, direction.model, 0.5, "loco", {})
    path = save_direction(elsewhere, tmp_path / "t05.safetensors")
    with pytest.raises(Exception, match="noise level 0.5"):
        studio.load_direction(workspace, request, str(path), [])
    plain = type(direction)(direction.vector, direction.model, direction.noise_level, "loco", {})
    studio.load_direction(workspace, request, str(save_direction(plain, tmp_path / "cli.safetensors")), [])
    assert workspace.directions.sliders[-1].scale == pytest.approx(
        LOCO_UNIT_FRACTION * float(workspace.full.inversion.norm()))


def test_regions_follow_the_bundled_world(studio):
    from ems_core import load_backend
    from ems_core.backends.batching import BatchingBackend
    from ems_core.edit_directions import regions_of

    assert studio.regions() == ("none", "object", "background", "painted")
    assert regions_of(load_backend("tiny-random-portraits")) == ("none", "face", "eyes", "mouth", "painted")
    assert regions_of(BatchingBackend(studio.backend)) == studio.regions()  # wrappers forward the world
    assert regions_of(load_backend("tiny-random-sd3")) == ("none", "painted")  # no bundled world: paint one


def test_portrait_regions_sit_on_the_face_the_oracle_finds():
    from ems_core.portraits.regions import portrait_region
    from ems_core.portraits.scene import HEAD_CENTRE, MOUTH_Y, Portrait, render

    for head_x, head_y in ((0.0, 0.0), (4.0, -3.0)):
        image = render(Portrait(head_x=head_x, head_y=head_y))
        mouth, eyes, face = (portrait_region(image, r) for r in ("mouth", "eyes", "face"))
        ys, xs = np.nonzero(mouth)
        assert abs(xs.mean() + 0.5 - (HEAD_CENTRE[0] + head_x)) < 1.0
        assert abs(ys.mean() + 0.5 - (HEAD_CENTRE[1] + head_y + MOUTH_Y)) < 1.0
        assert (eyes * mouth).sum() == 0 and ((mouth + eyes) * (1 - face)).sum() < 0.05 * (mouth + eyes).sum()
    blank = Image.new("RGB", (128, 128), (120, 120, 120))
    with pytest.raises(ValueError, match="no face"):
        portrait_region(blank, "mouth")


def test_the_server_library_lists_this_models_directions_and_applies_them(tiny_world, red_circle, tmp_path):
    from ems_core.directions import DirectionLibrary

    library = DirectionLibrary(tmp_path)
    studio = Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world), library)
    workspace = studio.open_image(red_circle).workspace
    request = request_for(studio)
    studio.discover_directions(workspace, request, 1, "none", [])
    found = workspace.directions.sliders[0].direction
    library.save(found, "circle-loco-0")
    other = type(found)(found.vector, "another-model", found.noise_level, "loco", {})
    library.save(other, "foreign")
    assert studio.library_names() == ["circle-loco-0"]  # another model's file is not offered
    shown = studio.use_library_direction(workspace, request, "circle-loco-0", [0.0])
    assert len(shown.rows) == 2 and torch.equal(workspace.directions.sliders[1].direction.vector, found.vector)
    with pytest.raises(Exception, match="pick a direction"):
        Studio(tiny_world, "tiny-random-world").use_library_direction(workspace, request, "x", [])


def test_a_painted_region_restricts_discovery_like_the_same_mask_from_the_library(studio, red_circle):
    """The image editor's paint (an RGBA layer) becomes the mask of region "painted": the directions equal
    discover_directions with that mask; no paint is a clear error."""
    from ems_core.edit_directions import discover_directions, painted_image_mask

    layer = np.zeros((64, 64, 4), np.uint8)
    layer[20:44, 16:40, 3] = 255  # a painted square over the circle
    editor = {"background": np.zeros((64, 64, 4), np.uint8), "layers": [layer], "composite": None}
    painted = studio.painted_mask(editor)
    assert painted.shape == (64, 64) and painted.sum() == 24 * 24
    assert studio.painted_mask({"layers": [np.zeros((64, 64, 4), np.uint8)]}) is None
    workspace = studio.open_image(red_circle).workspace
    request = request_for(studio)
    studio.discover_directions(workspace, request, 2, "painted", [], painted=painted)
    session = EditSession(studio.backend, workspace.image, prompt=CAPTION)
    expected, _ = discover_directions(session, 2, "painted", config=workspace.direction_config(request),
                                      painted=painted)
    for slider, direction in zip(workspace.directions.sliders, expected):
        assert torch.allclose(slider.direction.vector, direction.vector, atol=1e-5)
        assert slider.direction.provenance["mask"] == "painted"
    with pytest.raises(Exception, match="paint over the image first"):
        studio.discover_directions(workspace, request, 1, "painted", [], painted=None)
    big = painted_image_mask(np.kron(painted, np.ones((2, 2))), (64, 64))  # another size: resized to the image
    assert np.array_equal(big, painted)


def test_a_direction_move_keeps_the_slider_caches(studio, red_circle):
    """Moving a direction slider leaves the attribute rows configured: the next EMS move encodes no prompt again."""
    from unittest import mock

    workspace = studio.open_image(red_circle).workspace
    request = request_for(studio)
    studio.render(workspace, EditRequest(request.prompt, request.attributes, {"colour": 0.5}, request.config))
    studio.discover_directions(workspace, request, 1, "none", [])
    studio.apply_directions(workspace, request, [0.5])
    with mock.patch.object(studio.backend, "encode_prompt", wraps=studio.backend.encode_prompt) as spy:
        studio.render(workspace, EditRequest(request.prompt, request.attributes, {"colour": 0.7}, request.config))
    assert spy.call_count == 0
    half_typed = EditRequest(request.prompt, (Attribute("colour", "green", "blue"),), {}, request.config)
    assert studio.apply_directions(workspace, half_typed, [0.5]).comparison is not None  # a bad row never blocks


def test_sliders_come_along_to_a_restored_recipe_with_thumbnails_on_its_image(studio, discovered, blue_square,
                                                                            tmp_path):
    from ems_core.recipe import Recipe

    workspace, request, _ = discovered
    recipe = Recipe("tiny-random-world", "a medium blue square at the top left on a white background",
                    (Attribute("colour", "blue", "red"),), {"colour": 0.5}, request.config)
    path = tmp_path / "recipe.json"
    path.write_text(recipe.with_source_image(blue_square).to_json())
    restored = studio.load_recipe(workspace, str(path))
    assert restored.opened.workspace.directions is workspace.directions and len(workspace.directions) == 2
    carried = studio.carried_directions(restored.opened.workspace, request, [0.5, 0.0])
    assert [row.value for row in carried.rows] == [0.5, 0.0] and all(row.thumbnail is not None for row in carried.rows)
    assert "on this image" in carried.report
