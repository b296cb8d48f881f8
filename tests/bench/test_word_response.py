"""``benchmarks/word_response.py``: the velocity's change when one caption word changes, on the bundled portrait
model (which draws every word right)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script() -> dict:
    return runpy.run_path(str(ROOT / "benchmarks" / "word_response.py"))


@pytest.fixture(scope="module")
def portraits():
    if not (ROOT / "assets" / "world-portraits" / "world_model.json").exists():
        pytest.skip("the bundled portrait weights are not in this checkout")
    from ems_core.backends import load_backend
    return load_backend("world-portraits")


def test_a_word_swapped_for_itself_moves_nothing_and_a_drawn_word_moves_the_velocity(script, portraits):
    noises = torch.randn((2, *portraits.latent_shape()), generator=torch.Generator().manual_seed(0))
    response = script["word_response"]
    assert response(portraits, "background_hue", ("red", "red"), 0.97, noises) == 0.0
    assert response(portraits, "background_hue", ("red", "blue"), 0.97, noises) > 0.5  # 1.2 on eight noises


def test_the_report_names_each_models_training_step(script, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    if not (ROOT / "assets" / "world-portraits" / "world_model.json").exists():
        pytest.skip("the bundled portrait weights are not in this checkout")
    out = tmp_path / "response.json"
    assert script["main"](["--models", "world-portraits", "--noises", "1", "--times", "0.5", "--out", str(out)]) == 0
    report = json.loads(out.read_text())["models"]["world-portraits"]
    shipped = json.loads((ROOT / "assets" / "world-portraits" / "world_model.json").read_text())
    assert report["train_step"] == shipped["train_step"] and set(report["t=0.5"]) == set(script["SWAPS"])
    assert "background_hue" in capsys.readouterr().out
