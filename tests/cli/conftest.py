"""Shared by the command-line tests: a scene image file and a runner that parses the JSON output."""

from __future__ import annotations

import json

import pytest

from ems_core.cli import main


@pytest.fixture()
def scene_file(tmp_path, scene_image):
    path = tmp_path / "scene.png"
    scene_image.save(path)
    return path


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)
