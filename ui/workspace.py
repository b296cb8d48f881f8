"""One user's edit of one image, kept in a ``gr.State``: no gradio here, so it is tested directly.

A :class:`Workspace` holds two :class:`~ems_core.EditSession` objects on the same image and the same
shared backend: ``full`` (the settings of the form, rendered on slider release) and ``preview`` (the
``"preview"`` preset, rendered while dragging). Each session caches one inversion, keyed by the
settings, so one session per quality keeps both caches warm instead of alternating between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ems_core import Attribute, AttributePreset, Backend, EditConfig, EditSession, RenderResult
from ems_core.images import fit_square
from ems_core.config import preview_config
from ems_core.manipulate import check_degree
from ems_core.metrics import psnr
from ems_core.recipe import Recipe
from ems_core.session import Progress


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

    @classmethod
    def of(cls, kind: str, result: RenderResult) -> "Move":
        return cls(kind, dict(result.degrees), result.timings_ms["prepare"], result.timings_ms["render"],
                   result.nfe, result.prepare_nfe, result.cache_hit)

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
        return clone

    # ----- sessions ------------------------------------------------------------------------------
    def _synced(self, which: str, request: EditRequest) -> EditSession:
        """The ``full`` or ``preview`` session with the request's prompt and attributes."""
        request.validate()
        session = getattr(self, which)
        if session is None:
            session = EditSession(self.backend, self.image, prompt=request.prompt.strip())
            setattr(self, which, session)
        session.configure(request.prompt, request.attributes)
        return session

    @staticmethod
    def _degrees(request: EditRequest) -> dict[str, float]:
        return {a.name: request.degrees.get(a.name, 0.0) for a in request.attributes}

    # ----- actions -------------------------------------------------------------------------------
    def render(self, request: EditRequest, progress: Progress | None = None) -> RenderResult:
        """Full-quality render (slider release); records the first and the latest move."""
        result = self._synced("full", request).render(self._degrees(request), request.config, progress)
        move = Move.of("full", result)
        self.first_move = self.first_move or move
        self.latest_move = move
        self.result, self.result_request = result, request
        return result

    def render_preview(self, request: EditRequest, progress: Progress | None = None) -> RenderResult | None:
        """Fast render with the preview preset (slider drag); ``None`` when the full-quality result
        of this very request is already there (a preview that reaches the queue after its release)."""
        if request == self.result_request:
            return None
        result = self._synced("preview", request).render(self._degrees(request), request.preview_config(), progress)
        self.latest_preview = Move.of("preview", result)
        return result

    def sweep(self, request: EditRequest, name: str, degrees: list[float],
              progress: Progress | None = None) -> list[RenderResult]:
        """``name`` at each of ``degrees``, the other attributes at their request degrees, in one batch."""
        names = [a.name for a in request.attributes]
        if name not in names:
            known = ", ".join(names) or "none"
            raise ValueError(f"no attribute row called {name!r} to sweep (rows: {known})")
        for degree in degrees:
            check_degree(name, degree)
        session = self._synced("full", request)
        return session.render_batch([{**self._degrees(request), name: d} for d in degrees], request.config, progress)

    def reconstruct(self, request: EditRequest, progress: Progress | None = None) -> tuple[RenderResult, float]:
        """Degree 0, no refinement: the inversion's reconstruction and its PSNR against the source."""
        result = self._synced("full", request).reconstruct(request.config, progress)
        return result, psnr(result.image, self.image)

    def recipe(self) -> Recipe:
        """The recipe of the last full render, with the source image embedded."""
        if self.result is None or self.result_request is None:
            raise ValueError("nothing rendered yet: move a slider first")
        request = self.result_request
        recipe = Recipe(self.model, request.prompt.strip(), request.attributes, self._degrees(request), request.config)
        return recipe.with_source_image(self.image)
