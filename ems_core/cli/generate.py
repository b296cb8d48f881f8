"""``python -m ems_core generate``: text-to-image with the same backend."""

from __future__ import annotations

import argparse
import time

from .common import add_model_arguments, check_model_arguments, check_output_path, check_prompt, load_model


def add_generate_parser(subparsers: argparse._SubParsersAction) -> None:
    generate = subparsers.add_parser("generate", help="text-to-image with the same backend")
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--out", required=True)
    add_model_arguments(generate)


def run_generate(args: argparse.Namespace) -> dict:
    from ..sampling import generate

    check_prompt(args.prompt, "--prompt")
    check_model_arguments(args)
    out = check_output_path(args.out)
    backend = load_model(args)
    started = time.perf_counter()
    image = generate(backend, [args.prompt], [args.seed], args.steps, args.guidance)[0]
    elapsed = (time.perf_counter() - started) * 1000
    image.save(out)
    return {"out": str(out), "model": backend.info.name, "prompt": args.prompt, "seed": args.seed,
            "timings_ms": {"generate": round(elapsed, 2)}}
