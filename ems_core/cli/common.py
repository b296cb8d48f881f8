"""Flags every model-running command shares, and the checks that run before any model is loaded."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..backends.registry import DEFAULT_MODEL, check_device, parse_dtype
from ..config import LIMITS, MAX_PROMPT_CHARS

#: Image formats ``--out`` may name (by extension).
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="preset (world, tiny-random-sd3, ...), hub id or folder")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: per device)")
    parser.add_argument("--cpu-offload", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads, 1 .. 256 (default: torch's, one per core; give 1 beside other CPU "
                             "work, where more threads can be ten times slower: docs/performance.md)")
    parser.add_argument("--seed", type=int, default=0, help=f"0 .. {LIMITS['seed'].high}")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps, 1 .. 100 (default: the model's)")
    parser.add_argument("--guidance", type=float, default=None, help="CFG scale, 0 .. 30 (default: the model's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def check_model_arguments(args: argparse.Namespace, settings: tuple[str, ...] = ("seed", "steps", "guidance")) -> None:
    """Device, dtype and the numeric ``settings`` (:data:`~ems_core.config.LIMITS` names, spelled as flags
    in messages), checked before the model loads; raises ``ValueError``."""
    check_device(args.device)
    parse_dtype(args.dtype)
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise ValueError(f"--threads must be in [1, 256], got {args.threads}")
    for name in settings:
        value = getattr(args, name)
        if value is not None:
            LIMITS[name].check("--" + name.replace("_", "-"), value)


def check_prompt(text: str | None, flag: str) -> None:
    if text is not None and len(text) > MAX_PROMPT_CHARS:
        raise ValueError(f"{flag} is too long ({len(text)} characters; the limit is {MAX_PROMPT_CHARS})")


def check_output_path(text: str) -> Path:
    """``--out`` as a path: an image extension (:data:`OUTPUT_SUFFIXES`) in a writable folder (made if
    missing); raises ``ValueError`` before any work is done."""
    out = Path(text)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"--out {text!r}: the file name must end in {', '.join(OUTPUT_SUFFIXES)}")
    if out.is_dir():
        raise ValueError(f"--out {text!r} is a folder; give a file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"--out {text!r}: cannot make its folder ({error.strerror or type(error).__name__})") from None
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {text!r}: the folder {out.parent} is not writable")
    return out


def load_model(args: argparse.Namespace):
    """The backend the flags name, on ``--threads`` CPU threads when given."""
    import torch

    from ..backends import load_backend

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    return load_backend(args.model, device=args.device, dtype=args.dtype, cpu_offload=args.cpu_offload)
