"""The page: components, and the wiring of events to :class:`~ui.studio.Studio` handlers.

Inputs are grouped: every compute event takes the whole form as a *set* of components, so its
function receives one ``{component: value}`` dict that :meth:`Form.read` turns into an
:class:`~ui.workspace.EditRequest`. Outputs are returned as ``{component: update}`` dicts built by
the ``show_*`` helpers. Attribute rows are a fixed number of hidden groups driven by one handler.

A user's mistake shows one warning and leaves every output as it was (no error badges); a request
stops at its next step when its client has left or it runs past its time budget.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import gradio as gr

from ems_core import DEGREE_RANGE, Attribute, AttributePreset, EditConfig
from ems_core.config import LIMITS, MAX_SEED, SAMPLERS
from ems_core.edit_directions import TEXT_METHODS

from .directions import DIRECTION_RANGE, MAX_DIRECTIONS, METHOD_NAMES
from .errors import Stopped, log, user_errors
from .studio import MAX_ROWS, DirectionRow, DirectionsShown, Opened, Rendered, Rows, Studio, SweepRequest
from .workspace import EditRequest, Workspace

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "examples"  # the shapes world's; the default


def examples_dir(info) -> Path:
    """The example images that suit the loaded model (a bundled world names its own), else the shapes'."""
    folder = Path(info.extras.get("examples", EXAMPLES_DIR))
    return folder if folder.is_dir() and any(folder.glob("*.png")) else EXAMPLES_DIR
STATE_TTL_S = 3600  # per-user state is dropped an hour after its last update (at once when the tab closes)
REQUEST_BUDGET_S = 120.0  # no request holds the model's queue longer than this
SESSION_CAPACITY = 1000  # gradio keeps ~160 KB of page state per browser session it has seen, up to this many
# (pass it to launch(): ``demo.launch(state_session_capacity=SESSION_CAPACITY)``, as app.py does)
COMPUTE = "model"  # concurrency id shared by every event that runs the model

# Scenes are 64x64: show them large and without smoothing. (Gradio 6 takes css at launch().)
# The before/after sliders stack both images in one box of the component's height, so the halves align.
CSS = """
#comparison img, #source-image img, #recon img, #sweep-strip img, #sweep-anim img, #direction-view img,
.direction-thumb img { image-rendering: pixelated; }
#source-image img { object-fit: contain; }
#comparison .slider-wrap, #recon .slider-wrap, #direction-view .slider-wrap, #comparison .slider-wrap > .wrap,
#recon .slider-wrap > .wrap, #direction-view .slider-wrap > .wrap { height: 100%; }
#comparison .content, #recon .content, #direction-view .content { position: relative; height: 100%; }
#comparison img[data-testid="imageslider-image"], #recon img[data-testid="imageslider-image"],
#direction-view img[data-testid="imageslider-image"] {
  position: absolute; inset: 0; width: 100%; height: 100%; max-height: none !important; object-fit: contain; }
#stats table { font-size: 0.8em; }
.attribute-row { padding: 4px; }
@media (min-width: 640px) { .attribute-row .row { flex-wrap: nowrap; } }  /* phones: the row may wrap */
.attribute-row [id$="-whole-prompt"] { min-width: 128px !important; flex-shrink: 0; }
.attribute-row [id$="-whole-prompt"] .label-text { white-space: nowrap; }
#stats th, #stats td { white-space: nowrap; padding: 2px 8px; }
"""


REGION_NAMES = {"none": "whole image", "painted": "painted below"}  # others as named (object, eyes, mouth...)


def skip(outputs) -> dict:
    """Leave every one of ``outputs`` as it is."""
    return {component: gr.skip() for component in outputs}


