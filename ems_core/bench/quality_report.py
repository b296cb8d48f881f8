"""Reports of the quality benchmark: text tables, the headline JSON, plots, a contact sheet, docs/benchmark.md.

Everything here reads the aggregated numbers of :mod:`.quality`; nothing is computed twice.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

from PIL import Image, ImageDraw

from .quality import QualityCase, ideal_image

__all__ = ["HEADLINE_KEYS", "METHOD_NOTES", "attribute_tables", "contact_sheet", "headline", "markdown_report",
           "plot_preservation", "plot_sweeps", "summary_table", "text_tables"]

#: The numbers the last JSON line carries for the default method and for each baseline.
HEADLINE_KEYS = ("target_hit", "preservation", "both", "rho_size", "rho_position", "psnr_degree0", "sde",
                 "nfe_per_edit")
EXTRA_KEYS = ("rho", "ssim_degree0", "nfe_per_move")

METHOD_NOTES = {
    "ours": "EMS as the editor renders it: `EditSession` with the backend's edit settings",
    "ems-no-refine": "EMS without the constrained-SDS refinement",
    "ems-inversion": "EMS with the inversion sampler: invert the source to t0 under its prompt, sample down under e(a)",
    "ems-refine": "EMS with 2 constrained-SDS iterations after sampling",
    "refine-only": "the constrained SDS alone, from the source latent toward the target embedding",
    "flowedit": "FlowEdit (Kulikov et al.): inversion-free, coupled source/target paths, fresh noise each step",
    "invert-resample": "explicit, unguided inversion to t0 under the source prompt, guided re-sampling under the target",
    "sdedit": "seeded noise to t0, re-sampled under the target",
    "regenerate": "text-to-image from seeded noise with the target prompt, on the model's generation schedule "
                  "(the source image is ignored)",
    "sds": "a latent direction per attribute from its text pair (SDS, whole image), at the model's direction "
           "noise level",
    "tloco": "T-LOCO: the text pair's PMP change pulled back through the Jacobian, at the model's direction noise "
             "level",
    "hsds": "HSDS (EIM): a damped Gauss-Newton step on the text pair, at the model's direction noise level",
}

_SUMMARY_COLUMNS = [("hit", "target_hit", 3), ("kept", "preservation", 3), ("both", "both", 3),
                    ("pairs both", "pairs_both", 3), ("rho size", "rho_size", 2), ("rho pos", "rho_position", 2),
                    ("rho", "rho", 2), ("PSNR0 dB", "psnr_degree0", 1), ("SSIM0", "ssim_degree0", 3), ("SDE", "sde", 3),
                    ("outside d", "outside_change", 1), ("NFE edit", "nfe_per_edit", 0), ("NFE move", "nfe_per_move", 0)]
_ATTRIBUTE_COLUMNS = [("n", "n", 0), ("hit", "target_hit", 3), ("kept", "preservation", 3), ("both", "both", 3),
                      ("PSNR0 dB", "psnr_degree0", 1), ("SSIM0", "ssim_degree0", 3), ("SDE", "sde", 3),
                      ("outside d", "outside_change", 1), ("inside d", "inside_change", 1), ("rho", "rho", 2),
                      ("switch at", "switch_degree", 2), ("never", "never_switched", 2)]


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}" if digits else str(int(round(value)))


def _summary_row(method: str, numbers: dict) -> dict:
    return {**numbers, "pairs_both": (numbers.get("pairs") or {}).get("both"),
            "outside_change": numbers["overall"]["outside_change"]}


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    keep = [0] + [i for i in range(1, len(header)) if any(row[i] != "-" for row in rows)]  # drop empty columns
    header, rows = [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([fmt(header)] + [fmt(row) for row in rows])


def summary_table(summary: dict[str, dict], markdown: bool = False) -> str:
    """One row per method (:data:`_SUMMARY_COLUMNS`)."""
    header = ["method"] + [label for label, _, _ in _SUMMARY_COLUMNS]
    rows = [[method] + [_cell(_summary_row(method, numbers).get(key), digits) for _, key, digits in _SUMMARY_COLUMNS]
            for method, numbers in summary.items()]
    return _table(header, rows, markdown)


def attribute_tables(summary: dict[str, dict], markdown: bool = False) -> str:
    """Per method, a row per attribute (and pairs), then the kept share of each non-target attribute."""
    parts = []
    for method, numbers in summary.items():
        header = ["attribute"] + [label for label, _, _ in _ATTRIBUTE_COLUMNS]
        rows = [[label] + [_cell(row.get(key), digits) for _, key, digits in _ATTRIBUTE_COLUMNS]
                for label, row in numbers["by_attribute"].items()]
        rows.append(["(all singles)"] + [_cell(numbers["overall"].get(key), digits) for _, key, digits in _ATTRIBUTE_COLUMNS])
        title = f"### {method}" if markdown else f"== {method} =="
        kept = numbers["overall"]["kept"]
        kept_line = ("kept per attribute (single-attribute edits): "
                     + ", ".join(f"{name} {_cell(share, 3)}" for name, share in kept.items())) if kept else ""
        parts.append("\n\n".join(filter(None, [title, _table(header, rows, markdown), kept_line])))
    return "\n\n".join(parts)


def text_tables(summary: dict[str, dict], markdown: bool = False) -> str:
    """:func:`summary_table` then :func:`attribute_tables`."""
    return summary_table(summary, markdown) + "\n\n" + attribute_tables(summary, markdown)


def headline(summary: dict[str, dict], default: str = "ours", run: dict | None = None) -> dict:
    """The last JSON line: :data:`HEADLINE_KEYS` (and a few extras) for ``default`` and per baseline."""
    keys = HEADLINE_KEYS + EXTRA_KEYS

    def numbers(name: str) -> dict:
        return {key: summary[name].get(key) for key in keys} | {"pairs_both": (summary[name].get("pairs") or {}).get("both")}

    main = default if default in summary else next(iter(summary))
    return {"method": main, **numbers(main),
            "baselines": {name: numbers(name) for name in summary if name != main}, "run": run or {}}


# ---------------------------------------------------------------------------------------------- images

_MEASURED = ("size", "x", "y", "smile", "eyes", "age", "hair lightness", "hair length", "glasses", "face width", "skin",
             "background lightness")  # sweeps read as progress toward a value; the rest (colours, hues) as hits


def plot_sweeps(curves: dict[str, dict[str, list[tuple[float, float]]]], path: Path) -> Path | None:
    """Degree vs measured response, one panel per attribute, one line per method; ``None`` without sweeps."""
    order = ("shape", "colour", "background", "size", "x", "y", *_MEASURED[3:])
    names = sorted({name for by_name in curves.values() for name in by_name},
                   key=lambda n: (order.index(n) if n in order else len(order), n))
    if not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(names))
    rows = (len(names) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        for method, by_name in curves.items():
            points = by_name.get(name)
            if points:
                ax.plot([d for d, _ in points], [v for _, v in points], marker="o", label=method)
        ax.set_title(name)
        ax.set_xlabel("degree")
        ax.set_ylabel("progress to target" if name in _MEASURED else "share at target", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def plot_preservation(summary: dict[str, dict], path: Path) -> Path | None:
    """Share of single-attribute edits keeping each non-target attribute, grouped bars per method."""
    methods = [m for m in summary if summary[m]["overall"]["kept"]]
    if not methods:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary[methods[0]]["overall"]["kept"])
    width = 0.8 / len(methods)
    figure, ax = plt.subplots(figsize=(max(6, 1.3 * len(names) + 2), 3.6))
    for i, method in enumerate(methods):
        kept = summary[method]["overall"]["kept"]
        ax.bar([j + i * width for j in range(len(names))], [kept.get(n) or 0 for n in names], width, label=method)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))], names)
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("kept when another attribute is edited")
    ax.legend(fontsize=7, ncol=len(methods), loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def contact_sheet(contact: Sequence[tuple[QualityCase, dict[str, Image.Image]]], path: Path,
                  scale: int | None = None) -> Path | None:
    """Rows of cases: source, the ideal target (world cases), then each method's edit (largest degree).

    ``scale`` (default: 2 for images under 128 px, else 1) enlarges each cell by pixel repetition; the PNG is
    saved as an optimised 256-colour palette image (the sheet is committed with the report)."""
    if not contact:
        return None
    methods = list(contact[0][1])
    world = ideal_image(contact[0][0]) is not None
    columns = ["source"] + (["ideal"] if world else []) + methods
    scale = scale or (2 if contact[0][0].image.width < 128 else 1)
    side = contact[0][0].image.width * scale
    label_w, header_h, gap = 150, 16, 4
    sheet = Image.new("RGB", (label_w + len(columns) * (side + gap), header_h + len(contact) * (side + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(columns):
        draw.text((label_w + j * (side + gap), 2), name[:22], fill="black")
    for i, (case, outputs) in enumerate(contact):
        y = header_h + i * (side + gap)
        text = ", ".join(f"{a.name}: {a.source}->{a.target}" for a in case.attributes)
        for line, k in enumerate(range(0, min(len(text), 96), 24)):
            draw.text((2, y + 2 + 12 * line), text[k:k + 24], fill="black")
        cells = [case.image]
        if world:
            cells.append(ideal_image(case))
        cells += [outputs[m] for m in methods]
        for j, image in enumerate(cells):
            sheet.paste(image.resize((side, side), Image.Resampling.NEAREST), (label_w + j * (side + gap), y))
    sheet.quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


# ---------------------------------------------------------------------------------------------- markdown

_PORTRAIT_MEASURES = """\
## What is measured

