"""A corpus of hostile inputs: images and recipes that once crashed, hung or silently mis-rendered EMS Studio.

    python tests/hostile/make_corpus.py [DIR]     # the small files (default: tests/hostile/corpus, committed)

Big inputs (a 13000x13000 PNG, a recipe embedding it, 1e5 attributes, a legitimate 1024x1024 recipe of
about 5 MB) are never committed: :func:`write_big` builds them at test time (the ``big_corpus`` fixture).
Every builder is deterministic; nothing here imports ``ems_core``, so the corpus does not change with it.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, PngImagePlugin

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / "corpus"
PNG_KEY = "ems-recipe"  # as in ems_core.recipe (kept literal: the corpus must not follow the code)


# ----- raw PNG writing (headers and streams Pillow would refuse to make) ------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _ihdr(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))


def bomb_header_png(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` RGB with only a few rows of data (cheap to make)."""
    rows = zlib.compress((b"\x00" + b"\xff" * 3 * width) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _ihdr(width, height) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def flat_png(width: int, height: int, value: int = 255) -> bytes:
    """A complete, valid ``width`` x ``height`` RGB PNG of one grey, streamed row by row (never held whole)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes([value]) * 3 * width
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    idat = b"".join(parts)
    return b"\x89PNG\r\n\x1a\n" + _ihdr(width, height) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _save(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _noise(size: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


# ----- images ------------------------------------------------------------------------------------------

def gray16_png() -> bytes:
    """16-bit grayscale: left half mid-grey (32896 = 128 * 257), right half full white (65535)."""
    array = np.full((32, 32), 32896, dtype=np.uint16)
    array[:, 16:] = 65535
    return _save(Image.fromarray(array), "PNG")


def rgba_transparent_png() -> bytes:
    """RGBA: top half fully transparent black, bottom half opaque red."""
    array = np.zeros((32, 32, 4), dtype=np.uint8)
    array[16:] = (255, 0, 0, 255)
    return _save(Image.fromarray(array, "RGBA"), "PNG")


def palette_transparent_png() -> bytes:
    """Palette image whose index 0 (black) is transparent: left half index 0, right half index 1 (blue)."""
    image = Image.new("P", (32, 32), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (16, 0, 32, 32))
    return _save(image, "PNG", transparency=0)


def la_transparent_png() -> bytes:
    """Grey + alpha, fully transparent black."""
    return _save(Image.new("LA", (32, 32), (0, 0)), "PNG")


def truncated_png() -> bytes:
    data = _save(_noise(64), "PNG")
    return data[: len(data) // 2]


def cmyk_jpeg() -> bytes:
    return _save(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG", quality=95)  # red in CMYK


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg() -> bytes:
    """40 wide x 20 high, EXIF orientation 6 (display rotated 90 degrees clockwise: 20 wide x 40 high)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(Image.new("RGB", (40, 20), (0, 128, 0)), "JPEG", exif=exif)


def float_tiff() -> bytes:
    """32-bit float grayscale in [0, 1]: left half 0.5, right half 1.0."""
    array = np.full((32, 32), 0.5, dtype=np.float32)
    array[:, 16:] = 1.0
    return _save(Image.fromarray(array, "F"), "TIFF")


def eps_file() -> bytes:
    """PostScript: Pillow would run Ghostscript on it; an image loader for uploads must not."""
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"


IMAGES: dict[str, Callable[[], bytes]] = {
    "bomb-30000x30000.png": bomb_header_png,
    "gray16.png": gray16_png,
    "rgba-transparent.png": rgba_transparent_png,
    "palette-transparent.png": palette_transparent_png,
    "la-transparent.png": la_transparent_png,
    "truncated.png": truncated_png,
    "not-an-image.png": lambda: b"this is not an image, just text with a .png name\n",
    "cmyk.jpg": cmyk_jpeg,
    "animated.gif": animated_gif,
    "exif-rotated.jpg": exif_rotated_jpeg,
    "float.tiff": float_tiff,
    "postscript.eps": eps_file,
}


# ----- recipes -----------------------------------------------------------------------------------------

SMALL_SOURCE = base64.b64encode(_save(Image.new("RGB", (64, 64), (200, 30, 30)), "PNG")).decode("ascii")


def base_recipe(source_image: str | None = SMALL_SOURCE) -> dict[str, Any]:
    """A valid version-1 recipe (the bundled model's 64x64 red scene, one attribute)."""
    return {
        "format": "ems-studio/recipe", "version": 1, "model": "tiny-random-world",
        "source_prompt": "a large red circle at the middle center on a white background",
        "attributes": [{"name": "colour", "source": "red", "target": "blue", "degree": 0.5, "full_prompt": False}],
        "config": {"steps": 8, "start_time": 0.7, "guidance": 2.0, "inversion_fixed_point": 1, "refine_iters": 1,
                   "refine_lr": 0.5, "refine_proximity": 0.2, "refine_t_max": 0.6, "refine_t_min": 0.2, "seed": 0},
        "source_image": source_image,
    }


def _with(path: str, value: Any) -> Callable[[], str]:
    """The base recipe with the field at ``path`` ("config.steps", "attributes.0.degree") set to ``value``."""
    def build() -> str:
        data = base_recipe()
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return json.dumps(data)  # NaN / Infinity are written as the bare tokens Python's json reads back
    return build


def nested_json(depth: int = 5_000) -> str:
    """``{"format": ..., "config": [[[[...]]]]}``: deep enough to overflow a recursive parser."""
    return '{"format": "ems-studio/recipe", "version": 1, "config": ' + "[" * depth + "]" * depth + "}"


def wrong_types_everywhere() -> str:
    data = base_recipe()
    data.update(model=3, source_prompt=["a", "b"], version="1", source_image=5)
    data["config"] = {key: "x" for key in data["config"]}
    data["attributes"] = [{"name": 5, "source": None, "target": {}, "degree": "1", "full_prompt": "yes"}]
    return json.dumps(data)


RECIPES: dict[str, Callable[[], str]] = {
    "refine-iters-1e9.json": _with("config.refine_iters", 1_000_000_000),
    "refine-iters-1e9-float.json": lambda: _with("config.refine_iters", 0)().replace(
        '"refine_iters": 0', '"refine_iters": 1e9'),
    "fixed-point-1e6.json": _with("config.inversion_fixed_point", 1_000_000),
    "steps-150.json": _with("config.steps", 150),
    "steps-2.5.json": _with("config.steps", 2.5),
    "steps-abc.json": _with("config.steps", "abc"),
    "steps-true.json": _with("config.steps", True),
    "seed-negative.json": _with("config.seed", -1),
    "seed-abc.json": _with("config.seed", "abc"),
    "seed-2pow70.json": _with("config.seed", 2 ** 70),
    "lr-nan.json": _with("config.refine_lr", float("nan")),
    "lr-inf.json": _with("config.refine_lr", float("inf")),
    "lr-negative.json": _with("config.refine_lr", -1.0),
    "guidance-nan.json": _with("config.guidance", float("nan")),
    "degree-nan.json": _with("attributes.0.degree", float("nan")),
    "config-list.json": _with("config", [1, 2, 3]),
    "attributes-dict.json": _with("attributes", {"colour": "blue"}),
    "model-number.json": _with("model", 3),
    "prompt-list.json": _with("source_prompt", ["a", "b"]),
    "source-image-number.json": _with("source_image", 5),
    "source-image-not-base64.json": _with("source_image", "%%% not base64 %%%"),
    "source-image-bomb.json": _with("source_image", base64.b64encode(bomb_header_png()).decode("ascii")),
    "seed-5000-digits.json": lambda: _with("config.seed", 0)().replace('"seed": 0', '"seed": ' + "7" * 5000),
    "nested.json": nested_json,
    "wrong-types-everywhere.json": wrong_types_everywhere,
    "not-json.json": lambda: "{ this is not json",
    "top-level-list.json": lambda: "[1, 2, 3]",
}


def recipe_png(text: str, image: Image.Image | None = None) -> bytes:
    """A result PNG carrying ``text`` in its compressed ``ems-recipe`` iTXt chunk (as the app writes them)."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PNG_KEY, text, zip=True)
    return _save(image or Image.new("RGB", (64, 64), (10, 200, 30)), "PNG", pnginfo=info)


RECIPE_PNGS: dict[str, Callable[[], bytes]] = {
    "recipe-refine-iters-1e9.png": lambda: recipe_png(RECIPES["refine-iters-1e9.json"]()),
    "recipe-fixed-point-1e6.png": lambda: recipe_png(RECIPES["fixed-point-1e6.json"]()),
    "recipe-nested.png": lambda: recipe_png(nested_json()),
    "recipe-text-bomb.png": lambda: recipe_png(" " * (20 * 2**20)),  # 20 MiB of text in ~20 KB
    "recipe-corrupt-crc.png": lambda: _corrupt_text_chunk(recipe_png(RECIPES["steps-150.json"]())),
}


def _corrupt_text_chunk(png: bytes) -> bytes:
    """Flip one byte inside the iTXt chunk's data (its CRC no longer matches)."""
    at = png.index(b"iTXt") + 4 + len(PNG_KEY) + 8
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1:]


