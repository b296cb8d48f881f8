"""Latent directions on the portrait model: do LOCO / T-LOCO / HSDS directions find and transfer a semantic edit
on aligned faces (the LOCO paper's setting), where the shapes world's objects sit anywhere?

    python benchmarks/portrait_directions.py --model assets/world-portraits --out benchmarks/results/portrait_directions.json
    python benchmarks/portrait_directions.py --regions '' --sources 5 --out benchmarks/results/portrait_text_directions.json
    python benchmarks/portrait_directions.py --regions '' --sources 5 --text-methods sds --text-regions none \
        --text-attributes smile,eyes,age,hair_lightness,hair_length,glasses,face_width,skin,background_lightness \
        --out benchmarks/results/portrait_sds_transfer.json

1. LOCO: k directions of one portrait per region (whole image; the mouth and the eyes with the complement's top
   5 projected off), what each changes there, and transfer to ``--transfer`` other portraits.
2. Text directions (SDS, T-LOCO, HSDS) for each of ``--sources`` source portraits: each ``--text-attributes``
   attribute (default smile) towards the far end of its scale (``far_end_edit``), whole image and mouth region,
   applied to the same ``--transfer`` other portraits: does that attribute move the asked way, and change most?

Strengths are fractions of the inverted latent's norm (``ems_core.bench.portrait_directions``). The last line is
one JSON object; ``--sheet`` saves the source portrait's strips (one row per direction).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image

from ems_core import load_backend
from ems_core.bench.portrait_directions import (ORDERED_ATTRIBUTES, discover_on_portrait, far_end_edit,
                                                portrait_response, portrait_sessions, portrait_transfer)
from ems_core.edit_directions import text_direction
from ems_core.images import horizontal_strip
from ems_core.portraits.scene import caption_from_words, parse_caption


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5, help="portraits' seed (the first is the source)")
    parser.add_argument("--transfer", type=int, default=10)
    parser.add_argument("--fractions", default="-0.4,-0.2,0,0.2,0.4", help="of ||z_t0||, 0 included")
    parser.add_argument("--regions", default="none:0,mouth:5,eyes:5",
                        help="LOCO's region:null_rank, comma-separated ('' skips LOCO)")
    parser.add_argument("--text-methods", default="sds,tloco,hsds", help="text directions, comma-separated")
    parser.add_argument("--text-regions", default="none,mouth")
    parser.add_argument("--sources", type=int, default=1, help="source portraits for the text directions")
    parser.add_argument("--text-attributes", default="smile",
                        help=f"attributes edited towards the far end of their scale, comma-separated, of: "
                             f"{', '.join(ORDERED_ATTRIBUTES)}")
    parser.add_argument("--start-time", type=float, default=None,
                        help="noise level t0 (default: the model's direction noise level)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sheet", help="PNG of the source portrait along each direction")
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    backend = load_backend(args.model)
    info = backend.info
    config = info.direction_config().with_(steps=info.default_edit_steps, guidance=info.default_edit_guidance)
    if args.start_time is not None:
        config = config.with_(start_time=args.start_time)
    fractions = [float(f) for f in args.fractions.split(",")]
    sessions = portrait_sessions(backend, args.sources + args.transfer, args.seed, config)
    source, others = sessions[0], sessions[args.sources:]
    report = {"model": args.model, "config": config.to_dict(), "fractions": fractions, "source": source.source_prompt,
              "loco": [], "text": []}
    strips = []

    for spec in filter(None, args.regions.split(",")):
        region, null_rank = spec.split(":")
        directions, found = discover_on_portrait(source, config, args.k, region, int(null_rank), fractions)
        found["transfer"] = [portrait_transfer(d, f, others, fractions, config)
                             for d, f in zip(directions, found["directions"])]
        report["loco"].append(found)
        for d in directions:
            strips.append(horizontal_strip(portrait_response(source, d, fractions, config)["images"]))
        print(json.dumps({"loco": region, "seconds": found["seconds"],
                          "directions": [(x["attribute"], x["sign"]) for x in found["directions"]],
                          "transfer": [t["same_attribute_and_sign"] for t in found["transfer"]]}), flush=True)

    for index, source in enumerate(sessions[:args.sources]):
        words = parse_caption(source.source_prompt)
        for attribute in filter(None, args.text_attributes.split(",")):
            phrase, target, sign = far_end_edit(source.source_prompt, attribute)
            target_prompt = caption_from_words({**words, attribute: target})
            for method in filter(None, args.text_methods.split(",")):
                for region in filter(None, args.text_regions.split(",")):
                    direction = text_direction(source, method, phrase, target_prompt, full_prompt=True,
                                               region=region, config=config)
                    own = portrait_response(source, direction, fractions, config)
                    row = {"method": method, "region": region, "source": index, "attribute": attribute,
                           "edit": f"{phrase} -> {target}", "unit_strength": round(direction.unit_strength, 4),
                           "matched_strength": direction.provenance.get("matched_strength"),  # SDS: first order
                           "on_source": {k: v for k, v in own.items() if k != "images"},
                           "transfer": portrait_transfer(direction, own, others, fractions, config, attribute, sign)}
                    report["text"].append(row)
                    if index == 0:
                        strips.append(horizontal_strip(own["images"]))
                    print(json.dumps({"text": method, "region": region, "source": index, "attribute": attribute,
                                      "edit": row["edit"], "change_on_source": own["changes"][attribute],
                                      "transfer": row["transfer"]["same_attribute_and_sign"],
                                      "moved_that_way": row["transfer"]["same_sign_on_that_attribute"]}), flush=True)
    if args.sheet and strips:
        width, height = strips[0].size
        sheet = Image.new("RGB", (width, height * len(strips)))
        for i, strip in enumerate(strips):
            sheet.paste(strip, (0, i * height))
        sheet.save(args.sheet)
    summary: dict[str, dict] = {}
    for row in report["text"]:
        entry = summary.setdefault(f"{row['attribute']}:{row['method']}:{row['region']}",
                                   {"per_source": [], "of_each": args.transfer})
        entry["per_source"].append(row["transfer"]["same_attribute_and_sign"])
    for key, entry in summary.items():
        entry["at_least_8_of_10"] = sum(n >= 0.8 * args.transfer for n in entry["per_source"])
        print(json.dumps({"transfer": key, **entry}), flush=True)
    report["text_summary"] = summary
    report["wall_s"] = round(time.perf_counter() - started, 1)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
