import numpy as np
import pytest

from ems_core.calibration import CALIBRATION_DEGREES, DegreeCalibration, fit_calibration
from ems_core.session import EditSession
from tests.conftest import SCENE_PROMPT
from tests.test_session import FAST


def test_a_switch_in_the_middle_gets_the_middle_of_the_slider():
    steps = [0, 0, 0, 1, 1, 0, 0, 0]  # all the change between degrees 3/8 and 5/8
    calibration = fit_calibration(CALIBRATION_DEGREES, steps, floor=0.1)
    # the switch now spans the slider from 0.0375 to 0.9625 (the floor keeps 10% for the flat ends)
    assert calibration.degree(0.5) == pytest.approx(0.5)
    inside = [calibration.degree(s) for s in (0.2, 0.35, 0.65, 0.8)]
    assert all(3 / 8 < d < 5 / 8 for d in inside)
    assert calibration.degree(0.03) < 3 / 8 and calibration.degree(0.97) > 5 / 8


def test_even_change_gives_the_identity_and_no_change_too():
    even = fit_calibration(CALIBRATION_DEGREES, [1.0] * 8)
    none = fit_calibration(CALIBRATION_DEGREES, [0.0] * 8)
    for s in np.linspace(-1, 2, 31):
        assert even.degree(s) == pytest.approx(s) and none.degree(s) == pytest.approx(s)


def test_the_map_is_increasing_pinned_at_the_ends_and_invertible():
    rng = np.random.default_rng(0)
    for _ in range(20):
        steps = rng.exponential(size=8) * (rng.random(8) > 0.4)
        calibration = fit_calibration(CALIBRATION_DEGREES, steps)
        sliders = np.linspace(-1, 2, 301)
        degrees = np.array([calibration.degree(s) for s in sliders])
        assert np.all(np.diff(degrees) > 0)
        assert calibration.degree(0.0) == 0.0 and calibration.degree(1.0) == 1.0
        assert calibration.degree(1.5) == 1.5 and calibration.degree(-0.5) == -0.5  # extrapolation untouched
        for s in (0.1, 0.5, 0.9):
            assert calibration.slider_of(calibration.degree(s)) == pytest.approx(s)


@pytest.mark.parametrize("degrees, steps, message", [
    ((0, 0.5, 1), (1.0,), "one measured step"),
    ((0, 0.7, 0.5, 1), (1, 1, 1), "increase from 0 to 1"),
    ((0.1, 0.5, 1), (1, 1), "increase from 0 to 1"),
    ((0, 0.5, 1), (1, float("nan")), "finite and non-negative"),
    ((0, 0.5, 1), (1, -1), "finite and non-negative"),
])
def test_bad_measurements_are_refused(degrees, steps, message):
    with pytest.raises(ValueError, match=message):
        fit_calibration(degrees, steps)


def test_knots_are_checked():
    with pytest.raises(ValueError, match="from \\(0, 0\\) to \\(1, 1\\)"):
        DegreeCalibration((0.0, 0.9), (0.0, 1.0))
    with pytest.raises(ValueError, match="increase"):
        DegreeCalibration((0.0, 0.5, 0.5, 1.0), (0.0, 0.2, 0.4, 1.0))


def test_the_session_fits_once_per_attribute_and_memoises_the_sweep(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST.with_(refine_iters=0))
    session.set_attribute("colour", "red", "blue")
    calibration = session.calibration("colour")
    nfe = session.total_nfe
    assert session.calibration("colour") is calibration and session.total_nfe == nfe  # cached
    assert session.render({"colour": CALIBRATION_DEGREES[3]}).nfe == 0  # the sweep's renders are memoised
    degrees = session.calibrated_degrees({"colour": 0.5})
    assert degrees == {"colour": calibration.degree(0.5)}
    assert session.calibrated_degrees({"colour": 0.0}) == {"colour": 0.0}
    # the fit is of the rendered sweep: recompute the pixel steps and compare
    images = [session.render({"colour": d}).image for d in CALIBRATION_DEGREES]
    pixels = [np.asarray(i, dtype=np.float32) / 255 for i in images]
    steps = [float(np.sqrt(np.mean((b - a) ** 2))) for a, b in zip(pixels, pixels[1:])]
    assert calibration == fit_calibration(CALIBRATION_DEGREES, steps)
    session.set_attribute("colour", "red", "green")  # another target: another calibration
    assert session.calibration("colour") is not calibration
