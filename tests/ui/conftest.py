"""Fixtures for the app's tests: one tiny random bundled-architecture studio per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "assets" / "examples"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the running app in Chromium through Playwright (slow)")


@pytest.fixture(scope="session")
def red_circle() -> Image.Image:
    return Image.open(EXAMPLES / "red-circle.png").convert("RGB")


@pytest.fixture(scope="session")
def blue_square() -> Image.Image:
    return Image.open(EXAMPLES / "blue-square.png").convert("RGB")
