"""``python -m ems_core directions ...`` and ``edit --method``: on the tiny world model; errors in one line."""

import json

import pytest
import torch
from PIL import Image

from tests.cli.conftest import run_json
from ems_core.cli import main
from ems_core.directions import Direction, load_direction, save_direction

MODEL = ["--model", "tiny-random-world"]
pytestmark = pytest.mark.usefixtures("one_thread")






def test_discover_list_apply(capsys, scene_file, tmp_path):
    library = tmp_path / "lib"
    report = run_json(capsys, ["directions", "discover", *MODEL, "--image", str(scene_file), "--k", "2",
                               "--iters", "2", "--region", "object", "--out", str(library), "--json"])
    assert len(report["out"]) == 2 and report["region"] == "object" and report["iterations"] <= 2
    assert len(report["singular_values"]) == 2 and report["noise_level"] == 0.8
    first = load_direction(report["out"][0])
    assert first.provenance["prompt"] == report["source_prompt"] and first.provenance["mask"] == "object"

    listed = run_json(capsys, ["directions", "list", "--library", str(library), "--json"])
    assert [d["name"] for d in listed["directions"]] == ["scene-loco-object-0", "scene-loco-object-1"]
    assert main(["directions", "list", "--library", str(library)]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("scene-loco-object-1 ")

    out = tmp_path / "moved.png"
    applied = run_json(capsys, ["directions", "apply", *MODEL, "--image", str(scene_file), "--direction",
                                report["out"][0], "--strength", "3", "--direction", report["out"][1],
                                "--strength", "-1.5", "--out", str(out), "--json"])
    assert Image.open(out).size == (64, 64) and applied["nfe"] > 0
    assert [d["strength"] for d in applied["directions"]] == [3.0, -1.5]
    assert applied["config"]["start_time"] == first.noise_level and applied["steps"] == first.provenance["steps"]


def test_portrait_directions_default_to_the_models_direction_noise_level(capsys, tmp_path):
    """The portrait model finds directions at 0.7, below its slider edits' t0 (0.95); --start-time overrides."""
    import random

    from ems_core import load_backend
    from ems_core.backends.world import PORTRAIT_DIRECTION_START_TIME
    from ems_core.portraits import random_portrait, render

    info = load_backend("tiny-random-portraits").info
    assert info.direction_config().start_time == PORTRAIT_DIRECTION_START_TIME != info.edit_config.start_time
    assert info.direction_config(info.edit_config.with_(steps=2)).steps == 2
    shapes = load_backend("tiny-random-world").info
    assert shapes.direction_start_time is None and shapes.direction_config() == shapes.edit_config.with_(
        guidance=shapes.edit_config.source_guidance, source_guidance=None)  # at its edit t0, the source side's guidance
    portrait = tmp_path / "portrait.png"
    render(random_portrait(random.Random(1))).save(portrait)
    argv = ["directions", "discover", "--model", "tiny-random-portraits", "--image", str(portrait), "--prompt",
            "a portrait", "--k", "1", "--iters", "2", "--json"]
    assert run_json(capsys, argv)["noise_level"] == PORTRAIT_DIRECTION_START_TIME
    assert run_json(capsys, [*argv, "--start-time", "0.9"])["noise_level"] == 0.9


def test_discover_in_a_painted_region(capsys, scene_file, tmp_path):
    mask = Image.new("L", (128, 128), 0)  # another size than the 64 px image: resized
    mask.paste(255, (32, 32, 96, 96))
    mask.save(tmp_path / "mask.png")
    report = run_json(capsys, ["directions", "discover", *MODEL, "--image", str(scene_file), "--k", "1", "--iters",
                               "2", "--region", "painted", "--mask", str(tmp_path / "mask.png"), "--out",
                               str(tmp_path / "lib"), "--json"])
    assert report["region"] == "painted" and load_direction(report["out"]).provenance["mask"] == "painted"
    Image.new("L", (64, 64), 0).save(tmp_path / "black.png")
    assert main(["directions", "discover", *MODEL, "--image", str(scene_file), "--region", "painted", "--mask",
                 str(tmp_path / "black.png")]) == 2
    assert capsys.readouterr().err.strip() == "error: the mask marks no pixel: paint the region white on black"


def test_edit_with_a_text_direction(capsys, scene_file, tmp_path):
    out = tmp_path / "sweep.png"
    report = run_json(capsys, ["edit", *MODEL, "--image", str(scene_file), "--edit", "red->blue", "--method",
                               "tloco", "--degrees", "0,1", "--out", str(out), "--json"])
    assert report["method"] == "tloco" and len(report["out"]) == 3
    unit = report["directions"]["unit_strengths"]["edit1"]
    assert unit > 0 and report["directions"]["strengths"] == [{"edit1": 0.0}, {"edit1": unit}]
    ems = run_json(capsys, ["edit", *MODEL, "--image", str(scene_file), "--edit", "red->blue=1",
                            "--out", str(tmp_path / "ems.png"), "--json"])
    assert ems["method"] == "ems" and "directions" not in ems


@pytest.mark.parametrize("argv, message", [
    (["directions", "discover", "--k", "0"], "--k must be an integer in [1, 64]"),
    (["directions", "discover", "--k", "2", "--region", "sky"], "invalid choice: 'sky'"),
    (["directions", "discover", "--null-rank", "3"], "--null-rank needs --region"),
    (["directions", "discover", "--region", "painted"], "--region painted and --mask go together"),
    (["directions", "discover", "--tol", "nan"], "--tol must be a number in (0, 1)"),
    (["directions", "discover", "--iters", "1"], "--iters must be an integer in [2, 500]"),
    (["directions", "discover", "--start-time", "0"], "--start-time must be"),
    (["directions", "discover", "--image", "missing.png"], "missing.png"),
    (["directions", "discover", "--model", "tiny-random-sd3", "--prompt", "a red circle", "--region", "object"],
     "only for the bundled model"),
    (["directions", "apply", "--strength", "inf"], "--strength must be a finite number"),
    (["directions", "apply", "--strength", "1", "--strength", "2"], "give one strength per direction"),
    (["directions", "apply", "--strength", "1", "--out", "x.txt"], "--out"),
    (["directions", "apply", "--strength", "1", "--model", "tiny-random-sd3"], "belongs to model"),
    (["edit", "--edit", "red->blue=1", "--method", "flowedit"], "invalid choice: 'flowedit'"),
    (["edit", "--edit", "red->blue=3", "--method", "tloco"], "allowed range"),
    (["edit", "--edit", "red->blue=1", "--method", "hsds", "--refine-iters", "2"], "refines EMS edits only"),
])
def test_user_errors_are_one_line_with_status_2(capsys, scene_file, tmp_path, argv, message):
    direction_file = save_direction(Direction(torch.ones(8, 16, 16) / 2048 ** 0.5, "tiny-random-world", 0.8, "loco"),
                                    tmp_path / "d.safetensors")
    argv = list(argv)
    if argv[0] == "edit" or argv[1] == "discover" and "--image" not in argv:
        argv += ["--image", str(scene_file)]
    if argv[1] == "apply":
        argv += ["--image", str(scene_file), "--direction", str(direction_file)]
        if "--out" not in argv:
            argv += ["--out", str(tmp_path / "o.png")]
    if argv[0] == "edit":
        argv += ["--out", str(tmp_path / "o.png")]
    if "--model" not in argv:
        argv += MODEL
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_apply_refuses_an_unreadable_direction_before_loading(capsys, scene_file, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 16)
    assert main(["directions", "apply", "--image", str(scene_file), "--direction", str(bad), "--strength", "1",
                 "--out", str(tmp_path / "o.png")]) == 2
    assert "not a safetensors file" in capsys.readouterr().err