Each case is a random portrait (`ems_core/portraits/`), its canonical caption and one or two attributes moved
together by each degree, from the caption's phrase to another phrase of the same attribute, through the phrases
between as the app's slider goes (`ems_core/bench/portrait_quality.py`). Every method gets the same image,
prompt, target phrases and seed. Outputs are read by the portrait oracle (`ems_core/portraits/oracle.py`).

- **hit**: at degree 1 every attribute the target prompt changes reads as its target word.
- **kept**: every other attribute's measured value within half the distance between neighbouring words' band
  centres of the source's reading (a change that reads half-way to another word: 0.2 for three-word attributes,
  0.14 for smile and skin, 0.09 for hair hue, 0.075 for background hue), **and** what no caption names: head position within 0.5 px per axis,
  tilt within 1.5 degrees, background texture signature within 0.02 (the autoencoder's own round trip stays
  under 0.23 px, 0.94 degrees and 0.009; a different draw of those details moves them by a median 1.1-1.3 px,
  0.7 degrees and 0.047). **both**: hit and kept.
- **rho**: on sweep cases (degrees 0, .25, .5, .75, 1) of an ordered attribute, Spearman's rho of degree vs the
  oracle's value, signed so that +1 moves steadily toward the target; hues report **switch at** instead.
- **PSNR0 / SSIM0**: degree 0 against the source image. The autoencoder alone caps PSNR0 (see the note above).
- **outside d**: mean absolute change (0-255) at degree 1 on pixels the ideal edit leaves alone (the ideal
  edit is the source portrait with only the targets moved to their words' band centres, rendered; its region is
  where it differs from the source by more than 6/255, grown by a pixel).
