"""The quality benchmark: every method on the same backend and the same seeded cases, scored by the world's
oracle (or, for annotated real images, by pixel metrics that need no oracle).

    python -m ems_core bench quality [--quick] [--cases N] [--methods ours,flowedit,...] [--out-dir docs]

Steps of :func:`run_quality`: (1) build the cases (:func:`world_suite` or
:func:`~ems_core.bench.annotated.load_annotated`); (2) per case and method, render every degree of the case
in one call with a generator seeded by the case; (3) score the outputs (:func:`score_world` /
:func:`score_annotated`) into one JSON-ready record each; (4) count each method's evaluations for one fresh
edit and one further move (:class:`~ems_core.backends.CountingBackend`); (5) :func:`aggregate` the records per
method and attribute. Reports (tables, plots, ``docs/benchmark.md``) are :mod:`.quality_report`'s.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from PIL import Image

from ..backends.contract import Backend, BackendInfo, CountingBackend
from ..baselines import BASELINES, default_settings
from ..config import EditConfig
from ..embeddings import PromptEmbedding
from ..extract import Attribute
from ..images import pil_to_tensor, tensor_to_pil
from ..metrics import mean_abs_change, preservation, psnr, sde, spearman, ssim, switch_degree, target_hit
from ..session import EditSession
from ..world.edits import CHOICES, edit_cases, waypoints
from ..world.oracle import ATTRIBUTES, Measurement, measure
from ..world.scene import SIZE_BANDS, X_BANDS, Y_BANDS, Scene, caption_of, random_scene, render

__all__ = ["CONTINUOUS", "DEFAULT_METHODS", "METHODS", "QualityCase", "QualityMethod", "QualityRun", "SWEEP_DEGREES",
           "aggregate", "capped_psnr", "grow_mask", "ideal_image", "make_methods", "method_costs", "pair_attribute", "run_quality", "score_annotated",
           "score_world", "scorer", "world_suite"]

SWEEP_DEGREES = (0.0, 0.25, 0.5, 0.75, 1.0)  # degrees of a sweep case (slider response)
SINGLE_DEGREES = (0.0, 1.0)  # a single-attribute case: degree 0 (reconstruction) and 1 (the edit)
PAIR_DEGREES = (1.0,)  # a two-attribute case: both attributes at degree 1
CONTINUOUS = ("size", "x", "y")  # attributes with a measured value (Spearman's rho); the rest switch
PSNR_CAP = 100.0  # dB reported for identical images (keeps records finite JSON)
MASK_ALPHA = 0.1  # an oracle soft-mask value above this may be object (object edits' region)...
MASK_GROW = 1  # ...grown by this many pixels (the autoencoder blurs edges by about one pixel)
CORE_ALPHA = 0.9  # at or above this a pixel is object only (what a background edit must not touch)
CONTACT_CASES = 8  # cases kept with their images for the contact sheet
_BANDS = {"size": SIZE_BANDS, "x": X_BANDS, "y": Y_BANDS}


# ---------------------------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class QualityCase:
    """One edit to run with every method: a source image and prompt, attributes moved together by each degree.

    World cases carry their ground-truth ``scene`` (a shapes ``Scene`` or a ``Portrait``, by ``world``) and
    ``targets`` (oracle attribute -> target word); annotated
    cases carry an optional ``region`` box instead (fractions of the side: x0, y0, x1, y1).
    """

    case_id: str
    kind: str  # "single", "sweep" (a single with more degrees), "pair", "annotated"
    image: Image.Image = field(repr=False)
    prompt: str
    attributes: tuple[Attribute, ...]
    degrees: tuple[float, ...]
    seed: int
    scene: Scene | None = None
    targets: dict[str, str] | None = None
    region: tuple[float, float, float, float] | None = None
    world: str = "shapes"  # whose oracle scores it ("shapes" | "portraits"); ``scene`` is that world's ground truth

    @property
    def label(self) -> str:
        """What the row is reported under: the attribute, ``"pair"`` or the annotated attribute name."""
        return "pair" if self.kind == "pair" else self.attributes[0].name


def pair_attribute(name: str, source_word: str, target_word: str) -> Attribute:
    """The slider of a world attribute (background phrases carry the word "background", as EditCase does)."""
    suffix = " background" if name == "background" else ""
    return Attribute(name, source_word + suffix, target_word + suffix, via=waypoints(name, source_word, target_word))


def world_suite(n_single: int, sweeps_per_attribute: int, n_pairs: int, seed: int, image_size: int = 64) -> list[QualityCase]:
    """The seeded world cases: ``n_single`` single-attribute edits cycling through the six attributes
    (:func:`~ems_core.world.edits.edit_cases`), the first ``sweeps_per_attribute`` of each attribute run at
    :data:`SWEEP_DEGREES`, and ``n_pairs`` two-attribute edits (two different attributes of a random scene,
    each to another word)."""
    cases, sweeps = [], {name: 0 for name in ATTRIBUTES}
    for i, case in enumerate(edit_cases(n_single, seed)):
        sweep = sweeps[case.attribute] < sweeps_per_attribute
        sweeps[case.attribute] += sweep
        scene = case.scene
        cases.append(QualityCase(
            f"s{i:03d}-{case.attribute}", "sweep" if sweep else "single", render(scene, image_size), caption_of(scene),
            (case.as_attribute(),), SWEEP_DEGREES if sweep else SINGLE_DEGREES, seed * 10_000 + i, scene,
            {case.attribute: case.target_word}))
    rng = random.Random(seed + 1)
    for i in range(n_pairs):
        scene = random_scene(rng)
        names = rng.sample(ATTRIBUTES, 2)
        targets = {n: rng.choice([w for w in CHOICES[n] if w != scene.words[n]]) for n in names}
        cases.append(QualityCase(
            f"p{i:03d}-{'+'.join(names)}", "pair", render(scene, image_size), caption_of(scene),
            tuple(pair_attribute(n, scene.words[n], w) for n, w in targets.items()), PAIR_DEGREES,
            seed * 10_000 + 5_000 + i, scene, targets))
    return cases


def ideal_scene(scene: Scene, targets: dict[str, str]) -> Scene:
    """The source scene with only the targets changed: a word for categorical attributes, the centre of the
    target word's band for size and position."""
    changes = {name: (sum(_BANDS[name][word]) / 2 if name in _BANDS else word) for name, word in targets.items()}
    return scene.with_(**changes)


