"""``python -m ems_core world ...``: render scenes, train, export and evaluate the bundled model."""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
import sys
from pathlib import Path

from ..world.scene import Scene, render, scene_from_caption
from ..world.spec import WORLD_NAMES


def add_world_parser(subparsers: argparse._SubParsersAction) -> None:
    world = subparsers.add_parser("world", help="the procedural world and the bundled model")
    sub = world.add_subparsers(dest="world_command", required=True)

    r = sub.add_parser("render", help="render a scene from a caption or from attribute values")
    r.add_argument("--caption", help='e.g. "a large red circle at the top left on a white background"')
    for name in ("shape", "colour", "background"):
        r.add_argument(f"--{name}")
    for name in ("size", "x", "y"):
        r.add_argument(f"--{name}", type=float)
    r.add_argument("--out", required=True)

    t = sub.add_parser("train", help="train (or resume) a phase of the bundled model")
    t.add_argument("phase", choices=["autoencoder", "transformer", "all"])
    t.add_argument("--world", choices=WORLD_NAMES, default="shapes",
                   help="the procedural world to train on (default shapes); its preset sets the model's sizes")
    t.add_argument("--run-dir", help="checkpoints (default runs/world, runs/<world> for another world); log: stdout")
    t.add_argument("--steps", type=int, help="autoencoder default 4000, transformer default 11000")
    t.add_argument("--ae-steps", type=int, default=4000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--tiny", action="store_true", help="tiny transformer config (smoke tests)")
    t.add_argument("--autoencoder-hidden", type=int,
                   help="the autoencoder's conv width, 16 .. 1024 (default: the world preset's, 192); a run folder "
                        "remembers it")
    t.add_argument("--autoencoder-factor", type=int, choices=[2, 4, 8, 16],
                   help="pixels per latent cell along a side (default: the world preset's, 4 in both worlds)")
    t.add_argument("--patch-size", type=int, choices=[1, 2, 4, 8],
                   help="latent cells per transformer token along a side (default: the world preset's: shapes 2, "
                        "portraits 4; either way 64 image tokens)")
    t.add_argument("--layers", type=int, help="transformer blocks, 1 .. 24 (default: the world preset's, 6)")
    t.add_argument("--heads", type=int,
                   help="transformer attention heads of 32 channels each, 1 .. 32 (default: the world preset's, 6: "
                        "width 192)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=5e-4, help="peak learning rate of the transformer (the autoencoder's "
                                                          "is twice this)")
    t.add_argument("--uniform-t-share", type=float, default=0.0,
                   help="transformer: share of each batch whose noise level is uniform on (0, 1) instead of "
                        "logit-normal (default 0; more training near pure noise, where a picture is laid out)")
    t.add_argument("--uniform-t-from", type=int, default=0,
                   help="transformer: the first step that draws --uniform-t-share (default 0: every step; the shipped "
                        "portrait model's last 3,000 steps: 36000 with --steps 39000)")
    t.add_argument("--compile", action="store_true",
                   help="transformer: train through torch.compile (the same model; a sixth less time a step on "
                        "this CPU after about 2.5 minutes of compiling; needs a C++ compiler)")
    t.add_argument("--autoencoder-bf16", action="store_true",
                   help="autoencoder: bfloat16 autocast (40%% less time a step on a CPU with AVX-512 BF16 or AMX; "
                        "weights stay float32)")
    t.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    t.add_argument("--init-from", help="transformer: start a new run folder from this exported model folder (its "
                                       "weights and step; a fresh optimiser), then train to --steps; a folder that "
                                       "holds a checkpoint resumes it")
    t.add_argument("--workers", type=int, default=0,
                   help="processes rendering training batches ahead (default 0: in the training process, which "
                        "resumes exactly; a GPU needs about 8-14)")

    e = sub.add_parser("export", help="write the EMA weights of a run as a model folder")
    e.add_argument("--run-dir", default="runs/world")
    e.add_argument("--out", help="model folder (default: the world's, assets/world-model or assets/world-portraits)")
    e.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                   help="stored weights (float16 halves the files; backends compute in float32)")
    e.add_argument("--generation-guidance", type=float, default=4.0,
                   help="the model's text-to-image guidance, stored in world_model.json (measure it with world eval "
                        "--guidance)")
    e.add_argument("--generation-shift", type=float, default=1.0,
                   help="the model's text-to-image schedule shift, stored in world_model.json (measure it with world "
                        "eval --shift; edits keep the unshifted schedule)")

    c = sub.add_parser("convert", help="rewrite a model folder's weights in another dtype")
    c.add_argument("--model", required=True, help="a bundled-model folder (e.g. assets/world-model)")
    c.add_argument("--out", help="the converted folder (default: in place)")
    c.add_argument("--dtype", choices=["float32", "float16"], default="float16")

    v = sub.add_parser("eval", help="measure faithfulness of a model with its world's oracle")
    v.add_argument("--model", default="world", help="a registered name or a model folder (its world_model.json "
                                                    "names the world)")
    v.add_argument("--captions", type=int, default=500)
    v.add_argument("--inversions", type=int, default=50)
    v.add_argument("--steps", type=int)
    v.add_argument("--guidance", type=float)
    v.add_argument("--shift", type=float, help="text-to-image's schedule shift (default: the model's generation_shift, "
                                               "in its world_model.json)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's; 1 beside a training job)")
    v.add_argument("--out", help="write the JSON report here too")


def run_world(args: argparse.Namespace) -> int:
    if args.world_command == "render":
        from .common import check_output_path

        check_output_path(args.out)
        if args.caption:
            scene = scene_from_caption(args.caption)
        else:
            values = {k: getattr(args, k) for k in ("shape", "colour", "background", "size", "x", "y")}
            scene = Scene(**{k: v for k, v in values.items() if v is not None})
        render(scene).save(args.out)
        print(json.dumps({"out": args.out, "scene": scene.to_dict()}))
        return 0
    if args.world_command == "train":
        from ..world.model import MODEL_PRESETS, tiny_config
        from ..world.spec import world_spec
        from ..world.train import (TrainConfig, exported_model_config, seed_run_from_export, train_autoencoder,
                                  train_transformer)

        run_dir = Path(args.run_dir or world_spec(args.world).run_dir)

        def log(line: str) -> None:
            print(line, flush=True)

        model_config = tiny_config(args.world) if args.tiny else MODEL_PRESETS[args.world]
        if args.autoencoder_hidden is not None:
            if not 16 <= args.autoencoder_hidden <= 1024:
                raise ValueError(f"--autoencoder-hidden must be in [16, 1024], got {args.autoencoder_hidden}")
            model_config = replace(model_config, autoencoder_hidden=args.autoencoder_hidden)
        if args.autoencoder_factor is not None:
            model_config = replace(model_config, autoencoder_factor=args.autoencoder_factor,
                                   latent_size=model_config.image_size // args.autoencoder_factor)
        if args.patch_size is not None:
            model_config = replace(model_config, patch_size=args.patch_size)
        if args.layers is not None:
            if not 1 <= args.layers <= 24:
                raise ValueError(f"--layers must be in [1, 24], got {args.layers}")
            model_config = replace(model_config, num_layers=args.layers)
        if args.heads is not None:
            if not 1 <= args.heads <= 32:
                raise ValueError(f"--heads must be in [1, 32], got {args.heads}")
            model_config = replace(model_config, num_attention_heads=args.heads)
        if model_config.latent_size % model_config.patch_size:
            raise ValueError(f"--patch-size {model_config.patch_size} does not divide the {model_config.latent_size}x"
                             f"{model_config.latent_size} latent grid")
        if (args.batch_size < 1 or args.workers < 0 or not 0 < args.lr < 1 or not 0 <= args.uniform_t_share <= 1
                or args.uniform_t_from < 0):
            raise ValueError("--batch-size must be >= 1, --workers >= 0, --lr in (0, 1), --uniform-t-share in "
                             "[0, 1] and --uniform-t-from >= 0")
        common = dict(seed=args.seed, threads=args.threads, batch_size=args.batch_size, lr=args.lr,
                      device=args.device, workers=args.workers, autoencoder_bf16=args.autoencoder_bf16)
        if args.phase in ("autoencoder", "all"):
            steps = args.steps if (args.steps and args.phase == "autoencoder") else args.ae_steps
            train_autoencoder(run_dir, TrainConfig(steps=steps, **common), model_config, log=log)
        if args.init_from:
            if args.phase != "transformer":
                raise ValueError("--init-from continues an exported model: use it with the transformer phase")
            if (run_dir / "transformer.pt").exists():  # rerunning the same command resumes, as without it
                log(f"{run_dir} holds a checkpoint: resuming it (--init-from starts new run folders only)")
                model_config = exported_model_config(Path(args.init_from))
            else:
                model_config = seed_run_from_export(Path(args.init_from), run_dir, log=log)
        if args.phase in ("transformer", "all"):
            config = TrainConfig(steps=args.steps or 11000, uniform_t_share=args.uniform_t_share,
                                 uniform_t_from=args.uniform_t_from, compile=args.compile, **common)
            train_transformer(run_dir, config, model_config, log=log)
        return 0
    if args.world_command == "export":
        import torch

        from ..world.train import export

        export(Path(args.run_dir), Path(args.out) if args.out else None, dtype=getattr(torch, args.dtype),
               generation_guidance=args.generation_guidance, generation_shift=args.generation_shift)
        return 0
    if args.world_command == "convert":
        import torch

        from ..world.train import convert

        convert(Path(args.model), Path(args.out or args.model), getattr(torch, args.dtype))
        return 0
    if args.world_command == "eval":
        from ..bench.world_model import run_eval

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)

        report = run_eval(args.model, n_captions=args.captions, n_inversions=args.inversions, steps=args.steps,
                          guidance=args.guidance, seed=args.seed, generation_shift=args.shift)
        text = json.dumps(report, indent=1)
        print(text)
        if args.out:
            Path(args.out).write_text(text + "\n")
        return 0
    print(f"error: unknown world command {args.world_command}", file=sys.stderr)
    return 2
