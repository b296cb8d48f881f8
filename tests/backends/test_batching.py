"""BatchingBackend: concurrent threads' velocities merged into fewer calls, each thread gets its own rows."""

import threading

import pytest
import torch

from ems_core import EditSession
from ems_core.backends.batching import BatchingBackend

PROMPT = "a large red circle at the top left on a white background"


def test_a_lone_caller_gets_exactly_the_inner_result(tiny_world):
    batching = BatchingBackend(tiny_world)
    z = torch.randn(2, 8, 16, 16, generator=torch.Generator().manual_seed(0))
    e = tiny_world.encode_prompt(["a red circle", "a blue star"])
    with torch.no_grad():
        assert torch.equal(batching.velocity(z, torch.full((2,), 0.4), e), tiny_world.velocity(z, torch.full((2,), 0.4), e))
    assert batching.calls == 1 and batching.requests == 1


def test_concurrent_sessions_share_calls_and_render_what_they_would_alone(tiny_world, scene_image):
    batching = BatchingBackend(tiny_world)
    degrees = [0.2, 0.5, 0.8, 1.1]
    alone = []
    for degree in degrees:
        session = EditSession(tiny_world, scene_image, prompt=PROMPT)
        session.set_attribute("colour", "red", "blue")
        with torch.no_grad():
            alone.append(session.render({"colour": degree}).latent)
    sessions = []
    for _ in degrees:
        session = EditSession(batching, scene_image, prompt=PROMPT)
        session.set_attribute("colour", "red", "blue")
        sessions.append(session)
    results = [None] * len(degrees)
    start = threading.Barrier(len(degrees))

    def move(index: int) -> None:
        start.wait()
        with torch.no_grad():
            results[index] = sessions[index].render({"colour": degrees[index]}).latent

    threads = [threading.Thread(target=move, args=(i,)) for i in range(len(degrees))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, expected in zip(results, alone):
        assert torch.allclose(got, expected, atol=1e-4)  # batched matmuls may round differently
    assert batching.requests > batching.calls  # some calls served several threads


def test_an_error_reaches_every_waiting_caller(tiny_world):
    batching = BatchingBackend(tiny_world)
    bad = torch.zeros(1, 3, 16, 16)  # wrong channel count
    with pytest.raises(Exception):
        batching.velocity(bad, torch.full((1,), 0.5), tiny_world.encode_prompt([""]))
    with pytest.raises(ValueError):
        BatchingBackend(tiny_world, max_rows=0)
