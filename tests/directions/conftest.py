"""Fixtures of the direction tests: one intra-op thread while they run (Jacobian products are many small
calls; two threads on a busy 2-core machine are slower)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

