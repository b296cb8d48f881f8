"""``python -m ems_core directions {discover,apply,list}``: latent edit directions from the command line.

    python -m ems_core directions discover --image IN.png --k 5 [--region object|background|none] [--out DIR] [--json]
    python -m ems_core directions apply --image IN.png --direction FILE --strength S --out OUT.png [--json]
    python -m ems_core directions list [--library DIR] [--json]

Directions are files of :mod:`ems_core.directions.library` (default folder ``~/.cache/ems-studio/directions``).
Every argument is checked before the model loads; errors are one ``error: ...`` line and status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from pathlib import Path

from ..config import LIMITS, MAX_ATTRIBUTES
from .common import add_model_arguments, check_model_arguments, check_output_path, check_prompt, load_model

__all__ = ["MAX_STRENGTH", "add_directions_parser", "render_with_directions", "run_directions"]

MAX_STRENGTH = 1000.0  # |strength| in latent units of a unit vector (the bundled model's z_t0 has norm ~45)
REGIONS = ("none", "object", "background", "face", "eyes", "mouth", "painted")  # = ems_core.edit_directions.REGIONS
# (not imported: it loads torch); which of them a model offers is checked once it is loaded (shapes: object,
# background; portraits: face, eyes, mouth; every model: painted, with --mask)


def add_directions_parser(subparsers: argparse._SubParsersAction) -> None:
    directions = subparsers.add_parser("directions", help="latent edit directions: discover, apply, list")
    sub = directions.add_subparsers(dest="directions_command", required=True)

    d = sub.add_parser("discover", help="LOCO: the top-k directions of the PMP Jacobian at the image's inversion")
    d.add_argument("--image", required=True)
    d.add_argument("--prompt", help="source prompt (default: the model's captioner)")
    d.add_argument("--captioner", help="transformers image-to-text model id or folder")
    d.add_argument("--k", type=int, default=5, help="directions to find, 1 .. 64")
    d.add_argument("--region", choices=REGIONS, default="none",
                   help="edit region: a bundled world's (shapes: object, background; portraits: face, eyes, mouth), "
                        "or painted (give --mask)")
    d.add_argument("--mask", help="with --region painted: a black-and-white image, white (brighter than mid-grey) "
                                  "where the directions may act; resized to the image")
    d.add_argument("--null-rank", type=int, default=0,
                   help="project off the complement region's top directions, 0 .. 64 (needs --region)")
    d.add_argument("--iters", type=int, default=30, help="subspace iterations at most, 2 .. 500")
    d.add_argument("--tol", type=float, default=1e-3, help="stop when the subspace moves less, (0, 1)")
    d.add_argument("--oversample", type=int, default=3, help="extra vectors iterated alongside, 0 .. 64")
    d.add_argument("--start-time", type=float, default=None,
                   help="noise level t0 of the inversion, (0, 1] (default: the model's direction noise level)")
    d.add_argument("--out", help="folder for the direction files (default: the library folder)")
    d.add_argument("--name", help="file-name prefix (default: the image's name)")
    add_model_arguments(d)

    a = sub.add_parser("apply", help="move an image along saved directions and sample it")
    a.add_argument("--image", required=True)
    a.add_argument("--direction", action="append", required=True, help="a .safetensors direction file (repeatable)")
    a.add_argument("--strength", action="append", required=True, type=float,
                   help="latent units along the matching --direction (repeatable)")
    a.add_argument("--prompt", help="source prompt (default: the model's captioner)")
    a.add_argument("--captioner", help="transformers image-to-text model id or folder")
    a.add_argument("--out", required=True)
    add_model_arguments(a)

    li = sub.add_parser("list", help="the directions in a library folder")
    li.add_argument("--library", help="folder (default ~/.cache/ems-studio/directions)")
    li.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _check_int(flag: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{flag} must be an integer in [{low}, {high}], got {value}")


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60]
    return name or "image"


def _check_folder(text: str, flag: str) -> Path:
    folder = Path(text).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag} {text!r} is a file; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"{flag} {text!r}: cannot make the folder ({reason})") from None
    return folder


def run_directions(args: argparse.Namespace) -> int:
    """Run one ``directions`` command; prints one JSON object with ``--json``, else a short summary."""
    command = {"list": _list, "discover": _discover, "apply": _apply}[args.directions_command]
    report = command(args)
    if args.json:
        print(json.dumps(report))
    elif args.directions_command != "list":
        outputs = report["out"] if isinstance(report["out"], list) else [report["out"]]
        print("\n".join(f"wrote {path}" for path in outputs))
    return 0


def _list(args: argparse.Namespace) -> dict:
    from ..directions import DirectionLibrary

    library = DirectionLibrary(args.library)
    entries = [e.to_dict() for e in library.list()]
    if not args.json:
        for e in entries:
            p = e["provenance"]
            what = p.get("target_prompt") or f"k={p.get('k_index')} s={p.get('singular_value', float('nan')):.3g}"
            print(f"{e['name']:40} {e['method']:6} {e['model']:20} t={e['noise_level']:g}  {what}")
    return {"out": str(library.root), "library": str(library.root), "directions": entries}


def _discover(args: argparse.Namespace) -> dict:
    from ..directions import DirectionLibrary
    from ..edit_directions import discover_directions
    from ..extract import default_captioner
    from ..images import load_image
    from ..session import EditSession

    # 1. Check every argument before loading anything.
    check_prompt(args.prompt, "--prompt")
    _check_int("--k", args.k, 1, 64)
    _check_int("--null-rank", args.null_rank, 0, 64)
    _check_int("--iters", args.iters, 2, 500)
    _check_int("--oversample", args.oversample, 0, 64)
    if not (math.isfinite(args.tol) and 0.0 < args.tol < 1.0):
        raise ValueError(f"--tol must be a number in (0, 1), got {args.tol}")
    if args.null_rank and args.region == "none":
        raise ValueError("--null-rank needs --region object or background (its complement is projected off)")
    if (args.region == "painted") != bool(args.mask):
        raise ValueError("--region painted and --mask go together")
    painted = _read_mask(args.mask) if args.mask else None
    check_model_arguments(args, ("seed", "steps", "guidance", "start_time"))
    prefix = _safe_name(args.name or Path(args.image).stem)
    library = DirectionLibrary(_check_folder(args.out, "--out") if args.out else None)
    image = load_image(args.image)

    # 2. Load the model, invert the image, find the directions.
    backend = load_model(args)
    changes = {k: v for k, v in {"steps": args.steps, "guidance": args.guidance,
                                 "start_time": args.start_time}.items() if v is not None}
    config = backend.info.direction_config().with_(**changes)  # the model's direction noise level unless given
    captioner = None if args.prompt else default_captioner(backend, args.captioner)
    session = EditSession(backend, image, prompt=args.prompt, captioner=captioner, config=config)
    directions, report = discover_directions(session, args.k, args.region, args.null_rank, config, args.seed,
                                             args.iters, args.tol, args.oversample, painted=painted)
    paths = [str(library.save(d, f"{prefix}-loco-{args.region}-{i}")) for i, d in enumerate(directions)]
    return {"out": paths[0] if len(paths) == 1 else paths, "model": backend.info.name,
            "source_prompt": session.source_prompt, "noise_level": config.start_time, "region": args.region,
            "null_rank": args.null_rank, "singular_values": report["singular_values"],
            "iterations": report["iterations"], "converged": report["converged"],
            "movement": report["movement"][-1] if report["movement"] else None, "products": report["products"],
            "timings_ms": {"discover": round(report["seconds"] * 1000, 2)}, "seed": args.seed,
            "config": config.to_dict()}


def _read_mask(path: str):
    """A painted region from a black-and-white image file: white (brighter than mid-grey) inside."""
    import numpy as np

    from ..images import load_image

    inside = np.asarray(load_image(path, what="the mask").convert("L")) > 127
    if not inside.any():
        raise ValueError("the mask marks no pixel: paint the region white on black")
    return inside.astype(np.float32)


def _apply(args: argparse.Namespace) -> dict:
    from ..directions import compose, load_direction
    from ..edit_directions import render_directions
    from ..extract import default_captioner
    from ..images import load_image
    from ..session import EditSession

    # 1. Check every argument (and read the direction files: small, checked) before loading the model.
    check_prompt(args.prompt, "--prompt")
    if len(args.direction) != len(args.strength):
        raise ValueError(f"{len(args.direction)} --direction and {len(args.strength)} --strength flags; "
                         "give one strength per direction")
    if len(args.direction) > MAX_ATTRIBUTES:
        raise ValueError(f"{len(args.direction)} --direction flags; at most {MAX_ATTRIBUTES} are allowed")
    for strength in args.strength:
        if not (math.isfinite(strength) and abs(strength) <= MAX_STRENGTH):
            raise ValueError(f"--strength must be a finite number in [-{MAX_STRENGTH:g}, {MAX_STRENGTH:g}], "
                             f"got {strength}")
    check_model_arguments(args)
    directions = [load_direction(path) for path in args.direction]
    compose(directions, args.strength)  # one model, noise level and shape, or a ValueError
    first = directions[0]
    if first.model != args.model:
        raise ValueError(f"the direction belongs to model {first.model!r}; pass --model {first.model}")
    # The grid and guidance of the inversion the direction was found at, unless the flags say otherwise.
    steps = args.steps if args.steps is not None else first.provenance.get("steps")
    guidance = args.guidance if args.guidance is not None else first.provenance.get("guidance")
    if steps is not None:
        LIMITS["steps"].check("steps (from the direction file)", steps)
    if guidance is not None:
        LIMITS["guidance"].check("guidance (from the direction file)", guidance)
    out = check_output_path(args.out)
    image = load_image(args.image)

    # 2. Load the model, invert the image at the direction's noise level, apply.
    backend = load_model(args)
    changes = {k: v for k, v in {"steps": steps, "guidance": guidance}.items() if v is not None}
    config = backend.info.edit_config.with_(start_time=first.noise_level, **changes)
    captioner = None if args.prompt else default_captioner(backend, args.captioner)
    started = time.perf_counter()
    session = EditSession(backend, image, prompt=args.prompt, captioner=captioner, config=config)
    caption_ms = (time.perf_counter() - started) * 1000
    result = render_directions(session, directions, [list(args.strength)], config)[0]
    result.image.save(out)
    _, steps, guidance = session.resolved(config)
    return {"out": str(out), "model": backend.info.name, "source_prompt": session.source_prompt,
            "directions": [{"path": p, "method": d.method, "strength": s}
                           for p, d, s in zip(args.direction, directions, args.strength)],
            "noise_level": first.noise_level, "nfe": result.nfe, "prepare_nfe": result.prepare_nfe,
            "timings_ms": {"prepare": round(result.timings_ms["prepare"] + caption_ms, 2),
                           "render": result.timings_ms["render"]},
            "steps": steps, "guidance": guidance, "seed": args.seed, "config": config.to_dict()}


def render_with_directions(session, method: str, degree_sets: list[dict[str, float]], config) -> tuple[list, dict]:
    """``edit --method sds|tloco|hsds``: each ``--edit`` becomes a text direction, its degree the strength scale
    (degree 1 = the direction's ``unit_strength``). Returns the renders and a JSON-ready summary."""
    from ..edit_directions import render_text_edits

    started = time.perf_counter()
    results, directions = render_text_edits(session, method, degree_sets, config)
    seconds = time.perf_counter() - started
    summary = {"method": method, "directions_ms": round(seconds * 1000, 2),
               "unit_strengths": {name: d.unit_strength for name, d in directions.items()},
               "strengths": [{name: degrees.get(name, 0.0) * d.unit_strength for name, d in directions.items()}
                             for degrees in degree_sets]}
    return results, summary
