import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.conftest import run_json
from ems_core import Attribute
from ems_core.cli import main, parse_edit

ROOT = Path(__file__).resolve().parents[2]




def test_parse_edit():
    attribute, degree = parse_edit(" red -> dark blue =0.8", "edit1")
    assert attribute == Attribute("edit1", "red", "dark blue", full_prompt=False) and degree == 0.8
    assert parse_edit("->a blue square=1", "edit2")[0].full_prompt
    assert parse_edit("red->blue", "edit1")[1] is None
    for bad in ("redblue", "red->=1", "red->blue=x"):
        with pytest.raises(ValueError, match="bad --edit"):
            parse_edit(bad, "edit1")


def test_edit_json_on_tiny_sd3(capsys, scene_file, tmp_path):
    out = tmp_path / "out.png"
    report = run_json(capsys, ["edit", "--model", "tiny-random-sd3", "--image", str(scene_file), "--prompt",
                               "a red circle on a white background", "--edit", "red->blue=0.8", "--edit",
                               "white->black=0.3", "--steps", "4", "--out", str(out), "--json"])
    assert report["out"] == str(out) and Image.open(out).size == (32, 32)
    assert report["source_prompt"] == "a red circle on a white background"
    assert [e["degree"] for e in report["edits"]] == [0.8, 0.3]
    assert report["nfe"] > 0 and report["prepare_nfe"] > 0
    assert set(report["timings_ms"]) == {"prepare", "render"}


def test_sweep_writes_one_file_per_degree_and_a_strip(capsys, scene_file, tmp_path):
    out = tmp_path / "sweep.png"
    report = run_json(capsys, ["edit", "--model", "tiny-random-world", "--image", str(scene_file), "--edit",
                               "red->blue", "--degrees", "0,0.5,1", "--steps", "4", "--out", str(out), "--json"])
    assert len(report["out"]) == 4 and all(Path(p).exists() for p in report["out"])
    assert Image.open(out).size == (3 * 64 + 2 * 2, 64)
    assert report["source_prompt"]  # from the world captioner


def test_edit_fills_waypoints_and_maps_calibrated_sliders(capsys, tmp_path):
    out = tmp_path / "e.png"
    argv = ["edit", "--model", "tiny-random-world", "--image", "assets/examples/red-circle.png",
            "--prompt", "a large red circle at the middle center on a white background", "--edit", "large->small=0.5",
            "--steps", "4", "--out", str(out), "--json"]
    plain = run_json(capsys, argv)
    assert plain["edits"][0]["via"] == ["medium"] and plain["rendered_degrees"] == [{"edit1": 0.5}]
    calibrated = run_json(capsys, argv + ["--calibrated"])
    assert calibrated["rendered_degrees"][0]["edit1"] != 0.5
    assert main(argv + ["--calibrated", "--method", "tloco"]) == 2
    assert "--calibrated maps EMS degrees" in capsys.readouterr().err


def test_generate(capsys, tmp_path):
    out = tmp_path / "g.png"
    report = run_json(capsys, ["generate", "--model", "tiny-random-world", "--prompt", "a red circle",
                               "--steps", "3", "--out", str(out), "--json"])
    assert Image.open(out).size == (64, 64) and report["timings_ms"]["generate"] > 0


def test_threads_sets_torchs_cpu_threads_for_the_command(capsys, tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        run_json(capsys, ["generate", "--model", "tiny-random-world", "--prompt", "a red circle", "--steps", "1",
                          "--out", str(tmp_path / "g.png"), "--json", "--threads", "2"])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("argv, message", [
    (["--image", "missing.png", "--edit", "red->blue=1"], "image not found"),
    (["--image", "{bad}", "--edit", "red->blue=1"], "is not an image in a supported format"),
    (["--image", "{scene}", "--edit", "red-blue=1"], "bad --edit"),
    (["--image", "{scene}", "--edit", "red->blue"], "needs a degree"),
    (["--image", "{scene}", "--edit", "purple->blue=1"], "not in the prompt"),
    (["--image", "{scene}", "--edit", "red->blue=9"], "allowed range"),
    (["--image", "{scene}", "--edit", "red->blue=1", "--model", "no/such-model-here"], "no/such-model-here"),
    (["--image", "{scene}", "--edit", "red->blue=1", "--threads", "0"], "--threads must be in [1, 256]"),
])
def test_errors_are_one_clear_line(capsys, scene_file, tmp_path, argv, message):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    argv = [a.replace("{scene}", str(scene_file)).replace("{bad}", str(bad)) for a in argv]
    if "--model" not in argv:
        argv += ["--model", "tiny-random-world"]
    assert main(["edit", *argv, "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]


def test_module_entry_point(scene_file, tmp_path):
    out = tmp_path / "o.png"
    proc = subprocess.run([sys.executable, "-m", "ems_core", "edit", "--model", "tiny-random-sd3", "--image",
                           str(scene_file), "--prompt", "a red circle", "--edit", "red->blue=1", "--steps", "3",
                           "--out", str(out), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["out"] == str(out)
    missing = subprocess.run([sys.executable, "-m", "ems_core", "edit", "--image", "nope.png", "--edit", "a->b=1",
                              "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and missing.stderr.strip().splitlines() == ["error: image not found: nope.png"]


def test_bench_latency_prints_a_table_then_one_json_line(capsys):
    assert main(["bench", "latency", "--model", "tiny-random-world", "--repeats", "2", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("move") and "speedup" in lines[-2]
    report = json.loads(lines[-1])
    assert report["nfe_per_move"] == 8 and report["nfe_preview"] <= 4 and report["nfe_revisit"] == 0
    # the ratio of two timings of a few milliseconds each is the benchmark's to print, not a test's to bound
    assert report["speedup"] == pytest.approx(report["full_reedit_p50_ms"] / report["move_p50_ms"], rel=0.05, abs=0.1)
    assert report["threads"] == 1 and report["repeats"] == 2
    assert report["move_p50_ms"] <= report["move_p95_ms"] and report["peak_rss_mb"] > 0
    assert report["nfe_nudge"] == 0 and report["ahead_ms_per_position"] > 0  # a nudge lands on a position rendered ahead
    assert 0 <= report["ahead_hit_rate_anywhere"] <= 1
    # a new image's first calibrated move: the source path, the calibration's 9 renders and the move
    assert report["first_calibrated_nfe"] == 8 + 9 * 8 + 8 and report["first_calibrated_ms"] > report["move_p50_ms"]
    assert main(["bench", "latency", "--model", "tiny-random-world", "--repeats", "0"]) == 2
