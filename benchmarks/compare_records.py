"""Compare one method's quality-benchmark records between two runs of the same cases, case by case.

Two ``bench quality --records`` files of the same suite (same model, seed and counts) that differ in one setting
(dtype, threads, a code change) score the same cases; a paired count says more than two headline numbers: how many
cases flipped from hit to miss and back, for the target, for preservation and for both.

    python -m ems_core bench quality --model world-portraits --dtype bfloat16 --methods ours --threads 1 \\
        --records runs/portraits_quality_records_bf16.json --out-dir ''
    python benchmarks/compare_records.py runs/portraits_quality_records_v3.json \\
        runs/portraits_quality_records_bf16.json --method ours --out benchmarks/results/portraits_bf16_vs_fp32.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ems_core.bench.quality import aggregate

OUTCOMES = ("target_hit", "preserved", "both")


def _by_case(path: Path, method: str) -> tuple[dict, dict[str, dict]]:
    data = json.loads(path.read_text())
    records = {r["case"]: r for r in data["records"] if r["method"] == method}
    if not records:
        raise SystemExit(f"error: {path} has no records of method {method!r}")
    return data["run"], records


def compare(before: dict[str, dict], after: dict[str, dict]) -> dict:
    """Headline numbers of each run and, per outcome, the cases that changed (paired on the case name)."""
    if before.keys() != after.keys():
        raise SystemExit(f"error: the runs score different cases ({len(before.keys() ^ after.keys())} differ); "
                         "compare runs of one suite")
    cases = sorted(before)
    singles = [c for c in cases if before[c]["kind"] != "pair"]
    result: dict = {"cases": len(cases), "single_attribute_cases": len(singles)}
    for name, records in (("before", before), ("after", after)):
        summary = aggregate(list(records.values()), {})
        summary = next(iter(summary.values()))
        result[name] = {k: summary[k] for k in ("target_hit", "preservation", "both", "rho", "psnr_degree0")}
        result[name]["pairs_both"] = summary["pairs"]["both"] if summary["pairs"] else None
    for outcome in OUTCOMES:
        lost = [c for c in cases if before[c][outcome] and not after[c][outcome]]
        gained = [c for c in cases if not before[c][outcome] and after[c][outcome]]
        result[outcome] = {"lost": len(lost), "gained": len(gained), "lost_cases": lost, "gained_cases": gained}
    rho = [(before[c]["rho"], after[c]["rho"]) for c in cases if "rho" in before[c] and "rho" in after[c]]
    result["rho_mean_abs_change"] = round(statistics.fmean(abs(a - b) for a, b in rho), 4) if rho else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--method", default="ours")
    parser.add_argument("--out", type=Path, default=None, help="also write the comparison here (JSON)")
    args = parser.parse_args()
    run_before, before = _by_case(args.before, args.method)
    run_after, after = _by_case(args.after, args.method)
    result = {"method": args.method, "before_command": run_before.get("command"),
              "after_command": run_after.get("command"), **compare(before, after)}
    for name in ("before", "after"):
        print(f"{name:7} " + "  ".join(f"{k} {v}" for k, v in result[name].items()))
    for outcome in OUTCOMES:
        print(f"{outcome:10} lost {result[outcome]['lost']:3}  gained {result[outcome]['gained']:3}  "
              f"(of {result['cases']} cases)")
    print(f"sweep rho: mean |change| {result['rho_mean_abs_change']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