# ----- big inputs, built at test time --------------------------------------------------------------------

def legit_1024_recipe() -> str:
    """A valid recipe embedding a 1024x1024 noise source (about 4 MB of JSON: an SD3-sized source)."""
    source = base64.b64encode(_save(_noise(1024, seed=1), "PNG")).decode("ascii")
    data = base_recipe(source)
    data["model"] = "stabilityai/stable-diffusion-3.5-medium"
    return json.dumps(data)


def many_attributes(count: int = 100_000) -> str:
    data = base_recipe()
    data["source_prompt"] = "a red circle"
    data["attributes"] = [{"name": f"a{i}", "source": "red", "target": "blue", "degree": 0.5} for i in range(count)]
    return json.dumps(data)


def write_big(directory: Path) -> dict[str, Path]:
    """Build the big inputs into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    huge = flat_png(13000, 13000)  # ~0.5 MB on disk, 507 MB decoded
    legit = legit_1024_recipe()
    files = {
        "big-13000x13000.png": huge,
        "recipe-embedding-13000.png": recipe_png(_with("source_image", base64.b64encode(huge).decode("ascii"))()),
        "attributes-1e5.json": many_attributes().encode(),
        "prompt-1mb.json": _with("source_prompt", "a red circle " * 80_000)().encode(),
        "legit-1024.json": legit.encode(),
        "legit-1024.png": recipe_png(legit),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = directory / name
        paths[name].write_bytes(data)
    return paths


def write_small(directory: Path = CORPUS_DIR) -> dict[str, Path]:
    """Write every small input into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table in (IMAGES, RECIPES, RECIPE_PNGS):
        for name, build in table.items():
            data = build()
            paths[name] = directory / name
            paths[name].write_bytes(data.encode() if isinstance(data, str) else data)
    return paths


def small_names() -> list[str]:
    return sorted([*IMAGES, *RECIPES, *RECIPE_PNGS])


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS_DIR
    written = write_small(target)
    total = sum(p.stat().st_size for p in written.values())
    print(f"wrote {len(written)} files, {total / 1024:.1f} KiB, to {target}")
