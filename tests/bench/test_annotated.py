"""Annotated edits of real images: the committed example loads and runs; every bad field is one line."""

import json
import shutil
from pathlib import Path

import pytest

from ems_core.bench.annotated import load_annotated
from ems_core.bench.quality import make_methods, run_quality

EXAMPLE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "world-edits" / "edits.json"


def test_the_example_loads():
    cases = load_annotated(EXAMPLE, 64)
    assert [c.case_id for c in cases] == ["circle-red-to-blue", "square-small-to-large", "star-to-triangle",
                                          "star-gray-to-white-background"]
    first = cases[0]
    assert first.kind == "annotated" and first.scene is None and first.image.size == (64, 64)
    assert first.degrees == (0.0, 0.5, 1.0) and first.region == (0.184, 0.184, 0.816, 0.816)
    assert first.attributes[0].target_prompt(first.prompt) == first.prompt.replace("red", "blue")
    assert cases[2].seed == 7 and cases[3].seed == 3 and cases[3].degrees == (0.0, 1.0) and cases[3].region is None
    assert load_annotated(EXAMPLE, 32)[0].image.size == (32, 32)


def test_the_example_runs_without_an_oracle(tiny_world):
    cases = load_annotated(EXAMPLE, tiny_world.info.image_size)[:2]
    run = run_quality(tiny_world, cases, make_methods(["ours", "sdedit"], tiny_world.info))
    assert len(run.records) == 4 and set(run.costs) == {"ours", "sdedit"}
    for record in run.records:
        assert record["kind"] == "annotated" and "target_hit" not in record and "sde" not in record
        assert record["psnr_degree0"] > 0 and 0 <= record["outside_change"] <= 255
        assert 0 <= record["inside_change"] <= 255 and -1 <= record["ssim_degree0"] <= 1


def write(tmp_path, edit, name="edits.json"):
    shutil.copy(EXAMPLE.parent / "red-circle.png", tmp_path / "red-circle.png")
    base = {"image": "red-circle.png", "prompt": "a large red circle", "attribute": "colour", "source": "red",
            "target": "blue"}
    path = tmp_path / name
    path.write_text(json.dumps({"edits": [{**base, **edit}]}))
    return path


@pytest.mark.parametrize("edit,message", [
    ({"source": "green"}, "is not in the prompt"),
    ({"prompt": ""}, "'prompt' must be non-empty text"),
    ({"image": "../red-circle.png"}, "inside the JSON file's folder"),
    ({"image": "/etc/passwd"}, "inside the JSON file's folder"),
    ({"degrees": [0, 3]}, "degrees must lie in"),
    ({"degrees": [0]}, "at least one positive degree"),
    ({"degrees": [0, "1"]}, "finite numbers"),
    ({"region": [0.5, 0.5, 0.2, 0.9]}, "0 <= x0 < x1 <= 1"),
    ({"region": [0, 0, 1]}, "x0, y0, x1, y1"),
    ({"seed": -1}, "'seed' must be an integer"),
    ({"colour": "blue"}, "unknown field 'colour'"),
])
def test_bad_fields_are_one_line_errors(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message) as error:
        load_annotated(write(tmp_path, edit), 64)
    assert "\n" not in str(error.value) and "edit 0" in str(error.value)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_annotated(tmp_path / "missing.json", 64)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="is not JSON"):
        load_annotated(tmp_path / "broken.json", 64)
    (tmp_path / "empty.json").write_text('{"edits": []}')
    with pytest.raises(ValueError, match="non-empty list 'edits'"):
        load_annotated(tmp_path / "empty.json", 64)
    with pytest.raises(FileNotFoundError):
        load_annotated(write(tmp_path, {"image": "nowhere.png"}), 64)
