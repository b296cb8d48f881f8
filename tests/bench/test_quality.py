"""The quality benchmark: its seeded suite, scoring with the real oracle on constructed outputs (known
answers), and a quick run end to end on the tiny random world model."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from ems_core.bench.quality import (DEFAULT_METHODS, SWEEP_DEGREES, QualityCase, aggregate, ideal_scene, make_methods,
                                    score_world, world_suite)
from ems_core.cli import main
from ems_core.world.oracle import ATTRIBUTES
from ems_core.world.scene import Scene, caption_of, render


def test_world_suite_is_seeded_and_covers_every_attribute():
    cases = world_suite(12, 1, 3, seed=5)
    assert len(cases) == 15
    singles = [c for c in cases if c.kind in ("single", "sweep")]
    assert sorted(c.label for c in singles) == sorted(ATTRIBUTES * 2)
    assert sorted(c.label for c in cases if c.kind == "sweep") == sorted(ATTRIBUTES)
    assert all(c.degrees == SWEEP_DEGREES for c in cases if c.kind == "sweep")
    pairs = [c for c in cases if c.kind == "pair"]
    assert all(len(set(c.targets)) == 2 and c.degrees == (1.0,) for c in pairs)
    for case in cases:
        assert case.prompt == caption_of(case.scene)
        for attribute in case.attributes:
            assert attribute.target_prompt(case.prompt) != case.prompt
        assert all(case.scene.words[n] != w for n, w in case.targets.items())
    again = world_suite(12, 1, 3, seed=5)
    assert [(c.case_id, c.targets, c.scene, c.seed) for c in again] == [(c.case_id, c.targets, c.scene, c.seed) for c in cases]
    assert [c.scene for c in world_suite(12, 1, 3, seed=6)] != [c.scene for c in cases]


def test_ideal_scene_moves_only_the_targets():
    scene = Scene("star", "red", "white", 0.18, 0.33, 0.5)
    ideal = ideal_scene(scene, {"size": "large", "colour": "blue"})
    assert ideal.words == {**scene.words, "size": "large", "colour": "blue"}
    assert (ideal.shape, ideal.x, ideal.y, ideal.size) == ("star", 0.33, 0.5, pytest.approx(0.325))


def single_case(attribute, target_word, degrees=(0.0, 1.0), scene=Scene("square", "red", "white", 0.25, 0.5, 0.5)):
    kind = "sweep" if len(degrees) > 2 else "single"
    from ems_core.bench.quality import pair_attribute

    return QualityCase(f"t-{attribute}", kind, render(scene), caption_of(scene),
                       (pair_attribute(attribute, scene.words[attribute], target_word),), tuple(degrees), 0, scene,
                       {attribute: target_word})


def test_scoring_the_ideal_edit_and_no_edit():
    case = single_case("colour", "blue")
    ideal = render(ideal_scene(case.scene, case.targets))
    perfect = score_world(case, [case.image, ideal], "ideal")
    assert perfect["target_hit"] and perfect["preserved"] and perfect["both"]
    assert perfect["sde"]["sde"] == 1.0 and perfect["psnr_degree0"] == 100.0 and perfect["ssim_degree0"] == 1.0
    assert perfect["outside_change"] == 0.0
    nothing = score_world(case, [case.image, case.image], "nothing")
    assert not nothing["target_hit"] and nothing["preserved"] and nothing["sde"]["sde"] == 0.0
    moved = score_world(case, [case.image, render(ideal_scene(case.scene, {"colour": "blue", "x": "left"}))], "drift")
    assert moved["target_hit"] and not moved["kept"]["x"] and moved["kept"]["y"] and not moved["both"]
    assert 0 < moved["sde"]["sde"] < 1
    assert moved["outside_change"] == 0.0  # the object's old and new places are both excluded
    speck = np.asarray(ideal).copy()
    speck[:4, :4] = np.clip(speck[:4, :4].astype(int) - 30, 0, 255)  # 16 corner pixels darker by 30, far from the object
    specked = score_world(case, [case.image, Image.fromarray(speck)], "speck")
    assert specked["both"] and 0 < specked["outside_change"] < 30 and specked["sde"]["sde"] < 1


def test_scoring_a_background_edit_uses_the_background_as_its_region():
    case = single_case("background", "black")
    ideal = render(ideal_scene(case.scene, case.targets))
    record = score_world(case, [case.image, ideal], "ideal")
    assert record["both"] and record["sde"]["sde"] == 1.0 and record["outside_change"] == 0.0


def test_slider_response_of_constructed_sweeps():
    scene = Scene("circle", "green", "white", 0.18, 0.5, 0.5)
    case = single_case("size", "large", SWEEP_DEGREES, scene)
    growing = [render(scene.with_(size=0.18 + d * (0.325 - 0.18))) for d in SWEEP_DEGREES]
    assert score_world(case, growing, "linear")["rho"] == pytest.approx(1.0)
    assert score_world(case, growing[::-1], "backwards")["rho"] == pytest.approx(-1.0)
    case = single_case("shape", "star", SWEEP_DEGREES, scene)
    switching = [render(scene.with_(shape="star" if d >= 0.5 else "circle")) for d in SWEEP_DEGREES]
    record = score_world(case, switching, "switch")
    assert record["switch_degree"] == 0.5 and "rho" not in record
    summary = aggregate([record], {"switch": {"nfe_per_edit": 1, "nfe_per_move": 1}})["switch"]
    assert summary["by_attribute"]["shape"]["switch_degree"] == 0.5 and summary["nfe_per_edit"] == 1


def test_unknown_method_is_refused(tiny_world):
    with pytest.raises(ValueError, match="unknown method"):
        make_methods(["ours", "photoshop"], tiny_world.info)
    assert [m.name for m in make_methods(DEFAULT_METHODS, tiny_world.info)] == list(DEFAULT_METHODS)


@pytest.mark.parametrize("method", ["sds", "tloco", "hsds"])
def test_latent_direction_methods_edit_a_case_at_every_degree(tiny_world, method):
    """The latent directions join the benchmark as methods: one image per degree, degree 0 the source's own
    reconstruction (relative renders), and what a first edit and a further move cost."""
    case = next(c for c in world_suite(12, 1, 0, seed=3) if c.kind == "sweep")
    [built] = make_methods([method], tiny_world.info)
    images = built.edit(tiny_world, case)
    assert len(images) == len(case.degrees) and all(i.size == case.image.size for i in images)
    assert built.settings.start_time == tiny_world.info.direction_config().start_time
    first, move = built.costs(tiny_world, case)
    assert first > move > 0


@pytest.mark.slow
def test_quick_run_on_the_tiny_model(tmp_path, capsys):
    """``bench quality --quick`` end to end on random weights: the numbers are meaningless, their form is not."""
    code = main(["bench", "quality", "--model", "tiny-random-world", "--quick", "--cases", "6", "--pairs", "1",
                 "--threads", "1", "--out-dir", str(tmp_path), "--records", str(tmp_path / "records.json")])
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    page = (tmp_path / "benchmark.md").read_text().strip().splitlines()
    assert json.loads(page[-1]) == report  # the page ends with the same JSON line
    assert "python -m ems_core bench quality --model tiny-random-world" in "\n".join(page)
    for name in ("degree_response.png", "preservation.png", "contact_sheet.png"):
        assert (tmp_path / "benchmark" / name).stat().st_size > 0
    assert report["method"] == "ours" and set(report["baselines"]) == set(DEFAULT_METHODS) - {"ours"}
    keys = ("target_hit", "preservation", "both", "rho_size", "rho_position", "psnr_degree0", "sde", "nfe_per_edit")
    for numbers in [report, *report["baselines"].values()]:
        assert all(isinstance(numbers[k], (int, float)) and math.isfinite(numbers[k]) for k in keys), numbers
        assert all(0 <= numbers[k] <= 1 for k in ("target_hit", "preservation", "both", "sde"))
        assert all(-1 <= numbers[k] <= 1 for k in ("rho_size", "rho_position"))
        assert 0 < numbers["psnr_degree0"] <= 100 and numbers["nfe_per_edit"] >= 1
    # the settings that make the default (the shapes model's edit settings): all of them, on the page
    assert "guidance 3.0, source_guidance 1.5, guidance_ramp 1.0, refine_iters 0, seed 0, noise_grid 4" in "\n".join(page)
    # evaluation counts of those settings (5 steps from t0 0.8, guidance, no refinement)
    assert (report["nfe_per_edit"], report["nfe_per_move"]) == (4 * 2 + 4 * 2, 8)  # source path + move
    assert report["baselines"]["sdedit"]["nfe_per_edit"] == 8
    assert report["baselines"]["flowedit"]["nfe_per_edit"] == 4 * (10 - 2)
    assert report["run"]["cases"] == 7 and report["run"]["quick"]
    records = json.loads((tmp_path / "records.json").read_text())["records"]
    assert len(records) == 7 * len(DEFAULT_METHODS)


@pytest.mark.parametrize("flags,message", [
    (["--cases", "-1"], "--cases must be in"),
    (["--cases", "0", "--pairs", "0"], "nothing to run"),
    (["--methods", "ours,photoshop"], "unknown method 'photoshop'"),
    (["--annotations", "missing.json"], "annotations not found"),
    (["--seed", "-3"], "--seed must be in"),
])
def test_bad_quality_flags_fail_before_loading_a_model(capsys, flags, message):
    assert main(["bench", "quality", "--model", "no-such-model", "--out-dir", "", *flags]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_the_report_checks_the_default_against_its_bars():
    from ems_core.bench.quality_report import targets_table

    summary = {"ours": {"target_hit": 0.96, "both": 0.97, "rho_size": 1.0, "rho_position": 0.94, "psnr_degree0": 33.99,
                        "overall": {"kept": {"shape": 0.99, "colour": 0.93}}},
               "flowedit": {"both": 0.98}, "regenerate": {"both": 0.9}}
    rows = {line.split(" | ")[0].strip("| "): line for line in targets_table(summary)[2:]}
    assert rows["target hit (single edits)"].endswith("| yes |")
    assert "0.930" in rows["every other attribute kept, worst one"] and rows["every other attribute kept, worst one"].endswith("**no** |")
    assert rows["rho, position sweeps"].endswith("**no** |") and "33.99" in rows["degree-0 PSNR (dB)"]
    assert rows["both, against flowedit"].endswith("**no** |") and rows["both, against regenerate"].endswith("| yes |")
    assert targets_table({"flowedit": {"both": 1.0}}) == []
