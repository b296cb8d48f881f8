"""A slider sweep's nuisance drift is read against the quality benchmark's tolerances
(``sweep_nuisance_kept``, which ``benchmarks/portrait_sweeps.py`` reports as ``nuisance_kept``)."""

from __future__ import annotations

import pytest

from ems_core.bench.portrait_quality import HEAD_TOLERANCE, TEXTURE_TOLERANCE, TILT_TOLERANCE, sweep_nuisance_kept


def drift(**changed) -> dict:
    return {"faces_found": 1.0, "head_x": 0.1, "head_y": 0.1, "tilt": 0.2, "background": 0.005, **changed}


def test_a_sweep_within_every_tolerance_is_kept():
    assert sweep_nuisance_kept(drift())
    assert sweep_nuisance_kept(drift(head_x=HEAD_TOLERANCE, tilt=TILT_TOLERANCE, background=TEXTURE_TOLERANCE))


@pytest.mark.parametrize("changed", [{"head_x": HEAD_TOLERANCE + 0.01}, {"head_y": 0.6}, {"tilt": TILT_TOLERANCE + 0.1},
                                     {"background": TEXTURE_TOLERANCE * 2}, {"faces_found": 0.9}],
                         ids=["head x", "head y", "tilt", "background", "a face lost"])
def test_one_detail_beyond_its_tolerance_is_not(changed):
    assert not sweep_nuisance_kept(drift(**changed))
