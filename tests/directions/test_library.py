"""Saving and loading directions: exact round trip, a library folder, untrusted files refused in one line."""

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from ems_core.directions import (FORMAT_VERSION, Direction, DirectionLibrary, load_direction, save_direction)
from ems_core.directions.library import MAX_FILE_BYTES, METADATA_KEY


def direction(seed: int = 0, method: str = "loco") -> Direction:
    v = torch.randn(8, 16, 16, generator=torch.Generator().manual_seed(seed))
    provenance = {"k_index": 2, "singular_value": 1.2345678901234567, "mask": "object", "prompt": "a red circle",
                  "source_sha256": "ab" * 32, "nested": {"list": [1, 2.5, None]}}
    return Direction(v / v.norm(), "world", 0.8, method, provenance)


def test_save_load_round_trip_is_exact(tmp_path):
    original = direction()
    path = save_direction(original, tmp_path / "sub" / "d.safetensors")
    loaded = load_direction(path)
    assert torch.equal(loaded.vector, original.vector) and loaded.vector.dtype == original.vector.dtype
    assert (loaded.model, loaded.noise_level, loaded.method) == (original.model, original.noise_level, original.method)
    assert loaded.provenance == original.provenance
    with pytest.raises(ValueError, match="ends in .safetensors"):
        save_direction(original, tmp_path / "d.pt")
    with pytest.raises(ValueError, match="not plain JSON"):
        save_direction(Direction(original.vector, "world", 0.8, "loco", {"x": torch.ones(1)}),
                       tmp_path / "x.safetensors")


def test_library_saves_lists_and_loads_by_name(tmp_path):
    library = DirectionLibrary(tmp_path / "lib")
    assert library.list() == []
    library.save(direction(0), "b-scene-loco-0")
    library.save(direction(1, "tloco"), "a-scene-tloco")
    (tmp_path / "lib" / "broken.safetensors").write_bytes(b"not a direction")
    entries = library.list()
    assert [e.name for e in entries] == ["a-scene-tloco", "b-scene-loco-0"]  # the broken file is skipped
    assert entries[0].method == "tloco" and entries[1].to_dict()["provenance"]["k_index"] == 2
    assert torch.equal(library.load("a-scene-tloco").vector, direction(1).vector)
    for bad in ("../escape", "a/b", "", ".hidden", "x" * 101, "name.safetensors"):
        with pytest.raises(ValueError, match="bad direction name"):
            library.path(bad)


def write(path, vector, header):
    save_file({"vector": vector}, str(path), metadata={METADATA_KEY: json.dumps(header)})
    return path


@pytest.mark.parametrize("change, message", [
    ({"format_version": 99}, "format version 99"),
    ({"model": 3}, "'model' must be a str"),
    ({"noise_level": 1.5}, "noise_level must be a number"),
    ({"noise_level": True}, "noise_level must be a number"),
    ({"provenance": []}, "'provenance' must be a dict"),
])
def test_bad_headers_are_refused_in_one_line(tmp_path, change, message):
    header = {"format_version": FORMAT_VERSION, "model": "world", "noise_level": 0.8, "method": "loco",
              "provenance": {}, **change}
    path = write(tmp_path / "d.safetensors", direction().vector, header)
    with pytest.raises(ValueError, match=message) as error:
        load_direction(path)
    assert "\n" not in str(error.value)


def test_bad_vectors_and_files_are_refused(tmp_path):
    header = {"format_version": FORMAT_VERSION, "model": "world", "noise_level": 0.8, "method": "loco",
              "provenance": {}}
    cases = [(torch.ones(8, 16, 16), "unit norm"), (torch.full((8, 16, 16), float("nan")), "non-finite"),
             (torch.ones(1, 8, 16, 16) / 45.254834, "(C, h, w)"), (torch.ones(4, 4, 4, dtype=torch.int32), "floating")]
    for i, (vector, message) in enumerate(cases):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_direction(write(tmp_path / f"v{i}.safetensors", vector, header))
    save_file({"vector": direction().vector}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ValueError, match="no direction metadata"):
        load_direction(tmp_path / "plain.safetensors")
    save_file({"vector": direction().vector, "extra": torch.ones(1)}, str(tmp_path / "two.safetensors"),
              metadata={METADATA_KEY: json.dumps(header)})
    with pytest.raises(ValueError, match="exactly one tensor"):
        load_direction(tmp_path / "two.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(ValueError, match="not a safetensors file"):
        load_direction(tmp_path / "garbage.safetensors")
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ValueError, match="too large"):
        load_direction(big)
    with pytest.raises(FileNotFoundError):
        load_direction(tmp_path / "missing.safetensors")
