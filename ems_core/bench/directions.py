"""Latent directions on the bundled world, measured with its oracle: what each direction changes, whether it
transfers to other scenes, and text directions (T-LOCO, HSDS) against EMS on the same edit cases.

How a direction's effect is read: the image is rendered at strengths ``lambda`` (latent units of the unit
vector) and each render measured by the oracle. Every attribute gets one signed number per render, in *band
units* (one unit = the distance between neighbouring caption words):

==========  ===========================================  =========
attribute   value                                        one unit
==========  ===========================================  =========
size        measured size (fraction of the side)         0.07
x, y        measured centroid (fraction of the side)     0.175
colour      hue of the object colour (HSV, degrees)      45 deg (8 named colours around the wheel)
background  brightness of the background (mean RGB/255)  0.3
shape       1 where the shape word differs from lambda=0 1 (unsigned)
==========  ===========================================  =========

The *response* of an attribute is the least-squares slope of its value over ``lambda`` times the largest
``|lambda|`` (the change from 0 to the end of the range, in band units; renders where the oracle finds no
object are left out, and count as ``lost``); for shape it is the share of renders whose word changed. A
direction's *attribute* is the one with the largest ``|response|``, its *sign* that response's sign.
"""

from __future__ import annotations

import colorsys
import math
import random
import statistics
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..backends.contract import Backend
from ..config import EditConfig
from ..directions import Direction
from ..edit_directions import discover_directions, render_directions, text_direction
from ..metrics import summarise
from ..session import EditSession
from ..world.edits import EditCase
from ..world.oracle import Measurement, measure
from ..world.scene import Scene, caption_of, random_scene, render
from .edits import case_session, judge

__all__ = ["BAND_UNITS", "SIGNED_ATTRIBUTES", "Response", "aligned_transfer", "attribute_values", "direction_response",
           "discover_on_scene", "evaluate_text_directions", "far_edit", "random_scenes", "shifted", "text_transfer",
           "transfer", "world_sessions"]

BAND_UNITS = {"size": 0.07, "x": 0.175, "y": 0.175, "colour": 45.0, "background": 0.3, "shape": 1.0}


def attribute_values(m: Measurement) -> dict[str, float]:
    """The signed value of each continuous attribute (module docstring); NaN where no object is found."""
    nan = float("nan")
    hue = colorsys.rgb_to_hsv(*(c / 255.0 for c in m.object_rgb))[0] * 360.0 if m.found else nan
    return {"size": m.size if m.found else nan, "x": m.x if m.found else nan, "y": m.y if m.found else nan,
            "colour": hue, "background": float(np.mean(m.background_rgb)) / 255.0}


@dataclass(frozen=True)
class Response:
    """How one direction changed one image over a range of strengths."""

    strengths: tuple[float, ...]
    changes: dict[str, float]  # attribute -> response in band units (module docstring)
    words: list[dict[str, str]]  # the oracle's words per strength
    lost: int  # renders where the oracle found no object

    @property
    def attribute(self) -> str:
        return max(self.changes, key=lambda name: abs(self.changes[name]))

    @property
    def sign(self) -> int:
        return 1 if self.changes[self.attribute] >= 0 else -1

    def to_dict(self) -> dict:
        return {"attribute": self.attribute, "sign": self.sign, "lost": self.lost,
                "changes": {k: round(v, 3) for k, v in self.changes.items()},
                "words_at_ends": [self.words[0], self.words[-1]]}


def _response(measurements: list[Measurement], strengths: list[float]) -> Response:
    zero = strengths.index(0.0)
    values = [attribute_values(m) for m in measurements]
    reference = values[zero]
    span = max(abs(s) for s in strengths)
    changes = {}
    for name in ("size", "x", "y", "colour", "background"):
        points = [(s, v[name]) for s, v in zip(strengths, values) if math.isfinite(v[name])]
        if name == "colour" and math.isfinite(reference[name]):  # hue differences on the circle
            points = [(s, (h - reference[name] + 180.0) % 360.0 - 180.0) for s, h in points]
        if len(points) < 2:
            changes[name] = 0.0
            continue
        x, y = np.array(points).T
        slope = float(np.polyfit(x, y, 1)[0])
        changes[name] = slope * span / BAND_UNITS[name]
    shapes = [m.words["shape"] for m in measurements]
    changes["shape"] = sum(w != shapes[zero] for w in shapes) / max(len(shapes) - 1, 1)
    return Response(tuple(strengths), changes, [m.words for m in measurements],
                    sum(not m.found for m in measurements))


