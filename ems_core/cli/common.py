"""Flags every model-running command shares."""

from __future__ import annotations

import argparse

from ..backends.registry import DEFAULT_MODEL


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="preset (world, tiny-random-sd3, ...), hub id or folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: per device)")
    parser.add_argument("--cpu-offload", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model's)")
    parser.add_argument("--guidance", type=float, default=None, help="CFG scale (default: the model's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def load_model(args: argparse.Namespace):
    """The backend the flags name."""
    from ..backends import load_backend

    return load_backend(args.model, device=args.device, dtype=args.dtype, cpu_offload=args.cpu_offload)
