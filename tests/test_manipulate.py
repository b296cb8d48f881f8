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
