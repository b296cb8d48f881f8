"""``python -m ems_core world render`` as a user runs it (subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from ems_core.world.oracle import measure

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ems_core", "world", "render", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_render_from_caption_writes_a_64x64_png(tmp_path):
    caption = "a large red circle at the top left on a white background"
    out = tmp_path / "scene.png"
    result = run_cli("--caption", caption, "--out", str(out))
    assert result.returncode == 0, result.stderr
    image = Image.open(out)
    assert image.format == "PNG" and image.size == (64, 64) and image.mode == "RGB"
    assert measure(image).caption == caption
    report = json.loads(result.stdout)
    assert report["out"] == str(out) and report["scene"]["shape"] == "circle"


def test_render_from_attribute_values(tmp_path):
    out = tmp_path / "star.png"
    result = run_cli("--shape", "star", "--colour", "blue", "--background", "gray", "--size", "0.3",
                     "--x", "0.68", "--y", "0.32", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert measure(Image.open(out)).caption == "a large blue star at the top right on a gray background"


def test_bad_caption_is_one_clear_error_line(tmp_path):
    out = tmp_path / "bad.png"
    result = run_cli("--caption", "a purple elephant", "--out", str(out))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "does not name" in lines[0]
    assert "Traceback" not in result.stderr and not out.exists()


def test_bad_attribute_value_is_one_clear_error_line(tmp_path):
    result = run_cli("--shape", "hexagon", "--out", str(tmp_path / "bad.png"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "hexagon" in lines[0]
