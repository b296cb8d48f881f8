"""EMS Studio: ``python app.py`` serves the editor on the bundled model (no download).

Examples::

    python app.py                                        # bundled shapes-world model, CPU
    python app.py --model stabilityai/stable-diffusion-3.5-medium --device cuda
    python app.py --model tiny-random-world --port 7861  # random weights, for development
    EMS_STUDIO_MODEL=world-portraits python app.py       # the model by environment (a Space's variables)
    EMS_STUDIO_THREADS=2 python app.py                   # two CPU threads (an otherwise idle 2-core Space)
"""

from __future__ import annotations

import argparse
import os
import sys

from ems_core import DEFAULT_MODEL, registered_backends

MODEL_VARIABLE = "EMS_STUDIO_MODEL"  # the model when --model is not given: a Hugging Face Space sets it in its settings
THREADS_VARIABLE = "EMS_STUDIO_THREADS"  # the same for --threads (a Space runs ``python app.py`` with no arguments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="EMS Studio: edit one attribute of an image by a chosen degree")
    parser.add_argument("--model", default=os.environ.get(MODEL_VARIABLE, "").strip() or DEFAULT_MODEL,
                        help=f"a registered name ({', '.join(registered_backends())}), an SD3/Flux diffusers hub id "
                             f"or a local folder (default: ${MODEL_VARIABLE} if set, else {DEFAULT_MODEL})")
    parser.add_argument("--device", default="auto", help='torch device: "cpu", "cuda", "cuda:1"... '
                                                         '(default: cuda when available, else cpu)')
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"],
                        help="weights dtype (default: float32 on CPU, bfloat16 on GPU for diffusers models)")
    parser.add_argument("--cpu-offload", action="store_true",
                        help="move diffusers components to the GPU only while they run")
    parser.add_argument("--captioner", help="a transformers image-to-text model id for the source prompt "
                                            "(default: the bundled model's own captioner; none for SD3/Flux)")
    parser.add_argument("--directions", metavar="DIR",
                        help="a folder of saved directions (.safetensors) the page offers to apply, read only "
                             "(e.g. ~/.cache/ems-studio/directions, where `python -m ems_core directions discover` "
                             "writes)")
    parser.add_argument("--no-anticipate", action="store_true",
                        help="do not render slider positions ahead while users are idle (see docs/performance.md)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="users' compute events served at once, 1 .. 64 (each user's own one at a time); on a "
                             "CPU up to its cores, see docs/performance.md")
    parser.add_argument("--batch", action="store_true",
                        help="with --concurrency > 1: merge concurrent users' transformer calls into one (for GPUs)")
    parser.add_argument("--host", help="address to listen on, e.g. 0.0.0.0 for every interface "
                                       "(default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument("--threads", type=int,
                        help=f"torch CPU threads (default: ${THREADS_VARIABLE} if set, else 1 on CPU, where one compute "
                             "event runs at a time and two threads collapse on a busy machine; see docs/performance.md)")
    return parser


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with --threads taken from $EMS_STUDIO_THREADS when the flag is absent.

    A malformed variable stops with a message that names the variable (argparse would name the flag)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads is None:
        text = os.environ.get(THREADS_VARIABLE, "").strip()
        if text:
            try:
                args.threads = int(text)
            except ValueError:
                parser.error(f"${THREADS_VARIABLE} must be a whole number of threads, got {text!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    import torch

    from ui import CSS, Studio, create_demo  # gradio and the model load here, not at import
    from ui.layout import SESSION_CAPACITY

    if not 1 <= args.concurrency <= 64:
        print(f"error: --concurrency must be in [1, 64], got {args.concurrency}", file=sys.stderr)
        return 2
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    threads = args.threads if args.threads is not None else (1 if device == "cpu" else None)
    if threads is not None:
        if not 1 <= threads <= 256:
            print(f"error: --threads must be in [1, 256], got {threads}", file=sys.stderr)
            return 2
        torch.set_num_threads(threads)
    try:
        studio = Studio.load(args.model, device=device, dtype=args.dtype, cpu_offload=args.cpu_offload,
                             captioner_model=args.captioner, directions=args.directions,
                             anticipate=not args.no_anticipate, concurrency=args.concurrency, batch=args.batch)
    except (FileNotFoundError, ValueError, OSError) as error:
        print(f"error: cannot load model {args.model!r}: {error}", file=sys.stderr)
        return 2
    demo = create_demo(studio)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, css=CSS, show_error=True,
                state_session_capacity=SESSION_CAPACITY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
