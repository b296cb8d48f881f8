"""Manipulate: linear moves of prompt embeddings by an editing degree (EMS step 2)."""

from __future__ import annotations

import itertools
from typing import Callable

from .embeddings import PromptEmbedding
from .config import DEGREE_RANGE


def check_degree(name: str, degree: float) -> float:
    """Validate one degree against :data:`DEGREE_RANGE` (extrapolation allowed inside it)."""
    low, high = DEGREE_RANGE
    degree = float(degree)
    if not low <= degree <= high:
        raise ValueError(f"degree of {name!r} is {degree}; allowed range is [{low}, {high}]")
    return degree


def along_path(source: PromptEmbedding, path: list[PromptEmbedding], degree: float) -> PromptEmbedding:
    """One attribute's embedding at ``degree`` along ``path = [e_via_1, ..., e_via_m-1, e_tgt]``: piecewise
    linear through the knots ``e(k / m) = path[k - 1]`` (``e(0) = e_src``), so a waypoint is reached exactly at
    its degree; outside [0, 1] the straight line ``e_src + a (e_tgt - e_src)`` (extrapolation as without
    waypoints). With one element this is ``e_src + a (e_tgt - e_src)``."""
    if not path:
        raise ValueError("a path needs at least its target embedding")
    target = path[-1]
    if degree == 0.0:
        return source
    if degree == 1.0:
        return target
    if not 0.0 < degree < 1.0 or len(path) == 1:
        return source + (target - source) * degree
    position = degree * len(path)
    k = int(position)  # segment index: from knot k to knot k + 1
    start = source if k == 0 else path[k - 1]
    local = position - k
    return start if local == 0.0 else start + (path[k] - start) * local


def manipulate_paths(source: PromptEmbedding, paths: list[list[PromptEmbedding]],
                     degrees: list[float]) -> PromptEmbedding:
    """``e(a) = e_src + sum_i (e_i(a_i) - e_src)``, ``e_i`` each attribute's :func:`along_path`.

    The endpoints are exact: all degrees 0 returns ``e_src`` itself, and a single non-zero degree returns that
    attribute's path point itself (degree 1: ``e_tgt_i``, the target prompt; a waypoint's degree: its prompt).
    """
    if len(paths) != len(degrees):
        raise ValueError("one degree per attribute path")
    active = [(path, degree) for path, degree in zip(paths, degrees) if degree != 0.0]
    if len(active) == 1:
        return along_path(source, *active[0])
    result = source
    for path, degree in active:
        straight = len(path) == 1 or not 0.0 < degree < 1.0
        result = result + ((path[-1] - source) * degree if straight else along_path(source, path, degree) - source)
    return result


def manipulate(source: PromptEmbedding, targets: list[PromptEmbedding], degrees: list[float]) -> PromptEmbedding:
    """``e(a) = e_src + sum_i a_i (e_tgt_i - e_src)`` on token and pooled embeddings alike (EMS's
    manipulation; :func:`manipulate_paths` with no waypoints).

    The endpoints are exact: all degrees 0 returns ``e_src`` itself, and a single degree of 1 (the
    rest 0) returns that ``e_tgt_i`` itself, so degree 1 *is* the target prompt.
    """
    if len(targets) != len(degrees):
        raise ValueError("one degree per target embedding")
    return manipulate_paths(source, [[target] for target in targets], degrees)


def segment(degree: float, knots: int) -> tuple[int, float]:
    """Where ``degree`` lies on a path of ``knots`` segments (``len(via) + 1``): ``(k, f)``, between knot ``k`` and
    ``k + 1`` at fraction ``f`` (knot 0 is the source, knot ``knots`` the target). Outside [0, 1] the one straight
    segment from source to target, ``(0, degree)`` over ``knots = 1`` (extrapolation as :func:`along_path`)."""
    if not 0.0 <= degree <= 1.0:
        return 0, degree
    position = degree * knots
    k = min(int(position), knots - 1)
    return k, position - k


def manipulate_multilinear(corner: Callable[[tuple[int, ...]], PromptEmbedding], knots: list[int],
                           degrees: list[float]) -> PromptEmbedding:
    """Multilinear composition of several attributes:

        e(a) = sum over c in {0,1}^n of prod_i w_i(c_i) E(k_1 + c_1, ..., k_n + c_n)

    with ``(k_i, f_i) = segment(a_i)``, ``w_i(0) = 1 - f_i``, ``w_i(1) = f_i`` and ``E(j_1, ..., j_n)`` the
    embedding of the prompt with every attribute at its knot ``j_i`` at once (``corner``; knots on an
    extrapolated straight segment are 0 and the target). One attribute: exactly :func:`along_path`. Every corner
    of the degree grid is its combined prompt: degrees (1, 1) render the prompt with both edits, where the sum
    ``e_src + (e_1 - e_src) + (e_2 - e_src)`` only approximates it (docs/method.md, "Two sliders at once").
    """
    if len(knots) != len(degrees):
        raise ValueError("one knot count per degree")
    placed = []
    for count, degree in zip(knots, degrees):
        k, f = segment(degree, count)
        straight = not 0.0 <= degree <= 1.0
        placed.append((k, f, count if straight else None))  # straight: from knot 0 to the target knot
    result = None
    for choice in itertools.product((0, 1), repeat=len(placed)):
        weight, index = 1.0, []
        for (k, f, target), c in zip(placed, choice):
            weight *= f if c else 1.0 - f
            index.append((target if target is not None else k + 1) if c else k)
        if weight == 0.0:
            continue
        term = corner(tuple(index)) * weight
        result = term if result is None else result + term
    if result is None:  # every weight vanished: cannot happen (they sum to 1), kept for type checkers
        raise ValueError("no corner carries weight")
    return result
