"""``python -m ems_core bench latency``: benchmarks that print a table and, last, one JSON line."""

from __future__ import annotations

import argparse
import json


def add_bench_parser(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks (a table, then one JSON line)")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    latency = sub.add_parser("latency", help="slider-move latency: first, cached, preview, revisit, full re-edit")
    latency.add_argument("--model", default="world")
    latency.add_argument("--device", default="cpu")
    latency.add_argument("--dtype", default=None)
    latency.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    latency.add_argument("--repeats", type=int, default=30, help="moves of each kind")
    latency.add_argument("--quick", action="store_true", help="10 moves of each kind (well under 2 minutes)")


def run_bench(args: argparse.Namespace) -> int:
    import torch

    from ..backends import load_backend
    from ..bench.latency import measure_latency

    if args.threads is not None:
        if not 1 <= args.threads <= 256:
            raise ValueError(f"--threads must be in [1, 256], got {args.threads}")
        torch.set_num_threads(args.threads)
    repeats = 10 if args.quick else args.repeats
    if not 1 <= repeats <= 1000:
        raise ValueError(f"--repeats must be in [1, 1000], got {repeats}")
    backend = load_backend(args.model, device=args.device, dtype=args.dtype)
    with torch.inference_mode():
        report = measure_latency(backend, repeats=repeats).to_dict()
    rows = [("first move (prepare + render)", report["first_move_ms"], f"{report['first_move_prepare_nfe']} prepare"),
            ("cached move p50", report["move_p50_ms"], report["nfe_per_move"]),
            ("cached move p95", report["move_p95_ms"], report["nfe_per_move"]),
            ("preview move p50", report["preview_p50_ms"], report["nfe_preview"]),
            ("revisit p50", report["revisit_p50_ms"], report["nfe_revisit"]),
            ("full re-edit p50 (no cache)", report["full_reedit_p50_ms"], "all")]
    print(f"{'move':32} {'ms':>9}  NFE")
    for label, ms, nfe in rows:
        print(f"{label:32} {ms:9.1f}  {nfe}")
    print(f"speedup (full re-edit / cached move): {report['speedup']}x; threads {report['threads']}; "
          f"peak RSS {report['peak_rss_mb']:.0f} MB; model {report['model']}")
    print(json.dumps(report))
    return 0
