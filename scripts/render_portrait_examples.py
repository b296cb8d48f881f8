"""Render the portrait world's example images (assets/examples-portraits), which the app offers for world-portraits.

Each example is a fixed :class:`~ems_core.portraits.scene.Portrait` (its name says what it shows); rerun this after
the world's drawing changes, so that the examples are drawn the way the bundled model was trained to draw:

    python scripts/render_portrait_examples.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ems_core.portraits.oracle import agreement, measure
from ems_core.portraits.scene import Portrait, caption_of, render

EXAMPLES: dict[str, Portrait] = {
    "beaming-wide-eyed": Portrait(smile=0.92, eyes=0.9, age=0.5, hair_lightness=0.1, hair_length=0.07, face_width=0.5,
                                  skin=0.35, background_hue=0.5, tilt=-1.6, hair_seed=1, background_seed=1),
    "frowning-young": Portrait(smile=-0.8, eyes=0.53, age=0.1, hair_lightness=0.1, hair_length=0.09, face_width=0.5,
                               skin=0.3, background_hue=4 / 6, head_x=1.5, tilt=2.0, hair_seed=2, background_seed=2),
    "neutral-glasses": Portrait(smile=0.0, eyes=0.53, age=0.48, hair_lightness=0.5, hair_length=0.5, glasses=0.96,
                                face_width=0.9, skin=0.65, background_hue=2 / 6, head_x=-1.0, tilt=-2.9, hair_seed=3,
                                background_seed=3),
    "sleepy-thin-glasses": Portrait(eyes=0.1, age=0.5, hair_lightness=0.9, hair_length=0.9, glasses=0.5,
                                    face_width=0.5, skin=0.65, background_hue=5 / 6, hair_seed=4, background_seed=4),
    "slight-smile-long-hair": Portrait(smile=0.35, eyes=0.5, age=0.1, hair_lightness=0.5, hair_length=0.9,
                                       face_width=0.12, skin=0.95, background_hue=0.0, head_y=1.0, hair_seed=5,
                                       background_seed=5),
    "smiling-old": Portrait(smile=0.63, eyes=0.5, age=0.9, hair_lightness=0.9, hair_length=0.5, face_width=0.5,
                            skin=0.15, background_hue=1 / 6, tilt=0.9, hair_seed=6, background_seed=6),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "assets/examples-portraits")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, portrait in EXAMPLES.items():
        image = render(portrait)
        wrong = [key for key, ok in agreement(portrait, measure(image)).items() if not ok]
        if wrong:
            raise SystemExit(f"{name}: the oracle misreads {wrong}")
        image.save(args.out / f"{name}.png")
        print(f"{name}.png  {caption_of(portrait)}")


if __name__ == "__main__":
    main()
