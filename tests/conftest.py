"""Shared fixtures: tiny backends built from config (no weights, no network)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def tiny_world():
    from ems_core.backends.world_testing import tiny_random_world

    return tiny_random_world()


@pytest.fixture(scope="session")
def scene_image():
    from ems_core.world.scene import Scene, render

    return render(Scene(shape="circle", colour="red", background="white", size=0.3, x=0.325, y=0.325))


SCENE_PROMPT = "a large red circle at the top left on a white background"
