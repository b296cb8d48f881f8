"""``benchmarks/portrait_release.sh`` runs for an hour once a model is trained: every flag it passes must exist."""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ems_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "portrait_release.sh"


def commands() -> list[list[str]]:
    """The script's ``python ...`` command lines, continuation lines joined, as argument lists."""
    text = SCRIPT.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    runs = [line for line in lines if line.startswith(("step python", "unless_done "))]
    return [shlex.split(line[line.index("python "):]) for line in runs]


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
    assert programs == {"-m ems_core world export", "benchmarks/generation_schedule.py", "-m ems_core world eval", "benchmarks/portrait_sweeps.py",
                        "-m ems_core bench quality", "benchmarks/portrait_directions.py", "-m ems_core bench latency",
                        "benchmarks/portrait_release_check.py"}


@pytest.mark.parametrize("command", commands(), ids=lambda c: " ".join(c[1:4]))
def test_every_flag_the_script_passes_exists(command, capsys):
    offered = set(re.findall(r"--[a-z][a-z-]*", help_text(command, capsys)))
    assert {word for word in command if word.startswith("--")} <= offered


FAKE_PYTHON = """#!/usr/bin/env bash
# records each program run and writes the file(s) it would write; runs `python -c` for real
if [[ $1 == -c ]]; then exec "$REAL_PYTHON" "$@"; fi
echo "$*" >> "$CALLS"
sleep 0.02  # file times tick coarsely (a few ms): each output must be newer than what it read
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
    --out) out=${args[i + 1]} ;;
    --out-dir) mkdir -p "${args[i + 1]}"; echo report > "${args[i + 1]}/benchmark-portraits.md" ;;
    --generation-shift) shift_=${args[i + 1]} ;;
    esac
done
if [[ $2 == ems_core && $3 == world && $4 == export ]]; then
    mkdir -p "$out"; echo '{"generation_shift": '"$shift_"'}' > "$out/world_model.json"
elif [[ $1 == benchmarks/generation_schedule.py ]]; then
    echo '{"chosen": {"guidance": 2.0, "shift": '"$CHOSEN"', "steps": 20}}' > "$out"
elif [[ -n ${out:-} ]]; then
    echo '{"passed": true}' > "$out"
fi
"""

TAGGED_OUTPUTS = ("generation_schedule_{}.json", "portraits_eval_{}.json", "portrait_sweeps_{}.json",
                  "portrait_directions_{}.json", "portrait_sds_transfer_{}.json", "portrait_release_check_{}.json")