- **SDE**: as on the shapes world (docs/method.md, "Measuring an edit"), with that region.
- **NFE edit / move**: transformer evaluations of one degree-1 edit of a fresh image, and of one further degree.
"""

_MEASURES = """\
## What is measured

Each case is a source image, its prompt and one or two attributes moved together by each degree. Every method
gets the same image, prompt, target phrases and seed (one `torch.Generator` per case). Outputs are read by the
world's pixel oracle (`ems_core/world/oracle.py`); the numbers live in `ems_core/metrics/`.

- **hit**: at degree 1 every edited attribute reads as its target word.
- **kept**: every other attribute matches the *source image's* reading within what the eye notices
  (`ems_core/metrics/preservation.py`): the same shape and colour word; background within 20/255 per channel;
  object centre within 0.08 of the side per axis; size within 15% (relative). **both**: hit and kept.
- **rho size / rho pos**: on sweep cases (degrees 0, .25, .5, .75, 1), Spearman's rho of degree vs the measured
  size or centre, signed so that +1 moves steadily toward the target (a missing object drops that point).
  **switch at** (categorical attributes): the smallest sweep degree at which the target word holds, averaged over
  the sweeps where it ever holds; **never**: the share of sweeps where it never does.
- **PSNR0 / SSIM0**: degree 0 against the source image (SSIM: 11x11 Gaussian window, sigma 1.5, numpy).
- **outside d**: mean absolute change (0-255) at degree 1 on pixels outside the union of the source's and the
  edited image's object masks (for a background edit: inside that union, where the object must stay).