def reported(outputs) -> Callable:
    """A user error becomes one warning toast and the outputs keep their values (no "Error" badges)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error as error:
                gr.Warning(error.message)
                return skip(outputs)
        return wrapper

    return decorate


def guarded(progress: Callable | None, demo: gr.Blocks, request: gr.Request | None,
            budget_s: float) -> Callable[[float, str], None]:
    """A progress callback that stops the request at its next step when the client has left or the
    request ran past ``budget_s`` (the library calls it between model evaluations)."""
    deadline = time.monotonic() + budget_s

    def report(fraction: float, message: str) -> None:
        if _client_left(demo, request):
            raise Stopped("the browser tab was closed; the request stopped")
        if time.monotonic() > deadline:
            raise Stopped(f"this request ran past {budget_s:.0f} s and was stopped: lower the steps, the "
                          "refinement or the sweep frames")
        if progress is not None:
            progress(fraction, desc=message)

    return report


def _client_left(demo: gr.Blocks, request: gr.Request | None) -> bool:
    """Whether gradio has marked this request's session closed (its heartbeat stopped)."""
    session_hash = getattr(request, "session_hash", None)
    holder = getattr(demo, "state_holder", None)
    session = holder.session_data.get(session_hash) if (holder is not None and session_hash) else None
    return bool(getattr(session, "is_closed", False))


def _degree_label(attribute: Attribute) -> str:
    """"Degree of NAME: source → target" (a whole target prompt shortened)."""
    target = attribute.target if len(attribute.target) <= 40 else attribute.target[:39] + "…"
    phrase = f"whole prompt → {target}" if attribute.full_prompt else f"{attribute.source} → {target}"
    return f"Degree of {attribute.name}: {phrase}"


@dataclass
class RowWidgets:
    """The components of one attribute row."""

    group: gr.Group
    name: gr.Textbox
    source: gr.Textbox
    target: gr.Dropdown
    whole_prompt: gr.Checkbox
    degree: gr.Slider
    remove: gr.Button

    @classmethod
    def build(cls, index: int) -> "RowWidgets":
        with gr.Group(visible=False, elem_classes="attribute-row") as group:
            with gr.Row(equal_height=True):
                name = gr.Textbox(show_label=False, placeholder="attribute", scale=2, min_width=70,
                                  container=False, elem_id=f"row{index}-name")
                source = gr.Textbox(show_label=False, placeholder="source phrase (in the prompt)", scale=3,
                                    min_width=80, container=False, elem_id=f"row{index}-source")
                target = gr.Dropdown(show_label=False, choices=[], allow_custom_value=True, scale=3, min_width=100,
                                     container=False, elem_id=f"row{index}-target")
                whole_prompt = gr.Checkbox(False, label="whole prompt", scale=0, min_width=135, container=False,
                                           elem_id=f"row{index}-whole-prompt")
                remove = gr.Button("✕", variant="secondary", size="sm", scale=0, min_width=36,
                                   elem_id=f"row{index}-remove")
            degree = gr.Slider(*DEGREE_RANGE, value=0.0, step=0.05, label="Degree", elem_id=f"row{index}-degree")
        return cls(group, name, source, target, whole_prompt, degree, remove)

    @property
    def parts(self) -> tuple:
        """The components a row's value is read from."""
        return (self.name, self.source, self.target, self.whole_prompt, self.degree)

    def read(self, values: dict) -> tuple[Attribute, float]:
        attribute = Attribute((values[self.name] or "").strip(), (values[self.source] or "").strip(),
                              (values[self.target] or "").strip(), bool(values[self.whole_prompt]))
        return attribute, float(values[self.degree] or 0.0)

    def show(self, attribute: Attribute | None, degree: float = 0.0, choices: tuple[str, ...] = ()) -> dict:
        if attribute is None:
            return {self.group: gr.update(visible=False)}
        return {
            self.group: gr.update(visible=True),
            self.name: attribute.name,
            self.source: attribute.source,
            self.target: gr.update(choices=list(choices), value=attribute.target),
            self.whole_prompt: attribute.full_prompt,
            self.degree: gr.update(value=degree, label=_degree_label(attribute)),
        }


