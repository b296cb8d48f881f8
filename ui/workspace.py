"""One user's edit of one image, kept in a ``gr.State``: no gradio here, so it is tested directly.

A :class:`Workspace` holds two :class:`~ems_core.EditSession` objects on the same image and the same
shared backend: ``full`` (the settings of the form, rendered on slider release) and ``preview`` (the
``"preview"`` preset, rendered while dragging). Each session caches its source side (source path or
inversion) per setting, so one session per quality keeps both caches warm. With calibrated sliders (the
default) the form's degrees are slider positions, mapped to degrees by the full session's calibrations.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ems_core import Attribute, AttributePreset, Backend, EditConfig, EditSession, RenderResult
from ems_core.extract import with_waypoints
from ems_core.images import fit_square
from ems_core.config import preview_config
from ems_core.manipulate import check_degree
from ems_core.metrics import psnr
from ems_core.recipe import Recipe
from ems_core.session import MEMO_BYTES, Progress

from .directions import DirectionSliders


@dataclass(frozen=True)
class EditRequest:
    """What the form asks for: the prompt, the attribute rows with their degrees, and the settings.

    Built from whatever the user typed, so nothing is validated on construction: :meth:`validate`
    reports the first problem.
    """

    prompt: str
    attributes: tuple[Attribute, ...]
    degrees: dict[str, float]  # by attribute name
    config: EditConfig
    live_preview: bool = True
    calibrated: bool = True  # degrees are slider positions, mapped by each attribute's calibration

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first problem; called before any session is touched."""
        if not self.prompt.strip():
            raise ValueError("the source prompt is empty: describe the image")
        seen = set()
        for index, attribute in enumerate(self.attributes, 1):
            if not attribute.name:
                raise ValueError(f"attribute row {index} has no name")
            if attribute.name in seen:
                raise ValueError(f"two attribute rows are called {attribute.name!r}")
            seen.add(attribute.name)
            attribute.target_prompt(self.prompt.strip())
            check_degree(attribute.name, self.degrees.get(attribute.name, 0.0))

    def preview_config(self) -> EditConfig:
        """The live-preview settings of this request (:func:`ems_core.config.preview_config`)."""
        return preview_config(self.config, default_steps=20)


@dataclass(frozen=True)
class Move:
    """Cost of one render, as shown to the user."""

    kind: str  # "full" | "preview"
    degrees: dict[str, float]
    prepare_ms: float
    render_ms: float
    nfe: int
    prepare_nfe: int
    cache_hit: bool
    sliders: dict[str, float] | None = None  # slider positions when calibrated (``degrees`` are what rendered)

    @classmethod
    def of(cls, kind: str, result: RenderResult, calibration_ms: float = 0.0, calibration_nfe: int = 0,
           sliders: dict[str, float] | None = None) -> "Move":
        """The move of ``result``; work done before it for this move (fitting a calibration) counts as
        preparation."""
        return cls(kind, dict(result.degrees), result.timings_ms["prepare"] + calibration_ms,
                   result.timings_ms["render"], result.nfe, result.prepare_nfe + calibration_nfe,
                   result.cache_hit and calibration_nfe == 0, sliders)

    @property
    def total_ms(self) -> float:
        return self.prepare_ms + self.render_ms


