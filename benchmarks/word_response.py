"""How much a portrait model's velocity moves when one word of the caption changes: whether it uses that word yet.

For each attribute, one base caption (phrasing 0) and the same caption with that attribute's word swapped; the
root mean square of ``v(z, t, caption) - v(z, t, swapped)`` over a few seeded noises ``z``, at a noise level near
pure noise (where a picture is laid out) and one half-way. A word a model ignores moves it by about nothing; read
it beside a model that draws the word right (the shipped one). For reading a training run on the way, not scoring.

    python benchmarks/word_response.py --models runs/wp-probe world-portraits --threads 1 \\
        --out benchmarks/results/word_response_scratch24k_step8000.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ems_core.backends import load_backend
from ems_core.backends.contract import Backend
from ems_core.bench.portrait_release import portrait_model_folder
from ems_core.portraits.scene import caption_from_words
from ems_core.sampling.schedules import initial_noise

BASE_WORDS = {"smile": "smiling", "eyes": "open", "age": "young", "hair_hue": "natural", "hair_lightness": "dark",
              "hair_length": "short", "glasses": "none", "face_width": "oval", "skin": "light",
              "background_hue": "red", "background_lightness": "medium"}
#: per attribute, the two words compared (two ends of its scale, or two far-apart colours)
SWAPS = {"smile": ("frowning", "beaming"), "age": ("young", "old"), "hair_hue": ("natural", "blue"),
         "skin": ("pale", "dark"), "face_width": ("narrow", "wide"), "background_hue": ("red", "blue"),
         "background_lightness": ("dark", "light")}


def word_response(backend: Backend, attribute: str, words: tuple[str, str], t: float, noises: torch.Tensor) -> float:
    """RMS of the velocity's change over ``noises`` (N, C, h, w) at noise level ``t`` when ``attribute``'s word
    in the base caption goes from ``words[0]`` to ``words[1]``."""
    captions = [caption_from_words({**BASE_WORDS, attribute: word}) for word in words]
    times = torch.full((len(noises),), t)
    with torch.no_grad():
        first, second = (backend.velocity(noises, times, backend.encode_prompt([c] * len(noises))) for c in captions)
    return (first - second).pow(2).mean().sqrt().item()


def train_step(model: str) -> int | None:
    """The training step an export records (``world_model.json``), so that a reading names its checkpoint."""
    config = portrait_model_folder(model) / "world_model.json"
    return json.loads(config.read_text()).get("train_step") if config.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help="world-portraits or exported folders")
    parser.add_argument("--noises", type=int, default=8)
    parser.add_argument("--times", type=float, nargs="+", default=[0.97, 0.6])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {"swaps": SWAPS, "base": caption_from_words(BASE_WORDS), "noises": args.noises, "models": {}}
    for model in args.models:
        backend = load_backend(model)
        noises = torch.cat([initial_noise((1, *backend.latent_shape()), seed, backend.device, backend.dtype)
                            for seed in range(args.noises)])
        responses = {f"t={t}": {name: round(word_response(backend, name, words, t, noises), 3)
                                for name, words in SWAPS.items()} for t in args.times}
        report["models"][model] = {"train_step": train_step(model), **responses}
    for model, by_time in report["models"].items():
        for t, responses in by_time.items():
            if t == "train_step":
                continue
            print(f"{model:<28} {t:<7} " + "  ".join(f"{name} {value:.3f}" for name, value in responses.items()))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
