"""The release bars a trained portrait model must clear (``ems_core/bench/portrait_release.py``) and the script
that prints them (``benchmarks/portrait_release_check.py``)."""

from __future__ import annotations

import copy
import json
import math
import runpy
from pathlib import Path

import pytest

from ems_core.bench.portrait_release import (SWEEP_COLUMNS, Bar, comparison_tables, folder_megabytes,
                                             nuisance_kept_share, portrait_release_bars)
from ems_core.portraits.scene import ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
#: the shipped model's held-out evaluation and sweeps (docs/training.md)
SHIPPED_EVALUATION = RESULTS / "portraits_eval_scratch24k.json"
SHIPPED_SWEEPS = RESULTS / "portrait_sweeps_scratch24k_velocity.json"


@pytest.fixture(scope="module")
def check():
    return runpy.run_path(str(ROOT / "benchmarks" / "portrait_release_check.py"))["main"]  # not as __main__


@pytest.fixture()
def shipped() -> tuple[dict, dict]:
    return json.loads(SHIPPED_EVALUATION.read_text()), json.loads(SHIPPED_SWEEPS.read_text())


def by_name(bars: list[Bar]) -> dict[str, Bar]:
    return {bar.name: bar for bar in bars}


def test_the_shipped_models_measurements_clear_every_bar(check, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert check(["--model", "world-portraits", "--evaluation", str(SHIPPED_EVALUATION),
                  "--sweeps", str(SHIPPED_SWEEPS)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[-1]) == {"passed": True, "failed": []}
    assert len(lines) == 1 + len(ATTRIBUTES) + 3 * 3 + 1 and all(line.startswith("ok") for line in lines[:-1])


def test_one_attribute_under_the_bar_fails_the_release_and_is_named(check, shipped, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    evaluation, _ = shipped
    evaluation["generation"]["face_width"] = 0.946  # one attribute just under the bar
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    out = tmp_path / "verdict.json"
    assert check(["--model", "world-portraits", "--evaluation", str(tmp_path / "eval.json"),
                  "--sweeps", str(SHIPPED_SWEEPS), "--out", str(out)]) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["failed"] == ["generation: face_width"]
    assert json.loads(out.read_text())["passed"] is False


def test_a_missing_measurement_never_passes(shipped):
    evaluation, sweeps = shipped
    del evaluation["generation"]["age"]
    del sweeps["attributes"]["hair lightness"]
    failed = [bar.name for bar in portrait_release_bars(evaluation, sweeps, 59.2) if not bar.passed]
    assert failed == ["generation: age", "sweep hair lightness: rho, median",
                      "sweep hair lightness: share of sweeps at rho >= 0.95",
                      "sweep hair lightness: nuisance details kept"]


def test_nuisance_kept_is_recomputed_from_the_drifts_when_a_report_predates_it(shipped):
    _, sweeps = shipped
    smile = copy.deepcopy(sweeps["attributes"]["smile"])
    smile["summary"].pop("nuisance_kept", None)  # as in a report written before the field
    assert nuisance_kept_share(smile) == 1.0
    smile["sweeps"][0]["head_x"] = 0.8  # one sweep of 20 moves the head beyond 0.5 px: 0.95, still kept
    assert nuisance_kept_share(smile) == pytest.approx(0.95)
    smile["sweeps"][1]["tilt"] = 3.0  # two of 20: under the bar
    sweeps["attributes"]["smile"] = smile
    bars = by_name(portrait_release_bars(shipped[0], sweeps, 59.2))
    assert not bars["sweep smile: nuisance details kept"].passed
    smile["summary"]["nuisance_kept"] = 1.0  # a report that states it is taken at its word
    assert nuisance_kept_share(smile) == 1.0


def test_the_size_cap_is_a_ceiling_and_nan_fails_both_ways():
    assert Bar("size", 59.9, 60.0, at_most=True).passed and not Bar("size", 60.1, 60.0, at_most=True).passed
    assert Bar("share", 0.95, 0.95).passed and not Bar("share", 0.949, 0.95).passed
    assert not Bar("size", math.nan, 60.0, at_most=True).passed and not Bar("share", math.nan, 0.95).passed


def test_folder_megabytes_counts_every_file_below(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "w.safetensors").write_bytes(b"x" * 1_500_000)
    (tmp_path / "b.json").write_bytes(b"x" * 500_000)
    assert folder_megabytes(tmp_path) == pytest.approx(2.0)


def test_the_script_refuses_without_its_inputs(check, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit, match="no exported model"):
        check(["--model", str(tmp_path), "--tag", "x"])
    with pytest.raises(SystemExit, match="no held-out evaluation"):
        check(["--model", "world-portraits", "--tag", "no-such-tag"])


def test_the_card_tables_put_each_candidate_number_beside_the_shipped_ones(shipped):
    evaluation, sweeps = shipped
    candidate_evaluation, candidate_sweeps = copy.deepcopy(evaluation), copy.deepcopy(sweeps)
    candidate_evaluation["generation"]["age"] = 0.5
    del candidate_evaluation["generation"]["skin"]
    candidate_evaluation["inversion"] = None  # `world eval --inversions 0`
    candidate_sweeps["attributes"]["smile"]["summary"]["rho_median"] = 0.25
    generation_table, sweep_table = comparison_tables(candidate_evaluation, candidate_sweeps, evaluation,
                                                      sweeps).strip().split("\n\n")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in generation_table.splitlines()[2:]}
    assert rows["age"] == f"| age | 0.500 ({evaluation['generation']['age']:.3f}) |"
    assert rows["skin"] == f"| skin | - ({evaluation['generation']['skin']:.3f}) |"  # missing reads '-'
    assert rows["all"] == f"| all | {evaluation['generation']['all']:.3f} ({evaluation['generation']['all']:.3f}) |"
    assert set(ATTRIBUTES) <= set(rows)
    assert rows["inversion PSNR, mean (dB)"].startswith("| inversion PSNR, mean (dB) | - (")
    sweep_rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in sweep_table.splitlines()[2:]}
    assert list(sweep_rows) == ["smile", "age", "hair lightness"]
    reference_rho = sweeps["attributes"]["smile"]["summary"]["rho_median"]
    assert sweep_rows["smile"][1] == f"0.250 ({reference_rho:.3f})"
    assert all(len(cells) == 1 + len(SWEEP_COLUMNS) for cells in sweep_rows.values())


def test_the_card_tables_script_reads_the_files_it_is_given(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    tables = runpy.run_path(str(ROOT / "benchmarks" / "portrait_card_tables.py"))["main"]
    assert tables(["--evaluation", str(SHIPPED_EVALUATION), "--sweeps", str(SHIPPED_SWEEPS)]) == 0
    out = capsys.readouterr().out
    shipped_all = json.loads(SHIPPED_EVALUATION.read_text())["generation"]["all"]
    assert f"| all | {shipped_all:.3f} ({shipped_all:.3f}) |" in out
    with pytest.raises(SystemExit, match="no results file"):
        tables(["--tag", "no-such-tag"])
