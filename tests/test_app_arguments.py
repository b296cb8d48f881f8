"""``app.py``'s arguments: the model comes from --model, else $EMS_STUDIO_MODEL (a Space's variable), else the
bundled default; the threads from --threads, else $EMS_STUDIO_THREADS."""

import pytest

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
    assert app.parse_arguments([]).threads is None  # main() then takes 1 on CPU
    monkeypatch.setenv(app.THREADS_VARIABLE, " 2 ")
    assert app.parse_arguments([]).threads == 2
    assert app.parse_arguments(["--threads", "1"]).threads == 1


def test_a_malformed_threads_variable_is_named_in_the_error(monkeypatch, capsys):
    monkeypatch.setenv(app.THREADS_VARIABLE, "abc")
    with pytest.raises(SystemExit) as stopped:
        app.parse_arguments([])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert app.THREADS_VARIABLE in error and "'abc'" in error
    assert app.parse_arguments(["--threads", "3"]).threads == 3  # the flag wins; the variable is not read
