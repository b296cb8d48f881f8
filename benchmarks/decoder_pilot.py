"""Can a better decoder lift the portrait autoencoder's ceiling? Train a decoder on the *frozen* encoder (so the
transformer, trained on that encoder's latents, stays valid), then read 120 held-out renders back with the oracle.

    python benchmarks/decoder_pilot.py --decoder shipped --steps 1000     # fine-tune the shipped decoder
    python benchmarks/decoder_pilot.py --decoder progressive --steps 600  # a new decoder: pixel-shuffle(2) x 3
    python benchmarks/decoder_pilot.py --decoder shipped --steps 0        # the shipped decoder as it is
    python benchmarks/decoder_pilot.py --decoder shipped --steps 1000 --detail-weight 4  # the forehead lines weighed more

Loss and schedule as the autoencoder's training (MSE + 0.5 L1, latent noise 0.01, cosine from 1e-3; the shipped
decoder's fine-tune at a fifth of that). ``--detail-weight W`` adds W times the same loss over the forehead band,
where the age lines are drawn (the renderer's geometry: :func:`forehead_mask`). Prints the loss every 50 steps and, last, one JSON object: PSNR and the
oracle's agreement per attribute on the reconstructions.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from ems_core.images import pil_to_tensor, tensor_to_pil
from ems_core.portraits.oracle import measure
from ems_core.portraits.scene import BANDS, FOREHEAD_LINES, HEAD_CENTRE, Portrait, random_portrait, render
from ems_core.world.bands import word_for
from ems_core.world.model import WorldAutoencoder
from ems_core.world.spec import world_spec
from ems_core.world.train import scene_batch


def progressive_decoder(latent_channels: int = 8, widths: tuple[int, ...] = (192, 96, 48, 24)) -> nn.Sequential:
    """16x16 -> 128x128 by three pixel-shuffle(2) steps, a 3x3 conv at every resolution."""
    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.SiLU()]

    def up(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, 4 * cout, 3, padding=1), nn.PixelShuffle(2), nn.SiLU()]

    c = widths
    return nn.Sequential(*conv(latent_channels, c[0]), *conv(c[0], c[0]), *up(c[0], c[1]), *conv(c[1], c[1]),
                         *up(c[1], c[2]), *conv(c[2], c[2]), *up(c[2], c[3]), nn.Conv2d(c[3], 3, 3, padding=1))


def forehead_mask(portrait: Portrait, size: int = 128) -> torch.Tensor:
    """(1, size, size) 1 inside a box around the forehead lines (|u| <= 11 px, 4 px above and below them, in
    image pixels: the head's tilt, at most 6 degrees, moves the lines' ends by about a pixel), else 0."""
    cx, cy = HEAD_CENTRE[0] + portrait.head_x, HEAD_CENTRE[1] + portrait.head_y
    top, bottom = cy + min(FOREHEAD_LINES) - 4.0, cy + max(FOREHEAD_LINES) + 4.0
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    return ((xs - cx).abs().le(11.0) & ys.ge(top) & ys.le(bottom)).float().unsqueeze(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--autoencoder", default="assets/world-portraits/autoencoder")
    parser.add_argument("--decoder", choices=("shipped", "progressive"), default="shipped")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--renders", type=int, default=120, help="held-out renders read back (seed 1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--detail-weight", type=float, default=0.0, help="extra weight of the forehead band's loss")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    autoencoder = WorldAutoencoder.from_pretrained(args.autoencoder).float().eval().requires_grad_(False)
    decoder = autoencoder.decoder.requires_grad_(True) if args.decoder == "shipped" else progressive_decoder()
    peak = 1e-3 / 5 if args.decoder == "shipped" else 1e-3
    optimiser = torch.optim.AdamW(decoder.parameters(), lr=peak, weight_decay=0.0)
    world, rng, generator = world_spec("portraits"), random.Random(123), torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
        if args.detail_weight:
            portraits = [random_portrait(rng) for _ in range(32)]
            images = torch.cat([pil_to_tensor(render(p)) for p in portraits])
            masks = torch.stack([forehead_mask(p) for p in portraits])
        else:
            images, _ = scene_batch(rng, 32, world)
        with torch.no_grad():
            raw = autoencoder.encode_raw(images)
            raw = raw + 0.01 * torch.randn(raw.shape, generator=generator)
        for group in optimiser.param_groups:
            group["lr"] = peak * min(1.0, step / 100) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        recon = decoder(raw)
        loss = F.mse_loss(recon, images) + 0.5 * F.l1_loss(recon, images)
        if args.detail_weight:
            error = (recon - images) ** 2 + 0.5 * (recon - images).abs()
            loss = loss + args.detail_weight * (error * masks).sum() / (3 * masks.sum()).clamp(min=1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0:
            print(json.dumps({"step": step, "loss": round(loss.item(), 5),
                              "s_per_step": round((time.perf_counter() - started) / step, 2)}), flush=True)
    rng, agreed, psnrs = random.Random(1), {name: 0 for name in BANDS}, []
    with torch.no_grad():
        for _ in range(args.renders):
            portrait = random_portrait(rng)
            image = pil_to_tensor(render(portrait))
            recon = decoder(autoencoder.encode_raw(image)).clamp(-1, 1)
            psnrs.append(float(10 * torch.log10(4 / F.mse_loss(recon, image))))
            measured = measure(tensor_to_pil(recon)[0])
            for name in BANDS:
                agreed[name] += int(measured.found and word_for(getattr(measured, name), BANDS[name]) == portrait.words[name])
    print(json.dumps({"decoder": args.decoder, "steps": args.steps, "detail_weight": args.detail_weight, "psnr": round(sum(psnrs) / len(psnrs), 2),
                      **{name: round(count / args.renders, 3) for name, count in agreed.items()}}))


if __name__ == "__main__":
    main()
