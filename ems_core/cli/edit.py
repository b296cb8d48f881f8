"""``python -m ems_core edit``: one edit, or a sweep of one edit's degree."""

from __future__ import annotations

import argparse
import time

from ..config import DEGREE_RANGE, MAX_ATTRIBUTES, MAX_SWEEP, SAMPLERS
from ..extract import Attribute, with_waypoints
from ..manipulate import check_degree
from .common import add_model_arguments, check_model_arguments, check_output_path, check_prompt, load_model


def parse_edit(text: str, name: str) -> tuple[Attribute, float | None]:
    """``"red->blue=0.8"`` -> ``(Attribute(name, "red", "blue"), 0.8)``; an empty source makes the target
    the whole target prompt; raises ``ValueError`` on bad syntax."""
    if "->" not in text:
        raise ValueError(f"bad --edit {text!r}: expected \"SOURCE->TARGET=DEGREE\", e.g. \"red->blue=0.8\"")
    source, rest = text.split("->", 1)
    degree = None
    if "=" in rest:
        rest, degree_text = rest.rsplit("=", 1)
        try:
            degree = float(degree_text)
        except ValueError:
            raise ValueError(f"bad --edit {text!r}: degree {degree_text!r} is not a number") from None
    if not rest.strip():
        raise ValueError(f"bad --edit {text!r}: empty target")
    return Attribute(name, source.strip(), rest.strip(), full_prompt=not source.strip()), degree


def parse_degrees(text: str) -> list[float]:
    """``"0,0.5,1"`` -> ``[0.0, 0.5, 1.0]``: at most :data:`MAX_SWEEP` values, each in :data:`DEGREE_RANGE`."""
    parts = [v for v in text.split(",") if v.strip()]
    if len(parts) > MAX_SWEEP:
        raise ValueError(f"--degrees has {len(parts)} values; a sweep has at most {MAX_SWEEP}")
    try:
        values = [float(v) for v in parts]
    except ValueError:
        raise ValueError(f"bad --degrees {text[:80]!r}: expected numbers separated by commas") from None
    if not values:
        raise ValueError("--degrees is empty")
    low, high = DEGREE_RANGE
    for value in values:
        if not low <= value <= high:
            raise ValueError(f"--degrees value {value} is outside the allowed range [{low}, {high}]")
    return values


def _presets(captioner, prompt: str) -> list:
    """The captioner's attribute presets of ``prompt`` (their scales give waypoints); none if it cannot read it."""
    if captioner is None:
        return []
    try:
        return captioner.attribute_presets(prompt)
    except ValueError:
        return []


def add_edit_parser(subparsers: argparse._SubParsersAction) -> None:
    edit = subparsers.add_parser("edit", help="edit attributes of an image")
    edit.add_argument("--image", required=True)
    edit.add_argument("--edit", action="append", required=True, metavar='"SRC->TGT=DEGREE"')
    edit.add_argument("--prompt", help="source prompt (default: the model's captioner)")
    edit.add_argument("--captioner", help="transformers image-to-text model id or folder")
    edit.add_argument("--degrees", help="sweep of the single edit, e.g. 0,0.25,0.5,0.75,1")
    edit.add_argument("--calibrated", action="store_true",
                      help="read degrees as calibrated slider positions, as the app does (docs/method.md)")
    edit.add_argument("--sampler", choices=SAMPLERS, default=None,
                      help="the Sample step (default: the model's edit settings; docs/method.md)")
    edit.add_argument("--start-time", type=float, default=None, help="where the edit starts, t0 in (0, 1]")
    edit.add_argument("--refine-iters", type=int, default=None, help="constrained-SDS iterations (0 = off)")
    edit.add_argument("--method", choices=("ems", "sds", "tloco", "hsds"), default="ems",
                      help="ems: move the text embeddings; sds / tloco / hsds: a latent direction per --edit from its "
                           "text pair, the degree scaling its strength (docs/method.md, Latent directions)")
    edit.add_argument("--out", required=True)
    add_model_arguments(edit)