def run_all(tmp_path: Path, tag: str, chosen: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``all`` on a fake training run with a fake ``python``; the program lines it ran, in order."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    if not (run_dir / "transformer.pt").exists():
        (run_dir / "transformer.pt").write_bytes(b"")
    calls = tmp_path / "calls.txt"
    calls.unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "REAL_PYTHON": sys.executable,
           "CALLS": str(calls), "CHOSEN": chosen}
    done = subprocess.run(["bash", str(SCRIPT), "all", str(run_dir), str(tmp_path / "export"), tag], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    return done, calls.read_text().splitlines() if calls.exists() else []


@pytest.fixture()
def tag(tmp_path):
    """A tag for one test's outputs under benchmarks/results and runs/, removed afterwards."""
    tag = f"test-{tmp_path.name}"
    yield tag
    for name in TAGGED_OUTPUTS:
        (ROOT / "benchmarks" / "results" / name.format(tag)).unlink(missing_ok=True)
    shutil.rmtree(ROOT / "runs" / f"benchmark-portraits-{tag}", ignore_errors=True)


@pytest.mark.parametrize("chosen, exports", [("12.0", ["8", "12.0"]), ("8.0", ["8"])])
def test_all_exports_chooses_exports_again_only_when_the_choice_differs_then_measures(tmp_path, tag, chosen,
                                                                                       exports):
    """``all`` on a training run: the order of the protocol, with a fake ``python`` that only records its calls."""
    done, lines = run_all(tmp_path, tag, chosen)
    assert done.returncode == 0, done.stderr
    assert f"chosen generation shift: {chosen}" in done.stdout
    export_shifts = [line.split("--generation-shift ")[1] for line in lines if " world export " in line]
    assert export_shifts == exports
    programs = [" ".join(line.split()[2:4]) if line.startswith("-m") else line.split()[0] for line in lines]
    first_measure = programs.index("world eval")
    assert programs.index("benchmarks/generation_schedule.py") < first_measure  # chosen before the held-out read
    assert all(" world export " not in line for line in lines[first_measure:])  # the model read is the model shipped
    assert programs[0] == "world export"
    assert programs[-2:] == ["bench latency", "benchmarks/portrait_release_check.py"]  # the verdict last


@pytest.mark.parametrize("chosen", ["12.0", "8.0"])
def test_all_run_again_skips_what_was_measured_on_the_same_weights(tmp_path, tag, chosen):
    """An interrupted release resumes: a second ``all`` redoes only the latency benchmark and the verdict; a newer
    training checkpoint makes everything run again."""
    first, _ = run_all(tmp_path, tag, chosen)
    assert first.returncode == 0, first.stderr
    again, lines = run_all(tmp_path, tag, chosen)
    assert again.returncode == 0, again.stderr
    programs = [" ".join(line.split()[2:4]) if line.startswith("-m") else line.split()[0] for line in lines]
    assert programs == ["bench latency", "benchmarks/portrait_release_check.py"]
    assert again.stdout.count("skipped") == 7  # export, choice, five measurements
    time.sleep(0.02)  # past the file clock's tick
    (tmp_path / "run" / "transformer.pt").write_bytes(b"trained on")  # newer weights
    retrained, lines = run_all(tmp_path, tag, chosen)
    assert retrained.returncode == 0  # at most the second export is skipped: the first one already had shift 8
    assert retrained.stdout.count("skipped") == (chosen == "8.0")
    assert len(lines) == len(programs) + 7 + (chosen != "8.0")


def test_all_refuses_a_folder_without_a_training_run(tmp_path):
    done = subprocess.run(["bash", str(SCRIPT), "all", str(tmp_path), str(tmp_path / "export"), "x"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no training run" in done.stderr


def release_tree(root: Path, tag: str, passed: bool) -> Path:
    """A repository-shaped folder for ``ship``: an export, a verdict, the measure stage's strip and report, and the
    currently shipped model (with its card)."""
    export = root / "runs" / "wp-new"
    for part in ("autoencoder", "text_encoder", "tokenizer", "transformer"):
        (export / part).mkdir(parents=True)
        (export / part / "weights.safetensors").write_text(f"new {part}")
    (export / "world_model.json").write_text('{"new": true}')
    (root / "benchmarks" / "results").mkdir(parents=True)
    (root / "benchmarks" / "results" / f"portrait_release_check_{tag}.json").write_text(
        json.dumps({"passed": passed, "failed": [] if passed else ["generation: age"]}))
    (root / "runs" / f"smile-slider-{tag}.png").write_text("new strip")
    report = root / "runs" / f"benchmark-portraits-{tag}"
    (report / "benchmark-portraits").mkdir(parents=True)
    (report / "benchmark-portraits.md").write_text("new report")
    (report / "benchmark-portraits" / "contact_sheet.png").write_text("new sheet")
    shipped = root / "assets" / "world-portraits"
    (shipped / "transformer").mkdir(parents=True)
    (shipped / "transformer" / "old.safetensors").write_text("old")
    (shipped / "MODEL_CARD.md").write_text("card")
    (root / "docs" / "figures").mkdir(parents=True)
    (root / "docs" / "benchmark-portraits").mkdir()
    (root / "docs" / "benchmark-portraits" / "stale.png").write_text("old")
    return export


def test_ship_replaces_the_model_and_the_docs_figures_once_every_bar_holds(tmp_path):
    export = release_tree(tmp_path, "t1", passed=True)
    done = subprocess.run(["bash", str(SCRIPT), "ship", str(export), "t1"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    shipped = tmp_path / "assets" / "world-portraits"
    assert (shipped / "transformer" / "weights.safetensors").read_text() == "new transformer"
    assert not (shipped / "transformer" / "old.safetensors").exists()  # no stale weights beside the new ones
    assert (shipped / "world_model.json").read_text() == '{"new": true}'
    assert (shipped / "MODEL_CARD.md").read_text() == "card"  # the card is rewritten by hand
    assert (tmp_path / "docs" / "figures" / "smile-slider.png").read_text() == "new strip"
    assert (tmp_path / "docs" / "benchmark-portraits.md").read_text() == "new report"
    assert sorted(p.name for p in (tmp_path / "docs" / "benchmark-portraits").iterdir()) == ["contact_sheet.png"]


def test_ship_refuses_a_model_that_missed_a_bar(tmp_path):
    export = release_tree(tmp_path, "t2", passed=False)
    done = subprocess.run(["bash", str(SCRIPT), "ship", str(export), "t2"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and "release bar was missed" in done.stderr
    assert (tmp_path / "assets" / "world-portraits" / "transformer" / "old.safetensors").exists()
