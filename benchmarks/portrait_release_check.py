"""Whether a portrait model clears the release bars (``ems_core/bench/portrait_release.py``): generation >= 0.95 per
attribute on the 500 held-out captions, smile / age / hair lightness sweeps at rho >= 0.95 with the nuisance
details kept, both bundled models <= 60 MB. Prints one line per bar, then one JSON object; exits 1 if a bar is
missed, so ``benchmarks/portrait_release.sh`` ends with the verdict.

    python benchmarks/portrait_release_check.py --model runs/wp-v3 --tag scratch24k
    python benchmarks/portrait_release_check.py --model world-portraits \\
        --evaluation benchmarks/results/portraits_eval_scratch24k.json \\
        --sweeps benchmarks/results/portrait_sweeps_scratch24k_velocity.json      # the shipped model
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ems_core.bench.portrait_release import folder_megabytes, portrait_model_folder, portrait_release_bars
from ems_core.world.spec import world_spec

RESULTS = Path("benchmarks/results")


def model_folder(model: str) -> Path:
    """``world-portraits`` (the bundled folder) or an exported model's folder."""
    folder = portrait_model_folder(model)
    if not (folder / "world_model.json").is_file():
        raise SystemExit(f"no exported model at {folder} (world_model.json missing)")
    return folder


def read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise SystemExit(f"no {what} at {path}: run benchmarks/portrait_release.sh measure first")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the export to ship: world-portraits or a folder")
    parser.add_argument("--tag", help="read benchmarks/results/portraits_eval_TAG.json and portrait_sweeps_TAG.json")
    parser.add_argument("--evaluation", type=Path, help="a `world eval --out` file (instead of --tag's)")
    parser.add_argument("--sweeps", type=Path, help="a `benchmarks/portrait_sweeps.py --out` file (instead of --tag's)")
    parser.add_argument("--out", type=Path, help="also write the verdict here as JSON")
    args = parser.parse_args(argv)
    if args.tag is None and (args.evaluation is None or args.sweeps is None):
        parser.error("give --tag, or both --evaluation and --sweeps")
    evaluation_path = args.evaluation or RESULTS / f"portraits_eval_{args.tag}.json"
    sweeps_path = args.sweeps or RESULTS / f"portrait_sweeps_{args.tag}.json"
    folder = model_folder(args.model)
    bundled = folder_megabytes(folder, world_spec("shapes").model_dir)
    bars = portrait_release_bars(read_json(evaluation_path, "held-out evaluation"),
                                 read_json(sweeps_path, "sweep report"), round(bundled, 1))
    width = max(len(bar.name) for bar in bars)
    for bar in bars:
        relation = "<=" if bar.at_most else ">="
        mark = "ok  " if bar.passed else "MISS"
        print(f"{mark} {bar.name:<{width}}  {bar.value:7.3f}  ({relation} {bar.threshold:g})")
    failed = [bar.name for bar in bars if not bar.passed]
    verdict = {"model": str(folder), "evaluation": str(evaluation_path), "sweeps": str(sweeps_path),
               "passed": not failed, "failed": failed,
               "bars": [{"name": b.name, "value": b.value, "threshold": b.threshold, "at_most": b.at_most,
                         "passed": b.passed} for b in bars]}
    if args.out:
        args.out.write_text(json.dumps(verdict, indent=1) + "\n")
    print(json.dumps({"passed": verdict["passed"], "failed": failed}))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
