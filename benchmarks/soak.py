"""Memory soak of the editor's handlers: RSS over many slider moves and over abandoned sessions.

    python benchmarks/soak.py --moves 500 --sessions 200 --ttl 1

1. One user moves a slider ``--moves`` times (each move a new degree: no render is cached); prints the
   resident memory after a warm-up and at the end.
2. ``--sessions`` users each open an image, render once and save the result, then leave without closing
   anything. Their workspaces sit in gradio's own per-session state store with a time to live of
   ``--ttl`` seconds; after it passes, gradio's expiry pass (the one its server runs every second) drops
   them. Prints RSS before, with every session alive, and after expiry, and the scratch files left.

The last line is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import random
import time
from pathlib import Path

import gradio as gr
import torch

from ems_core import Attribute
from ems_core.world.scene import caption_of, random_scene, render
from ui import Studio, create_demo
from ui.workspace import EditRequest


def rss_mb() -> float:
    """Resident set size of this process, after giving freed heap pages back to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no /proc/self/status (Linux only)")


def colour_request(studio: Studio, scene, degree: float) -> EditRequest:
    target = "blue" if scene.colour != "blue" else "red"
    return EditRequest(caption_of(scene), (Attribute("colour", scene.colour, target),), {"colour": degree},
                       studio.default_config())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--moves", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--ttl", type=float, default=1.0, help="state time to live in seconds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    studio = Studio.load(args.model)
    demo = create_demo(studio, state_ttl_s=args.ttl)
    state = next(b for b in demo.blocks.values() if isinstance(b, gr.State) and b.delete_callback == studio.release)
    holder = demo.state_holder
    rng = random.Random(0)

    # 1. Many moves of one user.
    scene = random_scene(rng)
    workspace = studio.open_image(render(scene)).workspace
    started = time.perf_counter()
    moves_rss = []
    for move in range(args.moves):
        studio.render(workspace, colour_request(studio, scene, round(rng.uniform(-1.0, 2.0), 3)))
        if move in (49, args.moves - 1):
            moves_rss.append(rss_mb())
    moves_seconds = time.perf_counter() - started
    print(f"{args.moves} moves in {moves_seconds:.0f} s: RSS {moves_rss[0]:.1f} MB after 50, "
          f"{moves_rss[-1]:.1f} MB after {args.moves}", flush=True)

    # 2. Abandoned sessions, expired by gradio's own state store. Gradio keeps ~160 KB of page state per
    #    session it has seen (up to its session capacity) whatever we store: that is in the baseline.
    del workspace
    before_sessions = rss_mb()
    for index in range(args.sessions):
        holder[f"soak-{index}"]
    baseline = rss_mb()
    for index in range(args.sessions):
        scene = random_scene(rng)
        opened = studio.open_image(render(scene))
        studio.render(opened.workspace, colour_request(studio, scene, 0.75))
        studio.save_result(opened.workspace)
        holder[f"soak-{index}"][state._id] = opened.workspace  # what gradio stores for that browser tab
    alive = rss_mb()
    files_alive = sum(1 for p in studio.scratch.rglob("*") if p.is_file())
    time.sleep(args.ttl + 0.5)
    holder.delete_all_expired_state()  # gradio's server runs this every second
    expired = rss_mb()
    files_left = sum(1 for p in studio.scratch.rglob("*") if p.is_file())
    print(f"{args.sessions} gradio sessions alone: +{baseline - before_sessions:.1f} MB (gradio's page state)")
    print(f"{args.sessions} abandoned sessions: RSS {baseline:.1f} MB before, {alive:.1f} MB alive "
          f"({files_alive} files), {expired:.1f} MB after expiry ({files_left} files left)", flush=True)
    print(json.dumps({
        "moves": args.moves, "moves_seconds": round(moves_seconds, 1), "rss_after_50_moves_mb": round(moves_rss[0], 1),
        "rss_after_all_moves_mb": round(moves_rss[-1], 1),
        "moves_growth_mb": round(moves_rss[-1] - moves_rss[0], 1),
        "sessions": args.sessions, "gradio_session_state_mb": round(baseline - before_sessions, 1),
        "rss_before_sessions_mb": round(baseline, 1), "rss_sessions_alive_mb": round(alive, 1),
        "rss_after_expiry_mb": round(expired, 1), "returned_mb": round(alive - expired, 1),
        "files_alive": files_alive, "files_left": files_left, "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
