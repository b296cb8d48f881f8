"""Packaging: ``pyproject.toml`` finds every package, reads the dependencies of requirements.txt, and its
console script and the bundled model's folder resolve."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_declares_packages_dependencies_and_the_script():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == ">=3.11"
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]
    module, _, function = project["project"]["scripts"]["ems-studio"].partition(":")
    assert callable(getattr(__import__(module, fromlist=[function]), function))
    requirements = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements and not any(line.startswith("-") for line in requirements)  # setuptools reads it as is


def test_every_library_folder_is_a_package():
    """setuptools' package finder skips folders without ``__init__.py``: a wheel would lack their code."""
    for top in ("ems_core", "ui"):
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if any(folder.glob("*.py")) and folder.name != "__pycache__":
                assert (folder / "__init__.py").is_file(), folder


def test_bundled_model_folder_resolves_from_the_package():
    from ems_core.backends.world import BUNDLED_MODEL_DIR

    assert BUNDLED_MODEL_DIR == ROOT / "assets" / "world-model"
    assert (BUNDLED_MODEL_DIR / "world_model.json").is_file()
