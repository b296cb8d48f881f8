"""Manipulate: linear moves of prompt embeddings by an editing degree (EMS step 2)."""

from __future__ import annotations

from .embeddings import PromptEmbedding
from .config import DEGREE_RANGE


def check_degree(name: str, degree: float) -> float:
    """Validate one degree against :data:`DEGREE_RANGE` (extrapolation allowed inside it)."""
    low, high = DEGREE_RANGE
    degree = float(degree)
    if not low <= degree <= high:
        raise ValueError(f"degree of {name!r} is {degree}; allowed range is [{low}, {high}]")
    return degree


def manipulate(source: PromptEmbedding, targets: list[PromptEmbedding], degrees: list[float]) -> PromptEmbedding:
    """``e(a) = e_src + sum_i a_i (e_tgt_i - e_src)`` on token and pooled embeddings alike.

    The endpoints are exact: all degrees 0 returns ``e_src`` itself, and a single degree of 1 (the
    rest 0) returns that ``e_tgt_i`` itself, so degree 1 *is* the target prompt.
    """
    if len(targets) != len(degrees):
        raise ValueError("one degree per target embedding")
    active = [(target, degree) for target, degree in zip(targets, degrees) if degree != 0.0]
    if len(active) == 1 and active[0][1] == 1.0:
        return active[0][0]
    result = source
    for target, degree in active:
        result = result + (target - source) * degree
    return result