@dataclass
class DirectionWidgets:
    """The components of one direction slider: its -1 / +1 thumbnail, the slider, save and remove."""

    group: gr.Group
    thumbnail: gr.Image
    strength: gr.Slider
    save: gr.Button
    remove: gr.Button

    @classmethod
    def build(cls, index: int) -> "DirectionWidgets":
        with gr.Group(visible=False, elem_classes="direction-row") as group:
            with gr.Row(equal_height=True):
                thumbnail = gr.Image(show_label=False, type="pil", format="png", interactive=False, height=72,
                                     buttons=[],
                                     scale=1, min_width=120, container=False, elem_classes="direction-thumb",
                                     elem_id=f"direction{index}-thumb")
                strength = gr.Slider(*DIRECTION_RANGE, value=0.0, step=0.05, label=f"Direction {index + 1}",
                                     scale=4, elem_id=f"direction{index}-strength")
                save = gr.Button("Save", size="sm", scale=0, min_width=60, elem_id=f"direction{index}-save")
                remove = gr.Button("✕", variant="secondary", size="sm", scale=0, min_width=36,
                                   elem_id=f"direction{index}-remove")
        return cls(group, thumbnail, strength, save, remove)

    def show(self, row: DirectionRow | None) -> dict:
        if row is None:
            return {self.group: gr.update(visible=False), self.strength: gr.update(value=0.0)}
        return {self.group: gr.update(visible=True), self.thumbnail: row.thumbnail,
                self.strength: gr.update(value=row.value, label=row.label)}


@dataclass
class Form:
    """Everything an edit reads: the user's state, the prompt, the rows and the settings."""

    workspace: gr.State
    row_count: gr.State
    prompt: gr.Textbox
    rows: list[RowWidgets]
    add_choice: gr.Dropdown
    add_button: gr.Button
    sweep_name: gr.Dropdown
    seed: gr.Number
    steps: gr.Slider
    refine_iters: gr.Slider
    start_time: gr.Slider
    guidance: gr.Slider
    live_preview: gr.Checkbox
    sampler: gr.Radio
    calibrated: gr.Checkbox
    direction_row: gr.Dropdown  # the directions tab's "from attribute row" menu (offers the rows' names)

    @property
    def inputs(self) -> set:
        settings = {self.seed, self.steps, self.refine_iters, self.start_time, self.guidance, self.live_preview,
                    self.sampler, self.calibrated}
        row_parts = {c for r in self.rows for c in r.parts}
        return {self.workspace, self.row_count, self.prompt, *settings, *row_parts}

    @property
    def row_outputs(self) -> list:
        parts = [c for r in self.rows for c in (r.group, *r.parts)]
        return [self.row_count, self.add_choice, self.add_button, self.sweep_name, self.direction_row, *parts]

    @property
    def settings_outputs(self) -> list:
        return [self.seed, self.steps, self.refine_iters, self.start_time, self.guidance, self.sampler,
                self.calibrated]

    def read(self, values: dict) -> tuple[Workspace | None, EditRequest]:
        """The user's workspace and the request the form describes (raises ``ValueError`` if invalid)."""
        workspace: Workspace | None = values[self.workspace]
        base = workspace.base_config if workspace is not None else EditConfig()
        config = base.with_(
            seed=int(values[self.seed] or 0), steps=int(values[self.steps]),
            refine_iters=int(values[self.refine_iters]), start_time=float(values[self.start_time]),
            guidance=float(values[self.guidance]), sampler=values[self.sampler])
        rows = [r.read(values) for r in self.rows[:values[self.row_count]]]
        attributes = tuple(attribute for attribute, _ in rows)
        degrees = {attribute.name: degree for attribute, degree in rows}
        return workspace, EditRequest(values[self.prompt] or "", attributes, degrees, config,
                                      bool(values[self.live_preview]), bool(values[self.calibrated]))

    def show_rows(self, rows: Rows, presets: list[AttributePreset]) -> dict:
        updates = {self.row_count: len(rows.attributes)}
        for index, widgets in enumerate(self.rows):
            if index < len(rows.attributes):
                attribute = rows.attributes[index]
                updates.update(widgets.show(attribute, rows.degrees.get(attribute.name, 0.0),
                                            Studio.choices_for(presets, attribute)))
            else:
                updates.update(widgets.show(None))
        add = Studio.add_choices(presets, rows.attributes)
        full = len(rows.attributes) >= MAX_ROWS
        updates[self.add_choice] = gr.update(choices=add, value=add[0], interactive=not full)
        updates[self.add_button] = gr.update(interactive=not full,
                                             value=f"At most {MAX_ROWS} attributes" if full else "+ Add attribute")
        names = [a.name for a in rows.attributes]
        for menu in (self.sweep_name, self.direction_row):
            updates[menu] = gr.update(choices=names, value=names[0] if names else None)
        return updates

    def show_config(self, config: EditConfig, calibrated: bool) -> dict:
        return {self.seed: config.seed, self.steps: config.steps, self.refine_iters: config.refine_iters,
                self.start_time: config.start_time, self.guidance: config.guidance, self.sampler: config.sampler,
                self.calibrated: calibrated}