@dataclass
class Workspace:
    """Per-user state: the image, its sessions, the move log and the last full result."""

    backend: Backend
    model: str
    image: Image.Image  # the source, as the model sees it (square, at its resolution)
    presets: list[AttributePreset] = field(default_factory=list)  # attribute presets from the caption
    base_config: EditConfig = EditConfig()  # fields the form does not show come from here (a recipe's)
    full: EditSession | None = None
    preview: EditSession | None = None
    first_move: Move | None = None
    latest_move: Move | None = None
    latest_preview: Move | None = None
    result: RenderResult | None = None
    result_request: EditRequest | None = None
    scratch: Path | None = None  # this user's files (downloads, animations); removed when the session ends
    directions: DirectionSliders = field(default_factory=DirectionSliders)  # latent-direction sliders
    latest_direction_move: Move | None = None
    # one event of this user at a time, even when the app serves several users' events at once
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @classmethod
    def open(cls, backend: Backend, model: str, image: Image.Image, presets: list[AttributePreset] | None = None,
             base_config: EditConfig = EditConfig()) -> "Workspace":
        return cls(backend, model, fit_square(image, backend.info.image_size), list(presets or []), base_config)

    def __deepcopy__(self, memo: dict) -> "Workspace":  # sessions share the backend (see EditSession)
        import copy

        clone = copy.copy(self)
        clone.full = copy.deepcopy(self.full, memo)
        clone.preview = copy.deepcopy(self.preview, memo)
        clone.presets = copy.deepcopy(self.presets, memo)
        clone.directions = copy.deepcopy(self.directions, memo)
        clone.lock = threading.RLock()
        return clone

    # ----- sessions ------------------------------------------------------------------------------
    def _synced(self, which: str, request: EditRequest) -> EditSession:
        """The ``full`` or ``preview`` session with the request's prompt and attributes."""
        request.validate()
        session = getattr(self, which)
        if session is None:
            session = EditSession(self.backend, self.image, prompt=request.prompt.strip())
            setattr(self, which, session)
        session.configure(request.prompt, self.attributes_of(request))
        return session

    def attributes_of(self, request: EditRequest) -> tuple[Attribute, ...]:
        """The request's attributes with the waypoints of this image's presets (an ordered slider such as
        top -> bottom passes through "middle"): the form's text fields carry none."""
        return with_waypoints(request.attributes, self.presets)

    def _degrees(self, request: EditRequest, progress: Progress | None = None) -> dict[str, float]:
        """The degrees to render: the request's, through the full session's calibrations when the sliders are
        calibrated (fitted on first use of an attribute, with the full settings, for previews too)."""
        sliders = {a.name: request.degrees.get(a.name, 0.0) for a in request.attributes}
        if not request.calibrated:
            return sliders
        return self._synced("full", request).calibrated_degrees(sliders, request.config, progress)

    @staticmethod
    def _sliders(request: EditRequest) -> dict[str, float] | None:
        return {a.name: request.degrees.get(a.name, 0.0) for a in request.attributes} if request.calibrated else None

    def _timed_degrees(self, request: EditRequest,
                       progress: Progress | None) -> tuple[dict[str, float], tuple[float, int]]:
        """:meth:`_degrees` and what fitting calibrations cost on the way: ``(degrees, (ms, evaluations))``."""
        session = self._synced("full", request)
        nfe, started = session.total_nfe, time.perf_counter()
        degrees = self._degrees(request, progress)
        return degrees, ((time.perf_counter() - started) * 1000, session.total_nfe - nfe)

    # ----- actions -------------------------------------------------------------------------------
    def render(self, request: EditRequest, progress: Progress | None = None) -> RenderResult:
        """Full-quality render (slider release); records the first and the latest move."""
        degrees, calibration = self._timed_degrees(request, progress)
        result = self._synced("full", request).render(degrees, request.config, progress)
        move = Move.of("full", result, *calibration, sliders=self._sliders(request))
        self.first_move = self.first_move or move
        self.latest_move = move
        self.result, self.result_request = result, request
        return result

    def render_preview(self, request: EditRequest, progress: Progress | None = None) -> RenderResult | None:
        """Fast render with the preview preset (slider drag); ``None`` when the full-quality result
        of this very request is already there (a preview that reaches the queue after its release). A position
        rendered ahead at full quality (:meth:`anticipate`) is shown instead of a preview, at no cost."""
        if request == self.result_request:
            return None
        degrees, calibration = self._timed_degrees(request, progress)
        ahead = self._synced("full", request).memoised(degrees, request.config)
        if ahead is not None:
            self.latest_preview = Move.of("preview", ahead, *calibration, sliders=self._sliders(request))
            return ahead
        result = self._synced("preview", request).render(degrees, request.preview_config(), progress)
        self.latest_preview = Move.of("preview", result, *calibration, sliders=self._sliders(request))
        self.first_move = self.first_move or self.latest_preview  # it may pay the first-time work
        return result

    def renders_that_fit(self, share: float = 0.5) -> int:
        """How many renders fit in ``share`` of a session's memo (:data:`ems_core.session.MEMO_BYTES`): an image and
        its float32 latent each (rendering ahead never evicts more than that)."""
        c, h, w = self.backend.latent_shape()
        size = self.image.width * self.image.height * 3 + c * h * w * 4
        return max(0, int(share * MEMO_BYTES // size))

    def anticipate(self, request: EditRequest, name: str, position: float, progress: Progress | None = None) -> bool:
        """Render ``request`` with ``name``'s slider at ``position`` into the full session's memo, so that a
        later move there costs nothing; returns whether anything was rendered (``False``: already there). The
        calibration used is the one the request's own render fitted. With live previews, the preview session's
        source side is prepared first (once), so a drag beyond the positions rendered ahead pays no first-time
        work either."""
        moved = replace(request, degrees={**request.degrees, name: position})
        degrees = self._degrees(moved, progress)
        if moved.live_preview:
            self._synced("preview", moved).prepare(moved.preview_config(), progress)
        session = self._synced("full", moved)
        if session.memoised(degrees, moved.config) is not None:
            return False
        session.render(degrees, moved.config, progress)
        return True

    def sweep(self, request: EditRequest, name: str, degrees: list[float],
              progress: Progress | None = None) -> list[RenderResult]:
        """``name`` at each of ``degrees``, the other attributes at their request degrees, in one batch
        (``degrees`` are slider positions when the request is calibrated)."""
        names = [a.name for a in request.attributes]
        if name not in names:
            known = ", ".join(names) or "none"
            raise ValueError(f"no attribute row called {name!r} to sweep (rows: {known})")
        for degree in degrees:
            check_degree(name, degree)
        session = self._synced("full", request)
        others = self._degrees(request, progress)
        if request.calibrated:
            calibration = session.calibration(name, request.config, progress)
            degrees = [calibration.degree(d) for d in degrees]
        return session.render_batch([{**others, name: d} for d in degrees], request.config, progress)

    def reconstruct(self, request: EditRequest, progress: Progress | None = None) -> tuple[RenderResult, float]:
        """Degree 0, no refinement: the inversion's reconstruction and its PSNR against the source."""
        result = self._synced("full", request).reconstruct(request.config, progress)
        return result, psnr(result.image, self.image)

    def recipe(self) -> Recipe:
        """The recipe of the last full render, with the source image embedded."""
        if self.result is None or self.result_request is None:
            raise ValueError("nothing rendered yet: move a slider first")
        request = self.result_request
        # the degrees rendered (calibrated ones included): a recipe reproduces the image without the calibration
        degrees = {a.name: self.result.degrees.get(a.name, 0.0) for a in request.attributes}
        recipe = Recipe(self.model, request.prompt.strip(), self.attributes_of(request), degrees, request.config)
        return recipe.with_source_image(self.image)

    # ----- latent directions ---------------------------------------------------------------------
    def direction_session(self, request: EditRequest) -> EditSession:
        """The full session for a direction move: the prompt and settings count, the attribute rows only when they
        are valid (kept configured, so the next slider move re-encodes nothing; a half-typed row never blocks the
        directions tab)."""
        try:
            return self._synced("full", request)
        except ValueError:
            return self._synced("full", replace(request, attributes=(), degrees={}))

    def direction_config(self, request: EditRequest) -> EditConfig:
        """The request's settings at the model's direction noise level (``BackendInfo.direction_start_time``; the
        attribute sliders keep the request's ``t0``)."""
        return self.backend.info.direction_config(request.config)

    def discover_directions(self, request: EditRequest, k: int, region: str, progress: Progress | None = None,
                            painted: np.ndarray | None = None) -> dict:
        """LOCO directions of this image as sliders (:meth:`DirectionSliders.discover`); the report."""
        return self.directions.discover(self.direction_session(request), self.direction_config(request), k, region,
                                        progress,
                                        painted)

    def add_text_direction(self, request: EditRequest, name: str, method: str, region: str = "none",
                           painted: np.ndarray | None = None) -> None:
        """A T-LOCO / HSDS slider from the attribute row called ``name`` (its phrases, with the form's prompt)."""
        rows = {a.name: a for a in request.attributes}
        if name not in rows:
            raise ValueError(f"no attribute row called {name!r} (rows: {', '.join(rows) or 'none'})")
        row = rows[name]
        if not row.target:
            raise ValueError(f"attribute row {name!r} has no target: pick one first")
        self.directions.add_text(self._synced("full", request), self.direction_config(request), method, name,
                                 row.source, row.target, row.full_prompt, region, painted)

    def load_direction(self, request: EditRequest, path: str | Path) -> None:
        """A saved direction file as a new slider, checked against this image's model and noise level."""
        self.directions.add_file(self.direction_session(request), self.direction_config(request), path)

    def render_directions(self, request: EditRequest, values: list[float],
                          progress: Progress | None = None) -> RenderResult:
        """The image moved along every direction slider (``values`` in slider units); records the move."""
        result = self.directions.render(self.direction_session(request), self.direction_config(request), values,
                                        progress)
        self.latest_direction_move = Move.of("directions", result)
        return result

    def direction_thumbnails(self, request: EditRequest) -> list[Image.Image]:
        """Each direction alone at -1 and +1 on this image (:meth:`DirectionSliders.thumbnails`)."""
        return self.directions.thumbnails(self.direction_session(request), self.direction_config(request))
