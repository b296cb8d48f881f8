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
