"""Shared fixtures: tiny backends built from config (no weights, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)  # one thread throughout, whatever ran before: two collapse on a busy 2-core machine


@pytest.fixture(scope="session")
def tiny_world():
    from ems_core.backends.tiny import tiny_random_world

    return tiny_random_world()


@pytest.fixture(scope="session")
def scene_image():
    from ems_core.world.scene import Scene, render

    return render(Scene(shape="circle", colour="red", background="white", size=0.3, x=0.325, y=0.325))


SCENE_PROMPT = "a large red circle at the top left on a white background"


ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assets" / "examples"


@pytest.fixture(scope="session")
def red_circle() -> Image.Image:
    return Image.open(EXAMPLES / "red-circle.png").convert("RGB")


@pytest.fixture(scope="session")
def blue_square() -> Image.Image:
    return Image.open(EXAMPLES / "blue-square.png").convert("RGB")


@pytest.fixture()
def one_thread():
    """Run the test on one torch thread (Jacobian products on two threads collapse on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
