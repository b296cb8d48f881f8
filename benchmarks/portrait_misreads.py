"""Look at the generated portraits whose attribute the oracle reads as another word than the caption asked: the
model's text-to-image samples (the same captions, seeds and sampler as ``world eval``), the misread ones on a
PNG sheet, each enlarged and labelled "asked -> read". For face width the sheet also marks the cheek edges the
oracle read the width from (red rings) and where a narrow, oval and wide face's outline would be on those rows
(blue, green, yellow dots), so one can see whether the face or the reading is off.

    python benchmarks/portrait_misreads.py --attribute face_width --captions 120 --seed 1 \
        --sheet docs/figures/face-width-misreads.png

For reading why generation misses, not for scoring (``world eval`` scores).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ems_core import load_backend
from ems_core.bench.world_model import world_of
from ems_core.portraits.oracle import FACE_EDGE_ROWS, measure
from ems_core.portraits.scene import BANDS, HEAD_CENTRE, face_half_width, face_rx
from ems_core.sampling import generate

SCALE = 3
BAND_COLOURS = {"narrow": (40, 80, 255), "oval": (40, 220, 40), "wide": (255, 230, 0)}


def _mark_face_width(draw: ImageDraw.ImageDraw, raw: dict) -> None:
    """The oracle's cheek edges, and each band's outline on the same rows, in the measured head frame."""
    cx, cy = HEAD_CENTRE[0] + raw["head_x"], HEAD_CENTRE[1] + raw["head_y"]
    c, s = np.cos(np.radians(raw["tilt"])), np.sin(np.radians(raw["tilt"]))
    for word, (low, high) in BANDS["face_width"].items():
        for v in FACE_EDGE_ROWS:
            for side in (-1.0, 1.0):
                u = side * float(face_half_width(face_rx((low + high) / 2), v))
                x, y = cx + u * c - v * s, cy + u * s + v * c
                draw.rectangle([x * SCALE - 1, y * SCALE - 1, x * SCALE + 1, y * SCALE + 1], fill=BAND_COLOURS[word])
    for x, y in raw.get("face_edges", []):
        draw.ellipse([x * SCALE - 4, y * SCALE - 4, x * SCALE + 4, y * SCALE + 4], outline=(255, 0, 0), width=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--attribute", default="face_width")
    parser.add_argument("--captions", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--show", type=int, default=12, help="misread images on the sheet (the first ones)")
    parser.add_argument("--sheet", type=Path, help="PNG: misread samples, 4 a row")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    world = world_of(backend)
    if args.attribute not in world.attributes:
        parser.error(f"{args.attribute!r} is not an attribute of the {world.name} world: {', '.join(world.attributes)}")
    rng = random.Random(args.seed)
    pairs = [world.sample(rng) for _ in range(args.captions)]
    images = generate(backend, [caption for _, caption in pairs],
                      [args.seed * 100_000 + i for i in range(len(pairs))], args.steps, args.guidance)
    misread, tiles, pairs_read = [], [], Counter()
    for i, ((render, caption), image) in enumerate(zip(pairs, images)):
        asked = measure(render).words[args.attribute]
        measured = measure(image)
        read = measured.words.get(args.attribute, "none")
        pairs_read[f"{asked} -> {read}"] += 1
        if read == asked:
            continue
        misread.append({"index": i, "caption": caption, "asked": asked, "read": read,
                        "value": round(measured.values.get(args.attribute, float("nan")), 3)})
        if len(tiles) < args.show:
            tile = image.resize((image.width * SCALE, image.height * SCALE), Image.NEAREST)
            draw = ImageDraw.Draw(tile)
            if args.attribute == "face_width" and measured.found:
                _mark_face_width(draw, measured.raw)
            draw.rectangle([0, 0, tile.width, 14], fill=(0, 0, 0))
            draw.text((3, 2), f"#{i}: asked {asked} -> read {read}", fill=(255, 255, 255))
            tiles.append(tile)
    print(json.dumps({"model": args.model, "attribute": args.attribute, "captions": args.captions, "seed": args.seed,
                      "misread": len(misread), "asked_read": dict(pairs_read.most_common()), "cases": misread}))
    if args.sheet and tiles:
        columns = min(4, len(tiles))
        rows = (len(tiles) + columns - 1) // columns
        sheet = Image.new("RGB", (tiles[0].width * columns, tiles[0].height * rows), "white")
        for k, tile in enumerate(tiles):
            sheet.paste(tile, ((k % columns) * tile.width, (k // columns) * tile.height))
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        sheet.quantize(128).save(args.sheet, optimize=True)


if __name__ == "__main__":
    main()
