"""``benchmarks/portrait_sweeps.py`` reads a sweep's nuisance drift against the quality benchmark's tolerances."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from ems_core.bench.portrait_quality import HEAD_TOLERANCE, TEXTURE_TOLERANCE, TILT_TOLERANCE

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "portrait_sweeps.py"


@pytest.fixture(scope="module")
def nuisance_kept():
    argv = sys.argv
    sys.argv = [str(SCRIPT)]
    try:
        return runpy.run_path(str(SCRIPT))["nuisance_kept"]  # not as __main__: nothing runs
    finally:
        sys.argv = argv


def drift(**changed) -> dict:
    return {"faces_found": 1.0, "head_x": 0.1, "head_y": 0.1, "tilt": 0.2, "background": 0.005, **changed}


def test_a_sweep_within_every_tolerance_is_kept(nuisance_kept):
    assert nuisance_kept(drift())
    assert nuisance_kept(drift(head_x=HEAD_TOLERANCE, tilt=TILT_TOLERANCE, background=TEXTURE_TOLERANCE))


@pytest.mark.parametrize("changed", [{"head_x": HEAD_TOLERANCE + 0.01}, {"head_y": 0.6}, {"tilt": TILT_TOLERANCE + 0.1},
                                     {"background": TEXTURE_TOLERANCE * 2}, {"faces_found": 0.9}],
                         ids=["head x", "head y", "tilt", "background", "a face lost"])
def test_one_detail_beyond_its_tolerance_is_not(nuisance_kept, changed):
    assert not nuisance_kept(drift(**changed))
