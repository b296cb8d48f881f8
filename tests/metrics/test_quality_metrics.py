"""Known answers for the benchmark's metrics: SSIM, region change, preservation tolerances, Spearman's rho,
the switch degree and SDE on constructed images."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from ems_core.metrics import (BACKGROUND_TOLERANCE, POSITION_TOLERANCE, SIZE_TOLERANCE, kept, mean_abs_change,
                              preservation, rms_distance, sde, spearman, ssim, switch_degree, target_hit)
from ems_core.metrics.image import SSIM_SIGMA, SSIM_WINDOW, _gaussian_window

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def test_ssim_of_identical_images_is_one():
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    assert ssim(image, 255 - image) < 0.0  # an inverted image is anti-correlated


def test_ssim_of_flat_images_by_hand():
    """Flat images: no variance, so SSIM is the luminance term (2 a b + C1) / (a^2 + b^2 + C1)."""
    a, b = np.full((16, 16, 3), 100, np.uint8), np.full((16, 16, 3), 150, np.uint8)
    assert ssim(a, b) == pytest.approx((2 * 100 * 150 + C1) / (100**2 + 150**2 + C1))


def test_ssim_of_a_contrast_change_by_hand():
    """One window (11x11): x = m + d s and y = m + k d s, ``s`` +1 left of the centre column and -1 right of
    it. The Gaussian weights are symmetric, so the weighted mean of ``s`` is 0 and its variance is
    ``1 - w_c`` (``w_c`` the 1-D weight of the centre column): equal means, variances V and k^2 V, covariance k V."""
    m, d, k = 120.0, 40.0, 0.5
    s = np.zeros((SSIM_WINDOW, SSIM_WINDOW))
    s[:, : SSIM_WINDOW // 2], s[:, SSIM_WINDOW // 2 + 1:] = 1.0, -1.0
    x = np.repeat((m + d * s)[..., None], 3, axis=2)
    y = np.repeat((m + k * d * s)[..., None], 3, axis=2)
    w_c = _gaussian_window(SSIM_WINDOW, SSIM_SIGMA)[SSIM_WINDOW // 2]
    v = d**2 * (1 - w_c)
    assert ssim(x, y) == pytest.approx((2 * k * v + C2) / ((1 + k**2) * v + C2), rel=1e-9)


def test_mean_abs_change_on_a_region():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 30  # inside the region
    b[3, 3] = 90  # outside it
    region = np.zeros((4, 4), bool)
    region[:2, :2] = True
    assert mean_abs_change(a, b, region) == pytest.approx(30 / 4)
    assert mean_abs_change(a, b, ~region) == pytest.approx(90 / 12)
    assert mean_abs_change(a, b, np.zeros((4, 4), bool)) is None


def reading(**changes):
    base = dict(found=True, shape="circle", colour="red", background_rgb=(245.0, 245.0, 245.0), size=0.25, x=0.5,
                y=0.5)
    return SimpleNamespace(**{**base, **changes})


def test_preservation_tolerances():
    source = reading()
    assert kept(source, reading(background_rgb=(245 - BACKGROUND_TOLERANCE, 245, 250)), "background")
    assert not kept(source, reading(background_rgb=(245 - BACKGROUND_TOLERANCE - 1, 245, 245)), "background")
    assert kept(source, reading(x=0.5 + POSITION_TOLERANCE - 1e-9), "x")
    assert not kept(source, reading(y=0.5 - POSITION_TOLERANCE - 1e-3), "y")
    assert kept(source, reading(size=0.25 * (1 + SIZE_TOLERANCE) - 1e-9), "size")
    assert not kept(source, reading(size=0.25 * (1 - SIZE_TOLERANCE) - 1e-3), "size")
    assert not kept(source, reading(shape="star"), "shape")
    assert not kept(source, reading(found=False, x=math.nan), "x")
    names = ("shape", "colour", "background", "size", "x", "y")
    assert preservation(source, reading(colour="blue", x=0.7), names, ["colour"]) == {
        "shape": True, "background": True, "size": True, "x": False, "y": True}
    assert target_hit({"colour": "blue"}, {"colour": "blue", "shape": "circle"})
    assert not target_hit({"colour": "blue", "shape": "star"}, {"colour": "blue", "shape": "circle"})


def test_spearman_known_answers():
    assert spearman([0, 1, 2, 3], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([0, 1, 2, 3], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks x 1..4, y (1.5, 1.5, 3, 4): by hand rho = 4.5 / sqrt(5 * 4.5) = 0.9487
    assert spearman([0, 1, 2, 3], [1, 1, 2, 5]) == pytest.approx(4.5 / math.sqrt(5 * 4.5))
    assert spearman([0, 1, 2, 3], [1, math.nan, 2, 3]) == pytest.approx(1.0)  # a missing reading is dropped
    assert spearman([0, 1, 2], [5, 5, 5]) == 0.0  # no response at all


def test_switch_degree():
    assert switch_degree([0, 0.25, 0.5, 0.75, 1], [False, False, True, False, True]) == 0.5
    assert switch_degree([1, 0], [True, False]) == 1
    assert switch_degree([0, 1], [False, False]) is None


# ---- SDE on constructed images ------------------------------------------------------------------------

WHITE, RED, BLUE = (255, 255, 255), (255, 0, 0), (0, 0, 255)


def square(colour, background=WHITE, side=8):
    image = np.zeros((side, side, 3), np.uint8)
    image[:] = background
    image[2:6, 2:6] = colour
    return image


REGION = np.zeros((8, 8), bool)
REGION[2:6, 2:6] = True


def test_rms_distance_by_hand():
    a, b = square(RED), square(BLUE)
    # inside: every pixel differs by (1, 0, 1) on [0, 1]: ||.||^2 = 2; outside: 0
    assert rms_distance(a, b, REGION) == pytest.approx(math.sqrt(2))
    assert rms_distance(a, b) == pytest.approx(math.sqrt(2 * 16 / 64))
    with pytest.raises(ValueError):
        rms_distance(a, b, np.zeros((8, 8), bool))


def test_sde_perfect_edit_scores_one_and_no_edit_scores_zero():
    source, target = square(RED), square(BLUE)
    perfect = sde(source, source, target, target, REGION)
    assert (perfect.rebuild, perfect.gap, perfect.leak) == (0.0, 0.0, 0.0)
    assert perfect.score == 1.0 and perfect.signal == pytest.approx(math.sqrt(2))
    nothing = sde(source, source, source, target, REGION)
    assert nothing.gap == pytest.approx(1.0) and nothing.score == 0.0


def test_sde_partial_edit_leak_and_rebuild_by_hand():
    source, target = square(RED), square(BLUE)
    # Half-way colour (128, 0, 127) inside: distance to blue per pixel (128, 0, 128)/255
    halfway = square((128, 0, 127))
    # plus a leak: the 48 outside pixels moved by 51 (0.2) in one channel
    halfway[:2, :, 0] = 204
    halfway[6:, :, 0] = 204
    halfway[2:6, :2, 0] = 204
    halfway[2:6, 6:, 0] = 204
    # degree-0 output: every pixel off by 51 in one channel -> whole-image RMS 0.2
    rebuild = source.astype(int)
    rebuild[..., 1] += np.where(rebuild[..., 1] >= 51, -51, 51)
    score = sde(source, rebuild.astype(np.uint8), halfway, target, REGION)
    signal = math.sqrt(2)
    gap = math.sqrt((128 / 255) ** 2 + (128 / 255) ** 2) / signal
    assert score.signal == pytest.approx(signal)
    assert score.rebuild == pytest.approx(0.2 / signal)
    assert score.gap == pytest.approx(gap)
    assert score.leak == pytest.approx(0.2 / signal)
    assert score.score == pytest.approx((1 - 0.2 / signal) * (1 - gap) * (1 - 0.2 / signal))


def test_sde_clips_each_error_and_refuses_a_null_edit():
    source, target = square(RED), square(BLUE)
    wild = np.full((8, 8, 3), 0, np.uint8)  # everything black: leak above 1 is clipped to a factor of 0
    assert sde(source, source, wild, target, REGION).score == 0.0
    background_edit = sde(square(RED, WHITE), square(RED, WHITE), square(RED, (0, 0, 0)), square(RED, (0, 0, 0)),
                          ~REGION)
    assert background_edit.score == 1.0
    with pytest.raises(ValueError):
        sde(source, source, source, source, REGION)
