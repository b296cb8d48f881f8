"""``benchmarks/portrait_release.sh`` runs for an hour once a model is trained: every flag it passes must exist."""

from __future__ import annotations

import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

from ems_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "portrait_release.sh"


def commands() -> list[list[str]]:
    """The script's ``python ...`` command lines, continuation lines joined, as argument lists."""
    text = SCRIPT.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [shlex.split(line.split("step ", 1)[1]) for line in lines if line.startswith("step python")]


def help_text(command: list[str], capsys) -> str:
    """What ``command``'s program prints for ``--help`` (run in this process)."""
    if command[1:3] == ["-m", "ems_core"]:
        words = [w for w in command[3:] if not w.startswith("-")][:2]  # e.g. ["world", "eval"], ["bench", "quality"]
        with pytest.raises(SystemExit) as stop:
            main([*words, "--help"])
    else:
        argv = sys.argv
        sys.argv = [command[1], "--help"]
        try:
            with pytest.raises(SystemExit) as stop:
                runpy.run_path(str(ROOT / command[1]), run_name="__main__")
        finally:
            sys.argv = argv
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_the_script_runs_the_whole_protocol():
    programs = {" ".join(c[1:5]) if c[1] == "-m" else c[1] for c in commands()}
    assert programs == {"benchmarks/generation_schedule.py", "-m ems_core world eval", "benchmarks/portrait_sweeps.py",
                        "-m ems_core bench quality", "benchmarks/portrait_directions.py", "-m ems_core bench latency"}


@pytest.mark.parametrize("command", commands(), ids=lambda c: " ".join(c[1:4]))
def test_every_flag_the_script_passes_exists(command, capsys):
    offered = set(re.findall(r"--[a-z][a-z-]*", help_text(command, capsys)))
    assert {word for word in command if word.startswith("--")} <= offered
