"""Manipulate: linear moves of prompt embeddings by an editing degree (EMS step 2)."""

from __future__ import annotations

import itertools
from typing import Callable

import torch

from .embeddings import PromptEmbedding
from .config import BLENDS, DEGREE_RANGE


def check_degree(name: str, degree: float) -> float:
    """Validate one degree against :data:`DEGREE_RANGE` (extrapolation allowed inside it)."""
    low, high = DEGREE_RANGE
    degree = float(degree)
    if not low <= degree <= high:
        raise ValueError(f"degree of {name!r} is {degree}; allowed range is [{low}, {high}]")
    return degree


#: An edit as knots and weights: ``e(a) = sum_j w_j E_j`` (the weights sum to 1)
Parts = list[tuple[PromptEmbedding, float]]


def convex_blend(parts: Parts, blend: str = "linear") -> PromptEmbedding:
    """``sum_j w_j E_j`` for weights in [0, 1] that sum to 1 (a point between knots of a slider path).

    ``blend="norm"`` (docs/method.md, "Norm-keeping blends") then rescales every token vector, and the pooled
    vector, to the same blend of the parts' norms, ``sum_j w_j |E_j|``: a linear blend of two different words'
    vectors is shorter than either (``|(a + b) / 2| < |a|`` unless they are parallel), an in-between prompt the
    text encoder never produced. Parts that agree in a slot (the words an edit does not touch) keep it, up to
    rounding. ``blend="velocity"`` blends no embeddings: the parts go to the sampler as they are
    (:class:`~ems_core.embeddings.PromptMixture`)."""
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {blend!r}")
    if blend == "velocity":
        raise ValueError("a velocity blend is no single embedding: sample under its parts (PromptMixture)")
    if not parts:
        raise ValueError("nothing to blend")
    if len(parts) == 1:
        return parts[0][0] if parts[0][1] == 1.0 else parts[0][0] * parts[0][1]
    if len(parts) == 2 and blend == "linear":  # e_a + w (e_b - e_a), the line EMS moves along
        (start, _), (end, weight) = parts
        return start + (end - start) * weight
    mix = None
    for embedding, weight in parts:
        term = embedding * weight
        mix = term if mix is None else mix + term
    if blend == "linear":
        return mix

    def kept(mixed: torch.Tensor, vectors: list[torch.Tensor]) -> torch.Tensor:
        norm = sum(vector.norm(dim=-1, keepdim=True) * weight for vector, (_, weight) in zip(vectors, parts))
        return mixed * (norm / mixed.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(mixed.dtype).tiny))

    return PromptEmbedding(kept(mix.tokens, [e.tokens for e, _ in parts]),
                           kept(mix.pooled, [e.pooled for e, _ in parts]))


def path_parts(source: PromptEmbedding, path: list[PromptEmbedding], degree: float) -> Parts:
    """The knots one attribute's ``e(a)`` blends at ``degree`` along ``path = [e_via_1, ..., e_via_m-1, e_tgt]``
    (``e(k / m) = path[k - 1]``, ``e(0) = e_src``): one knot, weight 1, at a knot's degree; the two around it
    between, weights ``1 - f`` and ``f``; outside [0, 1] the straight line ``e_src + a (e_tgt - e_src)`` as one
    part (extrapolation as without waypoints)."""
    if not path:
        raise ValueError("a path needs at least its target embedding")
    target = path[-1]
    if degree == 0.0:
        return [(source, 1.0)]
    if degree == 1.0:
        return [(target, 1.0)]
    if not 0.0 < degree < 1.0:
        return [(source + (target - source) * degree, 1.0)]
    position = degree * len(path)
    k = int(position)  # segment index: from knot k to knot k + 1
    start = source if k == 0 else path[k - 1]
    local = position - k
    if local == 0.0:
        return [(start, 1.0)]
    return [(start, 1.0 - local), (path[k], local)]


def along_path(source: PromptEmbedding, path: list[PromptEmbedding], degree: float,
               blend: str = "linear") -> PromptEmbedding:
    """One attribute's embedding at ``degree`` along ``path``: piecewise linear through the knots of
    :func:`path_parts`, so a waypoint is reached exactly at its degree; outside [0, 1] the straight line. With one
    element this is ``e_src + a (e_tgt - e_src)``. Between two knots ``blend="norm"`` keeps the blended norms
    (:func:`convex_blend`); extrapolation stays linear."""
    return convex_blend(path_parts(source, path, degree), blend)


