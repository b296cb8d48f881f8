"""Seconds per training step of a world's preset, the usual way and the faster one, on the same batches:
the transformer eager and through ``torch.compile`` (``world train --compile``), or the autoencoder in float32 and
under bfloat16 autocast (``--phase autoencoder``: ``world train --autoencoder-bf16``). Reports the step times, the
first steps apart (compilation), how far apart the two runs' losses are, and for the autoencoder the held-out PSNR
each run ends at (64 renders, seed 999).

    python benchmarks/train_step.py --world portraits --steps 24 --threads 2 --out benchmarks/results/train_step.json
    python benchmarks/train_step.py --phase autoencoder --steps 150 --from-checkpoint runs/portraits-v3/autoencoder.pt

Each variant is ``train_transformer`` itself (rendering, encoding, forward, backward, optimiser, EMA), run for
``--steps`` steps in a fresh folder with a randomly initialised autoencoder (its weights do not change the cost),
or ``train_autoencoder`` from a random start or from ``--from-checkpoint`` (a run's ``autoencoder.pt``: both
variants resume from it, so their losses compare paired); the first ``--warmup`` steps include compilation and are
reported apart. Run it on an otherwise idle
machine: two threads on a busy 2-core machine measure the neighbour, not the model.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ems_core.world.model import MODEL_PRESETS, build_autoencoder
from ems_core.world.spec import world_spec
from ems_core.world.train import TrainConfig, scene_batch, train_autoencoder, train_transformer


def autoencoder_variant(world: str, steps: int, warmup: int, threads: int, bf16: bool,
                        checkpoint: Path | None) -> dict:
    """``steps`` autoencoder steps (after ``warmup``), float32 or bf16 autocast: seconds a step, losses, PSNR."""
    model_config = MODEL_PRESETS[world]
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        start = 0
        if checkpoint is not None:
            shutil.copy(checkpoint, run_dir / "autoencoder.pt")
            start = torch.load(checkpoint, weights_only=False)["step"]
        logs: list[dict] = []
        config = TrainConfig(steps=start + warmup + steps, log_every=1, checkpoint_every=10**9, threads=threads,
                             stats_batches=1, autoencoder_bf16=bf16)
        model = train_autoencoder(run_dir, config, model_config,
                                  log=lambda line: logs.append(json.loads(line)) if line.startswith("{") else None)
    timed = [entry for entry in logs if "s_per_step" in entry]
    images, _ = scene_batch(random.Random(999), 64, world_spec(world))
    with torch.no_grad():
        error = ((model.decode(model.encode(images)) - images) ** 2).mean(dim=(1, 2, 3)) / 4  # on [0, 1]
    return {"autoencoder_bf16": bf16, "start_step": start,
            "warmup_s": round(sum(e["s_per_step"] for e in timed[:warmup]), 2),
            "s_per_step_median": round(statistics.median(e["s_per_step"] for e in timed[warmup:]), 3),
            "losses": [e["loss"] for e in timed], "psnr_held_out": round(float((-10 * error.log10()).mean()), 2)}


def transformer_variant(world: str, steps: int, warmup: int, threads: int, compile_: bool) -> dict:
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
    parser.add_argument("--phase", choices=["transformer", "autoencoder"], default="transformer")
    parser.add_argument("--from-checkpoint", type=Path, help="autoencoder: a run's autoencoder.pt to resume both from")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.phase == "autoencoder":
        rows = [autoencoder_variant(args.world, args.steps, args.warmup, args.threads, bf16, args.from_checkpoint)
                for bf16 in (False, True)]
        names = ("float32", "bf16")
    else:
        rows = [transformer_variant(args.world, args.steps, args.warmup, args.threads, compile_) for compile_ in (False, True)]
        names = ("eager", "compiled")
    usual, fast = rows
    gaps = [abs(a - b) / max(abs(a), 1e-12) for a, b in zip(usual["losses"], fast["losses"])]
    for name, row in zip(names, rows):
        print(f"{name:9s} {row['s_per_step_median']:.3f} s a step (first {args.warmup} steps {row['warmup_s']:.1f} s)"
              + (f", held-out PSNR {row['psnr_held_out']:.2f} dB" if "psnr_held_out" in row else ""))
    timed = slice(args.warmup, None)
    result = {"command": "python benchmarks/train_step.py", "phase": args.phase, "world": args.world,
              "steps": args.steps, "warmup": args.warmup, "threads": args.threads, "torch": torch.__version__,
              "cpu": platform.processor() or platform.machine(), names[0]: usual, names[1]: fast,
              "speedup": round(usual["s_per_step_median"] / fast["s_per_step_median"], 2),
              "loss_relative_gap_max": round(max(gaps), 4),
              "mean_loss": {name: round(statistics.fmean(row["losses"][timed]), 5) for name, row in zip(names, rows)}}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("speedup", "loss_relative_gap_max", "mean_loss")}))


if __name__ == "__main__":
    main()
