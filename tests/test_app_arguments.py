"""``app.py``'s arguments: the model comes from --model, else $EMS_STUDIO_MODEL (a Space's variable), else the
bundled default; the threads from --threads, else $EMS_STUDIO_THREADS."""

import app
from ems_core import DEFAULT_MODEL


def test_the_model_comes_from_the_flag_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv(app.MODEL_VARIABLE, raising=False)
    assert app.build_parser().parse_args([]).model == DEFAULT_MODEL
    monkeypatch.setenv(app.MODEL_VARIABLE, " world-portraits ")
    assert app.build_parser().parse_args([]).model == "world-portraits"
    assert app.build_parser().parse_args(["--model", "tiny-random-world"]).model == "tiny-random-world"
    monkeypatch.setenv(app.MODEL_VARIABLE, "  ")  # set but empty: the default
    assert app.build_parser().parse_args([]).model == DEFAULT_MODEL


def test_the_threads_come_from_the_flag_then_the_environment_then_the_cpu_default(monkeypatch):
    monkeypatch.delenv(app.THREADS_VARIABLE, raising=False)
    assert app.build_parser().parse_args([]).threads is None  # main() then takes 1 on CPU
    monkeypatch.setenv(app.THREADS_VARIABLE, " 2 ")
    assert app.build_parser().parse_args([]).threads == 2
    assert app.build_parser().parse_args(["--threads", "1"]).threads == 1
