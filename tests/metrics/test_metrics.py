import math

import numpy as np
import pytest

from ems_core.metrics import agreement, edit_outcome, psnr, summarise


def test_psnr_known_answers():
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    b = a.copy()
    assert psnr(a, b) == math.inf
    b[...] = 1  # MSE 1 -> 20 log10(255)
    assert psnr(a, b) == pytest.approx(20 * math.log10(255))


def test_agreement_and_outcome():
    source = {"shape": "circle", "colour": "red", "size": "large"}
    assert agreement(source, {"shape": "circle", "colour": "blue", "size": "large"}) == {
        "shape": True, "colour": False, "size": True}
    hit = edit_outcome(source, {"colour": "blue"}, {"shape": "circle", "colour": "blue", "size": "large"})
    assert hit.success and hit.preserved and hit.both and hit.kept == {"shape": True, "size": True}
    drift = edit_outcome(source, {"colour": "blue"}, {"shape": "star", "colour": "blue", "size": "large"})
    assert drift.success and not drift.preserved and not drift.both
    miss = edit_outcome(source, {"colour": "blue"}, source)
    assert not miss.success and miss.preserved
    assert summarise([hit, drift, miss]) == {"success": 0.667, "preservation": 0.667, "both": 0.333}
    with pytest.raises(ValueError):
        summarise([])
