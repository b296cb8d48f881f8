"""A short pilot of a portrait autoencoder variant: train it from scratch with the real training's loss and
schedule, then read held-out renders back with the oracle. For choosing the next portrait autoencoder (the
shipped one caps age and face width: docs/training.md); compare variants at the same steps, never with the
fully trained model.

    python benchmarks/autoencoder_pilot.py --latent-channels 8 --steps 1500     # the shipped design, short
    python benchmarks/autoencoder_pilot.py --latent-channels 16 --steps 1500    # twice the latent channels
    python benchmarks/autoencoder_pilot.py --checkpoint runs/portraits-wide/autoencoder.pt   # read a run's back
    python benchmarks/autoencoder_pilot.py --hidden 320 --edge-weight 1 --steps 1500   # thin lines weigh more

``--edge-weight W`` adds ``W * L1(grad recon, grad image)`` (horizontal and vertical pixel differences) to the
training loss: thin lines (the forehead lines the oracle reads age from) are where the plain loss is cheapest to
blur.

Prints the loss every 100 steps and, last, one JSON object: PSNR and the oracle's agreement per attribute on
``--renders`` held-out renders (seed 1).
"""

from __future__ import annotations

import argparse
import json
import random
import time

import torch
import torch.nn.functional as F

from ems_core.images import pil_to_tensor, tensor_to_pil
from ems_core.portraits.oracle import measure
from ems_core.portraits.scene import BANDS, random_portrait, render
from ems_core.world.bands import word_for
from ems_core.world.model import WorldAutoencoder, autoencoder_loss
from ems_core.world.spec import world_spec
from ems_core.world.train import TrainConfig, lr_at, scene_batch


def _gradients(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return images[..., :, 1:] - images[..., :, :-1], images[..., 1:, :] - images[..., :-1, :]


def edge_loss(model: WorldAutoencoder, images: torch.Tensor) -> torch.Tensor:
    """L1 between the reconstruction's and the image's horizontal and vertical pixel differences."""
    recon = model(images)
    return sum(F.l1_loss(a, b) for a, b in zip(_gradients(recon), _gradients(images)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latent-channels", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=192)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--renders", type=int, default=120)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--edge-weight", type=float, default=0.0, help="weight of an image-gradient L1 term")
    parser.add_argument("--checkpoint", default=None,
                        help="evaluate a training run's autoencoder checkpoint instead of training one")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = WorldAutoencoder(latent_channels=args.latent_channels, hidden=args.hidden, factor=8)
    if args.checkpoint:
        checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
        shape = checkpoint["model_config"]
        model = WorldAutoencoder(latent_channels=shape["latent_channels"], hidden=shape["autoencoder_hidden"],
                                 factor=shape["autoencoder_factor"])
        model.load_state_dict(checkpoint["model"])
        args.latent_channels, args.hidden, args.steps = shape["latent_channels"], shape["autoencoder_hidden"], 0
        print(json.dumps({"checkpoint": args.checkpoint, "trained_steps": checkpoint["step"]}), flush=True)
    model.eval()
    config = TrainConfig(steps=max(args.steps, 1), batch_size=args.batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr * 2, weight_decay=0.0)
    world, rng, generator = world_spec("portraits"), random.Random(0), torch.Generator().manual_seed(0)
    started = time.perf_counter()
    model.train(args.steps > 0)
    for step in range(args.steps):
        images, _ = scene_batch(rng, args.batch, world)
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step, config) * 2  # as train_autoencoder
        loss = autoencoder_loss(model, images, config.latent_noise, generator)
        if args.edge_weight:
            loss = loss + args.edge_weight * edge_loss(model, images)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if (step + 1) % 100 == 0:
            print(json.dumps({"step": step + 1, "loss": round(loss.item(), 5),
                              "s_per_step": round((time.perf_counter() - started) / (step + 1), 3)}), flush=True)
    model.eval()
    rng, agreed, psnrs = random.Random(1), {name: 0 for name in BANDS}, []
    with torch.no_grad():
        for _ in range(args.renders):
            portrait = random_portrait(rng)
            image = pil_to_tensor(render(portrait))
            recon = model(image).clamp(-1, 1)
            psnrs.append(float(10 * torch.log10(4 / F.mse_loss(recon, image))))
            measured = measure(tensor_to_pil(recon)[0])
            for name in BANDS:
                agreed[name] += int(measured.found and word_for(getattr(measured, name), BANDS[name]) == portrait.words[name])
    print(json.dumps({"latent_channels": args.latent_channels, "hidden": args.hidden, "steps": args.steps,
                      "edge_weight": args.edge_weight,
                      "batch": args.batch, "params": sum(p.numel() for p in model.parameters()),
                      "psnr": round(sum(psnrs) / len(psnrs), 2),
                      **{name: round(count / args.renders, 3) for name, count in agreed.items()}}))


if __name__ == "__main__":
    main()
