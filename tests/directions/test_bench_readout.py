"""The benchmark's reading of a direction's effect, on oracle measurements of known scenes."""

import pytest

from ems_core.bench.directions import _response, far_edit
from ems_core.world.oracle import measure
from ems_core.world.scene import Scene, render

STRENGTHS = [-20.0, -10.0, 0.0, 10.0, 20.0]


def readout(**changes_per_unit):
    """Renders whose attributes move by ``changes_per_unit * lambda``, read back as a response."""
    base = Scene(shape="circle", colour="red", background="white", size=0.25, x=0.5, y=0.5)
    scenes = [base.with_(**{k: getattr(base, k) + v * s for k, v in changes_per_unit.items()}) for s in STRENGTHS]
    return _response([measure(render(scene)) for scene in scenes], STRENGTHS)


def test_a_growing_object_reads_as_size_plus():
    response = readout(size=0.002)  # +0.04 at lambda = 20: 0.57 band units of 0.07
    assert response.attribute == "size" and response.sign == 1 and response.lost == 0
    assert response.changes["size"] == pytest.approx(0.04 / 0.07, abs=0.1)
    assert abs(response.changes["x"]) < 0.1 and response.changes["shape"] == 0.0


def test_a_leftward_move_reads_as_x_minus():
    response = readout(x=-0.005)  # -0.1 at lambda = 20: 0.57 band units of 0.175
    assert response.attribute == "x" and response.sign == -1
    assert response.changes["x"] == pytest.approx(-0.1 / 0.175, abs=0.1)
    assert abs(response.changes["size"]) < 0.1


@pytest.mark.parametrize("attribute, scene_words, target", [
    ("size", dict(size=0.33), "small"),  # large -> the other end
    ("size", dict(size=0.25), "large"),  # the middle word goes up
    ("x", dict(x=0.32), "right"),
    ("y", dict(y=0.67), "top"),
    ("background", dict(background="brown"), "white"),  # the largest brightness difference
    ("background", dict(background="white"), "black"),
])
def test_far_edit_goes_to_the_farthest_word(attribute, scene_words, target):
    base = Scene(shape="circle", colour="red", background="gray", size=0.25, x=0.5, y=0.5)
    case = far_edit(base.with_(**scene_words), attribute)
    assert case.attribute == attribute and case.target_word == target and case.source_word != target


def test_far_edit_refuses_an_unsigned_attribute():
    with pytest.raises(ValueError, match="no signed scale"):
        far_edit(Scene(shape="circle", colour="red", background="gray", size=0.25, x=0.5, y=0.5), "colour")


def test_a_shifted_direction_moves_on_its_grid_drops_what_leaves_it_and_keeps_unit_norm():
    import torch

    from ems_core.bench.directions import shifted
    from ems_core.directions import Direction

    vector = torch.zeros(2, 4, 4)
    vector[0, 0, 0], vector[1, 2, 3] = 3.0, 4.0  # norm 5
    direction = Direction(vector / 5, "m", 0.5, "loco", {"source": "x"})
    moved = shifted(direction, 1, -1)  # (0, 0) leaves the grid; (2, 3) -> (3, 2)
    assert moved.vector.nonzero().tolist() == [[1, 3, 2]] and float(moved.vector.norm()) == pytest.approx(1.0)
    assert (moved.model, moved.noise_level, moved.provenance) == ("m", 0.5, {"source": "x"})
    assert torch.equal(shifted(direction, 0, 0).vector, direction.vector)
    with pytest.raises(ValueError, match="leaves its 4x4 grid"):
        shifted(direction, 4, 0)
