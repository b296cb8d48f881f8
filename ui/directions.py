"""One user's latent-direction sliders, kept in the workspace: no gradio here, so it is tested directly.

A :class:`DirectionSliders` holds up to :data:`MAX_DIRECTIONS` directions (:class:`ems_core.directions.Direction`)
and, for each, what one slider unit means in latent units (its ``scale``). They come from three places:

- **discover** (LOCO): the top-``k`` directions of the image's PMP Jacobian at its inversion, optionally
  restricted to the object or the background (bundled world: from its oracle). A discovered direction's slider
  unit (:func:`loco_unit`) is a fraction of the inverted latent's norm, smaller for a direction of higher
  gain ``||J v||``, written into its provenance as ``unit_strength`` so that a saved file means the same on any image;
- **text** (SDS, T-LOCO or HSDS) from one attribute row's source and target phrases: a slider unit is the direction's
  ``unit_strength`` (a degree of 1, :mod:`ems_core.directions.text`);
- **loaded** from a ``.safetensors`` file or the server's direction library (a transfer: found on another image).

Sliders stay when the user opens another image (the directions transfer; their thumbnails are redrawn for the
new image on request). The composed move ``z_t0' = z_t0 + sum_k s_k scale_k v_k`` renders through
:func:`ems_core.edit_directions.render_directions` on the workspace's full-quality session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ems_core import EditConfig, EditSession, RenderResult
from ems_core.directions import Direction, load_direction, save_direction
from ems_core.edit_directions import (TEXT_METHODS, check_applicable, discover_directions, image_hash, regions_of,
                                      render_directions, text_direction)
from ems_core.images import horizontal_strip
from ems_core.session import Progress

__all__ = ["DIRECTION_RANGE", "LOCO_PMP_FRACTION", "LOCO_UNIT_FRACTION", "MAX_DIRECTIONS", "METHOD_NAMES",
           "DirectionSlider", "DirectionSliders", "loco_unit"]

MAX_DIRECTIONS = 6  # direction sliders the page can show
DIRECTION_RANGE = (-2.0, 2.0)  # slider units (see the module docstring)
LOCO_UNIT_FRACTION = 0.4  # the largest slider unit of a discovered direction: this fraction of ||z_t0|| (about 18 on
# the bundled shapes model, whose directions change size or position visibly from about 10: docs/method.md)
LOCO_PMP_FRACTION = 1.0  # ... and below that, strength 1 moves the linearised PMP by this fraction of ||z_t0||
METHOD_NAMES = {"loco": "LOCO", "sds": "SDS", "tloco": "T-LOCO", "hsds": "HSDS"}
THUMBNAIL_STRENGTH = 1.0  # the thumbnails show each direction at -1 and +1 slider units


def loco_unit(latent_norm: float, gain: float | None) -> float:
    """What slider unit 1 means for a LOCO direction, in latent units: ``min(LOCO_UNIT_FRACTION, LOCO_PMP_FRACTION /
    gain) * ||z_t0||``, ``gain = ||J v||`` on the whole image's PMP (the singular value without a region). The PMP
    moves by ``gain * lambda`` (LOCO's local linearity), so a high-gain direction gets a smaller unit: on the factor-4
    portrait model (gains 7-31 at ``t0`` 0.95) the fixed 0.4 ``||z_t0||`` painted blotches where about 0.03
    ``||z_t0||`` recolours the background cleanly (docs/method.md). Without a gain (a file from elsewhere) the unit is
    the fixed fraction."""
    if gain is None or not gain > 0:
        return LOCO_UNIT_FRACTION * latent_norm
    return min(LOCO_UNIT_FRACTION, LOCO_PMP_FRACTION / gain) * latent_norm


def _gain(direction: Direction) -> float | None:
    """``||J v||`` recorded at discovery (:func:`ems_core.edit_directions.discover_directions`), else the singular
    value."""
    return direction.provenance.get("gain", direction.provenance.get("singular_value"))


@dataclass(frozen=True)
class DirectionSlider:
    """One direction and what a slider unit means for it (latent units)."""

    direction: Direction
    scale: float

    @property
    def label(self) -> str:
        """"LOCO #2 (object, sigma 1.49)", "T-LOCO colour: red -> blue", "HSDS ... (loaded)"."""
        d, p = self.direction, self.direction.provenance
        method = METHOD_NAMES.get(d.method, d.method)
        if d.method == "loco":
            region = p.get("mask", "none")
            where = "whole image" if region in ("none", None) else str(region)
            text = f"{method} #{int(p.get('k_index', 0)) + 1} ({where}, σ {float(p.get('singular_value', 0)):.2f})"
        else:
            text = f"{method} {p.get('attribute', 'edit')}: {p.get('source', '?')} → {p.get('target', '?')}"
        return text + (" · loaded" if p.get("loaded") else "")

    def found_on(self, image: Image.Image) -> bool:
        """Whether the direction was found on ``image`` (else it is a transfer)."""
        return self.direction.provenance.get("source_sha256") == image_hash(image)


@dataclass
class DirectionSliders:
    """The direction sliders of one workspace, in order."""

    sliders: list[DirectionSlider] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sliders)

    def _room(self, wanted: int = 1) -> None:
        if len(self.sliders) + wanted > MAX_DIRECTIONS:
            raise ValueError(f"at most {MAX_DIRECTIONS} direction sliders: remove one first")

    # ----- where directions come from ------------------------------------------------------------
    def discover(self, session: EditSession, config: EditConfig, k: int, region: str = "none",
                 progress: Progress | None = None, painted: np.ndarray | None = None) -> dict:
        """LOCO: replace the sliders discovered earlier by the top-``k`` directions of this image (sliders that
        were loaded or built from text stay). Returns the subspace iteration's report."""
        kept = [s for s in self.sliders if s.direction.method != "loco" or s.direction.provenance.get("loaded")]
        if not 1 <= k <= MAX_DIRECTIONS - len(kept):
            free = MAX_DIRECTIONS - len(kept)
            raise ValueError(f"discover 1 to {free} directions (the page shows {MAX_DIRECTIONS} sliders, "
                             f"{len(kept)} in use)" if free else f"all {MAX_DIRECTIONS} direction sliders are in use: "
                             "remove one first")
        if region not in regions_of(session.backend):
            raise ValueError(f"region {region!r} is not offered for this model; choose one of "
                             f"{', '.join(regions_of(session.backend))}")

        def callback(iteration: int, movement: float) -> None:
            if progress is not None:
                progress(min(0.95, iteration / 30), f"subspace iteration {iteration}: moved {movement:.3g}")

        directions, report = discover_directions(session, k=k, region=region, config=config, callback=callback,
                                                 painted=painted)
        norm = float(session.inversion.norm())
        units = [loco_unit(norm, _gain(d)) for d in directions]
        found = [DirectionSlider(_with(d, unit_strength=unit), unit) for d, unit in zip(directions, units)]
        self.sliders = kept + found
        return report

    def add_text(self, session: EditSession, config: EditConfig, method: str, name: str, source: str, target: str,
                 full_prompt: bool = False, region: str = "none", painted: np.ndarray | None = None) -> DirectionSlider:
        """An SDS, T-LOCO or HSDS direction from an attribute row's text pair; one slider unit is a degree of 1."""
        if method not in TEXT_METHODS:
            raise ValueError(f"unknown text method {method!r}; choose one of {', '.join(TEXT_METHODS)}")
        self._room()
        direction = text_direction(session, method, source, target, full_prompt, region, config=config,
                                   painted=painted)
        direction = _with(direction, attribute=name)
        slider = DirectionSlider(direction, direction.unit_strength)
        self.sliders.append(slider)
        return slider

    def add_file(self, session: EditSession, config: EditConfig, path: str | Path) -> DirectionSlider:
        """A saved direction (a ``.safetensors`` file), checked against this image's model and noise level."""
        self._room()
        direction = load_direction(path)
        check_applicable(session, direction, config)
        direction = _with(direction, loaded=True)
        scale = direction.unit_strength
        if "unit_strength" not in direction.provenance:  # a CLI file in latent units: size it like a discovery
            session.prepare(config.with_(sampler="inversion"))
            scale = loco_unit(float(session.inversion.norm()), _gain(direction))
        slider = DirectionSlider(direction, scale)
        self.sliders.append(slider)
        return slider

    def remove(self, index: int) -> None:
        if not 0 <= index < len(self.sliders):
            raise ValueError(f"no direction slider {index + 1}")
        del self.sliders[index]

    def save(self, index: int, folder: Path) -> Path:
        """Write slider ``index``'s direction to ``folder`` (a file named after its method and index)."""
        if not 0 <= index < len(self.sliders):
            raise ValueError(f"no direction slider {index + 1}")
        direction = self.sliders[index].direction
        provenance = {k: v for k, v in direction.provenance.items() if k != "loaded"}
        name = f"direction-{index + 1}-{direction.method}.safetensors"
        return save_direction(_with(direction, replace=provenance), folder / name)

    # ----- rendering ----------------------------------------------------------------------------
    def strengths(self, values: list[float]) -> list[float]:
        """Latent strengths ``s_k scale_k`` of slider values (one per slider, each in :data:`DIRECTION_RANGE`)."""
        if len(values) != len(self.sliders):
            raise ValueError(f"one value per direction slider: {len(self.sliders)} sliders, {len(values)} values")
        low, high = DIRECTION_RANGE
        for index, value in enumerate(values, 1):
            if not low <= value <= high:
                raise ValueError(f"direction slider {index} must be in [{low:g}, {high:g}], got {value:g}")
        return [value * s.scale for value, s in zip(values, self.sliders)]

    def render(self, session: EditSession, config: EditConfig, values: list[float],
               progress: Progress | None = None) -> RenderResult:
        """The image moved along every slider at once: ``z_t0 + sum_k s_k scale_k v_k``, sampled to 0."""
        if not self.sliders:
            raise ValueError("no direction sliders yet: discover directions, add one from an attribute, or load one")
        directions = [s.direction for s in self.sliders]
        return render_directions(session, directions, [self.strengths(values)], config)[0]

    def thumbnails(self, session: EditSession, config: EditConfig) -> list[Image.Image]:
        """Per slider, its direction alone at -1 and +1 slider units side by side (one batch for all)."""
        if not self.sliders:
            return []
        directions = [s.direction for s in self.sliders]
        sets = []
        for index, slider in enumerate(self.sliders):
            for sign in (-1.0, 1.0):
                strengths = [0.0] * len(self.sliders)
                strengths[index] = sign * THUMBNAIL_STRENGTH * slider.scale
                sets.append(strengths)
        results = render_directions(session, directions, sets, config)
        images = [r.image for r in results]
        return [horizontal_strip(images[2 * i: 2 * i + 2]) for i in range(len(self.sliders))]


def _with(direction: Direction, replace: dict | None = None, **fields) -> Direction:
    """``direction`` with its provenance replaced and/or extended (directions are frozen)."""
    provenance = dict(direction.provenance if replace is None else replace)
    provenance.update(fields)
    return Direction(direction.vector, direction.model, direction.noise_level, direction.method, provenance)

