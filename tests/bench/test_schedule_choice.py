"""The release's text-to-image schedule is chosen by a rule (``chosen_schedule``), not by a reader."""

from __future__ import annotations

import pytest

from ems_core.bench.world_model import chosen_schedule


def row(shift: float, all_at_once: float, **faithfulness: float) -> dict:
    return {"guidance": 2.0, "shift": shift, "steps": 20, "generation": {"all": all_at_once, **faithfulness}}


def test_the_weakest_attribute_decides_first():
    rows = [row(1, 0.99, smile=1.0, age=0.97), row(8, 0.96, smile=0.98, age=0.98)]
    assert chosen_schedule(rows)["shift"] == 8  # its worst attribute is better, though fewer are right at once


def test_then_all_at_once_then_the_smaller_shift():
    rows = [row(12, 0.97, smile=0.99, age=0.99), row(4, 0.98, smile=0.99, age=0.99), row(16, 0.98, smile=1, age=0.99)]
    assert chosen_schedule(rows)["shift"] == 4
    assert chosen_schedule(list(reversed(rows)))["shift"] == 4  # the order of the rows does not matter


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="no schedule rows"):
        chosen_schedule([])
