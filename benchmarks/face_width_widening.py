"""Why the default edit seldom widens a portrait's face: the held-out tuning cases' face-width edits towards a wider
word (seed 99, as ``tune_portrait_edit.py``; not the benchmark's cases), the oracle's face width of the source and of
each render, at several degrees and under a few edit settings.

    python benchmarks/face_width_widening.py --threads 1 --out benchmarks/results/face_width_widening_steps.json \
        --sheet docs/figures/face-width-widening.png \
        --sheet-settings "ideal,default,8 steps,16 steps,8 steps from t0 1.0"

For reading, not scoring: a handful of cases, printed one setting a line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from PIL import Image

from ems_core import EditSession
from ems_core.backends import load_backend
from ems_core.bench.portrait_quality import portrait_suite
from ems_core.bench.quality import ideal_image
from ems_core.portraits.oracle import measure
from ems_core.portraits.scene import BANDS

WORDS = list(BANDS["face_width"])  # narrow, oval, wide


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--cases", type=int, default=220, help="single cases drawn (every 11th is face width)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sheet", type=Path, help="PNG: a row per case, the source then what --sheet-settings names")
    parser.add_argument("--sheet-settings", default="default",
                        help="comma-separated settings the sheet shows after the source, in this order (default: "
                             "default); 'ideal' is the renderer's own edit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    base = backend.info.edit_config
    cases = [case for case in portrait_suite(args.cases, 0, 0, 99, backend.info.image_size)
             if case.attributes[0].name == "face width"
             and WORDS.index(case.targets["face_width"]) > WORDS.index(measure(case.image).words["face_width"])]
    settings = {"default": (base, (1.0, 1.5, 2.0)), "t0 1.0": (base.with_(start_time=1.0), (1.0,)),
                "guidance 4": (base.with_(guidance=4.0), (1.0,)), "8 steps": (base.with_(steps=8), (1.0,)),
                "16 steps": (base.with_(steps=16), (1.0,)),
                "8 steps from t0 1.0": (base.with_(steps=8, start_time=1.0), (1.0,))}
    shown = [label.strip() for label in args.sheet_settings.split(",") if label.strip()]
    unknown = sorted(set(shown) - set(settings) - {"ideal"})
    if unknown:
        parser.error(f"--sheet-settings: unknown {', '.join(unknown)}; known: ideal, {', '.join(settings)}")
    report = {"model": args.model, "cases": len(cases), "settings": {}}
    renders = {"ideal": [[ideal_image(case)] for case in cases]} if "ideal" in shown else {}  # label -> per case
    for label, (config, degrees) in settings.items():
        rows = []
        for case in cases:
            attribute = case.attributes[0]
            session = EditSession(backend, case.image, prompt=case.prompt, config=config)
            session.set_attribute(attribute.name, attribute.source, attribute.target, attribute.full_prompt,
                                  attribute.via)
            images = [session.render({attribute.name: degree}).image for degree in degrees]
            read = [measure(image) for image in images]
            renders.setdefault(label, []).append(images)
            rows.append({"case": case.case_id, "source": round(measure(case.image).values["face_width"], 3),
                         "target": case.targets["face_width"],
                         "read": {str(d): round(r.values["face_width"], 3) for d, r in zip(degrees, read)},
                         "hit_at_1": read[0].words["face_width"] == case.targets["face_width"]})
        report["settings"][label] = {"config": config.to_dict(), "degrees": list(degrees), "rows": rows,
                                     "hits_at_1": sum(row["hit_at_1"] for row in rows)}
        print(json.dumps({label: [(row["source"], row["target"], list(row["read"].values())) for row in rows],
                          "hits_at_1": report["settings"][label]["hits_at_1"]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    if args.sheet and cases:
        size = backend.info.image_size
        sheet_rows = [[case.image] + [image for label in shown for image in renders[label][i]]
                      for i, case in enumerate(cases)]
        sheet = Image.new("RGB", (size * len(sheet_rows[0]), size * len(sheet_rows)))
        for i, row in enumerate(sheet_rows):
            for j, image in enumerate(row):
                sheet.paste(image, (size * j, size * i))
        sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(args.sheet, optimize=True)  # ~140 KB


if __name__ == "__main__":
    main()
