"""Faithfulness of a world model, measured by its world's oracle (the model cards' numbers).

    python -m ems_core world eval --captions 500 --inversions 50 --out assets/world-model/eval.json
    python -m ems_core world eval --model assets/world-portraits --captions 500 --inversions 50

The world is the backend's (:attr:`WorldBackend.world`, from the model's ``world_model.json``); other
backends are measured as shapes models.

- generation: random captions (seeded), one image each from fixed seeds; per attribute the share of
  images whose measured caption word equals the prompt's (and all attributes at once), and for the continuous
  attributes the measured value's offset from the caption's own render (mean: a bias; sd: the spread);
- inversion round trip: rendered scenes inverted with their own caption and regenerated with no
  edit (:meth:`EditSession.reconstruct`), PSNR against the render; also the autoencoder alone;
- latency: p50 of one-image generation at the model's default steps and guidance.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter

import numpy as np
import torch

from ..backends import load_backend
from ..config import EditConfig
from ..images import pil_to_tensor, tensor_to_pil
from ..metrics import psnr
from ..sampling import generate
from ..session import EditSession
from ..world.spec import WorldSpec, world_spec


def world_of(backend) -> WorldSpec:
    """The world a backend was trained on (shapes for backends that do not say)."""
    return getattr(backend, "world", None) or world_spec("shapes")


def value_offsets(asked, measured, attributes: tuple[str, ...]) -> dict[str, float]:
    """``measured - asked`` for every attribute both measurements hold as a finite number (the worlds' hues are
    positions on a palette path, not angles, so they subtract like the rest)."""
    offsets = {}
    for name in attributes:
        a, m = getattr(asked, name, None), getattr(measured, name, None)
        if isinstance(a, float) and isinstance(m, float) and np.isfinite(a) and np.isfinite(m):
            offsets[name] = m - a
    return offsets


def summarise_offsets(offsets: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per attribute: ``n``, ``mean`` (a bias) and ``sd`` (the spread) of the offsets, and ``mean_abs``."""
    return {name: {"n": len(values), "mean": round(float(np.mean(values)), 4), "sd": round(float(np.std(values)), 4),
                   "mean_abs": round(float(np.mean(np.abs(values))), 4)}
            for name, values in offsets.items() if values}


def generation_faithfulness(backend, n_captions: int, seed: int, steps: int | None, guidance: float | None,
                            batch_size: int = 25) -> tuple[dict, dict, dict]:
    """Share of generated images whose oracle words match the prompt, per attribute; per attribute, how often
    each wrong word was read for each asked one (``"asked -> read"``: the words of the caption's own render, which
    the oracle reads exactly, against the generated image's), most frequent first; and for the continuous
    attributes, :func:`summarise_offsets` of the generated value against the render's (:func:`value_offsets`).
    The model is told a band, not the render's value, so the spread includes the band's own width (a uniform
    band of width 0.2 alone has sd 0.058)."""
    world = world_of(backend)
    rng = random.Random(seed)
    pairs = [world.sample(rng) for _ in range(n_captions)]
    hits = {name: 0 for name in (*world.attributes, "all")}
    misread: dict[str, Counter] = {name: Counter() for name in world.attributes}
    offsets: dict[str, list[float]] = {name: [] for name in world.attributes}
    for start in range(0, n_captions, batch_size):
        chunk = pairs[start:start + batch_size]
        images = generate(backend, [caption for _, caption in chunk],
                          [seed * 100_000 + start + i for i in range(len(chunk))], steps, guidance)
        for (render, caption), image in zip(chunk, images):
            measured = world.measure(image)
            ok = world.agreement(caption, measured)
            asked = world.measure(render)
            for name in world.attributes:
                hits[name] += ok[name]
                if not ok[name]:
                    misread[name][f"{asked.words.get(name)} -> {measured.words.get(name)}"] += 1
            for name, offset in value_offsets(asked, measured, world.attributes).items():
                offsets[name].append(offset)
            hits["all"] += all(ok.values())
    shares = {name: round(count / n_captions, 4) for name, count in hits.items()}
    return (shares, {name: dict(counts.most_common()) for name, counts in misread.items() if counts},
            summarise_offsets(offsets))