def create_demo(studio: Studio, state_ttl_s: float = STATE_TTL_S,
                request_budget_s: float = REQUEST_BUDGET_S) -> gr.Blocks:
    """The EMS Studio page over an already loaded :class:`Studio` (the model loads once per process).

    Args:
        studio: the model and its handlers, shared by every user.
        state_ttl_s: a user's workspace is dropped this long after its last update (at once when the
            tab closes), with its files.
        request_budget_s: a request still running after this long stops at its next step.
    """
    defaults = studio.default_config()
    info = studio.backend.info
    with gr.Blocks(title="EMS Studio", delete_cache=(600, int(state_ttl_s))) as demo:
        gr.Markdown(
            f"# EMS Studio\nChange one attribute of an image by a chosen degree. Model: `{studio.model}` "
            f"({info.family}, {info.image_size}x{info.image_size}). Upload an image or pick an example, "
            "pick a target, then move the slider: the edit re-renders when you release it.")
        workspace = gr.State(None, time_to_live=state_ttl_s, delete_callback=studio.release)
        row_count = gr.State(0, time_to_live=state_ttl_s)
        with gr.Row():
            with gr.Column(scale=5):
                with gr.Row(equal_height=True):
                    source_image = gr.Image(label="Source image (as the model sees it)", type="filepath",
                                            height=270, sources=["upload", "clipboard"], elem_id="source-image",
                                            scale=2, min_width=160)
                    examples = gr.Examples(
                        examples=[[str(p)] for p in sorted(examples_dir(info).glob("*.png"))], inputs=[source_image],
                        cache_examples=False, label="Examples", elem_id="examples", examples_per_page=6)
                prompt = gr.Textbox(label="Source prompt", elem_id="prompt",
                                    info="Filled in by the model's captioner; edit it freely.")
                rows = [RowWidgets.build(i) for i in range(MAX_ROWS)]
                with gr.Row():
                    add_choice = gr.Dropdown(label="Add an attribute", choices=[], scale=2, elem_id="add-choice")
                    with gr.Column(scale=1, min_width=120):
                        add_button = gr.Button("+ Add attribute", size="md", elem_id="add-row")
                        render_button = gr.Button("Render", variant="primary", size="md", elem_id="render")
                with gr.Accordion("Advanced settings", open=False):
                    with gr.Row():
                        seed = gr.Number(defaults.seed, label="Seed", precision=0, minimum=0, maximum=MAX_SEED)
                        live_preview = gr.Checkbox(True, label="Live preview while dragging (fewer steps)",
                                                   elem_id="live-preview")
                        calibrated = gr.Checkbox(True, label="Calibrated sliders (equal steps, equal change)",
                                                 elem_id="calibrated",
                                                 info="Off: the slider is the embedding degree itself.")
                    sampler = gr.Radio(list(SAMPLERS), value=defaults.sampler, label="Sample step",
                                       elem_id="sampler", info="difference: coupled source/target paths (default); "
                                       "inversion: invert to t0, then sample under the moved prompt")
                    steps = gr.Slider(LIMITS["steps"].low, LIMITS["steps"].high, value=defaults.steps, step=1,
                                      label="Steps (full 1 → 0 schedule)")
                    start_time = gr.Slider(0.05, 1.0, value=defaults.start_time, step=0.05,
                                           label="Start time t0 (how much of the schedule the edit re-samples)")
                    refine_iters = gr.Slider(0, 10, value=defaults.refine_iters, step=1,
                                             label="Refinement iterations (constrained SDS, 0 = off)")
                    ramp = (None if defaults.source_guidance is None else
                            f"The edit's. The model's settings give the source side {defaults.source_guidance:g} and "
                            f"ramp the edit's from it (degree 0) to this (degree {defaults.guidance_ramp:g}).")
                    guidance = gr.Slider(0.0, 15.0, value=defaults.guidance, step=0.5,
                                         label="Guidance (classifier-free)", info=ramp)
            with gr.Column(scale=6):
                comparison = gr.ImageSlider(label="Before / after", type="pil", format="png", height=420,
                                            elem_id="comparison", interactive=False)
                stats = gr.Markdown(elem_id="stats")
                with gr.Row():
                    save_button = gr.Button("Save result", elem_id="save-result", size="md", scale=1)
                    recipe_button = gr.UploadButton("Load a recipe", file_types=[".png", ".json"], type="filepath",
                                                    elem_id="load-recipe", size="md", scale=1)
                downloads = gr.File(label="The result PNG (it carries its recipe) and the recipe JSON",
                                    file_count="multiple", interactive=False, elem_id="downloads", visible=False)
        with gr.Tabs():
            with gr.Tab("Degree sweep"):
                with gr.Row(equal_height=True):
                    sweep_name = gr.Dropdown(label="Attribute", choices=[], allow_custom_value=True, scale=2)
                    sweep_start = gr.Number(0.0, label="From", minimum=DEGREE_RANGE[0], maximum=DEGREE_RANGE[1])
                    sweep_stop = gr.Number(1.0, label="To", minimum=DEGREE_RANGE[0], maximum=DEGREE_RANGE[1])
                    sweep_frames = gr.Slider(2, 16, value=5, step=1, label="Frames")
                    sweep_button = gr.Button("Sweep", variant="primary", elem_id="sweep")
                with gr.Row():
                    sweep_strip = gr.Image(label="Sweep strip", type="pil", format="png", interactive=False,
                                           elem_id="sweep-strip", scale=3, height=300)
                    sweep_anim = gr.Image(label="Animation (GIF, download it)", type="filepath", interactive=False,
                                          elem_id="sweep-anim", scale=1, height=300)
            with gr.Tab("Latent directions", elem_id="directions-tab"):
                gr.Markdown(
                    "Move the image along directions in the model's latent instead of its prompt (LOCO Edit, "
                    "docs/method.md). **Discover** finds the image's strongest unsupervised directions; **from an "
                    "attribute** turns a row's text pair into a direction (SDS, T-LOCO or HSDS, 1 = a degree of 1); "
                    "**load** applies a saved direction to this image. Sliders stay when you open another image: "
                    "that is a transfer. Thumbnails show each direction alone at -1 and +1.")
                with gr.Row(equal_height=True):
                    direction_k = gr.Slider(1, MAX_DIRECTIONS, value=3, step=1, label="Directions to find (k)",
                                            elem_id="direction-k", scale=2)
                    regions = studio.regions()
                    direction_region = gr.Radio(
                        [(REGION_NAMES.get(r, r), r) for r in regions], value="none", label="Region",
                        elem_id="direction-region", scale=2,
                        info="where the directions may act: the whole image, a bundled world's part, or what you paint")
                    discover_button = gr.Button("Discover directions", variant="primary", elem_id="discover",
                                                scale=1)
                with gr.Row(equal_height=True):
                    text_row = gr.Dropdown(label="From attribute row", choices=[], allow_custom_value=True,
                                           elem_id="direction-row", scale=2)
                    text_method = gr.Radio([(METHOD_NAMES[m], m) for m in TEXT_METHODS], value=TEXT_METHODS[0],
                                           label="Method", elem_id="direction-method", scale=2)
                    text_button = gr.Button("Add as a direction", elem_id="add-text-direction", scale=1)
                with gr.Row(equal_height=True):
                    direction_upload = gr.UploadButton("Load a direction (.safetensors)", file_types=[".safetensors"],
                                                       type="filepath", elem_id="load-direction", size="md", scale=2)
                    library_names = studio.library_names()
                    library_choice = gr.Dropdown(library_names, value=library_names[0] if library_names else None,
                                                 label="Server library", elem_id="library-choice", scale=2,
                                                 visible=bool(library_names))
                    library_button = gr.Button("Use", elem_id="library-use", scale=1, visible=bool(library_names))
                with gr.Accordion("Paint a region (choose Region: painted below)", open=False):
                    direction_paint = gr.ImageEditor(
                        label="Paint where the directions may act", type="numpy", image_mode="RGBA",
                        sources=[], layers=False, height=280, elem_id="direction-paint",
                        brush=gr.Brush(colors=["#ff3030"], default_size=6, color_mode="fixed"))
                with gr.Row():
                    with gr.Column(scale=3):
                        direction_rows = [DirectionWidgets.build(i) for i in range(MAX_DIRECTIONS)]
                        direction_report = gr.Markdown(elem_id="direction-report")
                    with gr.Column(scale=2):
                        direction_view = gr.ImageSlider(label="Before / after (directions)", type="pil", format="png",
                                                        interactive=False, elem_id="direction-view", height=320)
                        direction_stats = gr.Markdown(elem_id="direction-stats")
                        direction_file = gr.File(label="The direction file", interactive=False,
                                                 elem_id="direction-file", visible=False)
            with gr.Tab("Reconstruction check"):
                recon_button = gr.Button("Reconstruct at degree 0", elem_id="reconstruct")
                with gr.Row():
                    recon = gr.ImageSlider(label="Source / reconstruction", type="pil", format="png",
                                           interactive=False, elem_id="recon", height=320)
                    recon_report = gr.Markdown(elem_id="recon-report")

        form = Form(workspace, row_count, prompt, rows, add_choice, add_button, sweep_name, seed, steps,
                    refine_iters, start_time, guidance, live_preview, sampler, calibrated, text_row)
        result_outputs = [workspace, comparison, stats]
        direction_widgets = [c for w in direction_rows for c in (w.group, w.thumbnail, w.strength)]
        direction_outputs = [workspace, *direction_widgets, direction_report]
        side_outputs = [downloads, sweep_strip, sweep_anim, recon, recon_report, direction_view, direction_paint,
                        direction_stats, direction_file, *direction_widgets, direction_report]
        opened_outputs = [*result_outputs, prompt, source_image, *side_outputs, *form.row_outputs]
        stale_outputs = [stats, *(r.degree for r in rows)]
        compute = dict(concurrency_id=COMPUTE, concurrency_limit=studio.concurrency)

        def progress_of(progress, request: gr.Request | None):
            return guarded(progress, demo, request, request_budget_s)

        def show_rendered(rendered: Rendered | None) -> dict:
            if rendered is None:
                return skip(result_outputs)
            return {workspace: rendered.workspace, comparison: rendered.comparison, stats: rendered.stats}

        def show_directions(shown: DirectionsShown | None) -> dict:
            rows = shown.rows if shown is not None else []
            updates = {}
            for index, widgets in enumerate(direction_rows):
                updates.update(widgets.show(rows[index] if index < len(rows) else None))
            if shown is not None:
                updates[workspace] = shown.workspace
                updates[direction_report] = shown.report
            return updates

        def show_opened(opened: Opened) -> dict:
            presets = opened.workspace.presets if opened.workspace else []
            shown = opened.workspace.image if opened.workspace else None
            carried = opened.workspace.directions.sliders if opened.workspace else []
            rows = [DirectionRow(s.label + ("" if s.found_on(shown) else " · found on another image"), 0.0, None)
                    for s in carried]
            return {workspace: opened.workspace, prompt: opened.prompt, comparison: opened.comparison,
                    source_image: shown, stats: opened.stats, downloads: gr.update(value=None, visible=False),
                    sweep_strip: None, sweep_anim: None, recon: None, recon_report: "",
                    direction_view: opened.comparison, direction_stats: "",
                    direction_paint: ({"background": shown, "layers": [], "composite": shown} if shown else None),
                    direction_file: gr.update(value=None, visible=False),
                    **show_directions(DirectionsShown(opened.workspace, rows, "")),
                    **form.show_rows(opened.rows, presets)}

        def direction_values(values: dict) -> list[float]:
            """The direction sliders in use (as many as the workspace has)."""
            ws = values[workspace]
            count = len(ws.directions) if ws is not None else 0
            return [float(values[w.strength] or 0.0) for w in direction_rows[:count]]

        # ----- thin adapters: form values in, component updates out ------------------------------
        @reported(opened_outputs)
        def on_open(image, previous):
            studio.release(previous)  # a new image: the old one's files go (its direction sliders come along)
            return show_opened(studio.open_image(image, previous))

        @reported(result_outputs)
        @user_errors
        def on_render(values: dict, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            ws, edit = form.read(values)
            return show_rendered(studio.render(ws, edit, progress_of(progress, request)))

        def on_preview(values: dict, request: gr.Request):
            try:
                ws, edit = form.read(values)
                return show_rendered(studio.preview(ws, edit, progress_of(None, request)))
            except (ValueError, TypeError, gr.Error):  # half-typed rows while dragging: the release reports it
                return skip(result_outputs)

        def on_warm_up(values: dict):
            """A new image: queue its first slider's work ahead of the first drag (no model call here)."""
            try:
                studio.warm_up(*form.read(values))
            except (ValueError, TypeError):  # a form the user has not finished: the first move does the work
                pass

        def on_stale(values: dict):
            """The form changed: say the image is stale, and relabel the sliders with the new phrases."""
            count = values[row_count]
            labels = {r.degree: gr.update(label=_degree_label(r.read(values)[0])) for r in rows[:count]}
            return {stats: studio.stats(values[workspace], stale=True), **labels}

        @reported(form.row_outputs)
        @user_errors
        def on_add(values: dict):
            ws, edit = form.read(values)
            return form.show_rows(studio.add_row(ws, edit, values[add_choice]), ws.presets if ws else [])

        @reported(form.row_outputs)
        @user_errors
        def on_remove(values: dict, index: int):
            ws, edit = form.read(values)
            return form.show_rows(studio.remove_row(edit, index), ws.presets if ws else [])

        @reported([sweep_strip, sweep_anim])
        @user_errors
        def on_sweep(values: dict, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            ws, edit = form.read(values)
            sweep = SweepRequest(values[sweep_name] or "", float(values[sweep_start] or 0.0),
                                 float(values[sweep_stop] or 0.0), int(values[sweep_frames]))
            swept = studio.sweep(ws, edit, sweep, progress_of(progress, request))
            return {sweep_strip: swept.strip, sweep_anim: swept.animation}

        @reported([recon, recon_report])
        @user_errors
        def on_reconstruct(values: dict, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            ws, edit = form.read(values)
            rebuilt = studio.reconstruct(ws, edit, progress_of(progress, request))
            return {recon: rebuilt.comparison, recon_report: rebuilt.report}

        @reported([downloads])
        def on_save(ws):
            return {downloads: gr.update(value=studio.save_result(ws), visible=True)}

        direction_inputs = form.inputs | {w.strength for w in direction_rows}

        @reported(direction_outputs)
        @user_errors
        def on_discover(values: dict, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            ws, edit = form.read(values)
            return show_directions(studio.discover_directions(
                ws, edit, int(values[direction_k]), values[direction_region] or "none", direction_values(values),
                progress_of(progress, request), studio.painted_mask(values[direction_paint])))

        @reported(direction_outputs)
        @user_errors
        def on_text_direction(values: dict):
            ws, edit = form.read(values)
            return show_directions(studio.add_text_direction(ws, edit, values[text_row], values[text_method],
                                                             values[direction_region] or "none",
                                                             direction_values(values),
                                                             studio.painted_mask(values[direction_paint])))

        @reported(direction_outputs)
        @user_errors
        def on_load_direction(values: dict):
            ws, edit = form.read(values)
            return show_directions(studio.load_direction(ws, edit, values[direction_upload], direction_values(values)))

        @reported(direction_outputs)
        @user_errors
        def on_library_direction(values: dict):
            ws, edit = form.read(values)
            return show_directions(studio.use_library_direction(ws, edit, values[library_choice],
                                                                direction_values(values)))

        @reported(direction_outputs)
        @user_errors
        def on_remove_direction(values: dict, index: int):
            ws, edit = form.read(values)
            return show_directions(studio.remove_direction(ws, edit, index, direction_values(values)))

        @reported(direction_outputs)
        @user_errors
        def on_carried_directions(values: dict):
            """The sliders that came along to a newly opened image get their thumbnails on it."""
            ws, edit = form.read(values)
            shown = studio.carried_directions(ws, edit, direction_values(values))
            return show_directions(shown) if shown is not None else skip(direction_outputs)

        @reported([workspace, direction_view, direction_stats])
        @user_errors
        def on_apply_directions(values: dict, request: gr.Request):
            ws, edit = form.read(values)
            rendered = studio.apply_directions(ws, edit, direction_values(values), progress_of(None, request))
            return {workspace: rendered.workspace, direction_view: rendered.comparison,
                    direction_stats: rendered.stats}

        @reported([direction_file])
        def on_save_direction(ws, index: int):
            return {direction_file: gr.update(value=studio.save_direction(ws, index), visible=True)}

        restored_outputs = [*opened_outputs, *form.settings_outputs]

        @reported(restored_outputs)
        def on_recipe(values: dict, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            restored = studio.load_recipe(values[workspace], values[recipe_button], values[live_preview],
                                          progress_of(progress, request))
            studio.release(values[workspace])
            return {**show_opened(restored.opened), **show_rendered(restored.rendered),
                    **form.show_config(restored.config, calibrated=False)}

        def on_close(request: gr.Request):
            """The tab closed: drop this user's state (and files) now, not an hour later."""
            holder = getattr(demo, "state_holder", None)
            if holder is not None and request is not None:
                holder.delete_state(request.session_hash)  # runs the delete callbacks (our files)
                holder.session_data.pop(request.session_hash, None)  # gradio's own copy of the page state
                log.info("session closed; its state was released")

        # ----- events ----------------------------------------------------------------------------
        for opened_event in (source_image.upload(on_open, [source_image, workspace], opened_outputs, **compute),
                             examples.load_input_event.then(on_open, [source_image, workspace], opened_outputs,
                                                            **compute)):
            opened_event.success(on_carried_directions, direction_inputs, direction_outputs, **compute).success(
                on_warm_up, form.inputs, [], show_progress="hidden", concurrency_limit=None)
        source_image.clear(on_open, [source_image, workspace], opened_outputs, **compute)
        render_events = [render_button.click] + [r.degree.release for r in rows] + [r.target.select for r in rows]
        for event in render_events:
            event(on_render, form.inputs, result_outputs, show_progress_on=[comparison], **compute)
        for r in rows:
            r.degree.input(on_preview, form.inputs, result_outputs, show_progress="hidden",
                           trigger_mode="always_last", **compute)
            for part in (r.name, r.source, r.target, r.whole_prompt):
                part.input(on_stale, form.inputs, stale_outputs, show_progress="hidden", concurrency_limit=None)
        prompt.input(on_stale, form.inputs, stale_outputs, show_progress="hidden", concurrency_limit=None)
        add_button.click(on_add, form.inputs | {add_choice}, form.row_outputs, concurrency_limit=None)
        for index, r in enumerate(rows):
            r.remove.click(partial(on_remove, index=index), form.inputs, form.row_outputs, concurrency_limit=None)
        sweep_button.click(on_sweep, form.inputs | {sweep_name, sweep_start, sweep_stop, sweep_frames},
                           [sweep_strip, sweep_anim], **compute)
        recon_button.click(on_reconstruct, form.inputs, [recon, recon_report], **compute)
        discover_button.click(on_discover, direction_inputs | {direction_k, direction_region, direction_paint},
                              direction_outputs, **compute)
        text_button.click(on_text_direction,
                          direction_inputs | {text_row, text_method, direction_region, direction_paint},
                          direction_outputs, **compute)
        direction_upload.upload(on_load_direction, direction_inputs | {direction_upload}, direction_outputs, **compute)
        library_button.click(on_library_direction, direction_inputs | {library_choice}, direction_outputs, **compute)
        for index, widgets in enumerate(direction_rows):
            widgets.strength.release(on_apply_directions, direction_inputs, [workspace, direction_view,
                                                                             direction_stats],
                                     show_progress_on=[direction_view], **compute)
            widgets.strength.input(on_apply_directions, direction_inputs, [workspace, direction_view, direction_stats],
                                   show_progress="hidden", trigger_mode="always_last", **compute)
            widgets.remove.click(partial(on_remove_direction, index=index), direction_inputs, direction_outputs,
                                 **compute)
            widgets.save.click(partial(on_save_direction, index=index), [workspace], [direction_file],
                               concurrency_limit=None)
        save_button.click(on_save, [workspace], [downloads], concurrency_limit=None)
        recipe_button.upload(on_recipe, {workspace, recipe_button, live_preview}, restored_outputs, **compute).success(
            on_carried_directions, direction_inputs, direction_outputs, **compute)
        demo.unload(on_close)
    demo.queue(default_concurrency_limit=studio.concurrency, max_size=64)
    demo.ems_form = form  # for tests that feed the form's values to the handlers as a hostile client would
    return demo
