"""Seconds per transformer training step of a world's preset, eager and through ``torch.compile``
(``world train --compile``), on the same batches: the step times, the one-off compilation, and how far apart
the two runs' losses are (the same arithmetic fused differently, so bf16 rounding apart).

    python benchmarks/train_step.py --world portraits --steps 24 --threads 2 --out benchmarks/results/train_step.json

Each variant is ``train_transformer`` itself (rendering, encoding, forward, backward, optimiser, EMA), run for
``--steps`` steps in a fresh folder with a randomly initialised autoencoder (its weights do not change the cost);
the first ``log_every`` steps (``--warmup``) include compilation and are reported apart. Run it on an otherwise idle
machine: two threads on a busy 2-core machine measure the neighbour, not the model.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ems_core.world.model import MODEL_PRESETS, build_autoencoder
from ems_core.world.train import TrainConfig, train_transformer


def run_variant(world: str, steps: int, warmup: int, threads: int, compile_: bool) -> dict:
    """``steps`` training steps of ``world``'s preset (after ``warmup`` ones): seconds a step and the losses."""
    model_config = MODEL_PRESETS[world]
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        autoencoder = build_autoencoder(model_config)
        autoencoder.register_to_config(latent_shift=(0.0,) * model_config.latent_channels,
                                       latent_scale=(1.0,) * model_config.latent_channels)
        autoencoder.save_pretrained(run_dir / "autoencoder")
        logs: list[dict] = []
        config = TrainConfig(steps=warmup + steps, log_every=1, checkpoint_every=10**9, threads=threads,
                             compile=compile_)
        started = time.perf_counter()
        train_transformer(run_dir, config, model_config,
                          log=lambda line: logs.append(json.loads(line)) if line.startswith("{") else None)
        wall = time.perf_counter() - started
    timed = [entry for entry in logs if "s_per_step" in entry]
    return {"compile": compile_, "warmup_s": round(sum(e["s_per_step"] for e in timed[:warmup]), 2),
            "s_per_step_median": round(statistics.median(e["s_per_step"] for e in timed[warmup:]), 3),
            "losses": [e["loss"] for e in timed], "wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", choices=sorted(MODEL_PRESETS), default="portraits")
    parser.add_argument("--steps", type=int, default=24, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=3, help="untimed first steps (compilation happens here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [run_variant(args.world, args.steps, args.warmup, args.threads, compile_) for compile_ in (False, True)]
    eager, compiled = rows
    gaps = [abs(a - b) / max(abs(a), 1e-12) for a, b in zip(eager["losses"], compiled["losses"])]
    for row in rows:
        print(f"{'compiled' if row['compile'] else 'eager':9s} {row['s_per_step_median']:.3f} s a step "
              f"(first {args.warmup} steps {row['warmup_s']:.1f} s)")
    result = {"command": "python benchmarks/train_step.py", "world": args.world, "steps": args.steps,
              "warmup": args.warmup, "threads": args.threads, "torch": torch.__version__,
              "cpu": platform.processor() or platform.machine(), "eager": eager, "compiled": compiled,
              "speedup": round(eager["s_per_step_median"] / compiled["s_per_step_median"], 2),
              "loss_relative_gap_max": round(max(gaps), 4)}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("speedup", "loss_relative_gap_max")}))


if __name__ == "__main__":
    main()