#: The round trip the model cards report: the inversion sampler with EditConfig's defaults (the difference sampler
#: returns the source latent exactly at degree 0, so its round trip is the autoencoder's, reported beside it).
ROUND_TRIP = EditConfig(sampler="inversion")


def inversion_round_trip(backend, n_scenes: int, seed: int, config: EditConfig) -> dict:
    """PSNR of (render -> invert with own caption -> regenerate) and of the autoencoder alone, and how often the
    oracle reads each attribute of the autoencoder's reconstruction right (what generation can reach at most)."""
    world = world_of(backend)
    rng = random.Random(seed + 7)
    round_trip, autoencoder = [], []
    agreed = {name: 0 for name in world.attributes}
    for _ in range(n_scenes):
        image, caption = world.sample(rng)
        session = EditSession(backend, image, prompt=caption, config=config)
        round_trip.append(psnr(image, session.reconstruct().image))
        with torch.no_grad():
            decoded = tensor_to_pil(backend.decode_latent(backend.encode_image(pil_to_tensor(image))))[0]
        autoencoder.append(psnr(image, decoded))
        for name, ok in world.agreement(caption, world.measure(decoded)).items():
            agreed[name] += int(ok)
    return {"psnr_mean": round(statistics.fmean(round_trip), 2), "psnr_median": round(statistics.median(round_trip), 2),
            "psnr_min": round(min(round_trip), 2),
            "share_at_least_30db": round(float(np.mean(np.array(round_trip) >= 30)), 3),
            "autoencoder_psnr_mean": round(statistics.fmean(autoencoder), 2),
            "autoencoder_agreement": {name: round(count / n_scenes, 3) for name, count in agreed.items()}}


def generation_latency(backend, repeats: int = 10) -> dict:
    caption = world_of(backend).sample(random.Random(0))[1]
    generate(backend, [caption], [0])  # warm-up
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        generate(backend, [caption], [i])
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "threads": torch.get_num_threads(),
            "steps": backend.info.default_steps, "guidance": backend.info.default_guidance}


def chosen_schedule(rows: list[dict]) -> dict:
    """The text-to-image setting to ship among ``rows`` (each with ``generation``: faithfulness per attribute and
    ``all``, and its ``shift``): the best weakest attribute, then the best ``all``, then the smallest shift (the
    schedule nearest the one the model was trained on). A rule, so that a release can choose without a reader."""
    if not rows:
        raise ValueError("no schedule rows to choose from")

    def weakest(row: dict) -> float:
        return min(value for name, value in row["generation"].items() if name != "all")

    return max(rows, key=lambda row: (weakest(row), row["generation"]["all"], -row["shift"]))


def run_eval(model: str = "world", n_captions: int = 500, n_inversions: int = 50, steps: int | None = None,
             guidance: float | None = None, seed: int = 0, generation_shift: float | None = None) -> dict:
    """Faithfulness, round trip and latency of a bundled-world model; ``generation_shift`` overrides the model's
    text-to-image schedule shift (``sigma' = s sigma / (1 + (s - 1) sigma)``); the round trip keeps the edits'."""
    backend = load_backend(model)
    if generation_shift is not None:
        if generation_shift <= 0 or not hasattr(backend, "generation_shift"):
            raise ValueError(f"the generation shift must be positive and the model a bundled-world one, got "
                             f"{generation_shift} for {model}")
        backend.generation_shift = generation_shift
    started = time.perf_counter()
    generation, misread, offsets = (generation_faithfulness(backend, n_captions, seed, steps, guidance) if n_captions
                                    else (None, None, None))
    report = {
        "model": model,
        "world": world_of(backend).name,
        "steps": steps or backend.info.default_steps,
        "guidance": backend.info.default_guidance if guidance is None else guidance,
        "sampling_shift": getattr(backend, "sampling_shift", None),
        "generation_shift": getattr(backend, "generation_shift", None),
        "generation": generation,
        "generation_misread": misread,
        "generation_offsets": offsets,
        "inversion": inversion_round_trip(backend, n_inversions, seed, ROUND_TRIP) if n_inversions else None,
        "inversion_config": ROUND_TRIP.to_dict(),
        "latency": generation_latency(backend),
    }
    report["eval_seconds"] = round(time.perf_counter() - started, 1)
    return report
