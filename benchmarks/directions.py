"""Latent directions on the bundled model, measured with the world oracle (docs/method.md, "Latent directions").

1. Discovery: time to find k LOCO directions on one scene (whole image; object region with the background's
   top directions projected off), and which oracle attribute each changes over strengths -L..L.
2. Transfer: each direction applied to other scenes: does it change the same attribute with the same sign?
3. Text directions: SDS, T-LOCO and HSDS at "strength 1" on the EMS edit cases, beside EMS at degree 1 (the
   backend's edit settings). Strength 1 is the direction's unit strength (``ems_core.directions.text``); a
   multiplier is also calibrated on separate cases and reported.
4. (``--text-transfer``) Text directions found on the discovery scene, one per attribute towards its far word,
   applied to the transfer scenes at -2 .. 2 unit strengths.

Prints a table and, last, one JSON line; writes the JSON to --out.

    nohup python benchmarks/directions.py --out benchmarks/results/directions.json > /tmp/directions.log 2>&1 &
    python benchmarks/directions.py --skip-discovery --skip-text --text-transfer size,x,y,background \
        --out benchmarks/results/directions_text_transfer.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ems_core import load_backend
from ems_core.bench.directions import (aligned_transfer, discover_on_scene, evaluate_text_directions, random_scenes,
                                       text_transfer, transfer, world_sessions)
from ems_core.bench.edits import evaluate_edits
from ems_core.world.edits import edit_cases


def numbers(text: str, kind=float) -> list:
    return [kind(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--scene-seed", type=int, default=5, help="the scene directions are found on")
    parser.add_argument("--strengths", default="-20,-10,-5,0,5,10,20", help="lambda, latent units (0 included)")
    parser.add_argument("--transfer-scenes", type=int, default=10)
    parser.add_argument("--transfer-seed", type=int, default=17)
    parser.add_argument("--cases", type=int, default=30, help="edit cases (ems_core.world.edits.edit_cases)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the edit cases (edit_grid.py's default)")
    parser.add_argument("--calibration-cases", type=int, default=12)
    parser.add_argument("--calibration-seed", type=int, default=99)
    parser.add_argument("--multipliers", default="0.5,1,2,4", help="strength multipliers tried in calibration")
    parser.add_argument("--damping", type=float, default=0.1, help="HSDS damping")
    parser.add_argument("--cg-iters", type=int, default=8, help="HSDS conjugate-gradient iterations")
    parser.add_argument("--text-methods", default="sds,tloco,hsds", help="text directions to test, comma-separated")
    parser.add_argument("--skip-discovery", action="store_true", help="only the text directions (part 3)")
    parser.add_argument("--regions", default="none:0,object:5",
                        help="LOCO's region:null_rank, comma-separated (none, object, background)")
    parser.add_argument("--text-transfer", default="",
                        help="part 4: text directions found on the discovery scene for these attributes (of size, x, "
                             "y, background), applied to the transfer scenes; e.g. size,x,y,background")
    parser.add_argument("--text-transfer-method", default="sds")
    parser.add_argument("--aligned-transfer", action="store_true",
                        help="also transfer each direction shifted onto each other scene's object (its centre)")
    parser.add_argument("--skip-text", action="store_true", help="skip part 3 (EMS and the text directions' edits)")
    parser.add_argument("--start-time", type=float, default=None,
                        help="noise level t0 (default: the model's direction noise level)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    backend = load_backend(args.model)
    config = backend.info.direction_config()
    if args.start_time is not None:
        config = config.with_(start_time=args.start_time)
    strengths = numbers(args.strengths)
    if 0.0 not in strengths:
        raise SystemExit("--strengths must include 0")
    report = {"model": backend.info.name, "config": config.to_dict(), "strengths": strengths, "k": args.k}

    # 1-2. Discovery and transfer.
    scene = random_scenes(1, args.scene_seed)[0]
    other_scenes = random_scenes(args.transfer_scenes, args.transfer_seed)
    others = world_sessions(backend, other_scenes, config)
    report["discovery"] = []
    regions = [(region, int(rank)) for region, rank in (item.split(":") for item in filter(None, args.regions.split(",")))]
    for region, null_rank in () if args.skip_discovery else regions:
        directions, found = discover_on_scene(backend, scene, config, args.k, region, null_rank, strengths)
        found["transfer"] = transfer(directions, found["directions"], others, strengths, config)
        if args.aligned_transfer:
            found["aligned_transfer"] = aligned_transfer(directions, found["directions"], scene, other_scenes, others,
                                                         strengths, config)
        report["discovery"].append(found)
        print(json.dumps({"discovery": region, "seconds": found["seconds"], "iterations": found["iterations"]}),
              flush=True)

    # 4. Text directions' transfer (before part 3: it is the short one).
    report["text_transfer"] = []
    for attribute in filter(None, args.text_transfer.split(",")):
        row = text_transfer(backend, scene, others, config, attribute, args.text_transfer_method)
        report["text_transfer"].append(row)
        print(json.dumps({"text_transfer": attribute, "edit": row["edit"], "on_source": row["on_source"]["attribute"],
                          "sign": row["on_source"]["sign"],
                          "same_attribute_and_sign": row["transfer"]["same_attribute_and_sign"]}), flush=True)

    # 3. Text directions against EMS.
    cases = edit_cases(args.cases, args.seed)
    calibration = edit_cases(args.calibration_cases, args.calibration_seed)
    multipliers = numbers(args.multipliers)
    edit_config = backend.info.edit_config.with_(start_time=config.start_time)  # EMS as the editor renders it
    report["ems"] = evaluate_edits(backend, cases, edit_config) if not args.skip_text else None
    report["text"] = {}
    options_of = {"sds": {}, "tloco": {}, "hsds": {"damping": args.damping, "cg_iters": args.cg_iters}}
    for method in [] if args.skip_text else filter(None, args.text_methods.split(",")):
        options = options_of[method]
        tuned = evaluate_text_directions(backend, calibration, config, method, multipliers, **options)
        best = max(multipliers, key=lambda m: (tuned["by_multiplier"][str(m)]["both"], -abs(m - 1)))
        tested = evaluate_text_directions(backend, cases, config, method, sorted({1.0, best}), **options)
        report["text"][method] = {"calibration": tuned, "calibrated_multiplier": best, "test": tested}
        print(json.dumps({"text": method, "calibrated_multiplier": best}), flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)

    # Table.
    print(f"\nmodel {report['model']}, t0 = {config.start_time}, {config.steps} steps, guidance {config.guidance}; "
          f"strengths {strengths} (latent units of a unit vector)")
    for found in report["discovery"]:
        print(f"\nLOCO k={found['k']} region={found['region']} null_rank={found['null_rank']}: {found['seconds']} s, "
              f"{found['iterations']} iterations, converged {found['converged']}, {found['products']} products")
        print(f"{'k':>2} {'sigma':>7} {'attribute':>10} {'sign':>4} {'change':>7} {'lost':>4}  "
              "transfer (same attr+sign / n)" + ("  aligned" if "aligned_transfer" in found else ""))
        aligned = found.get("aligned_transfer", [None] * len(found["directions"]))
        rows = zip(found["directions"], found["transfer"], found["singular_values"], aligned)
        for i, (d, t, s, a) in enumerate(rows):
            print(f"{i:>2} {s:7.3f} {d['attribute']:>10} {d['sign']:>4} {d['changes'][d['attribute']]:7.2f} "
                  f"{d['lost']:>4}  {t['same_attribute_and_sign']}/{t['scenes']}"
                  + (f"  {a['same_attribute_and_sign']}/{a['scenes']}" if a else ""))
    for row in report["text_transfer"]:
        own = row["on_source"]
        print(f"\n{row['method']} direction {row['edit']} ({row['attribute']}): {own['attribute']} {own['sign']:+d} on its "
              f"scene, the same on {row['transfer']['same_attribute_and_sign']}/{row['transfer']['scenes']} others")
    ems = report["ems"] or {"success": float("nan"), "preservation": float("nan"), "both": float("nan")}
    print(f"\n{'method':22} {'success':>8} {'preserv.':>8} {'both':>6}")
    print(f"{'EMS degree 1':22} {ems['success']:8.3f} {ems['preservation']:8.3f} {ems['both']:6.3f}")
    for method, found in report["text"].items():
        for m, row in found["test"]["by_multiplier"].items():
            label = f"{method} x{m}" + (" (calibrated)" if float(m) == found["calibrated_multiplier"] else "")
            print(f"{label:22} {row['success']:8.3f} {row['preservation']:8.3f} {row['both']:6.3f}")
    print(f"total {report['seconds']} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
