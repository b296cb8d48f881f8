"""Slider-move latency: what a user waits for, move by move, on one backend.

One run interleaves, ``repeats`` times each: a cached move (a new degree on a prepared session), a
preview move (the preview settings' own session), a revisit (a degree already rendered: memoised) and a
full re-edit without any cache (a new session: encode, embed, invert, render). A first move (prepare +
render) is timed once at the start.

Then rendering ahead (what the app does while a user is idle, :mod:`ems_core.anticipate`), ``repeats`` times: a
move to a random slider position, the :data:`~ems_core.anticipate.ANTICIPATED_POSITIONS` positions around it
rendered ahead (timed per position), then a *nudge*: a move to a random position within that window (+-0.6),
timed (a memo hit). How often a uniformly random next position anywhere on the slider was rendered ahead is
reported too (``ahead_hit_rate_anywhere``): the window covers 24 of the slider's 60 other positions.

Last, the first move of a new image with a *calibrated* slider, the app's default (:mod:`ems_core.calibration`):
the source path, the slider's calibration (a 9-degree batch) and the move. Every other row maps degrees directly;
the app pays this once per image and attribute, in the background while the user looks at a newly opened image.
"""

from __future__ import annotations

import random
import resource
import statistics
import time
from dataclasses import dataclass

import torch

from ..backends.contract import Backend
from ..anticipate import ANTICIPATED_POSITIONS, SLIDER_STEP, neighbour_positions
from ..config import DEGREE_RANGE, EditConfig, preview_config
from ..session import EditSession
from .world_model import world_of

__all__ = ["LatencyReport", "measure_latency"]


@dataclass(frozen=True)
class LatencyReport:
    """Milliseconds per kind of move (p50 / p95), NFE per move, and the machine's state."""

    first_move_ms: float
    first_move_prepare_nfe: int
    move_p50_ms: float
    move_p95_ms: float
    preview_p50_ms: float
    revisit_p50_ms: float
    full_reedit_p50_ms: float
    nfe_per_move: int  # the most one cached move cost (more between two phrases with blend="velocity")
    nfe_preview: int  # the same for a preview
    nfe_revisit: int
    ahead_ms_per_position: float  # rendering one position ahead (idle time, not a wait)
    nudge_p50_ms: float  # a move within the window rendered ahead
    nfe_nudge: int
    ahead_hit_rate_anywhere: float  # share of uniformly random next positions that were rendered ahead
    first_calibrated_ms: float  # a new image's first move with a calibrated slider (the app's default), fit included
    first_calibrated_nfe: int  # its row-evaluations: the source path, the calibration's batch and the move
    peak_rss_mb: float
    threads: int
    repeats: int
    model: str

    @property
    def speedup(self) -> float:
        """A full re-edit's time over a cached move's (same run)."""
        return self.full_reedit_p50_ms / self.move_p50_ms

    def to_dict(self) -> dict:
        return {**{k: (round(v, 1) if isinstance(v, float) else v) for k, v in self.__dict__.items()},
                "speedup": round(self.speedup, 1)}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _scene_session(backend: Backend, config: EditConfig, seed: int) -> tuple[EditSession, str]:
    """A session on a render of the backend's world (shapes for any other backend), resized to the backend's
    resolution, with the world's demo slider (its captioner's ``demo_attribute``) towards its preset's default
    target."""
    world = world_of(backend)
    image, caption = world.sample(random.Random(seed))
    session = EditSession(backend, image.resize((backend.info.image_size,) * 2), prompt=caption, config=config)
    name = world.captioner.demo_attribute
    preset = next(p for p in world.captioner().attribute_presets(caption) if p.name == name)
    session.configure(session.source_prompt, [preset.attribute()])
    return session, name


def measure_latency(backend: Backend, repeats: int = 20, config: EditConfig | None = None,
                    seed: int = 0) -> LatencyReport:
    """Time the kinds of move (module docstring) with the backend's edit settings unless ``config``."""
    config = config or backend.info.edit_config
    preview = preview_config(config, backend.info.default_steps)
    rng = random.Random(seed)

    def fresh_degree() -> float:
        return round(rng.uniform(-0.5, 1.5), 4)

    started = time.perf_counter()
    session, name = _scene_session(backend, config, seed)
    first = session.render({name: fresh_degree()})
    first_ms = (time.perf_counter() - started) * 1000
    preview_session, _ = _scene_session(backend, config, seed)
    preview_session.render({name: 0.0}, preview)  # its own inversion, paid once like the first move
    seen = [next(iter(first.degrees.values()))]
    moves, previews, revisits, reedits = [], [], [], []
    move_nfe = preview_nfe = revisit_nfe = 0
    for i in range(repeats):
        result = session.render({name: fresh_degree()})
        moves.append(result.timings_ms["prepare"] + result.timings_ms["render"])
        move_nfe = max(move_nfe, result.nfe)  # between two phrases a velocity blend costs more
        seen.append(next(iter(result.degrees.values())))

        result = preview_session.render({name: fresh_degree()}, preview)
        previews.append(result.timings_ms["prepare"] + result.timings_ms["render"])
        preview_nfe = max(preview_nfe, result.nfe)

        result = session.render({name: seen[i]})
        revisits.append(result.timings_ms["prepare"] + result.timings_ms["render"])
        revisit_nfe = result.nfe

        tick = time.perf_counter()
        cold, _ = _scene_session(backend, config, seed)
        cold.render({name: fresh_degree()})
        reedits.append((time.perf_counter() - tick) * 1000)
    ahead, nudges, nudge_nfe, hits = [], [], 0, 0
    grid = neighbour_positions(DEGREE_RANGE[0] - 1.0, SLIDER_STEP, DEGREE_RANGE)  # every slider position
    for _ in range(repeats):
        position = rng.choice(grid)
        session.render({name: position})
        window = neighbour_positions(position, limit=ANTICIPATED_POSITIONS)
        for neighbour in window:
            tick = time.perf_counter()
            if session.memoised({name: neighbour}) is None:
                session.render({name: neighbour})
                ahead.append((time.perf_counter() - tick) * 1000)
        result = session.render({name: rng.choice(window)})
        nudges.append(result.timings_ms["prepare"] + result.timings_ms["render"])
        nudge_nfe = max(nudge_nfe, result.nfe)
        anywhere = rng.choice([g for g in grid if g != position])
        hits += int(anywhere in window)
    tick = time.perf_counter()  # what the app's first move of an image costs unless it was warmed up while idle
    calibrated, _ = _scene_session(backend, config, seed + 1)
    calibrated.render(calibrated.calibrated_degrees({name: fresh_degree()}))
    first_calibrated_ms = (time.perf_counter() - tick) * 1000
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return LatencyReport(
        first_move_ms=first_ms, first_move_prepare_nfe=first.prepare_nfe,
        move_p50_ms=statistics.median(moves), move_p95_ms=_p(moves, 0.95),
        preview_p50_ms=statistics.median(previews), revisit_p50_ms=statistics.median(revisits),
        full_reedit_p50_ms=statistics.median(reedits), nfe_per_move=move_nfe, nfe_preview=preview_nfe,
        nfe_revisit=revisit_nfe, ahead_ms_per_position=statistics.median(ahead) if ahead else 0.0,
        nudge_p50_ms=statistics.median(nudges), nfe_nudge=nudge_nfe, ahead_hit_rate_anywhere=hits / repeats,
        first_calibrated_ms=first_calibrated_ms, first_calibrated_nfe=calibrated.total_nfe,
        peak_rss_mb=peak_rss, threads=torch.get_num_threads(), repeats=repeats,
        model=backend.info.name)