def ideal_image(case: QualityCase) -> Image.Image | None:
    """The ideal edit of a world case (the source with only the targets changed), rendered; ``None`` for an
    annotated case."""
    if case.scene is None:
        return None
    if case.world == "portraits":
        from .portrait_quality import ideal_image as ideal_portrait_image

        return ideal_portrait_image(case)
    return render(ideal_scene(case.scene, case.targets), case.image.width)


# ---------------------------------------------------------------------------------------------- methods

@dataclass(frozen=True)
class QualityMethod:
    """A way to edit: ``edit(backend, case) -> one image per degree``; ``settings`` is what the report prints."""

    name: str
    family: str  # "ems" (an EditSession) or the baseline's name: with equal settings, equal outputs
    settings: Any
    edit: Callable[[Backend, QualityCase], list[Image.Image]] = field(repr=False)
    costs: Callable[[Backend, QualityCase], tuple[int, int]] = field(repr=False)  # (fresh edit, further move)


def _session(backend: Backend, case: QualityCase, config: EditConfig) -> EditSession:
    session = EditSession(backend, case.image, prompt=case.prompt, config=config)
    session.configure(case.prompt, list(case.attributes))
    return session


def _session_method(name: str, config: EditConfig) -> QualityMethod:
    def edit(backend: Backend, case: QualityCase) -> list[Image.Image]:
        session = _session(backend, case, config)
        results = session.render_batch([{a.name: d for a in case.attributes} for d in case.degrees])
        return [r.image for r in results]

    def costs(backend: Backend, case: QualityCase) -> tuple[int, int]:
        counted = CountingBackend(backend)
        session = _session(counted, case, config)
        session.render({a.name: 1.0 for a in case.attributes})
        first = counted.evaluations
        # a further degree between two knots of any path of fewer than 10 segments (0.5 is a waypoint of many
        # paths), where a slider move costs its most (blend="velocity" evaluates both knots)
        session.render({a.name: 0.3 for a in case.attributes})
        return first, counted.evaluations - first

    return QualityMethod(name, "ems", config, edit, costs)