def direction_response(session: EditSession, direction: Direction, strengths: list[float],
                       config: EditConfig | None = None) -> Response:
    """Render ``session``'s image at each strength along ``direction`` and read the response."""
    results = render_directions(session, [direction], [[s] for s in strengths], config)
    return _response([measure(r.image) for r in results], list(strengths))


def world_sessions(backend: Backend, scenes: list[Scene], config: EditConfig) -> list[EditSession]:
    return [EditSession(backend, render(s), prompt=caption_of(s), config=config) for s in scenes]


def discover_on_scene(backend: Backend, scene: Scene, config: EditConfig, k: int, region: str, null_rank: int,
                      strengths: list[float], seed: int = 0, **options) -> tuple[list[Direction], dict]:
    """LOCO directions of one scene and what each changes there. Returns the directions and a report."""
    session = world_sessions(backend, [scene], config)[0]
    session.prepare(config)  # the inversion is part of any edit; the timing below is the discovery alone
    started = time.perf_counter()
    directions, report = discover_directions(session, k, region, null_rank, config, seed, **options)
    seconds = time.perf_counter() - started
    responses = [direction_response(session, d, strengths, config) for d in directions]
    return directions, {"caption": caption_of(scene), "region": region, "null_rank": null_rank, "k": k,
                        "seconds": round(seconds, 2), "iterations": report["iterations"],
                        "converged": report["converged"], "products": report["products"],
                        "final_movement": report["movement"][-1] if report["movement"] else None,
                        "singular_values": [round(s, 4) for s in report["singular_values"]],
                        "directions": [r.to_dict() for r in responses]}


def transfer(directions: list[Direction], sources: list[dict], sessions: list[EditSession], strengths: list[float],
             config: EditConfig) -> list[dict]:
    """Apply each direction to every session; count the images where it changes the same attribute (the largest
    response) with the same sign as on its own scene (``sources``: the ``directions`` entries of the report),
    and, more leniently, where that attribute moves by at least 0.1 band units the same way."""
    rows = []
    for direction, source in zip(directions, sources):
        responses = [direction_response(s, direction, strengths, config) for s in sessions]
        same = sum(int(r.attribute == source["attribute"] and r.sign == source["sign"]) for r in responses)
        same_sign = sum(int(r.changes[source["attribute"]] * source["sign"] >= 0.1) for r in responses)
        rows.append({"attribute": source["attribute"], "sign": source["sign"], "scenes": len(sessions),
                     "same_attribute_and_sign": same, "same_sign_on_that_attribute": same_sign,
                     "attributes_found": [r.attribute for r in responses]})
    return rows