def run_edit(args: argparse.Namespace) -> dict:
    from ..config import EditConfig
    from ..extract import default_captioner
    from ..images import horizontal_strip, load_image
    from ..session import EditSession

    # 1. Check every argument: nothing is loaded or rendered before they all pass.
    if len(args.edit) > MAX_ATTRIBUTES:
        raise ValueError(f"{len(args.edit)} --edit flags; at most {MAX_ATTRIBUTES} are allowed")
    check_prompt(args.prompt, "--prompt")
    for text in args.edit:
        check_prompt(text, "--edit")
    parsed = [parse_edit(text, f"edit{i + 1}") for i, text in enumerate(args.edit)]
    for attribute, degree in parsed:
        if degree is not None:
            check_degree(attribute.name, degree)
    attributes = [attribute for attribute, _ in parsed]
    degrees = parse_degrees(args.degrees) if args.degrees else None
    if degrees is not None and len(parsed) != 1:
        raise ValueError("--degrees sweeps exactly one --edit")
    if degrees is None and any(degree is None for _, degree in parsed):
        raise ValueError("every --edit needs a degree (\"SRC->TGT=DEGREE\") unless --degrees is given")
    check_model_arguments(args, ("seed", "steps", "guidance", "start_time", "refine_iters"))
    if args.method != "ems" and args.calibrated:
        raise ValueError(f"--calibrated maps EMS degrees; --method {args.method} scales a latent direction's strength")
    if args.method != "ems" and args.refine_iters:
        raise ValueError(f"--refine-iters refines EMS edits only; --method {args.method} samples a latent direction")
    changes = {k: v for k, v in {"steps": args.steps, "guidance": args.guidance, "seed": args.seed,
                                 "start_time": args.start_time, "refine_iters": args.refine_iters,
                                 "sampler": args.sampler}.items()
               if v is not None}
    EditConfig(**changes)  # validated now; applied over the backend's edit settings once it is loaded
    out = check_output_path(args.out)
    image = load_image(args.image)

    # 2. Load the model and edit.
    backend = load_model(args)
    base = backend.info.edit_config if args.method == "ems" else backend.info.direction_config()
    config = base.with_(**changes)
    captioner = None if args.prompt else default_captioner(backend, args.captioner)
    started = time.perf_counter()
    session = EditSession(backend, image, prompt=args.prompt, captioner=captioner, config=config)
    session.configure(session.source_prompt, list(with_waypoints(attributes, _presets(captioner or
                                                                                       default_captioner(backend), session.source_prompt))))
    targets = {a.name: session.target_prompt(a.name) for a in attributes}
    caption_ms = (time.perf_counter() - started) * 1000
    degree_sets = [{a.name: degree for a, degree in parsed}] if degrees is None else \
        [{attributes[0].name: d} for d in degrees]
    if args.calibrated:
        degree_sets = [session.calibrated_degrees(d) for d in degree_sets]
    directions = None
    if args.method != "ems":
        from .directions import render_with_directions

        results, directions = render_with_directions(session, args.method, degree_sets, config)
    if degrees is None:
        result = session.render(degree_sets[0]) if directions is None else results[0]
        result.image.save(out)
        outputs, results = [str(out)], [result]
    else:
        results = session.render_batch(degree_sets) if directions is None else results
        outputs = []
        for d, result in zip(degrees, results):
            path = out.with_name(f"{out.stem}_{d:g}{out.suffix}")
            result.image.save(path)
            outputs.append(str(path))
        horizontal_strip([r.image for r in results]).save(out)
        outputs.append(str(out))
    _, steps, guidance = session.resolved()
    prepare_ms = 0.0 if directions is None else directions["directions_ms"]
    return {
        "out": outputs[0] if len(outputs) == 1 else outputs,
        "method": args.method,
        "model": backend.info.name,
        "source_prompt": session.source_prompt,
        "target_prompts": targets,
        "edits": [{"name": a.name, "source": a.source, "target": a.target, "degree": degree,
                   "via": list(session.attributes[a.name].via)} for a, degree in parsed],
        "rendered_degrees": [r.degrees for r in results],
        "degrees": degrees,
        "nfe": results[0].nfe,
        "prepare_nfe": results[0].prepare_nfe,
        "timings_ms": {"prepare": round(results[0].timings_ms["prepare"] + caption_ms + prepare_ms, 2),
                       "render": results[0].timings_ms["render"]},
        "steps": steps, "guidance": guidance, "seed": args.seed, "config": config.to_dict(),
        **({} if directions is None else {"directions": directions}),
    }
