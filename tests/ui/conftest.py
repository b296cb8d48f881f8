"""Fixtures for the app's tests (the shared images live in tests/conftest.py)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the running app in Chromium through Playwright (slow)")
