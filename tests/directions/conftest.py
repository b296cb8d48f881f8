"""Fixtures of the direction tests: one intra-op thread while they run (Jacobian products are many small
calls; two threads on a busy 2-core machine are slower)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Directions tests run on one torch thread (see tests/conftest.py)."""

