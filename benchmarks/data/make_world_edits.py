"""Render the tiny annotated-edits example (``benchmarks/data/world-edits/``): three 64x64 scenes of the shapes
world and ``edits.json`` in the format of docs/benchmark.md ("Annotated real images").

    python benchmarks/data/make_world_edits.py
"""

from __future__ import annotations

import json
from pathlib import Path

from ems_core.world.scene import Scene, caption_of, render

FOLDER = Path(__file__).resolve().parent / "world-edits"
SCENES = {
    "red-circle.png": Scene("circle", "red", "white", 0.32, 0.5, 0.5),
    "blue-square.png": Scene("square", "blue", "black", 0.18, 0.33, 0.33),
    "yellow-star.png": Scene("star", "yellow", "gray", 0.25, 0.67, 0.67),
}


def box(scene: Scene, margin: float = 0.06) -> list[float]:
    """A box around the object (fractions of the side), wide enough for the edits below."""
    half = scene.size * 0.8 + margin
    return [round(max(0.0, scene.x - half), 3), round(max(0.0, scene.y - half), 3),
            round(min(1.0, scene.x + half), 3), round(min(1.0, scene.y + half), 3)]


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, scene in SCENES.items():
        render(scene).save(FOLDER / name)
    circle, square, star = SCENES.values()
    edits = [
        {"id": "circle-red-to-blue", "image": "red-circle.png", "prompt": caption_of(circle), "attribute": "colour",
         "source": "red", "target": "blue", "degrees": [0, 0.5, 1], "region": box(circle)},
        {"id": "square-small-to-large", "image": "blue-square.png", "prompt": caption_of(square), "attribute": "size",
         "source": "small", "target": "large", "degrees": [0, 0.5, 1], "region": box(square, 0.1)},
        {"id": "star-to-triangle", "image": "yellow-star.png", "prompt": caption_of(star), "attribute": "shape",
         "source": "star", "target": "triangle", "region": box(star), "seed": 7},
        {"id": "star-gray-to-white-background", "image": "yellow-star.png", "prompt": caption_of(star),
         "attribute": "background", "source": "gray background", "target": "white background"},
    ]
    (FOLDER / "edits.json").write_text(json.dumps({"edits": edits}, indent=1) + "\n")


if __name__ == "__main__":
    main()
