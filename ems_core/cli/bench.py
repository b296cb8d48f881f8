"""``python -m ems_core bench {latency,quality}``: benchmarks that print a table and, last, one JSON line."""

from __future__ import annotations

import argparse
import json

from ..config import BLENDS


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
    latency.add_argument("--blend", choices=BLENDS, default=None,
                         help="between a slider's knots (default: the model's edit settings; docs/method.md)")
    quality = sub.add_parser("quality", help="every edit method on the same seeded cases: target hit, preservation, "
                                             "slider response, degree-0 PSNR/SSIM, SDE, NFE; writes docs/benchmark.md "
                                             "(docs/benchmark-portraits.md for --model world-portraits)")
    quality.add_argument("--model", default="world")
    quality.add_argument("--device", default="cpu")
    quality.add_argument("--dtype", default=None)
    quality.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    quality.add_argument("--quick", action="store_true",
                         help="36 cases (30 single-attribute with one sweep per attribute, 6 pairs) instead of 276; "
                              "portraits: 14 (one sweep per attribute, 3 pairs) instead of 250")
    quality.add_argument("--cases", type=int, default=None,
                         help="single-attribute edits (default 240, quick 30; portraits 220, quick 11)")
    quality.add_argument("--sweeps", type=int, default=None,
                         help="degree sweeps per attribute (default 8, quick 1; portraits 4, quick 1)")
    quality.add_argument("--pairs", type=int, default=None,
                         help="two-attribute edits (default 36, quick 6; portraits 30, quick 3)")
    quality.add_argument("--seed", type=int, default=11)
    quality.add_argument("--methods", default=None,
                         help="comma-separated (default: ours,ems-no-refine,refine-only,flowedit,invert-resample,"
                              "sdedit,regenerate; also ems-refine and the latent directions sds, tloco, hsds)")
    quality.add_argument("--annotations", default=None,
                         help="a JSON file of annotated edits of real images (docs/benchmark.md) instead of the world suite")
    quality.add_argument("--out-dir", default="docs", help="where benchmark.md and its plots go ('' writes nothing)")
    quality.add_argument("--records", default=None, help="also write every per-case record to this JSON file")


def run_bench(args: argparse.Namespace) -> int:
    import torch

    from ..backends import load_backend
    from ..bench.latency import measure_latency

    if args.threads is not None:
        if not 1 <= args.threads <= 256:
            raise ValueError(f"--threads must be in [1, 256], got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.bench_command == "quality":
        return run_quality_bench(args)
    repeats = 10 if args.quick else args.repeats
    if not 1 <= repeats <= 1000:
        raise ValueError(f"--repeats must be in [1, 1000], got {repeats}")
    backend = load_backend(args.model, device=args.device, dtype=args.dtype)
    with torch.inference_mode():
        config = backend.info.edit_config if args.blend is None else backend.info.edit_config.with_(blend=args.blend)
        report = measure_latency(backend, repeats=repeats, config=config).to_dict()
    rows = [("first move (prepare + render)", report["first_move_ms"], f"{report['first_move_prepare_nfe']} prepare"),
            ("cached move p50", report["move_p50_ms"], report["nfe_per_move"]),
            ("cached move p95", report["move_p95_ms"], report["nfe_per_move"]),
            ("preview move p50", report["preview_p50_ms"], report["nfe_preview"]),
            ("revisit p50", report["revisit_p50_ms"], report["nfe_revisit"]),
            ("full re-edit p50 (no cache)", report["full_reedit_p50_ms"], "all"),
            ("render one position ahead (idle)", report["ahead_ms_per_position"], report["nfe_per_move"]),
            ("nudge p50 (rendered ahead)", report["nudge_p50_ms"], report["nfe_nudge"]),
            ("first move, calibrated slider", report["first_calibrated_ms"], report["first_calibrated_nfe"])]
    print(f"{'move':32} {'ms':>9}  NFE")
    for label, ms, nfe in rows:
        print(f"{label:32} {ms:9.1f}  {nfe}")
    print(f"rendered ahead: +-0.6 around each release; a random next position anywhere on the slider was "
          f"rendered ahead in {report['ahead_hit_rate_anywhere']:.0%} of moves")
    print(f"speedup (full re-edit / cached move): {report['speedup']}x; threads {report['threads']}; "
          f"peak RSS {report['peak_rss_mb']:.0f} MB; model {report['model']}")
    print(json.dumps(report))
    return 0


def _quality_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (what the report prints)."""
    parts = ["python -m ems_core bench quality"]
    for flag in ("model", "device", "dtype", "threads", "cases", "sweeps", "pairs", "seed", "methods", "annotations",
                 "records"):
        value = getattr(args, flag)
        if value is not None and not (flag == "model" and value == "world") and not (flag == "device" and value == "cpu") \
                and not (flag == "seed" and value == 11):
            parts.append(f"--{flag} {value}")
    if args.quick:
        parts.append("--quick")
    parts.append("--out-dir " + (args.out_dir or "''"))
    return " ".join(parts)


def run_quality_bench(args: argparse.Namespace) -> int:
    import sys
    import time

    from ..backends import load_backend
    from ..bench.quality import DEFAULT_METHODS
    from ..bench.quality_run import QualityOptions, run_benchmark
    from ..bench.shard import process_share

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip()) if args.methods else DEFAULT_METHODS
    if not methods:
        raise ValueError("--methods names no method")
    options = QualityOptions(quick=args.quick, cases=args.cases, sweeps=args.sweeps, pairs=args.pairs, seed=args.seed,
                             methods=methods, annotations=args.annotations, out_dir=args.out_dir or None,
                             records=args.records,
                             command=_quality_command(args), device=args.device)
    options.check()
    share = process_share()
    device = share.device if share.world > 1 and share.device and args.device != "cpu" else args.device
    started = time.perf_counter()
    backend = load_backend(args.model, device=device, dtype=args.dtype)

    def progress(done: int, total: int, case_id: str) -> None:
        if done == total or done % 10 == 0:
            print(f"[rank {share.rank}] {done}/{total} cases ({time.perf_counter() - started:.0f} s)", file=sys.stderr,
                  flush=True)

    report = run_benchmark(backend, options, share, progress)
    if report is None:  # not the main process: rank 0 reports
        return 0
    print(report["text"])
    for note in report["notes"]:
        print(f"note: {note}")
    for label, path in report["files"].items():
        print(f"wrote {label}: {path}")
    print(f"quality benchmark: {report['headline']['run']['cases']} cases, {len(methods)} methods, "
          f"wall time {time.perf_counter() - started:.1f} s (model loading included)")
    print(json.dumps(report["headline"]))
    return 0
