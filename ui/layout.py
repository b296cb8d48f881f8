"""The page: components, and the wiring of events to :class:`~ui.studio.Studio` handlers.

Inputs are grouped: every compute event takes the whole form as a *set* of components, so its
function receives one ``{component: value}`` dict that :meth:`Form.read` turns into an
:class:`~ui.workspace.EditRequest`. Outputs are returned as ``{component: update}`` dicts built by
the ``show_*`` helpers. Attribute rows are a fixed number of hidden groups driven by one handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gradio as gr

from ems_core import DEGREE_RANGE, Attribute, AttributePreset, EditConfig

from .errors import user_errors
from .studio import MAX_ROWS, Opened, Rendered, Rows, Studio, SweepRequest
from .workspace import EditRequest, Workspace

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "examples"
STATE_TTL_S = 3600  # per-user state is dropped an hour after its last update
COMPUTE = "model"  # concurrency id shared by every event that runs the model

# Scenes are 64x64: show them large and without smoothing. (Gradio 6 takes css at launch().)
CSS = """
#comparison img, #source-image img, #recon img, #sweep-strip img, #sweep-anim img { image-rendering: pixelated; }
#source-image img { min-height: 200px; object-fit: contain; }
#stats table { font-size: 0.85em; }
"""


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
        with gr.Group(visible=False) as group:
            with gr.Row(equal_height=True):
                name = gr.Textbox(label="Attribute", scale=2, min_width=80, elem_id=f"row{index}-name")
                source = gr.Textbox(label="Source phrase", scale=3, min_width=80, elem_id=f"row{index}-source")
                target = gr.Dropdown(label="Target phrase", choices=[], allow_custom_value=True, scale=3,
                                     min_width=100, elem_id=f"row{index}-target")
                remove = gr.Button("✕", variant="secondary", size="sm", scale=0, min_width=40,
                                   elem_id=f"row{index}-remove")
            with gr.Row(equal_height=True):
                degree = gr.Slider(*DEGREE_RANGE, value=0.0, step=0.05, label="Degree", scale=5,
                                   elem_id=f"row{index}-degree")
                whole_prompt = gr.Checkbox(False, label="Target is the whole prompt", scale=1, min_width=120,
                                           elem_id=f"row{index}-whole-prompt")
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
            self.degree: gr.update(value=degree, label=f"Degree of {attribute.name}"),
        }


@dataclass
class Form:
    """Everything an edit reads: the user's state, the prompt, the rows and the settings."""

    workspace: gr.State
    row_count: gr.State
    prompt: gr.Textbox
    rows: list[RowWidgets]
    add_choice: gr.Dropdown
    sweep_name: gr.Dropdown
    seed: gr.Number
    steps: gr.Slider
    refine_iters: gr.Slider
    start_time: gr.Slider
    guidance: gr.Slider
    live_preview: gr.Checkbox

    @property
    def inputs(self) -> set:
        settings = {self.seed, self.steps, self.refine_iters, self.start_time, self.guidance, self.live_preview}
        row_parts = {c for r in self.rows for c in r.parts}
        return {self.workspace, self.row_count, self.prompt, *settings, *row_parts}

    @property
    def row_outputs(self) -> list:
        parts = [c for r in self.rows for c in (r.group, *r.parts)]
        return [self.row_count, self.add_choice, self.sweep_name, *parts]

    @property
    def settings_outputs(self) -> list:
        return [self.seed, self.steps, self.refine_iters, self.start_time, self.guidance]

    def read(self, values: dict) -> tuple[Workspace | None, EditRequest]:
        """The user's workspace and the request the form describes (raises ``ValueError`` if invalid)."""
        workspace: Workspace | None = values[self.workspace]
        base = workspace.base_config if workspace is not None else EditConfig()
        config = base.with_(
            seed=int(values[self.seed] or 0), steps=int(values[self.steps]),
            refine_iters=int(values[self.refine_iters]), start_time=float(values[self.start_time]),
            guidance=float(values[self.guidance]))
        rows = [r.read(values) for r in self.rows[:values[self.row_count]]]
        attributes = tuple(attribute for attribute, _ in rows)
        degrees = {attribute.name: degree for attribute, degree in rows}
        return workspace, EditRequest(values[self.prompt] or "", attributes, degrees, config,
                                      bool(values[self.live_preview]))

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
        updates[self.add_choice] = gr.update(choices=add, value=add[0])
        names = [a.name for a in rows.attributes]
        updates[self.sweep_name] = gr.update(choices=names, value=names[0] if names else None)
        return updates

    def show_config(self, config: EditConfig) -> dict:
        return {self.seed: config.seed, self.steps: config.steps, self.refine_iters: config.refine_iters,
                self.start_time: config.start_time, self.guidance: config.guidance}


