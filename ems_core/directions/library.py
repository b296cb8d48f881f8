"""Directions users keep: one ``.safetensors`` file per direction, and a library folder of them.

A file holds one tensor, ``"vector"`` ``(C, h, w)``, and in the safetensors header metadata one key,
``"ems_direction"``: a JSON object ``{"format_version", "model", "noise_level", "method", "provenance"}``.
Saving and loading round-trip exactly (the tensor's bytes; the JSON's floats are written with ``repr``
precision). Loading treats the file as untrusted: at most :data:`MAX_FILE_BYTES`, the header read before any
tensor, every field type-checked, the vector 3-D, finite and of unit norm; errors are one-line ``ValueError``\\ s.

The library is a folder (default :data:`DEFAULT_LIBRARY`, ``~/.cache/ems-studio/directions``) of such
files, named ``<name>.safetensors``; :meth:`DirectionLibrary.list` reads the headers only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .base import Direction

__all__ = ["DEFAULT_LIBRARY", "FORMAT_VERSION", "MAX_FILE_BYTES", "DirectionEntry", "DirectionLibrary",
           "load_direction", "read_header", "save_direction"]

FORMAT_VERSION = 1
METADATA_KEY = "ems_direction"
DEFAULT_LIBRARY = Path("~/.cache/ems-studio/directions").expanduser()
MAX_FILE_BYTES = 64 * 2**20  # an SD3 / Flux latent at 1024 px is 1 MiB in float32
MAX_METADATA_CHARS = 64 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def save_direction(direction: Direction, path: str | Path) -> Path:
    """Write ``direction`` to ``path`` (a ``.safetensors`` file; its folder is made). Returns the path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"a direction file ends in .safetensors, got {path.name!r}")
    header = {"format_version": FORMAT_VERSION, "model": direction.model, "noise_level": direction.noise_level,
              "method": direction.method, "provenance": direction.provenance}
    try:
        text = json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the direction's provenance is not plain JSON ({error})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"vector": direction.vector.detach().cpu().contiguous()}, str(path), metadata={METADATA_KEY: text})
    return path


def _check_size(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"no direction file {str(path)!r}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name}: {size} bytes is too large for a direction (limit {MAX_FILE_BYTES})")


def read_header(path: str | Path) -> dict:
    """The checked metadata of a direction file, without reading its tensor."""
    path = Path(path)
    _check_size(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            keys = list(handle.keys())
    except Exception as error:  # safetensors raises its own error types on malformed files
        raise ValueError(f"{path.name} is not a safetensors file ({type(error).__name__})") from None
    text = metadata.get(METADATA_KEY)
    if not isinstance(text, str) or len(text) > MAX_METADATA_CHARS:
        raise ValueError(f"{path.name} holds no direction metadata (key {METADATA_KEY!r})")
    if keys != ["vector"]:
        raise ValueError(f"{path.name} must hold exactly one tensor, 'vector'; it holds {keys[:4]}")
    try:
        header = json.loads(text)
    except ValueError:
        raise ValueError(f"{path.name}: the direction metadata is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: the direction metadata must be a JSON object")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path.name}: direction format version {version!r} is not supported "
                         f"(this version reads {FORMAT_VERSION})")
    for key, kind in (("model", str), ("method", str), ("provenance", dict)):
        if not isinstance(header.get(key), kind):
            raise ValueError(f"{path.name}: field {key!r} must be a {kind.__name__}")
    level = header.get("noise_level")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < level <= 1.0:
        raise ValueError(f"{path.name}: noise_level must be a number in (0, 1], got {level!r}")
    return header


def load_direction(path: str | Path) -> Direction:
    """Read a direction written by :func:`save_direction` (checked as untrusted input, module docstring)."""
    path = Path(path)
    header = read_header(path)
    with safe_open(str(path), framework="pt") as handle:
        vector = handle.get_tensor("vector")
    if vector.dim() != 3 or not vector.is_floating_point():
        raise ValueError(f"{path.name}: the vector must be a floating-point (C, h, w) tensor, "
                         f"got {vector.dtype} {tuple(vector.shape)}")
    if not bool(torch.isfinite(vector).all()):
        raise ValueError(f"{path.name}: the vector has non-finite values")
    norm = float(vector.double().norm())
    if not math.isclose(norm, 1.0, rel_tol=1e-3):
        raise ValueError(f"{path.name}: a direction has unit norm, this one {norm:.4g}")
    return Direction(vector, header["model"], float(header["noise_level"]), header["method"], header["provenance"])


@dataclass(frozen=True)
class DirectionEntry:
    """One file of a library, described from its header."""

    name: str
    path: Path
    model: str
    noise_level: float
    method: str
    provenance: dict

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "model": self.model, "noise_level": self.noise_level,
                "method": self.method, "provenance": self.provenance}


class DirectionLibrary:
    """A folder of direction files (``<name>.safetensors``).

    Example::

        library = DirectionLibrary()                       # ~/.cache/ems-studio/directions
        library.save(direction, "red-circle-loco-0")
        [entry.name for entry in library.list()]
        direction = library.load("red-circle-loco-0")
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else DEFAULT_LIBRARY

    def path(self, name: str) -> Path:
        """The file of ``name`` (letters, digits, ``._-``; no folders)."""
        if not isinstance(name, str) or not _NAME.match(name) or name.endswith(".safetensors"):
            raise ValueError(f"bad direction name {name!r}: use letters, digits, '.', '_' and '-' (at most 100)")
        return self.root / f"{name}.safetensors"

    def save(self, direction: Direction, name: str) -> Path:
        return save_direction(direction, self.path(name))

    def load(self, name: str) -> Direction:
        return load_direction(self.path(name))

    def list(self) -> list[DirectionEntry]:
        """Every readable direction file in the folder, by name; unreadable files are skipped."""
        if not self.root.is_dir():
            return []
        entries = []
        for path in sorted(self.root.glob("*.safetensors")):
            try:
                header = read_header(path)
            except (ValueError, OSError):
                continue
            entries.append(DirectionEntry(path.stem, path, header["model"], float(header["noise_level"]),
                                          header["method"], header["provenance"]))
        return entries