- **SDE** (semantic disentanglement, docs/method.md "Measuring an edit"): with `D` the RMS per-pixel L2 change the
  ideal edit makes in its region `R` (the object union for object attributes, the rest for background),
  `SDE = (1 - min(1, d_all(x0, src)/D)) (1 - min(1, d_R(x1, ideal)/D)) (1 - min(1, d_R'(x1, src)/D))`,
  in [0, 1]; 1 = perfect reconstruction, ideal edit inside `R`, nothing changed outside.
- **NFE edit / move**: transformer evaluations (`CountingBackend`) of one degree-1 edit of a fresh image, and of
  one further degree on the same image (what a slider move costs; only EMS reuses its inversion).
"""

_SETTINGS = """\
## How the methods' settings were chosen

EMS runs exactly what the editor runs (`BackendInfo.edit_config`; docs/method.md, "Cheap moves"). SDEdit and
invert-resample take the same steps, start time and guidance, so they differ from EMS only in where the
start latent comes from (seeded noise; an explicit, unguided inversion instead of EMS's guided fixed-point one).
Regenerate uses the model's text-to-image defaults. FlowEdit and refine-only were chosen on the bundled model
on 30 held-out cases (seed 99, not the benchmark's) by `python benchmarks/tune_baselines.py`
(`benchmarks/results/tune_baselines.json`): FlowEdit over 10 or 20 steps with 2-8 skipped and target guidance
2 / 3 / 4.5 (source 1.5); 10 steps with the first 2 skipped (t from 0.8) and guidance 1.5 / 3 gave the best
"both" (1.0, as did 20 steps at twice the cost), guidance 2 a slightly better SDE but fewer hits; refine-only over
8 or 16 iterations at step 0.5 or 1: 8 at 0.5 was best (both 0.6). SD3 and Flux use FlowEdit's published
settings (`FLOWEDIT_PRESETS`), not measured here.
"""

_ANNOTATED_FORMAT = """\
## Annotated real images (any backend)

`python -m ems_core bench quality --annotations FILE.json --model <hub id or folder> --device cuda` runs the
same methods on a folder of images described by a JSON file (`ems_core/bench/annotated.py`); it writes
`benchmark-annotated.md` in `--out-dir`. Metrics there need no oracle: degree-0 PSNR/SSIM, the mean absolute
change outside the region box (locality) and inside it (how much the edit did), NFE.

```json
{"edits": [
  {"id": "circle-to-blue", "image": "red-circle.png",
   "prompt": "a large red circle at the middle center on a white background",
   "attribute": "colour", "source": "red", "target": "blue",
   "degrees": [0, 0.5, 1], "region": [0.25, 0.25, 0.75, 0.75], "seed": 3}
]}
```

`image` is relative to the JSON file's folder; `prompt` the source prompt; `source` must occur in it (the
target prompt replaces it by `target`); `degrees` default `[0, 1]` (0 is always added); `region` (optional)
is a box `x0, y0, x1, y1` in fractions of the (centre-cropped, square) image; `seed` defaults to the edit's
index. A tiny example: `benchmarks/data/world-edits/` (64x64 renders of the shapes world).

Sharding: `accelerate launch -m ems_core bench quality ...` splits the cases between processes
(`PartialState().split_between_processes`), each writes `rank-<r>.json` under `<out-dir>/benchmark/shards`,
and rank 0 merges them and writes the report.
"""


def _settings_text(settings: Any) -> str:
    if dataclasses.is_dataclass(settings):
        values = dataclasses.asdict(settings)
        if "refine_iters" in values:  # an EditConfig: the fields that matter
            keys = ["sampler", "steps", "start_time", "guidance"]
            if values["source_guidance"] is not None:  # the source prompt's own guidance, the edit's ramped in
                keys += ["source_guidance", "guidance_ramp"]
            if values["sampler"] == "inversion":
                keys.append("inversion_fixed_point")
            keys += ["refine_iters", "seed"] + (["noise_grid"] if values["sampler"] == "difference" else [])
            values = {k: values[k] for k in keys}
        return ", ".join(f"{k} {v}" for k, v in values.items())
    return str(settings)


#: The bars the default method is held to (issue 9's "done when"), checked on every full run.
TARGETS = (("target hit (single edits)", "target_hit", 0.95), ("every other attribute kept, worst one", "kept_min", 0.95),
           ("rho, size sweeps", "rho_size", 0.95), ("rho, position sweeps", "rho_position", 0.95),
           ("degree-0 PSNR (dB)", "psnr_degree0", 30.0))
PORTRAIT_TARGETS = (("target hit (single edits)", "target_hit", 0.95),
                    ("every other attribute kept, worst one", "kept_min", 0.95), ("rho, every sweep", "rho", 0.95))
RIVALS = ("flowedit", "regenerate")  # the default's "both" must be at least theirs


def targets_table(summary: dict[str, dict], default: str = "ours", targets: Sequence[tuple[str, str, float]] = TARGETS
                  ) -> list[str]:
    """Markdown lines: each bar, the default method's value and whether it is met (empty when the default or its
    numbers are missing)."""
    ours = summary.get(default)
    if not ours:
        return []
    kept = ours["overall"].get("kept") or {}
    values = {**ours, "kept_min": min(kept.values()) if kept else None}
    rows = [(label, values.get(key), f">= {bar:g}", values.get(key) is not None and values[key] >= bar)
            for label, key, bar in targets]
    for rival in RIVALS:
        if rival in summary and summary[rival].get("both") is not None and ours.get("both") is not None:
            theirs = summary[rival]["both"]
            rows.append((f"both, against {rival}", ours["both"], f">= {theirs:.3f}", ours["both"] >= theirs))
    lines = ["| bar | ours | target | met |", "|---|---|---|---|"]
    lines += [f"| {label} | {_cell(value, 2 if 'PSNR' in label else 3)} | {target} | {'yes' if met else '**no**'} |"
              for label, value, target, met in rows]
    return lines


def markdown_report(summary: dict[str, dict], methods: Sequence[Any], run: dict, figures: dict[str, Path | None],
                    out_dir: Path, annotated: bool = False, notes: Sequence[str] = (), world: str = "shapes") -> str:
    """The whole page; its last line is the :func:`headline` JSON. ``world`` picks the definitions and bars."""
    title = ("Quality benchmark: annotated images" if annotated else
             "Quality benchmark on the portrait world" if world == "portraits" else
             "Quality benchmark: every edit against what users would pick instead")
    lines = [f"# {title}", "",
             "*Generated by the command below; do not edit by hand.*", "",
             "```bash", run["command"], "```", "",
             f"Run on {run['date']} with `{run['model']}` on {run['device']}, {run['threads']} torch thread(s): "
             f"{run['cases']} cases ({run['case_counts']}), wall time {run['wall_s']:.0f} s"
             + (" (`--quick`: a small suite, numbers are indicative only)" if run.get("quick") else "") + ".", ""]
    lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    lines += ["## Methods", "", "| method | what | settings |", "|---|---|---|"]
    lines += [f"| {m.name} | {METHOD_NOTES.get(m.name, '')} | {_settings_text(m.settings)} |" for m in methods]
    lines += ["", "## Summary", "",
              "Single-attribute edits (degree 1) unless the column says otherwise; *pairs both*: two attributes "
              "edited at once. `-`: not measured in this run.", "", summary_table(summary, markdown=True), ""]
    bars = targets_table(summary, targets=PORTRAIT_TARGETS if world == "portraits" else TARGETS)
    if bars and not annotated:
        lines += ["### The default against its bars", "", *bars, "",
                  "Where a bar is not met, docs/method.md (\"" + ("The portrait world: its benchmark and its edit "
                  "settings" if world == "portraits" else "The Sample step: what won") + "\") says why.", ""]
    lines += ["## Per method and attribute", "", attribute_tables(summary, markdown=True), ""]
    shown = {k: v for k, v in figures.items() if v is not None}
    if shown:
        lines += ["## Plots", ""]
        for label, path in shown.items():
            lines += [f"![{label}]({Path(path).relative_to(out_dir).as_posix()})", ""]
    lines += [] if annotated else [_PORTRAIT_MEASURES if world == "portraits" else _MEASURES, _SETTINGS]
    lines += [_ANNOTATED_FORMAT, json.dumps(headline(summary, run=run))]
    return "\n".join(lines) + "\n"