def summed_parts(source: PromptEmbedding, paths: list[list[PromptEmbedding]], degrees: list[float]) -> Parts:
    """``e(a) = e_src + sum_i (e_i(a_i) - e_src)`` as knots and weights: ``(1 - n) e_src + sum_i sum_j w_ij E_ij``
    over the ``n`` attributes moved (each :func:`path_parts`; the weights still sum to 1, the source's may be
    negative). A knot met twice (the source, on several first segments) is one part; a part of weight 0 is dropped."""
    if len(paths) != len(degrees):
        raise ValueError("one degree per attribute path")
    active = [(path, degree) for path, degree in zip(paths, degrees) if degree != 0.0]
    if not active:
        return [(source, 1.0)]
    if len(active) == 1:
        return path_parts(source, *active[0])
    weights: dict[int, list] = {id(source): [source, 1.0 - len(active)]}
    for path, degree in active:
        for embedding, weight in path_parts(source, path, degree):
            weights.setdefault(id(embedding), [embedding, 0.0])[1] += weight
    return [(embedding, weight) for embedding, weight in weights.values() if weight != 0.0]


def manipulate_paths(source: PromptEmbedding, paths: list[list[PromptEmbedding]],
                     degrees: list[float], blend: str = "linear") -> PromptEmbedding:
    """``e(a) = e_src + sum_i (e_i(a_i) - e_src)``, ``e_i`` each attribute's :func:`along_path`.

    The endpoints are exact: all degrees 0 returns ``e_src`` itself, and a single non-zero degree returns that
    attribute's path point itself (degree 1: ``e_tgt_i``, the target prompt; a waypoint's degree: its prompt).
    ``blend`` is each path's (:func:`along_path`); the sum over attributes stays linear.
    """
    if len(paths) != len(degrees):
        raise ValueError("one degree per attribute path")
    active = [(path, degree) for path, degree in zip(paths, degrees) if degree != 0.0]
    if len(active) == 1:
        return along_path(source, *active[0], blend=blend)
    result = source
    for path, degree in active:
        straight = len(path) == 1 or not 0.0 < degree < 1.0
        result = result + ((path[-1] - source) * degree if straight
                           else along_path(source, path, degree, blend) - source)
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


def multilinear_parts(corner: Callable[[tuple[int, ...]], PromptEmbedding], knots: list[int],
                      degrees: list[float]) -> tuple[Parts, bool]:
    """The corners :func:`manipulate_multilinear` blends and their weights ``prod_i w_i(c_i)``, and whether the
    blend is convex (every degree in [0, 1]; an extrapolated degree gives negative weights)."""
    if len(knots) != len(degrees):
        raise ValueError("one knot count per degree")
    placed = []
    for count, degree in zip(knots, degrees):
        k, f = segment(degree, count)
        straight = not 0.0 <= degree <= 1.0
        placed.append((k, f, count if straight else None))  # straight: from knot 0 to the target knot
    parts = []
    for choice in itertools.product((0, 1), repeat=len(placed)):
        weight, index = 1.0, []
        for (k, f, target), c in zip(placed, choice):
            weight *= f if c else 1.0 - f
            index.append((target if target is not None else k + 1) if c else k)
        if weight != 0.0:
            parts.append((corner(tuple(index)), weight))
    if not parts:  # every weight vanished: cannot happen (they sum to 1), kept for type checkers
        raise ValueError("no corner carries weight")
    return parts, all(target is None for _, _, target in placed)


def manipulate_multilinear(corner: Callable[[tuple[int, ...]], PromptEmbedding], knots: list[int],
                           degrees: list[float], blend: str = "linear") -> PromptEmbedding:
    """Multilinear composition of several attributes:

        e(a) = sum over c in {0,1}^n of prod_i w_i(c_i) E(k_1 + c_1, ..., k_n + c_n)

    with ``(k_i, f_i) = segment(a_i)``, ``w_i(0) = 1 - f_i``, ``w_i(1) = f_i`` and ``E(j_1, ..., j_n)`` the
    embedding of the prompt with every attribute at its knot ``j_i`` at once (``corner``; knots on an
    extrapolated straight segment are 0 and the target). One attribute: exactly :func:`along_path`. Every corner
    of the degree grid is its combined prompt: degrees (1, 1) render the prompt with both edits, where the sum
    ``e_src + (e_1 - e_src) + (e_2 - e_src)`` only approximates it (docs/method.md, "Two sliders at once").
    With every degree in [0, 1] the weights are a convex blend of the corners, and ``blend="norm"`` keeps their
    norms (:func:`convex_blend`); an extrapolated degree blends linearly.
    """
    parts, convex = multilinear_parts(corner, knots, degrees)
    return convex_blend(parts, blend if convex else "linear")
