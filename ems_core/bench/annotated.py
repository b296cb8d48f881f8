"""Annotated edits of real images: a folder of images and a JSON file -> benchmark cases for any backend.

The file (documented in docs/benchmark.md; an example in ``benchmarks/data/world-edits/``)::

    {"edits": [
      {"id": "circle-to-blue",                       # optional; default "e<index>"
       "image": "red-circle.png",                    # path relative to the JSON file's folder
       "prompt": "a large red circle at the middle center on a white background",
       "attribute": "colour",                        # the slider's name
       "source": "red", "target": "blue",            # phrases: source must occur in the prompt
       "degrees": [0, 0.5, 1],                       # optional; default [0, 1]; 0 is always added
       "region": [0.25, 0.25, 0.75, 0.75],           # optional box x0, y0, x1, y1 (fractions of the side)
       "seed": 3}                                    # optional; default the edit's index
    ]}

Images are read with :func:`~ems_core.images.load_image` and fitted to the backend's square
(:func:`~ems_core.images.fit_square`: a centre crop, so give regions in the cropped square's coordinates).
Every field is checked; an error is one line naming the edit and the field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..config import DEGREE_RANGE, MAX_PROMPT_CHARS, MAX_SWEEP
from ..extract import Attribute
from ..images import fit_square, load_image
from .quality import QualityCase

__all__ = ["MAX_ANNOTATED_EDITS", "load_annotated"]

MAX_ANNOTATED_EDITS = 10_000  # edits in one file
MAX_FILE_BYTES = 4 * 2**20  # the JSON file itself
_FIELDS = {"id", "image", "prompt", "attribute", "source", "target", "degrees", "region", "seed"}


def _text(edit: dict, key: str, where: str, required: bool = True) -> str | None:
    value = edit.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} must be non-empty text")
    if len(value) > MAX_PROMPT_CHARS:
        raise ValueError(f"{where}: {key!r} is longer than {MAX_PROMPT_CHARS} characters")
    return value.strip()


def _number(value, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: {key!r} must hold finite numbers, got {value!r}")
    return float(value)


def _degrees(edit: dict, where: str) -> tuple[float, ...]:
    raw = edit.get("degrees", [0, 1])
    if not isinstance(raw, list) or not raw or len(raw) > MAX_SWEEP:
        raise ValueError(f"{where}: 'degrees' must be a list of 1 to {MAX_SWEEP} numbers")
    low, high = DEGREE_RANGE
    degrees = {_number(d, where, "degrees") for d in raw} | {0.0}
    if not all(low <= d <= high for d in degrees):
        raise ValueError(f"{where}: degrees must lie in [{low:g}, {high:g}]")
    if max(degrees) <= 0.0:
        raise ValueError(f"{where}: give at least one positive degree")
    return tuple(sorted(degrees))


def _region(edit: dict, where: str) -> tuple[float, float, float, float] | None:
    raw = edit.get("region")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 4:
        raise ValueError(f"{where}: 'region' must be [x0, y0, x1, y1] (fractions of the side)")
    x0, y0, x1, y1 = (_number(v, where, "region") for v in raw)
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise ValueError(f"{where}: 'region' needs 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
    return x0, y0, x1, y1


def _image_path(folder: Path, name: str, where: str) -> Path:
    path = (folder / name).resolve()
    if Path(name).is_absolute() or folder.resolve() not in path.parents:
        raise ValueError(f"{where}: 'image' must be a path inside the JSON file's folder, got {name!r}")
    return path


def load_annotated(path: str | Path, image_size: int) -> list[QualityCase]:
    """The cases of an annotated-edits JSON file (module docstring), images fitted to ``image_size``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotations not found: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path.name} is not JSON: {str(error).splitlines()[0]}") from None
    edits = data.get("edits") if isinstance(data, dict) else None
    if not isinstance(edits, list) or not edits:
        raise ValueError(f"{path.name}: expected an object with a non-empty list 'edits'")
    if len(edits) > MAX_ANNOTATED_EDITS:
        raise ValueError(f"{path.name}: more than {MAX_ANNOTATED_EDITS} edits")
    cases, ids = [], set()
    for index, edit in enumerate(edits):
        where = f"{path.name}, edit {index}"
        if not isinstance(edit, dict):
            raise ValueError(f"{where}: each edit must be an object")
        unknown = sorted(set(edit) - _FIELDS)
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_FIELDS))})")
        case_id = _text(edit, "id", where, required=False) or f"e{index}"
        if case_id in ids:
            raise ValueError(f"{where}: id {case_id!r} is used twice")
        ids.add(case_id)
        prompt = _text(edit, "prompt", where)
        attribute = Attribute(_text(edit, "attribute", where), _text(edit, "source", where),
                              _text(edit, "target", where))
        try:
            attribute.target_prompt(prompt)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        seed = edit.get("seed", index)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ValueError(f"{where}: 'seed' must be an integer in [0, 2^32)")
        image_path = _image_path(path.parent, _text(edit, "image", where), where)
        image = fit_square(load_image(image_path, what=f"{where}'s image"), image_size)
        cases.append(QualityCase(case_id, "annotated", image, prompt, (attribute,), _degrees(edit, where), seed,
                                 region=_region(edit, where)))
    return cases