def shifted(direction: Direction, dy: int, dx: int) -> Direction:
    """``direction`` moved by ``dy`` rows and ``dx`` columns of its latent grid (what leaves the grid is dropped,
    nothing wraps around), rescaled to unit norm.

        >>> import torch
        >>> d = Direction(torch.zeros(1, 4, 4).index_put_((torch.tensor(0), torch.tensor(1), torch.tensor(1)),
        ...               torch.tensor(1.0)), "m", 0.5, "loco")
        >>> shifted(d, 2, -1).vector[0].nonzero().tolist()
        [[3, 0]]
    """
    vector = direction.vector
    h, w = vector.shape[-2:]
    moved = torch.zeros_like(vector)
    moved[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        vector[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    norm = moved.norm()
    if norm == 0:
        raise ValueError(f"shifted by ({dy}, {dx}) cells the direction leaves its {h}x{w} grid")
    return replace(direction, vector=moved / norm)


def aligned_transfer(directions: list[Direction], sources: list[dict], scene: Scene, scenes: list[Scene],
                     sessions: list[EditSession], strengths: list[float], config: EditConfig) -> list[dict]:
    """:func:`transfer`, each direction first moved onto each other scene's object: :func:`shifted` by the
    latent cells between the two objects' centres (``scene`` the directions were found on; ``scenes`` those of
    ``sessions``)."""
    rows = [{"attribute": s["attribute"], "sign": s["sign"], "scenes": 0, "same_attribute_and_sign": 0,
             "same_sign_on_that_attribute": 0, "attributes_found": []} for s in sources]
    for other, session in zip(scenes, sessions):
        h, w = directions[0].vector.shape[-2:]
        dy, dx = round((other.y - scene.y) * h), round((other.x - scene.x) * w)
        moved = [shifted(d, dy, dx) for d in directions]
        for row, one in zip(rows, transfer(moved, sources, [session], strengths, config)):
            for key in ("scenes", "same_attribute_and_sign", "same_sign_on_that_attribute", "attributes_found"):
                row[key] += one[key]
    return rows


def evaluate_text_directions(backend: Backend, cases: list[EditCase], config: EditConfig, method: str,
                             multipliers: list[float], **options) -> dict:
    """For each case, the text direction of its edit and renders at ``multiplier * unit_strength``.

    Returns per multiplier the shares of success / preservation / both (the judging of
    :mod:`ems_core.bench.edits`) and ``both`` per attribute, with the p50 time to find a direction.
    """
    outcomes: dict[float, list] = {m: [] for m in multipliers}
    by_attribute: dict[float, dict[str, list]] = {m: {} for m in multipliers}
    seconds, units = [], []
    for case in cases:
        session = case_session(backend, case, config)
        session.prepare(config)
        attribute = case.as_attribute()
        started = time.perf_counter()
        direction = text_direction(session, method, attribute.source, attribute.target, config=config, **options)
        seconds.append(time.perf_counter() - started)
        units.append(direction.unit_strength)
        results = render_directions(session, [direction], [[m * direction.unit_strength] for m in multipliers],
                                    config)
        for m, result in zip(multipliers, results):
            outcome = judge(case, measure(result.image).words)
            outcomes[m].append(outcome)
            by_attribute[m].setdefault(case.attribute, []).append(outcome)
    return {"method": method, "options": options, "cases": len(cases),
            "direction_s_p50": round(statistics.median(seconds), 3),
            "unit_strength_median": round(statistics.median(units), 2),
            "by_multiplier": {str(m): {**summarise(outcomes[m]),
                                       "both_by_attribute": {a: summarise(o)["both"]
                                                             for a, o in by_attribute[m].items()}}
                              for m in multipliers}}


#: Attributes whose edit has a sign on the response's scale (colour is circular, shape unordered).
SIGNED_ATTRIBUTES = ("size", "x", "y", "background")


def far_edit(scene: Scene, attribute: str) -> EditCase:
    """The edit of ``attribute`` to the word farthest from the scene's on the response's scale: the other end of
    size, x or y (the middle word goes up), or the background whose brightness differs most."""
    from ..world.bands import far_end
    from ..world.edits import CHOICES
    from ..world.scene import BACKGROUNDS

    if attribute not in SIGNED_ATTRIBUTES:
        raise ValueError(f"{attribute!r} has no signed scale; choose one of {', '.join(SIGNED_ATTRIBUTES)}")
    word = scene.words[attribute]
    if attribute == "background":
        brightness = {name: float(np.mean(rgb)) for name, rgb in BACKGROUNDS.items()}
        return EditCase(scene, attribute, max(BACKGROUNDS, key=lambda name: abs(brightness[name] - brightness[word])))
    return EditCase(scene, attribute, far_end(CHOICES[attribute], word)[0])


def text_transfer(backend: Backend, scene: Scene, sessions: list[EditSession], config: EditConfig, attribute: str,
                  method: str = "sds", multiples: tuple[float, ...] = (-2.0, -1.0, 0.0, 1.0, 2.0)) -> dict:
    """A text direction for :func:`far_edit` of ``attribute`` on ``scene``, read there and on every session at
    ``multiples`` of its unit strength: :func:`transfer`'s counts against the source's own attribute and sign."""
    case = far_edit(scene, attribute)
    session = case_session(backend, case, config)
    session.prepare(config)
    edit = case.as_attribute()
    direction = text_direction(session, method, edit.source, edit.target, config=config)
    strengths = [m * direction.unit_strength for m in multiples]
    own = direction_response(session, direction, strengths, config).to_dict()
    moved = transfer([direction], [own], sessions, strengths, config)[0]
    return {"method": method, "attribute": attribute, "edit": f"{case.source_word} -> {case.target_word}",
            "unit_strength": round(direction.unit_strength, 3), "on_source": own, "transfer": moved}


def random_scenes(n: int, seed: int) -> list[Scene]:
    rng = random.Random(seed)
    return [random_scene(rng) for _ in range(n)]

