"""Slider-move latency: the first render of an image (prepare + render) against later moves.

    python benchmarks/latency.py --model world --moves 10

Prints one JSON object: prepare/render milliseconds and NFE of the first move and the p50 of later moves,
and the p50 of plain one-image generation.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import torch

from ems_core import EDIT_PRESETS, EditConfig, EditSession, generate, load_backend
from ems_core.world.scene import caption_of, random_scene, render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--preset", default="default", help="EditConfig preset (default, preview, quality)")
    args = parser.parse_args()

    backend = load_backend(args.model)
    config: EditConfig = EDIT_PRESETS[args.preset]
    scene = random_scene(random.Random(0))
    image = render(scene).resize((backend.info.image_size,) * 2)
    prompt = caption_of(scene)
    session = EditSession(backend, image, prompt=prompt, config=config)
    session.set_attribute("colour", scene.colour, "blue" if scene.colour != "blue" else "red")
    started = time.perf_counter()
    first = session.render({"colour": 0.5})
    first_ms = (time.perf_counter() - started) * 1000
    moves = []
    for i in range(args.moves):
        started = time.perf_counter()
        result = session.render({"colour": (i + 1) / args.moves})
        moves.append((time.perf_counter() - started) * 1000)
    gen = []
    for i in range(5):
        started = time.perf_counter()
        generate(backend, [prompt], [i])
        gen.append((time.perf_counter() - started) * 1000)
    print(json.dumps({
        "model": backend.info.name, "preset": args.preset, "threads": torch.get_num_threads(),
        "first_move": {"total_ms": round(first_ms, 1), **first.timings_ms, "nfe": first.nfe,
                       "prepare_nfe": first.prepare_nfe},
        "later_moves": {"p50_ms": round(statistics.median(moves), 1), "min_ms": round(min(moves), 1),
                        "nfe": result.nfe, "cache_hit": result.cache_hit},
        "generate_p50_ms": round(statistics.median(gen), 1),
    }))


if __name__ == "__main__":
    main()
