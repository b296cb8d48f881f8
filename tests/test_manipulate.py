import pytest
import torch

from ems_core.embeddings import PromptEmbedding
from ems_core.config import DEGREE_RANGE
from ems_core.manipulate import check_degree, manipulate


def embedding(seed: int) -> PromptEmbedding:
    g = torch.Generator().manual_seed(seed)
    return PromptEmbedding(torch.randn(1, 5, 8, generator=g), torch.randn(1, 8, generator=g))


def test_endpoints_are_exact():
    src, tgt = embedding(0), embedding(1)
    assert manipulate(src, [tgt], [0.0]) is src
    one = manipulate(src, [tgt], [1.0])
    assert torch.equal(one.tokens, tgt.tokens) and torch.equal(one.pooled, tgt.pooled)


def test_linear_and_additive():
    src, t1, t2 = embedding(0), embedding(1), embedding(2)
    half = manipulate(src, [t1], [0.5])
    assert torch.allclose(half.tokens, 0.5 * (src.tokens + t1.tokens), atol=1e-6)
    both = manipulate(src, [t1, t2], [0.3, -0.4])
    expected = src.pooled + 0.3 * (t1.pooled - src.pooled) - 0.4 * (t2.pooled - src.pooled)
    assert torch.allclose(both.pooled, expected, atol=1e-6)


def test_degree_range():
    assert check_degree("a", DEGREE_RANGE[1]) == DEGREE_RANGE[1]
    with pytest.raises(ValueError, match="allowed range"):
        check_degree("a", DEGREE_RANGE[1] + 0.01)
    with pytest.raises(ValueError):
        manipulate(embedding(0), [embedding(1)], [0.1, 0.2])


def test_a_path_passes_through_its_waypoints_exactly_and_extrapolates_straight():
    import torch

    from ems_core.embeddings import PromptEmbedding
    from ems_core.manipulate import along_path, manipulate, manipulate_paths

    def embedding(value: float) -> PromptEmbedding:
        return PromptEmbedding(torch.full((1, 2, 3), value), torch.full((1, 3), value))

    source, middle, target = embedding(0.0), embedding(5.0), embedding(2.0)
    assert along_path(source, [middle, target], 0.5) is middle  # the waypoint itself at its degree
    assert along_path(source, [middle, target], 1.0) is target and along_path(source, [middle, target], 0.0) is source
    quarter = along_path(source, [middle, target], 0.25)
    assert torch.allclose(quarter.tokens, torch.full((1, 2, 3), 2.5))  # half-way to the waypoint
    three_quarters = along_path(source, [middle, target], 0.75)
    assert torch.allclose(three_quarters.pooled, torch.full((1, 3), 3.5))  # half-way from waypoint to target
    beyond = along_path(source, [middle, target], 1.5)  # outside [0, 1]: the straight line
    assert torch.allclose(beyond.tokens, torch.full((1, 2, 3), 3.0))
    # two attributes add their offsets; without waypoints this is EMS's linear manipulation, bit for bit
    other = embedding(1.0)
    both = manipulate_paths(source, [[middle, target], [other]], [0.5, 0.5])
    assert torch.allclose(both.tokens, torch.full((1, 2, 3), 5.5))
    plain = manipulate(source, [target, other], [0.3, 0.6])
    assert torch.equal(plain.tokens, (source + (target - source) * 0.3 + (other - source) * 0.6).tokens)


# ----- several attributes at once: multilinear composition -------------------------------------------------
from ems_core.extract import Attribute, combined_prompt  # noqa: E402
from ems_core.manipulate import along_path, manipulate_multilinear, segment  # noqa: E402


def test_combined_prompt_applies_every_phrase_at_once_or_says_it_cannot():
    colour, size = Attribute("colour", "red", "blue"), Attribute("size", "large", "small", via=("medium",))
    assert combined_prompt("a large red circle", [colour, size], [1, 2]) == "a small blue circle"
    assert combined_prompt("a Large red circle", [colour, size], [0, 0]) == "a Large red circle"  # knot 0: as written
    assert combined_prompt("a large red circle", [colour, Attribute("c2", "red circle", "star")], [1, 1]) is None
    assert combined_prompt("a large red circle", [colour, Attribute("w", "", "a dog", full_prompt=True)], [1, 1]) is None
    assert combined_prompt("a large red circle", [colour, Attribute("bg", "white", "black")], [1, 1]) is None


def test_segment_places_a_degree_on_its_path():
    assert segment(0.0, 2) == (0, 0.0) and segment(0.25, 2) == (0, 0.5) and segment(1.0, 2) == (1, 1.0)
    assert segment(1.5, 2) == (0, 1.5) and segment(-0.5, 1) == (0, -0.5)  # outside [0, 1]: the straight line


def _corner_table(n_knots: list[int], dim: int = 4):
    import itertools

    generator = torch.Generator().manual_seed(0)
    table = {index: PromptEmbedding(torch.randn(1, 3, dim, generator=generator), torch.randn(1, dim, generator=generator))
             for index in itertools.product(*(range(k + 1) for k in n_knots))}
    return table, table.__getitem__


def test_multilinear_is_exact_at_every_corner_and_bilinear_between():
    table, corner = _corner_table([1, 2])
    for index, expected in table.items():
        degrees = [index[0] / 1, index[1] / 2]
        got = manipulate_multilinear(corner, [1, 2], degrees)
        assert torch.equal(got.tokens, expected.tokens) and torch.equal(got.pooled, expected.pooled)
    middle = manipulate_multilinear(corner, [1, 2], [0.5, 0.25])  # half-way on both first segments
    mean = (table[(0, 0)] + table[(1, 0)] + table[(0, 1)] + table[(1, 1)]) * 0.25
    assert torch.allclose(middle.tokens, mean.tokens) and torch.allclose(middle.pooled, mean.pooled)


def test_multilinear_with_one_attribute_is_along_path():
    table, corner = _corner_table([3])
    path = [table[(1,)], table[(2,)], table[(3,)]]
    for degree in (-0.5, 0.2, 0.5, 0.9, 1.7):
        got = manipulate_multilinear(corner, [3], [degree])
        expected = along_path(table[(0,)], path, degree)
        assert torch.allclose(got.tokens, expected.tokens, atol=1e-6)
