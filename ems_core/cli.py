"""``python -m ems_core``: argument parsing at the edge; the work is done by the library.

    python -m ems_core edit --image IN.png --edit "red->blue=0.8" --out OUT.png [--json]
    python -m ems_core edit --image IN.png --edit "small->large" --degrees 0,0.5,1 --out sweep.png
    python -m ems_core generate --prompt "a large red circle at the top left on a white background" --out g.png
    python -m ems_core world {render,train,export,eval} ...
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from .world.cli import add_world_parser, run_world


@dataclass(frozen=True)
class EditSpec:
    """One ``--edit "SRC->TGT[=DEGREE]"``; an empty SRC makes TGT the whole target prompt."""

    source: str
    target: str
    degree: float | None

    @property
    def full_prompt(self) -> bool:
        return not self.source


def parse_edit(text: str) -> EditSpec:
    """``"red->blue=0.8"`` -> EditSpec("red", "blue", 0.8); raises ValueError on bad syntax."""
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
    return EditSpec(source.strip(), rest.strip(), degree)


def parse_degrees(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"bad --degrees {text!r}: expected numbers separated by commas") from None
    if not values:
        raise ValueError("--degrees is empty")
    return values


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="world", help="preset (world, tiny-random-sd3, ...), hub id or folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: per device)")
    parser.add_argument("--cpu-offload", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model's)")
    parser.add_argument("--guidance", type=float, default=None, help="CFG scale (default: the model's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ems_core", description="EMS Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)

    edit = sub.add_parser("edit", help="edit attributes of an image")
    edit.add_argument("--image", required=True)
    edit.add_argument("--edit", action="append", required=True, metavar='"SRC->TGT=DEGREE"')
    edit.add_argument("--prompt", help="source prompt (default: the model's captioner)")
    edit.add_argument("--captioner", help="transformers image-to-text model id or folder")
    edit.add_argument("--degrees", help="sweep of the single edit, e.g. 0,0.25,0.5,0.75,1")
    edit.add_argument("--start-time", type=float, default=None, help="inversion depth t0 in (0, 1]")
    edit.add_argument("--refine-iters", type=int, default=None, help="constrained-SDS iterations (0 = off)")
    edit.add_argument("--out", required=True)
    _model_arguments(edit)

    generate = sub.add_parser("generate", help="text-to-image with the same backend")
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--out", required=True)
    _model_arguments(generate)

    add_world_parser(sub)
    return parser


def _quiet_libraries() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore")
    for name in ("diffusers", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_edit(args: argparse.Namespace) -> dict:
    from .backends import load_backend
    from .captioners import default_captioner
    from .config import EditConfig
    from .images import horizontal_strip, load_image
    from .session import EditSession

    specs = [parse_edit(e) for e in args.edit]
    degrees = parse_degrees(args.degrees) if args.degrees else None
    if degrees is not None and len(specs) != 1:
        raise ValueError("--degrees sweeps exactly one --edit")
    if degrees is None and any(s.degree is None for s in specs):
        raise ValueError("every --edit needs a degree (\"SRC->TGT=DEGREE\") unless --degrees is given")
    image = load_image(args.image)
    changes = {k: v for k, v in {"steps": args.steps, "guidance": args.guidance, "seed": args.seed,
                                 "start_time": args.start_time, "refine_iters": args.refine_iters}.items()
               if v is not None}
    config = EditConfig().with_(**changes)
    backend = load_backend(args.model, device=args.device, dtype=args.dtype, cpu_offload=args.cpu_offload)
    captioner = None if args.prompt else default_captioner(backend, args.captioner)
    started = time.perf_counter()
    session = EditSession(backend, image, prompt=args.prompt, captioner=captioner, config=config)
    names = [f"edit{i + 1}" for i in range(len(specs))]
    targets = {name: session.set_attribute(name, s.source, s.target, s.full_prompt) for name, s in zip(names, specs)}
    caption_ms = (time.perf_counter() - started) * 1000
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if degrees is None:
        result = session.render({name: s.degree for name, s in zip(names, specs)})
        result.image.save(out)
        outputs, results = [str(out)], [result]
    else:
        results = session.render_batch([{names[0]: d} for d in degrees])
        outputs = []
        for d, result in zip(degrees, results):
            path = out.with_name(f"{out.stem}_{d:g}{out.suffix or '.png'}")
            result.image.save(path)
            outputs.append(str(path))
        horizontal_strip([r.image for r in results]).save(out)
        outputs.append(str(out))
    _, steps, guidance = session.resolved()
    return {
        "out": outputs[0] if len(outputs) == 1 else outputs,
        "model": backend.info.name,
        "source_prompt": session.source_prompt,
        "target_prompts": targets,
        "edits": [{"name": n, "source": s.source, "target": s.target, "degree": s.degree} for n, s in zip(names, specs)],
        "degrees": degrees,
        "nfe": results[0].nfe,
        "prepare_nfe": results[0].prepare_nfe,
        "timings_ms": {"prepare": round(results[0].timings_ms["prepare"] + caption_ms, 2),
                       "render": results[0].timings_ms["render"]},
        "steps": steps, "guidance": guidance, "seed": args.seed, "config": config.to_dict(),
    }


def run_generate(args: argparse.Namespace) -> dict:
    from .backends import load_backend
    from .pipeline import generate

    backend = load_backend(args.model, device=args.device, dtype=args.dtype, cpu_offload=args.cpu_offload)
    started = time.perf_counter()
    image = generate(backend, [args.prompt], [args.seed], args.steps, args.guidance)[0]
    elapsed = (time.perf_counter() - started) * 1000
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return {"out": str(out), "model": backend.info.name, "prompt": args.prompt, "seed": args.seed,
            "timings_ms": {"generate": round(elapsed, 2)}}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        if args.command == "world":
            return run_world(args)
        report = run_edit(args) if args.command == "edit" else run_generate(args)
    except (ValueError, FileNotFoundError, KeyError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else f"wrote {report['out']}")
    return 0
