"""Slider moves per second with 1, 2 and 4 users moving at once: one at a time (the app's queue with a
concurrency of 1), concurrent on separate transformer calls, and concurrent with their calls batched into shared
transformer calls (BatchingBackend: the app's --concurrency N).

    python benchmarks/throughput.py --moves 20 --threads 1

Each user has its own prepared session on its own scene; every move is a new degree (nothing memoised).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time

import torch

from ems_core import Attribute, EditSession, load_backend
from ems_core.backends.batching import BatchingBackend
from ems_core.world.scene import caption_of, random_scene, render


def sessions_for(backend, users: int) -> list[EditSession]:
    sessions = []
    for user in range(users):
        scene = random_scene(random.Random(user))
        session = EditSession(backend, render(scene), prompt=caption_of(scene))
        session.configure(session.source_prompt,
                          [Attribute("colour", scene.colour, "blue" if scene.colour != "blue" else "red")])
        session.render({"colour": 0.0})  # prepared: the inversion is cached
        sessions.append(session)
    return sessions


def moves_per_second(sessions: list[EditSession], moves: int, serial: bool) -> float:
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessions))

    def user(index: int) -> None:
        rng = random.Random(100 + index)
        barrier.wait()
        for _ in range(moves):
            degree = round(rng.uniform(-0.5, 1.5), 4)
            if serial:
                with lock:
                    sessions[index].render({"colour": degree})
            else:
                sessions[index].render({"colour": degree})

    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(sessions))]
    started = time.perf_counter()
    with torch.inference_mode():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return len(sessions) * moves / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--moves", type=int, default=20, help="moves per user")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--users", default="1,2,4")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    batching = BatchingBackend(backend)
    report = {"model": args.model, "threads": args.threads, "moves_per_user": args.moves, "rows": []}
    print(f"{'users':>5} {'serial moves/s':>15} {'concurrent moves/s':>19} {'batched moves/s':>16} {'rows per call':>14}")
    for users in [int(u) for u in args.users.split(",")]:
        with torch.inference_mode():
            serial = moves_per_second(sessions_for(backend, users), args.moves, serial=True)
            concurrent = moves_per_second(sessions_for(backend, users), args.moves, serial=False)
            sessions = sessions_for(batching, users)
        calls, requests = batching.calls, batching.requests
        batched = moves_per_second(sessions, args.moves, serial=False)
        per_call = (batching.requests - requests) / max(batching.calls - calls, 1)
        report["rows"].append({"users": users, "serial_moves_per_s": round(serial, 2),
                               "concurrent_moves_per_s": round(concurrent, 2),
                               "batched_moves_per_s": round(batched, 2),
                               "requests_per_call": round(per_call, 2)})
        print(f"{users:5d} {serial:15.2f} {concurrent:19.2f} {batched:16.2f} {per_call:14.2f}", flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