def _target_embeddings(backend: Backend, case: QualityCase, degrees: Sequence[float]) -> tuple[PromptEmbedding, ...]:
    """(source, uncond, one target row per degree): ``e_src + d (e_tgt - e_src)``, ``e_tgt`` the embedding of the
    prompt with every attribute of the case replaced (what a user would type)."""
    prompt = case.prompt
    for attribute in case.attributes:
        prompt = attribute.target_prompt(prompt)
    source, uncond, target = (backend.encode_prompt([p]) for p in (case.prompt, "", prompt))
    rows = PromptEmbedding.cat([source + (target - source) * float(d) if d != 1.0 else target for d in degrees])
    return source, uncond, rows


def _baseline_method(name: str, settings: Any) -> QualityMethod:
    function = BASELINES[name]

    def run(backend: Backend, case: QualityCase, degrees: Sequence[float]) -> torch.Tensor:
        latent = backend.encode_image(pil_to_tensor(case.image).to(backend.device))  # (1, C, h, w)
        source, uncond, targets = _target_embeddings(backend, case, degrees)
        generator = torch.Generator("cpu").manual_seed(case.seed)
        return function(backend, latent, source, targets, uncond, settings, generator)

    def edit(backend: Backend, case: QualityCase) -> list[Image.Image]:
        return tensor_to_pil(backend.decode_latent(run(backend, case, case.degrees)))

    def costs(backend: Backend, case: QualityCase) -> tuple[int, int]:
        counted = CountingBackend(backend)
        run(counted, case, (1.0,))
        return counted.evaluations, counted.evaluations  # nothing is reused between moves

    return QualityMethod(name, name, settings, edit, costs)


def _direction_method(method: str) -> Callable[[BackendInfo], QualityMethod]:
    """A text-supervised latent direction (``sds``, ``tloco`` or ``hsds``) per case, from each attribute's source and
    target phrases, at the model's direction noise level; degree d renders ``d * unit_strength`` along it
    (:func:`ems_core.edit_directions.render_text_edits`, what ``edit --method`` does)."""
    from ..edit_directions import render_directions, render_text_edits

    def build(info: BackendInfo) -> QualityMethod:
        config = info.direction_config().with_(sampler="inversion")  # directions live at the inverted z_t0

        def render(backend: Backend, case: QualityCase, degrees: Sequence[float]) -> list[Image.Image]:
            session = _session(backend, case, config)
            results, _ = render_text_edits(session, method, [{a.name: d for a in case.attributes} for d in degrees],
                                           config)
            return [r.image for r in results]

        def costs(backend: Backend, case: QualityCase) -> tuple[int, int]:
            counted = CountingBackend(backend)
            session = _session(counted, case, config)
            _, directions = render_text_edits(session, method, [{a.name: 1.0 for a in case.attributes}], config)
            first = counted.evaluations
            render_directions(session, list(directions.values()),
                              [[0.5 * d.unit_strength for d in directions.values()]], config)  # a further move
            return first, counted.evaluations - first

        return QualityMethod(method, method, config, lambda backend, case: render(backend, case, case.degrees), costs)

    return build


#: Method name -> builder from the backend's info. ``ours`` is exactly what the editor renders.
METHODS: dict[str, Callable[[BackendInfo], QualityMethod]] = {
    "ours": lambda info: _session_method("ours", info.edit_config),
    "ems-no-refine": lambda info: _session_method("ems-no-refine", info.edit_config.with_(refine_iters=0)),
    "ems-refine": lambda info: _session_method("ems-refine", info.edit_config.with_(refine_iters=2)),
    "ems-inversion": lambda info: _session_method("ems-inversion", info.edit_config.with_(sampler="inversion")),
    "ems-sum": lambda info: _session_method("ems-sum", info.edit_config.with_(composition="sum")),
    "ems-multilinear": lambda info: _session_method("ems-multilinear", info.edit_config.with_(composition="multilinear")),
    **{name: (lambda info, name=name: _baseline_method(name, default_settings(name, info))) for name in BASELINES},
    **{name: _direction_method(name) for name in ("sds", "tloco", "hsds")},  # latent directions (docs/method.md)
}
DEFAULT_METHODS = ("ours", "ems-no-refine", "ems-inversion", "refine-only", "flowedit", "invert-resample", "sdedit",
                   "regenerate")


