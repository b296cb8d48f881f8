"""Latent directions on the portrait world, read with its oracle: the LOCO paper's setting (aligned faces).

A direction is rendered at strengths given as fractions of the inverted latent's norm (``lambda = f ||z_t0||``:
a portrait's ``z_t0`` has norm about 45-60, so 0.4 is a large move). Every portrait attribute gets one signed
number: the least-squares slope of its oracle value over ``f`` times the largest ``|f|``, in *band units* (the
mean distance between neighbouring caption words' band centres: :data:`PORTRAIT_UNITS`). A direction's
attribute is the one with the largest ``|change|``; renders where the oracle finds no face are left out and
counted as ``lost``. Transfer counts, over other portraits, where the same attribute changes most with the same
sign (the directions benchmark's rule for the shapes world, :mod:`ems_core.bench.directions`).
"""

from __future__ import annotations

import math
import random
import time

import numpy as np

from ..backends.contract import Backend
from ..config import EditConfig
from ..directions import Direction
from ..edit_directions import discover_directions, render_directions
from ..session import EditSession

__all__ = ["ORDERED_ATTRIBUTES", "PORTRAIT_UNITS", "discover_on_portrait", "far_end_edit", "portrait_response",
           "portrait_sessions", "portrait_transfer", "slopes"]


def _units() -> dict[str, float]:
    from ..portraits.scene import BANDS

    return {name: float(np.mean(np.diff(sorted((low + high) / 2 for low, high in bands.values()))))
            for name, bands in BANDS.items()}


PORTRAIT_UNITS = _units()

#: Attributes whose caption words are ordered on one scale (the hues are circular: a direction has no sign there).
ORDERED_ATTRIBUTES = ("smile", "eyes", "age", "hair_lightness", "hair_length", "glasses", "face_width", "skin",
                      "background_lightness")


def far_end_edit(caption: str, attribute: str) -> tuple[str, str, int]:
    """The edit of ``attribute`` towards the far end of its scale from ``caption``'s word: (source word, target
    word, sign), sign +1 towards the scale's high end. The middle word goes up."""
    from ..portraits.scene import BANDS, parse_caption
    from ..world.bands import far_end

    if attribute not in ORDERED_ATTRIBUTES:
        raise ValueError(f"{attribute!r} has no ordered scale; choose one of {', '.join(ORDERED_ATTRIBUTES)}")
    word = parse_caption(caption)[attribute]
    target, sign = far_end(list(BANDS[attribute]), word)
    return word, target, sign


def slopes(values: list[dict[str, float] | None], fractions: list[float], units: dict[str, float]) -> dict[str, float]:
    """Per attribute, the least-squares slope over ``fractions`` times the largest ``|fraction|``, in ``units``
    (``None`` values: nothing measured there)."""
    span = max(abs(f) for f in fractions)
    changes = {}
    for name, unit in units.items():
        points = [(f, v[name]) for f, v in zip(fractions, values) if v is not None and math.isfinite(v[name])]
        if len(points) < 2:
            changes[name] = 0.0
            continue
        x, y = np.array(points).T
        changes[name] = float(np.polyfit(x, y, 1)[0]) * span / unit
    return changes


def portrait_sessions(backend: Backend, n: int, seed: int, config: EditConfig) -> list[EditSession]:
    """Sessions on ``n`` random portraits (seeded), captioned by the renderer's own caption."""
    from ..portraits.scene import caption_of, random_portrait, render

    rng = random.Random(seed)
    portraits = [random_portrait(rng) for _ in range(n)]
    return [EditSession(backend, render(p, backend.info.image_size), prompt=caption_of(p), config=config)
            for p in portraits]


def portrait_response(session: EditSession, direction: Direction, fractions: list[float],
                      config: EditConfig) -> dict:
    """Render ``session``'s portrait along ``direction`` at ``fractions`` of ``||z_t0||`` and read the change."""
    from ..portraits.oracle import measure

    session.prepare(config.with_(sampler="inversion"))
    norm = float(session.inversion.norm())
    results = render_directions(session, [direction], [[f * norm] for f in fractions], config)
    measured = [measure(r.image) for r in results]
    changes = slopes([m.values if m.found else None for m in measured], fractions, PORTRAIT_UNITS)
    attribute = max(changes, key=lambda name: abs(changes[name]))
    return {"attribute": attribute, "sign": 1 if changes[attribute] >= 0 else -1,
            "lost": sum(not m.found for m in measured), "changes": {k: round(v, 3) for k, v in changes.items()},
            "images": [r.image for r in results]}


def portrait_transfer(direction: Direction, source: dict, sessions: list[EditSession], fractions: list[float],
                      config: EditConfig, attribute: str | None = None, sign: int | None = None) -> dict:
    """Apply ``direction`` to every session; count where ``attribute`` (default: the source's) changes most with
    ``sign`` (default: the source's), and where it merely moves that way by at least 0.1 band units."""
    attribute, sign = attribute or source["attribute"], sign or source["sign"]
    responses = [portrait_response(s, direction, fractions, config) for s in sessions]
    same = sum(int(r["attribute"] == attribute and r["sign"] == sign) for r in responses)
    moved = sum(int(r["changes"][attribute] * sign >= 0.1) for r in responses)
    return {"attribute": attribute, "sign": sign, "portraits": len(sessions), "same_attribute_and_sign": same,
            "same_sign_on_that_attribute": moved, "attributes_found": [r["attribute"] for r in responses],
            "changes_on_that_attribute": [r["changes"][attribute] for r in responses]}


def discover_on_portrait(session: EditSession, config: EditConfig, k: int, region: str, null_rank: int,
                         fractions: list[float]) -> tuple[list[Direction], dict]:
    """LOCO directions of one portrait (``region``: none, face, eyes, mouth) and what each changes there."""
    session.prepare(config.with_(sampler="inversion"))
    started = time.perf_counter()
    directions, report = discover_directions(session, k, region, null_rank, config)
    seconds = time.perf_counter() - started
    responses = [portrait_response(session, d, fractions, config) for d in directions]
    return directions, {"region": region, "null_rank": null_rank, "k": k, "seconds": round(seconds, 2),
                        "iterations": report["iterations"], "converged": report["converged"],
                        "singular_values": [round(s, 4) for s in report["singular_values"]],
                        "directions": [{k: v for k, v in r.items() if k != "images"} for r in responses]}