def create_demo(studio: Studio) -> gr.Blocks:
    """The EMS Studio page over an already loaded :class:`Studio` (the model loads once per process)."""
    defaults = studio.default_config()
    info = studio.backend.info
    with gr.Blocks(title="EMS Studio", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            f"# EMS Studio\nChange one attribute of an image by a chosen degree. Model: `{studio.model}` "
            f"({info.family}, {info.image_size}x{info.image_size}). Upload an image or pick an example, "
            "pick a target, then move the slider: the edit re-renders when you release it.")
        workspace = gr.State(None, time_to_live=STATE_TTL_S)
        row_count = gr.State(0, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column(scale=5):
                source_image = gr.Image(label="Source image", type="pil", image_mode="RGB", height=260,
                                        sources=["upload", "clipboard"], elem_id="source-image")
                examples = gr.Examples(
                    examples=[[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.png"))], inputs=[source_image],
                    cache_examples=False, label="Example scenes", elem_id="examples")
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
                        seed = gr.Number(defaults.seed, label="Seed", precision=0, minimum=0)
                        live_preview = gr.Checkbox(True, label="Live preview while dragging (fewer steps)",
                                                   elem_id="live-preview")
                    steps = gr.Slider(1, 100, value=defaults.steps, step=1, label="Steps (full 1 → 0 schedule)")
                    start_time = gr.Slider(0.05, 1.0, value=defaults.start_time, step=0.05,
                                           label="Start time t0 (how much of the schedule the edit re-samples)")
                    refine_iters = gr.Slider(0, 10, value=defaults.refine_iters, step=1,
                                             label="Refinement iterations (constrained SDS, 0 = off)")
                    guidance = gr.Slider(0.0, 15.0, value=defaults.guidance, step=0.5,
                                         label="Guidance (classifier-free)")
            with gr.Column(scale=6):
                comparison = gr.ImageSlider(label="Before / after", type="pil", format="png", height=420,
                                            elem_id="comparison", interactive=False)
                stats = gr.Markdown(elem_id="stats")
                downloads = gr.File(label="Result PNG (carries its recipe) and recipe JSON", file_count="multiple",
                                    interactive=False, elem_id="downloads")
                recipe_button = gr.UploadButton("Load a recipe (result PNG or JSON)", file_types=[".png", ".json"],
                                                type="filepath", elem_id="load-recipe")
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
                                           elem_id="sweep-strip", scale=3, height=220)
                    sweep_anim = gr.Image(label="Animation (GIF, download it)", type="filepath", interactive=False,
                                          elem_id="sweep-anim", scale=1, height=220)
            with gr.Tab("Reconstruction check"):
                recon_button = gr.Button("Reconstruct at degree 0", elem_id="reconstruct")
                with gr.Row():
                    recon = gr.ImageSlider(label="Source / reconstruction", type="pil", format="png",
                                           interactive=False, elem_id="recon", height=320)
                    recon_report = gr.Markdown(elem_id="recon-report")

        form = Form(workspace, row_count, prompt, rows, add_choice, sweep_name, seed, steps, refine_iters,
                    start_time, guidance, live_preview)
        result_outputs = [workspace, comparison, stats, downloads]
        side_outputs = [sweep_strip, sweep_anim, recon, recon_report]
        opened_outputs = [*result_outputs, prompt, *side_outputs, *form.row_outputs]
        compute = dict(concurrency_id=COMPUTE, concurrency_limit=1)

        def show_rendered(rendered: Rendered | None) -> dict:
            if rendered is None:
                return {}
            updates = {workspace: rendered.workspace, comparison: rendered.comparison, stats: rendered.stats}
            if rendered.downloads is not None:
                updates[downloads] = rendered.downloads
            return updates

        def show_opened(opened: Opened) -> dict:
            presets = opened.workspace.presets if opened.workspace else []
            return {workspace: opened.workspace, prompt: opened.prompt, comparison: opened.comparison,
                    stats: opened.stats, downloads: None, sweep_strip: None, sweep_anim: None, recon: None,
                    recon_report: "", **form.show_rows(opened.rows, presets)}

        # ----- thin adapters: form values in, component updates out ------------------------------
        def on_open(image):
            return show_opened(studio.open_image(image))

        @user_errors
        def on_render(values: dict, progress=gr.Progress(track_tqdm=True)):
            ws, request = form.read(values)
            return show_rendered(studio.render(ws, request, progress))

        def on_preview(values: dict):
            try:
                ws, request = form.read(values)
            except (ValueError, TypeError):
                return {}
            return show_rendered(studio.preview(ws, request))

        @user_errors
        def on_add(values: dict):
            ws, request = form.read(values)
            return form.show_rows(studio.add_row(ws, request, values[add_choice]), ws.presets if ws else [])

        @user_errors
        def on_remove(values: dict, index: int):
            ws, request = form.read(values)
            return form.show_rows(studio.remove_row(request, index), ws.presets if ws else [])

        @user_errors
        def on_sweep(values: dict, progress=gr.Progress(track_tqdm=True)):
            ws, request = form.read(values)
            sweep = SweepRequest(values[sweep_name] or "", float(values[sweep_start] or 0.0),
                                 float(values[sweep_stop] or 0.0), int(values[sweep_frames]))
            return studio.sweep(ws, request, sweep, progress)

        @user_errors
        def on_reconstruct(values: dict, progress=gr.Progress(track_tqdm=True)):
            ws, request = form.read(values)
            return studio.reconstruct(ws, request, progress)

        def on_recipe(values: dict, progress=gr.Progress(track_tqdm=True)):
            restored = studio.load_recipe(values[workspace], values[recipe_button], values[live_preview], progress)
            return {**show_opened(restored.opened), **show_rendered(restored.rendered),
                    **form.show_config(restored.config), source_image: restored.opened.workspace.image}

        # ----- events ----------------------------------------------------------------------------
        source_image.upload(on_open, [source_image], opened_outputs, **compute)
        source_image.clear(on_open, [source_image], opened_outputs, **compute)
        examples.load_input_event.then(on_open, [source_image], opened_outputs, **compute)
        render_events = [render_button.click] + [r.degree.release for r in rows]
        for event in render_events:
            event(on_render, form.inputs, result_outputs, show_progress_on=[comparison], **compute)
        for r in rows:
            r.degree.input(on_preview, form.inputs, result_outputs[:3], show_progress="hidden",
                           trigger_mode="always_last", **compute)
        add_button.click(on_add, form.inputs | {add_choice}, form.row_outputs, concurrency_limit=None)
        for index, r in enumerate(rows):
            r.remove.click(partial(on_remove, index=index), form.inputs, form.row_outputs, concurrency_limit=None)
        sweep_button.click(on_sweep, form.inputs | {sweep_name, sweep_start, sweep_stop, sweep_frames},
                           [sweep_strip, sweep_anim], **compute)
        recon_button.click(on_reconstruct, form.inputs, [recon, recon_report], **compute)
        recipe_button.upload(on_recipe, {workspace, recipe_button, live_preview},
                             [*opened_outputs, *form.settings_outputs, source_image], **compute)
    demo.queue(default_concurrency_limit=1, max_size=64)
    return demo