def make_methods(names: Iterable[str], info: BackendInfo) -> list[QualityMethod]:
    """The named methods for a backend; raises ``ValueError`` naming an unknown one."""
    names = list(names)
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r} (known: {', '.join(METHODS)})")
    return [METHODS[n](info) for n in dict.fromkeys(names)]


# ---------------------------------------------------------------------------------------------- scoring

def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """A boolean ``(H, W)`` mask dilated by ``pixels`` (3x3 neighbourhoods, ``pixels`` times)."""
    for _ in range(pixels):
        padded = np.pad(mask, 1)
        mask = np.logical_or.reduce([padded[1 + dy:1 + dy + mask.shape[0], 1 + dx:1 + dx + mask.shape[1]]
                                     for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    return mask


def _object_mask(reading: Measurement) -> np.ndarray:
    """The oracle's object (soft mask above :data:`MASK_ALPHA`) grown by :data:`MASK_GROW` pixels."""
    return grow_mask(reading.mask > MASK_ALPHA, MASK_GROW)


def _object_core(reading: Measurement) -> np.ndarray:
    """Pixels that are object only (soft mask at least :data:`CORE_ALPHA`): a background edit leaves them alone,
    while edge pixels mix in the background and change with it."""
    return reading.mask >= CORE_ALPHA


def _reading(m: Measurement) -> dict:
    finite = lambda v: round(v, 4) if math.isfinite(v) else None  # noqa: E731
    return {"found": m.found, "words": m.words, "size": finite(m.size), "x": finite(m.x), "y": finite(m.y)}


def capped_psnr(a: Image.Image, b: Image.Image) -> float:
    """PSNR (dB) rounded to 3 digits, :data:`PSNR_CAP` for identical images (records stay finite JSON)."""
    return round(min(psnr(a, b), PSNR_CAP), 3)


def score_world(case: QualityCase, outputs: Sequence[Image.Image], method: str) -> dict:
    """One JSON-ready record: oracle readings per degree; at degree 1 target hit and preservation (visual
    tolerances), pixel change the edit should not make; degree-0 PSNR/SSIM; SDE; the slider response."""
    source = measure(case.image)
    readings = [measure(image) for image in outputs]
    by_degree = dict(zip(case.degrees, zip(outputs, readings)))
    record: dict[str, Any] = {"case": case.case_id, "kind": case.kind, "label": case.label, "method": method,
                              "attributes": list(case.targets), "targets": dict(case.targets),
                              "degrees": list(case.degrees),
                              "readings": [_reading(r) for r in readings]}
    edited, edited_reading = by_degree[1.0]
    kept = preservation(source, edited_reading, ATTRIBUTES, case.targets)
    hit = target_hit(case.targets, edited_reading.words)
    record.update(target_hit=hit, kept=kept, preserved=all(kept.values()), both=hit and all(kept.values()))
    background_edit = list(case.targets) == ["background"]
    if background_edit:  # the object itself must stay
        untouched = _object_core(source) & _object_core(edited_reading)
    elif "background" in case.targets:  # a background and an object attribute together: nothing must stay
        untouched = None
    else:  # everything outside the source's and the edited image's object must stay
        untouched = ~(_object_mask(source) | _object_mask(edited_reading))
    record["outside_change"] = None if untouched is None else _round(mean_abs_change(case.image, edited, untouched))
    if 0.0 in by_degree:
        degree0 = by_degree[0.0][0]
        record["psnr_degree0"] = capped_psnr(case.image, degree0)
        record["ssim_degree0"] = round(ssim(case.image, degree0), 4)
    if case.kind in ("single", "sweep") and 0.0 in by_degree:
        target_image = render(ideal_scene(case.scene, case.targets), case.image.width)
        target_reading = measure(target_image)
        if background_edit:
            region = ~(_object_core(source) | _object_core(target_reading))
        else:
            region = _object_mask(source) | _object_mask(target_reading)
        record["sde"] = sde(case.image, by_degree[0.0][0], edited, target_image, region).to_dict()
    if case.kind == "sweep":
        (name, word), = case.targets.items()
        if name in CONTINUOUS:
            goal = sum(_BANDS[name][word]) / 2
            direction = 1.0 if goal >= getattr(case.scene, name) else -1.0
            values = [getattr(r, name) if r.found else math.nan for r in readings]
            record["rho"] = round(direction * spearman(case.degrees, values), 4)
            record["goal"] = goal
        else:
            record["switch_degree"] = switch_degree(case.degrees, [r.words[name] == word for r in readings])
    return record


def _box_mask(region: tuple[float, float, float, float], side: int) -> np.ndarray:
    x0, y0, x1, y1 = (round(v * side) for v in region)
    mask = np.zeros((side, side), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def score_annotated(case: QualityCase, outputs: Sequence[Image.Image], method: str) -> dict:
    """One record for an annotated (real) image, no oracle: degree-0 PSNR/SSIM; at the largest degree the
    mean absolute change outside the region box (locality) and inside it (how much the edit did)."""
    by_degree = dict(zip(case.degrees, outputs))
    record: dict[str, Any] = {"case": case.case_id, "kind": case.kind, "label": case.label, "method": method,
                              "attributes": [a.name for a in case.attributes], "degrees": list(case.degrees)}
    if 0.0 in by_degree:
        record["psnr_degree0"] = capped_psnr(case.image, by_degree[0.0])
        record["ssim_degree0"] = round(ssim(case.image, by_degree[0.0]), 4)
    edited = by_degree[max(case.degrees)]
    if case.region is not None:
        inside = _box_mask(case.region, case.image.width)
        record["outside_change"] = _round(mean_abs_change(case.image, edited, ~inside))
        record["inside_change"] = _round(mean_abs_change(case.image, edited, inside))
    else:
        record["inside_change"] = _round(mean_abs_change(case.image, edited, np.ones(edited.size[::-1], bool)))
    return record


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------------------------------------- running

@dataclass
class QualityRun:
    """Records of one run (a list of per-case, per-method dicts), evaluation counts, images for a contact sheet."""

    records: list[dict]
    costs: dict[str, dict[str, int]]  # method -> {"nfe_per_edit", "nfe_per_move"}
    contact: list[tuple[QualityCase, dict[str, Image.Image]]]  # first cases: method -> degree-1 (max) image
    seconds: float


def method_costs(backend: Backend, methods: Sequence[QualityMethod], case: QualityCase) -> dict[str, dict[str, int]]:
    """Evaluations of one fresh edit at degree 1 and of one further degree, per method."""
    costs = {}
    for method in methods:
        first, move = method.costs(backend, case)
        costs[method.name] = {"nfe_per_edit": first, "nfe_per_move": move}
    return costs


def scorer(case: QualityCase) -> Callable[[QualityCase, Sequence[Image.Image], str], dict]:
    """The function that scores ``case``: its world's oracle, or pixel metrics for an annotated image."""
    if case.scene is None:
        return score_annotated
    if case.world == "portraits":
        from .portrait_quality import score_portrait

        return score_portrait
    return score_world


def run_quality(backend: Backend, cases: Sequence[QualityCase], methods: Sequence[QualityMethod],
                progress: Callable[[int, int, str], None] | None = None, contact_cases: int = CONTACT_CASES,
                cost_case: QualityCase | None = None) -> QualityRun:
    """Run every method on every case (steps in the module docstring); no gradients are kept.

    ``cost_case`` (default: the first case) is the case the evaluations are counted on.
    """
    started = time.perf_counter()
    records, contact = [], []
    with torch.inference_mode():
        for i, case in enumerate(cases):
            outputs = {}
            for method in methods:
                images = method.edit(backend, case)
                records.append(scorer(case)(case, images, method.name))
                outputs[method.name] = images[case.degrees.index(max(case.degrees))]
            if i < contact_cases:
                contact.append((case, outputs))
            if progress is not None:
                progress(i + 1, len(cases), case.case_id)
        costs = method_costs(backend, methods, cost_case or cases[0]) if cases else {}
    return QualityRun(records, costs, contact, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------- aggregation

def _mean(values: Iterable[Any], digits: int = 3) -> float | None:
    values = [float(v) for v in values if v is not None]
    return round(statistics.fmean(values), digits) if values else None


def _summary(records: list[dict]) -> dict[str, Any]:
    """Means over a group of records (None where the group has no such number)."""
    switch = [r["switch_degree"] for r in records if "switch_degree" in r]
    row = {
        "n": len(records),
        "target_hit": _mean(r["target_hit"] for r in records if "target_hit" in r),
        "preservation": _mean(r["preserved"] for r in records if "preserved" in r),
        "both": _mean(r["both"] for r in records if "both" in r),
        "psnr_degree0": _mean((r.get("psnr_degree0") for r in records), 2),
        "ssim_degree0": _mean(r.get("ssim_degree0") for r in records),
        "sde": _mean(r["sde"]["sde"] for r in records if "sde" in r),
        "outside_change": _mean((r.get("outside_change") for r in records), 2),
        "inside_change": _mean((r.get("inside_change") for r in records), 2),
        "rho": _mean(r["rho"] for r in records if "rho" in r),
        "switch_degree": _mean(s for s in switch),
        "never_switched": _mean(s is None for s in switch) if switch else None,
    }
    kept: dict[str, list[bool]] = {}
    for r in records:
        for name, ok in r.get("kept", {}).items():
            kept.setdefault(name, []).append(ok)
    order = lambda name: ATTRIBUTES.index(name) if name in ATTRIBUTES else len(ATTRIBUTES)  # noqa: E731
    row["kept"] = {name: _mean(kept[name]) for name in sorted(kept, key=order)}
    return row


def aggregate(records: list[dict], costs: dict[str, dict[str, int]]) -> dict[str, dict]:
    """Per method: ``overall`` (single-attribute cases), ``pairs``, ``by_attribute`` (label -> summary), the
    headline numbers (``target_hit``, ``preservation``, ``both``, ``rho_size``, ``rho_position``,
    ``rho`` (every sweep with a measured value), ``psnr_degree0``, ``ssim_degree0``, ``sde``, ``nfe_per_edit``,
    ``nfe_per_move``)."""
    methods = list(dict.fromkeys(r["method"] for r in records))
    result = {}
    for method in methods:
        mine = [r for r in records if r["method"] == method]
        singles = [r for r in mine if r["kind"] in ("single", "sweep", "annotated")]
        labels = list(dict.fromkeys(r["label"] for r in mine))
        overall = _summary(singles)
        result[method] = {
            "target_hit": overall["target_hit"], "preservation": overall["preservation"], "both": overall["both"],
            "rho_size": _mean(r["rho"] for r in mine if "rho" in r and r["label"] == "size"),
            "rho_position": _mean(r["rho"] for r in mine if "rho" in r and r["label"] in ("x", "y")),
            "rho": _mean(r["rho"] for r in mine if "rho" in r),
            "psnr_degree0": _mean((r.get("psnr_degree0") for r in mine), 2),
            "ssim_degree0": _mean(r.get("ssim_degree0") for r in mine),
            "sde": overall["sde"],
            **costs.get(method, {"nfe_per_edit": None, "nfe_per_move": None}),
            "overall": overall,
            "pairs": _summary([r for r in mine if r["kind"] == "pair"]) if any(r["kind"] == "pair" for r in mine) else None,
            "by_attribute": {label: _summary([r for r in mine if r["label"] == label]) for label in labels},
        }
    return result


def sweep_curves(records: list[dict]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per method and attribute, the mean response at each sweep degree: for a measured value (a record with a
    ``goal``: size, x, y; every ordered portrait attribute) the progress from the degree-0 reading toward the
    target's band centre (0 = unchanged, 1 = there); for the others the share of images reading as the targets."""
    curves: dict[str, dict[str, dict[float, list[float]]]] = {}
    for r in records:
        if r["kind"] != "sweep":
            continue
        name = r["label"]
        key = r.get("swept", name)
        per_degree = curves.setdefault(r["method"], {}).setdefault(name, {})
        readings = r["readings"]
        value = lambda reading: (reading.get("values") or reading).get(key)  # noqa: E731
        for degree, reading in zip(r["degrees"], readings):
            if "goal" in r:
                start, goal, now = value(readings[0]), r["goal"], value(reading)
                if start is None or now is None or goal == start:
                    continue
                per_degree.setdefault(degree, []).append((now - start) / (goal - start))
            else:
                per_degree.setdefault(degree, []).append(
                    float(all(reading["words"].get(n) == w for n, w in r["targets"].items())))
    return {m: {n: sorted((d, statistics.fmean(v)) for d, v in ds.items()) for n, ds in by_name.items()}
            for m, by_name in curves.items()}
