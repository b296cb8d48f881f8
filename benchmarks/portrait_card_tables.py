"""The model card's tables for a candidate portrait model beside the shipped one, in markdown, every cell
``candidate (shipped)``: generation faithfulness per attribute on the 500 held-out captions, the inversion round
trip, and the smile / age / hair lightness sweeps (``ems_core.bench.portrait_release.comparison_tables``). The
numbers a model card quotes come from this command, not from reading JSON by hand.

    python benchmarks/portrait_card_tables.py --tag scratch24k
    python benchmarks/portrait_card_tables.py --evaluation A.json --sweeps B.json \\
        --reference-evaluation C.json --reference-sweeps D.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ems_core.bench.portrait_release import comparison_tables

RESULTS = Path("benchmarks/results")
#: the shipped model's held-out evaluation and sweeps (assets/world-portraits/MODEL_CARD.md)
SHIPPED_EVALUATION = RESULTS / "portraits_eval_scratch24k.json"
SHIPPED_SWEEPS = RESULTS / "portrait_sweeps_scratch24k_velocity.json"


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"no results file at {path}")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the candidate's benchmarks/results/portraits_eval_TAG.json and "
                                      "portrait_sweeps_TAG.json")
    parser.add_argument("--evaluation", type=Path, help="the candidate's `world eval --out` file (instead of --tag's)")
    parser.add_argument("--sweeps", type=Path,
                        help="the candidate's `portrait_sweeps.py --out` file (instead of --tag's)")
    parser.add_argument("--reference-evaluation", type=Path, default=SHIPPED_EVALUATION)
    parser.add_argument("--reference-sweeps", type=Path, default=SHIPPED_SWEEPS)
    args = parser.parse_args(argv)
    if args.tag is None and (args.evaluation is None or args.sweeps is None):
        parser.error("give --tag, or both --evaluation and --sweeps")
    evaluation = args.evaluation or RESULTS / f"portraits_eval_{args.tag}.json"
    sweeps = args.sweeps or RESULTS / f"portrait_sweeps_{args.tag}.json"
    print(comparison_tables(read_json(evaluation), read_json(sweeps), read_json(args.reference_evaluation),
                            read_json(args.reference_sweeps)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
