"""The portrait directions benchmark's readings: far-end edits and the slope of a response."""

import math

import pytest

from ems_core.bench.portrait_directions import ORDERED_ATTRIBUTES, PORTRAIT_UNITS, far_end_edit, slopes
from ems_core.portraits.scene import BANDS, Portrait, caption_of, parse_caption

CAPTION = caption_of(Portrait(smile=0.9, eyes=0.5, age=0.1, glasses=0.0, skin=0.95))


@pytest.mark.parametrize("attribute, expected", [
    ("smile", ("beaming", "frowning", -1)),  # the top word goes down
    ("eyes", ("open", "wide-eyed", 1)),  # the middle word goes up
    ("age", ("young", "old", 1)),
    ("glasses", ("none", "glasses", 1)),
    ("skin", ("dark", "pale", -1)),
])
def test_far_end_edit_goes_to_the_farther_end_of_the_scale(attribute, expected):
    assert far_end_edit(CAPTION, attribute) == expected


def test_every_ordered_attribute_has_an_edit_that_changes_its_word():
    for attribute in ORDERED_ATTRIBUTES:
        source, target, sign = far_end_edit(CAPTION, attribute)
        words = list(BANDS[attribute])
        assert source == parse_caption(CAPTION)[attribute] and target in (words[0], words[-1])
        assert source != target and sign == (1 if target == words[-1] else -1)


def test_far_end_edit_refuses_a_circular_attribute():
    with pytest.raises(ValueError, match="no ordered scale"):
        far_end_edit(CAPTION, "hair_hue")


def test_slopes_reads_a_linear_response_in_band_units_and_skips_lost_renders():
    fractions = [-0.4, -0.2, 0.0, 0.2, 0.4]
    values = [{name: 0.5 + (2.0 * f if name == "smile" else 0.0) for name in PORTRAIT_UNITS} for f in fractions]
    values[1] = None  # no face found there
    changes = slopes(values, fractions, PORTRAIT_UNITS)
    assert changes["smile"] == pytest.approx(2.0 * 0.4 / PORTRAIT_UNITS["smile"])
    assert all(abs(v) < 1e-9 for name, v in changes.items() if name != "smile")
    assert slopes([None] * 5, fractions, {"smile": 1.0}) == {"smile": 0.0}
    assert not math.isnan(changes["age"])
