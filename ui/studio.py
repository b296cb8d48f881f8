"""The app's handlers: validate, call ``ems_core``, convert. One :class:`Studio` per process owns the model.

Handlers take the per-user :class:`~ui.workspace.Workspace` and an :class:`~ui.workspace.EditRequest`
(what the form holds) and return small named tuples whose fields are, in order, the outputs the
layout wires them to. They never keep per-user data on the studio.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import gradio as gr
import numpy as np
from PIL import Image

from ems_core import Attribute, AttributePreset, Backend, Captioner, EditConfig, default_captioner, load_backend
from ems_core.images import horizontal_strip, load_image, sanitize_image
from ems_core.recipe import allow_recipe_text_in_pillow, read_recipe, save_png_with_recipe

from ems_core.backends.batching import BatchingBackend
from ems_core.directions import DirectionLibrary
from ems_core.edit_directions import regions_of

from . import zerogpu
from .anticipation import Anticipator, ModelGate, moved_attribute
from .directions import METHOD_NAMES
from .errors import user_errors
from .workspace import EditRequest, Move, Workspace
from .zerogpu import gpu

MAX_ROWS = 4  # attribute rows the form can show
CUSTOM = "custom"  # the "add attribute" choice for a row without a preset
DISPLAY_MIN_SIDE = 256  # sweep frames of smaller models are enlarged (nearest neighbour) to at least this


class Rows(NamedTuple):
    """The attribute rows of the form: attributes in order and their degrees by name."""

    attributes: list[Attribute]
    degrees: dict[str, float]


class Opened(NamedTuple):
    workspace: Workspace | None
    prompt: str
    rows: Rows
    comparison: tuple[Image.Image, Image.Image] | None
    stats: str


class Rendered(NamedTuple):
    workspace: Workspace
    comparison: tuple[Image.Image, Image.Image]
    stats: str


class Swept(NamedTuple):
    strip: Image.Image
    animation: str  # path of the animated GIF


class Reconstructed(NamedTuple):
    comparison: tuple[Image.Image, Image.Image]
    report: str


class DirectionRow(NamedTuple):
    """What one direction slider shows: its label, its value and its -1 / +1 thumbnail."""

    label: str
    value: float
    thumbnail: Image.Image | None


class DirectionsShown(NamedTuple):
    workspace: Workspace
    rows: list[DirectionRow]
    report: str


class Restored(NamedTuple):
    opened: Opened
    config: EditConfig
    rendered: Rendered


@dataclass(frozen=True)
class SweepRequest:
    name: str
    start: float = 0.0
    stop: float = 1.0
    frames: int = 5

    def degrees(self) -> list[float]:
        if not 2 <= self.frames <= 16:
            raise ValueError(f"a sweep has 2 to 16 frames, got {self.frames}")
        step = (self.stop - self.start) / (self.frames - 1)
        return [round(self.start + i * step, 4) for i in range(self.frames)]


def exclusive(fn: Callable) -> Callable:
    """A handler that runs the model as a real request (its first argument the user's workspace): that
    workspace's rendering ahead stops, and the handler holds the model gate (:mod:`ui.anticipation`)."""

    @functools.wraps(fn)
    def wrapper(self: "Studio", workspace: Workspace | None, *args, **kwargs):
        if self.anticipator is not None:
            self.anticipator.cancel(workspace)
        with (workspace.lock if workspace is not None else contextlib.nullcontext()), self.gate.foreground():
            return fn(self, workspace, *args, **kwargs)

    return wrapper


class Studio:
    """The model, its captioner and the handlers; shared by every user of the process, read-only."""

    def __init__(self, backend: Backend, model: str, captioner: Captioner | None = None,
                 library: DirectionLibrary | None = None, anticipate: bool = False, concurrency: int = 1,
                 batch: bool = False):
        if not 1 <= concurrency <= 64:
            raise ValueError(f"concurrency must be in [1, 64], got {concurrency}")
        self.concurrency = concurrency  # users' compute events that run at once (each user's one at a time)
        # batch: concurrent users' transformer calls merged into one (a GPU's win; on a CPU separate calls on
        # separate cores serve more: docs/performance.md, "Several users at once")
        backend = BatchingBackend(backend) if (batch and concurrency > 1) else backend
        self.backend, self.model, self.captioner = backend, model, captioner
        self.library = library  # a server-side folder of directions users may apply (read only)
        self.gate = ModelGate()
        # rendering ahead needs the model between requests: not on ZeroGPU, where a GPU exists only inside a call
        self.anticipator = Anticipator(self.gate) if (anticipate and zerogpu.spaces is None) else None
        self.scratch = Path(tempfile.mkdtemp(prefix="ems-studio-"))  # one folder per workspace inside
        atexit.register(shutil.rmtree, self.scratch, True)

    @classmethod
    def load(cls, model: str = "world", device: str = "cpu", dtype: str | None = None, cpu_offload: bool = False,
             captioner_model: str | None = None, directions: str | Path | None = None,
             anticipate: bool = True, concurrency: int = 1, batch: bool = False) -> "Studio":
        """Load the model once for the process (the bundled ``world`` needs no download); ``directions`` is a
        folder of saved directions the page offers (read only); ``anticipate``: render slider positions ahead
        while users are idle; ``concurrency``: users' compute events run at once; ``batch``: their transformer
        calls merged (:class:`~ems_core.backends.batching.BatchingBackend`)."""
        backend = load_backend(model, device=device, dtype=dtype, cpu_offload=cpu_offload)
        allow_recipe_text_in_pillow()  # gradio opens result PNGs with Pillow: their recipe text can exceed 1 MB
        library = DirectionLibrary(directions) if directions else None
        return cls(backend, model, default_captioner(backend, captioner_model), library, anticipate, concurrency,
                   batch)

    def regions(self) -> tuple[str, ...]:
        """The direction regions this model offers (:func:`ems_core.edit_directions.regions_of`)."""
        return regions_of(self.backend)

    def library_names(self) -> list[str]:
        """Names of the server library's directions for this model (none without a library)."""
        if self.library is None:
            return []
        return [e.name for e in self.library.list() if e.model == self.backend.info.name]

    # ----- defaults and presets ---------------------------------------------------------------
    def default_config(self) -> EditConfig:
        """EditConfig defaults with the model's steps and guidance made explicit (shown in the form)."""
        info = self.backend.info
        return info.edit_config.with_(steps=info.default_edit_steps, guidance=info.default_edit_guidance)

    def presets_for(self, caption: str) -> list[AttributePreset]:
        """Attribute presets the captioner offers for ``caption`` (none without a captioner or caption)."""
        return self.captioner.attribute_presets(caption) if (self.captioner and caption) else []

    # ----- rows -------------------------------------------------------------------------------
    @staticmethod
    def row_for(presets: list[AttributePreset], name: str, taken: int = 0) -> Attribute:
        """A new row: from the preset called ``name``, or an empty custom row."""
        for preset in presets:
            if preset.name == name:
                return preset.attribute()
        return Attribute(f"attribute {taken + 1}", "", "")

    @staticmethod
    def choices_for(presets: list[AttributePreset], attribute: Attribute) -> tuple[str, ...]:
        """The targets a row's dropdown offers: its preset's choices, plus the typed target if another."""
        choices = next((p.choices for p in presets if p.name == attribute.name), ())
        target = attribute.target
        return choices if (not target or target in choices) else (*choices, target)

    def add_row(self, workspace: Workspace | None, request: EditRequest, choice: str) -> Rows:
        if len(request.attributes) >= MAX_ROWS:
            raise ValueError(f"at most {MAX_ROWS} attributes at once: remove one first")
        attributes = list(request.attributes)
        attributes.append(self.row_for(workspace.presets if workspace else [], choice, len(attributes)))
        return Rows(attributes, dict(request.degrees))

    @staticmethod
    def remove_row(request: EditRequest, index: int) -> Rows:
        attributes = list(request.attributes)
        removed = attributes.pop(index)
        return Rows(attributes, {k: v for k, v in request.degrees.items() if k != removed.name})

    @staticmethod
    def add_choices(presets: list[AttributePreset], attributes: list[Attribute]) -> list[str]:
        """What the "add attribute" menu offers: the presets not in a row yet, then a custom row."""
        used = {a.name for a in attributes}
        return [p.name for p in presets if p.name not in used] + [CUSTOM]

    # ----- handlers ---------------------------------------------------------------------------
    @user_errors
    def open_image(self, image: Image.Image | str | Path | None, previous: Workspace | None = None) -> Opened:
        """A new image (a PIL image or an uploaded file's path): caption it, offer presets, start a fresh
        workspace (nothing computed yet). The ``previous`` workspace's direction sliders come along: directions
        transfer to other images."""
        if image is None:
            return Opened(None, "", Rows([], {}), None, "")
        image = sanitize_image(image) if isinstance(image, Image.Image) else load_image(image, what="the uploaded image")
        workspace = Workspace.open(self.backend, self.model, image, base_config=self.default_config())
        if previous is not None:
            workspace.directions = previous.directions
            if self.anticipator is not None:
                self.anticipator.cancel(previous)
        caption, notes = "", []
        if self.captioner is not None:
            try:
                caption = self.captioner.caption(workspace.image)
            except ValueError as error:  # the image still opens: the user types the prompt
                gr.Warning(f"could not caption the image ({error}): describe it in the source prompt")
            unknown = self.captioner.out_of_domain(workspace.image)
            if unknown:
                gr.Warning(f"This image is outside what {self.model!r} knows ({unknown}): its caption and edits "
                           "will not be meaningful.")
                notes.append(f"_Outside the model's world: {unknown}._")
        workspace.presets = self.presets_for(caption)
        names = [p.name for p in workspace.presets]
        demo = self.captioner.demo_attribute
        first = demo if demo in names else names[0] if names else CUSTOM
        rows = Rows([self.row_for(workspace.presets, first)], {})
        if not caption:
            notes.append("_No caption: describe the image in the source prompt._")
        return Opened(workspace, caption, rows, (workspace.image, workspace.image), "\n\n".join(notes))

    @gpu
    @user_errors
    @exclusive
    def render(self, workspace: Workspace | None, request: EditRequest,
               progress: Callable[[float, str], None] | None = None) -> Rendered:
        """Full-quality render (slider release, the Render button); then the moved slider's neighbouring
        positions are rendered ahead while the user is idle."""
        workspace = self._require(workspace)
        previous = workspace.result_request
        rendered = self._render(workspace, request, progress)
        name = moved_attribute(previous, request)
        if self.anticipator is not None and name is not None:
            self.anticipator.submit(workspace, request, name)
        return rendered

    def warm_up(self, workspace: Workspace | None, request: EditRequest) -> bool:
        """A newly opened image, while the user looks at it: the first slider's calibration is fitted and the
        positions around the source rendered ahead in the background, as after a release, so that the first drag
        shows full-quality renders at no cost instead of paying the image's first-time work (the source path and
        a calibration: about 0.6 s on the shapes model, 1.5 s on portraits). Returns whether a job was queued:
        not without rendering ahead, once the user has moved a slider on this image, or for a request the form
        cannot render yet (it then waits for the first move as before)."""
        if self.anticipator is None or workspace is None or workspace.latest_move or workspace.latest_preview:
            return False
        name = moved_attribute(None, request)  # the first row
        try:
            request.validate()
        except ValueError:
            return False
        if name is not None:
            self.anticipator.submit(workspace, request, name, warm_up=True)
        return name is not None

    def _render(self, workspace: Workspace, request: EditRequest,
                progress: Callable[[float, str], None] | None) -> Rendered:
        result = workspace.render(request, progress)
        return Rendered(workspace, (workspace.image, result.image), self.stats(workspace))

    @gpu
    @user_errors
    @exclusive
    def preview(self, workspace: Workspace | None, request: EditRequest,
                progress: Callable[[float, str], None] | None = None) -> Rendered | None:
        """Fast render while a slider is dragged; ``None`` (show nothing) when off or not ready."""
        if workspace is None or not request.live_preview:
            return None
        try:
            result = workspace.render_preview(request, progress)
        except (ValueError, KeyError):  # half-typed rows while dragging: the release reports it
            return None
        if result is None:  # stale: never cover the full-quality image of the same degrees
            return None
        return Rendered(workspace, (workspace.image, result.image), self.stats(workspace))

    @gpu(duration=120)
    @user_errors
    @exclusive
    def sweep(self, workspace: Workspace | None, request: EditRequest, sweep: SweepRequest,
              progress: Callable[[float, str], None] | None = None) -> Swept:
        """One attribute at several degrees: a strip and an animated GIF (forth and back)."""
        workspace = self._require(workspace)
        name = sweep.name or (request.attributes[0].name if request.attributes else "")
        results = workspace.sweep(request, name, sweep.degrees(), progress)
        frames = [self.for_display(r.image) for r in results]
        path = self.folder_of(workspace) / "sweep.gif"
        loop = frames + frames[-2:0:-1]
        loop[0].save(path, save_all=True, append_images=loop[1:], duration=350, loop=0, disposal=2)
        return Swept(horizontal_strip(frames), str(path))

    @gpu
    @user_errors
    @exclusive
    def reconstruct(self, workspace: Workspace | None, request: EditRequest,
                    progress: Callable[[float, str], None] | None = None) -> Reconstructed:
        """Degree 0: how faithfully the inversion rebuilds the source."""
        workspace = self._require(workspace)
        result, score = workspace.reconstruct(request, progress)
        report = (f"**Reconstruction PSNR: {score:.2f} dB** against the source "
                  f"({workspace.image.width}x{workspace.image.height}, the model's input). "
                  f"{result.nfe} NFE, {result.timings_ms['prepare'] + result.timings_ms['render']:.0f} ms. "
                  "Higher is better: as a rule of thumb, above ~30 dB the reconstruction is hard to tell from the "
                  "source; low values warn that edits of this image will drift from it.")
        return Reconstructed((workspace.image, result.image), report)

    @gpu
    @user_errors
    @exclusive
    def load_recipe(self, workspace: Workspace | None, path: str | None, live_preview: bool = True,
                    progress: Callable[[float, str], None] | None = None) -> Restored:
        """Restore an edit from a result PNG or a recipe JSON, and render it; the direction sliders of ``workspace``
        come along (:meth:`carried_directions` redraws their thumbnails)."""
        if not path:
            raise ValueError("no recipe file given")
        recipe = read_recipe(path)
        if recipe.model != self.model:
            gr.Warning(f"this recipe was made with {recipe.model!r}; this app runs {self.model!r}: "
                       "the result may differ")
        image = recipe.source_pil()
        if image is None:
            if workspace is None:
                raise ValueError("this recipe does not carry its source image: load the image first, "
                                 "then the recipe")
            image = workspace.image
        if len(recipe.attributes) > MAX_ROWS:
            raise ValueError(f"this recipe has {len(recipe.attributes)} attributes; the app shows at most {MAX_ROWS}")
        presets = self.presets_for(recipe.source_prompt)
        restored = Workspace.open(self.backend, self.model, image, presets, base_config=recipe.config)
        if workspace is not None:  # the direction sliders come along, as when another image opens
            restored.directions = workspace.directions
            if self.anticipator is not None:
                self.anticipator.cancel(workspace)
        # a recipe stores the degrees it rendered: the sliders show them uncalibrated, so it reproduces exactly
        request = EditRequest(recipe.source_prompt, recipe.attributes, recipe.degrees, recipe.config, live_preview,
                              calibrated=False)
        rendered = self._render(restored, request, progress)
        opened = Opened(restored, recipe.source_prompt, Rows(list(recipe.attributes), dict(recipe.degrees)),
                        rendered.comparison, rendered.stats)
        return Restored(opened, recipe.config, rendered)

    # ----- latent directions ------------------------------------------------------------------
    @staticmethod
    def painted_mask(editor_value: dict | None) -> np.ndarray | None:
        """The region painted in the image editor: where any layer has paint (``None`` when nothing is)."""
        layers = (editor_value or {}).get("layers") or []
        painted = None
        for layer in layers:
            array = np.asarray(layer)
            if array.ndim == 3 and array.shape[-1] == 4:
                inside = array[..., 3] > 0
                painted = inside if painted is None else (painted | inside)
        return painted.astype(np.float32) if painted is not None and painted.any() else None

    @gpu(duration=120)
    @user_errors
    @exclusive
    def discover_directions(self, workspace: Workspace | None, request: EditRequest, k: int, region: str,
                            values: list[float], progress: Callable[[float, str], None] | None = None,
                            painted: np.ndarray | None = None) -> DirectionsShown:
        """LOCO: the image's top-``k`` directions as sliders (replacing earlier discoveries), with thumbnails;
        ``painted``: the mask of region ``"painted"``."""
        workspace = self._require(workspace)
        started = time.perf_counter()
        report = workspace.discover_directions(request, int(k), region, progress, painted)
        note = (f"Found {int(k)} directions in {time.perf_counter() - started:.1f} s "
                f"({report['iterations']} subspace iterations, "
                f"{'converged' if report['converged'] else 'not converged'}, {report['products']} Jacobian products).")
        return self._directions_shown(workspace, request, values, note, keep_values=False)

    @gpu
    @user_errors
    @exclusive
    def add_text_direction(self, workspace: Workspace | None, request: EditRequest, name: str, method: str,
                           region: str, values: list[float], painted: np.ndarray | None = None) -> DirectionsShown:
        """A T-LOCO / HSDS slider from the attribute row ``name``; a slider unit is a degree of 1."""
        workspace = self._require(workspace)
        workspace.add_text_direction(request, name or "", method, region, painted)
        label = METHOD_NAMES.get(method, method)
        added = f"Added {'an' if label[0] in 'AEFHILMNORSX' else 'a'} {label} direction for {name!r}."
        return self._directions_shown(workspace, request, values, added)

    @gpu
    @user_errors
    @exclusive
    def load_direction(self, workspace: Workspace | None, request: EditRequest, path: str | None,
                       values: list[float]) -> DirectionsShown:
        """A direction file (uploaded) as a new slider on this image."""
        workspace = self._require(workspace)
        if not path:
            raise ValueError("no direction file given")
        workspace.load_direction(request, path)
        return self._directions_shown(workspace, request, values, f"Loaded {Path(path).name}.")

    @gpu
    @user_errors
    @exclusive
    def use_library_direction(self, workspace: Workspace | None, request: EditRequest, name: str | None,
                              values: list[float]) -> DirectionsShown:
        """A direction of the server's library as a new slider on this image."""
        if self.library is None or not name:
            raise ValueError("pick a direction of the library first")
        return self.load_direction(workspace, request, str(self.library.path(name)), values)

    def carried_directions(self, workspace: Workspace | None, request: EditRequest,
                           values: list[float]) -> DirectionsShown | None:
        """After another image opens: the sliders that came along, with their thumbnails on this image (``None``
        when none came along: nothing to redraw, and no model call, so no GPU attached on ZeroGPU)."""
        if workspace is None or not workspace.directions.sliders:
            return None
        return self._carried_thumbnails(workspace, request, values)

    @gpu
    @user_errors
    @exclusive
    def _carried_thumbnails(self, workspace: Workspace, request: EditRequest, values: list[float]) -> DirectionsShown:
        return self._directions_shown(workspace, request, values, "Thumbnails show the directions on this image.")

    @gpu
    @user_errors
    @exclusive
    def remove_direction(self, workspace: Workspace | None, request: EditRequest, index: int,
                         values: list[float]) -> DirectionsShown:
        workspace = self._require(workspace)
        workspace.directions.remove(index)
        kept = values[:index] + values[index + 1:]
        return self._directions_shown(workspace, request, kept, f"Removed direction {index + 1}.")

    @gpu
    @user_errors
    @exclusive
    def apply_directions(self, workspace: Workspace | None, request: EditRequest, values: list[float],
                         progress: Callable[[float, str], None] | None = None) -> Rendered:
        """The image moved along every direction slider at once."""
        workspace = self._require(workspace)
        result = workspace.render_directions(request, values[:len(workspace.directions)], progress)
        move = workspace.latest_direction_move
        stats = (f"**Directions: {move.total_ms:.0f} ms** · {move.nfe} NFE"
                 + (f" + {move.prepare_nfe} prepare" if move.prepare_nfe else "") + " · strengths "
                 + ", ".join(f"{v:+.2f}" for v in values[:len(workspace.directions)]))
        return Rendered(workspace, (workspace.image, result.image), stats)

    @user_errors
    def save_direction(self, workspace: Workspace | None, index: int) -> str:
        """Write direction slider ``index`` to a ``.safetensors`` file for download."""
        workspace = self._require(workspace)
        return str(workspace.directions.save(index, self.folder_of(workspace)))

    def _directions_shown(self, workspace: Workspace, request: EditRequest, values: list[float], report: str,
                          keep_values: bool = True) -> DirectionsShown:
        """The sliders after a change: labels, values (kept for sliders that stayed, 0 for new ones), thumbnails
        on the current image."""
        thumbnails = [self.for_display(t) for t in workspace.direction_thumbnails(request)]
        rows = []
        for index, (slider, thumbnail) in enumerate(zip(workspace.directions.sliders, thumbnails)):
            value = values[index] if keep_values and index < len(values) else 0.0
            transfer = "" if slider.found_on(workspace.image) else " · found on another image"
            rows.append(DirectionRow(slider.label + transfer, float(value), thumbnail))
        return DirectionsShown(workspace, rows, report)

    # ----- conversions ------------------------------------------------------------------------
    @staticmethod
    def _require(workspace: Workspace | None) -> Workspace:
        if workspace is None:
            raise ValueError("upload an image or pick an example first")
        return workspace

    @staticmethod
    def stats(workspace: Workspace | None, stale: bool = False) -> str:
        """Markdown: the latest move's latency, then a table of the first, latest and preview moves.

        ``stale``: the form changed since the image was rendered; say so above the table.
        """
        if workspace is None:
            return ""
        latest, first = workspace.latest_move, workspace.first_move
        lines = ["**Stale:** the image shows the previous settings; release a slider or press Render.", ""] \
            if stale and latest is not None else []
        if latest is not None and first is not None:
            cache = "cache hit" if latest.cache_hit else "cache miss"
            lines += [f"**Latest move: {latest.total_ms:.0f} ms** (first move: {first.total_ms:.0f} ms) · "
                      f"{latest.nfe} NFE · {cache}", ""]
        lines += ["| move | degrees | prepare | render | NFE | cache |", "|---|---|---|---|---|---|"]
        first_label = "first move (a drag's preview)" if first is not None and first.kind == "preview" else "first move"
        named = [(first_label, first), ("latest move", latest), ("latest preview", workspace.latest_preview)]
        rows = [_stats_row(label, move) for label, move in named if move is not None]
        return "\n".join(lines + rows) if rows else ""

    @user_errors
    def save_result(self, workspace: Workspace | None) -> list[str]:
        """Write the last result as a PNG carrying its recipe, and the recipe as JSON (on demand only)."""
        workspace = self._require(workspace)
        recipe = workspace.recipe()
        folder = self.folder_of(workspace)
        png = save_png_with_recipe(workspace.result.image, recipe, folder / "ems-edit.png")
        json_path = folder / "ems-recipe.json"
        json_path.write_text(recipe.to_json() + "\n")
        return [str(png), str(json_path)]

    def folder_of(self, workspace: Workspace) -> Path:
        """The workspace's own scratch folder (its downloads and animations), made on first use."""
        if workspace.scratch is None or not workspace.scratch.exists():
            workspace.scratch = self.scratch / uuid.uuid4().hex[:12]
            workspace.scratch.mkdir(parents=True)
        return workspace.scratch

    def release(self, workspace: Workspace | None) -> None:
        """Free what a workspace holds outside memory (called when its session ends or expires)."""
        if workspace is not None and self.anticipator is not None:
            self.anticipator.cancel(workspace)
        if workspace is not None and workspace.scratch is not None:
            shutil.rmtree(workspace.scratch, ignore_errors=True)
            workspace.scratch = None

    def for_display(self, image: Image.Image) -> Image.Image:
        """Small models' images enlarged by a whole factor (nearest neighbour: pixels stay crisp)."""
        factor = max(1, -(-DISPLAY_MIN_SIDE // max(image.width, image.height)))
        if factor == 1:
            return image
        return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def _stats_row(label: str, move: Move) -> str:
    def shown(name: str, degree: float) -> str:  # the slider, and the degree it maps to when calibrated
        slider = degree if move.sliders is None else move.sliders.get(name, degree)
        return f"{name} {slider:+.2f}" + (f" (degree {degree:+.2f})" if f"{slider:+.2f}" != f"{degree:+.2f}" else "")

    degrees = ", ".join(shown(name, degree) for name, degree in move.degrees.items()) or "-"
    nfe = f"{move.nfe} + {move.prepare_nfe} prepare" if move.prepare_nfe else f"{move.nfe}"
    cache = "hit" if move.cache_hit else "miss"
    return (f"| {label} | {degrees} | {move.prepare_ms:.0f} ms | {move.render_ms:.0f} ms | {nfe} | {cache} |")
