"""Recipes: everything needed to reproduce one edit, as JSON or inside the result PNG.

A recipe names the model, the source prompt, the attributes with their degrees and the full
:class:`~ems_core.config.EditConfig` (seed included), and may carry the source image itself as a
base64 PNG: the source image *as the model saw it* (square, at the model's resolution), which is all
a re-render needs. ``save_png_with_recipe`` writes the recipe into a PNG text chunk, so a downloaded
result re-opens the edit that made it::

    recipe = Recipe.from_session(session, {"colour": 0.75}, model="world", config=config)
    save_png_with_recipe(result.image, recipe, "edit.png")
    again = read_recipe("edit.png")          # or a .json file, or a PIL image opened from the PNG
    session = again.session(backend)          # the source image, prompt and attributes restored
    image = session.render(again.degrees, again.config).image

Recipes come from strangers (a public Space loads any PNG), so reading one is bounded: the JSON text
at most :data:`MAX_RECIPE_BYTES` (8 MiB: a 1024x1024 source fits), nesting at most
:data:`MAX_RECIPE_DEPTH`, at most :data:`~ems_core.config.MAX_ATTRIBUTES` attributes, every field
type-checked (one-line ``ValueError`` naming the field), the config through :class:`EditConfig`'s
ranges, the embedded source through :func:`~ems_core.images.load_image` with a 4096x4096 budget. The PNG
text chunk is read by this module (not Pillow, whose 1 MB text limit refused SD3-sized recipes) without
decoding the result image's pixels.

No gradio here: the app and the CLI share this module.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import numbers
import struct
import zlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from PIL import Image, PngImagePlugin

from .config import MAX_ATTRIBUTES, MAX_PROMPT_CHARS, EditConfig, short_repr
from .extract import Attribute
from .extract.attributes import MAX_WAYPOINTS
from .images import load_image
from .manipulate import check_degree

if TYPE_CHECKING:
    from .backends.base import Backend
    from .session import EditSession

FORMAT = "ems-studio/recipe"
VERSION = 1
PNG_KEY = "ems-recipe"  # the PNG iTXt chunk holding the recipe JSON

MAX_RECIPE_BYTES = 8 * 2**20  # the recipe JSON (a 1024x1024 noise source is about 4 MiB of base64)
MAX_RECIPE_FILE_BYTES = 64 * 2**20  # a recipe file or result PNG on disk
MAX_RECIPE_DEPTH = 8  # nesting of the JSON (the format itself needs 3)
MAX_SOURCE_PIXELS = 4096 * 4096  # the embedded source image (a model's input: 1024x1024 for SD3 / Flux)
MAX_NAME_CHARS = 500  # a model name / folder, an attribute name


@dataclass(frozen=True)
class Recipe:
    """A reproducible edit (see the module docstring)."""

    model: str  # preset name, hub id or folder of the backend that made the edit
    source_prompt: str
    attributes: tuple[Attribute, ...] = ()
    degrees: dict[str, float] = field(default_factory=dict)  # by attribute name; a missing one is 0
    config: EditConfig = field(default_factory=EditConfig)  # seed included
    source_image: str | None = None  # base64 PNG of the source as the model saw it; None: not embedded

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError("recipe without a model name")
        if not isinstance(self.source_prompt, str) or not self.source_prompt.strip():
            raise ValueError("recipe without a source prompt")
        _check_text(self.model, "recipe model", MAX_NAME_CHARS)
        _check_text(self.source_prompt, "recipe source_prompt", MAX_PROMPT_CHARS)
        if not isinstance(self.config, EditConfig):
            raise ValueError(f"recipe config must be an EditConfig, got {type(self.config).__name__}")
        object.__setattr__(self, "attributes", tuple(self.attributes))
        if len(self.attributes) > MAX_ATTRIBUTES:
            raise ValueError(f"recipe has {len(self.attributes)} attributes; at most {MAX_ATTRIBUTES} are allowed")
        for attribute in self.attributes:
            attribute.check()
        names = [a.name for a in self.attributes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"recipe has duplicate attribute names: {', '.join(duplicates)}")
        unknown = sorted(set(self.degrees) - set(names))
        if unknown:
            raise ValueError(f"recipe has degrees for unknown attributes: {', '.join(unknown)}")
        degrees = {}
        for name in names:
            degree = self.degrees.get(name, 0.0)
            if isinstance(degree, bool) or not isinstance(degree, (int, float)):
                raise ValueError(f"recipe attribute {name!r}: degree must be a number")
            degrees[name] = check_degree(name, degree)
        object.__setattr__(self, "degrees", degrees)

    # ----- views -------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.config.seed

    def source_pil(self) -> Image.Image | None:
        """The embedded source image, or ``None`` when the recipe does not carry one."""
        if self.source_image is None:
            return None
        try:
            data = base64.b64decode(self.source_image, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the recipe's embedded source image is not a valid base64 PNG") from None
        return load_image(data, max_pixels=MAX_SOURCE_PIXELS, what="the recipe's embedded source image")

    def with_source_image(self, image: Image.Image | None) -> "Recipe":
        """A copy carrying ``image`` (encoded as a base64 PNG), or none when ``image`` is ``None``."""
        return replace(self, source_image=None if image is None else _png_base64(image))

    # ----- sessions ----------------------------------------------------------------------------
    @classmethod
    def from_session(cls, session: "EditSession", degrees: dict[str, float], model: str,
                     config: EditConfig | None = None, embed_source: bool = True) -> "Recipe":
        """The recipe of ``session.render(degrees, config)``; embeds ``session.image`` if asked."""
        attributes = tuple(session.attributes.values())
        recipe = cls(model, session.source_prompt, attributes, {a.name: float(degrees.get(a.name, 0.0)) for a in attributes},
                     config or session.config)
        return recipe.with_source_image(session.image if embed_source else None)

    def session(self, backend: "Backend", image: Image.Image | None = None) -> "EditSession":
        """A new session on ``image`` (default: the embedded source) with this prompt and these attributes.

        Raises ``ValueError`` if the recipe carries no source image and none is given.
        """
        from .session import EditSession

        image = image if image is not None else self.source_pil()
        if image is None:
            raise ValueError("this recipe does not carry its source image: give the source image too")
        session = EditSession(backend, image, prompt=self.source_prompt, config=self.config)
        session.configure(self.source_prompt, self.attributes)
        return session

    # ----- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model,
            "source_prompt": self.source_prompt,
            "attributes": [
                {"name": a.name, "source": a.source, "target": a.target, "degree": self.degrees[a.name],
                 "full_prompt": a.full_prompt, **({"via": list(a.via)} if a.via else {})} for a in self.attributes],
            "config": self.config.to_dict(),
            "source_image": self.source_image,
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> "Recipe":
        """Parse and validate; raises a one-line ``ValueError`` saying which field is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"a recipe must be a JSON object, got {_kind(data)}")
        _check_depth(data)
        if data.get("format") != FORMAT:
            raise ValueError(f"not an EMS Studio recipe (expected \"format\": \"{FORMAT}\")")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version != VERSION:
            raise ValueError(f"unsupported recipe version {short_repr(version)} (this build reads {VERSION})")
        missing = [k for k in ("model", "source_prompt", "attributes", "config") if k not in data]
        if missing:
            raise ValueError(f"recipe is missing: {', '.join(missing)}")
        model = _check_text(data["model"], "recipe model", MAX_NAME_CHARS)
        source_prompt = _check_text(data["source_prompt"], "recipe source_prompt", MAX_PROMPT_CHARS)
        entries = data["attributes"]
        if not isinstance(entries, list):
            raise ValueError(f"recipe attributes must be a list of objects, got {_kind(entries)}")
        if len(entries) > MAX_ATTRIBUTES:
            raise ValueError(f"recipe has {len(entries)} attributes; at most {MAX_ATTRIBUTES} are allowed")
        attributes, degrees = [], {}
        for i, entry in enumerate(entries):
            attribute, degree = _parse_attribute(entry, f"recipe attributes[{i}]")
            attributes.append(attribute)
            degrees[attribute.name] = degree
        config = data["config"]
        if not isinstance(config, dict):
            raise ValueError(f"recipe config must be an object, got {_kind(config)}")
        unknown = sorted(set(config) - {f.name for f in fields(EditConfig)})
        if unknown:
            raise ValueError(f"unknown config fields in recipe: {_cut(', '.join(map(str, unknown)))}")
        # recipes written before several attributes could compose multilinearly rendered them by EMS's sum,
        # before the difference sampler's noise lost its coarse part (noise_grid) with the raw draw, and before
        # unequal guidance ramped in with the degree (guidance_ramp) at full target guidance from any degree on, and
        # before target prompts were blended word by word (align_tokens), and linearly between knots (blend)
        config = {"composition": "sum", "noise_grid": 0, "guidance_ramp": 0.0, "align_tokens": False,
                  "blend": "linear", **config}
        try:
            edit_config = EditConfig(**config)
        except ValueError as error:
            raise ValueError(f"invalid recipe config: {error}") from None
        source_image = data.get("source_image")
        if source_image is not None and not isinstance(source_image, str):
            raise ValueError(f"recipe source_image must be a base64 PNG string or null, got {_kind(source_image)}")
        recipe = cls(model, source_prompt, tuple(attributes), degrees, edit_config, source_image)
        recipe.source_pil()  # validate the embedded image now rather than at use
        return recipe

    @classmethod
    def from_json(cls, text: str | bytes) -> "Recipe":
        """Parse a recipe's JSON text (at most :data:`MAX_RECIPE_BYTES`); raises a one-line ``ValueError``."""
        if not isinstance(text, (str, bytes, bytearray)):
            raise ValueError(f"recipe JSON must be text, got {_kind(text)}")
        if len(text) > MAX_RECIPE_BYTES:
            raise ValueError(f"recipe is too large ({len(text) / 2**20:.1f} MiB of JSON); "
                             f"the limit is {MAX_RECIPE_BYTES // 2**20} MiB")
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError(f"recipe JSON is nested too deeply (the limit is {MAX_RECIPE_DEPTH} levels)") from None
        except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError, and ints of over 4300 digits
            reason = (str(error).splitlines() or [""])[0][:120]
            if "integer string conversion" in reason:
                reason = "a number has more than 4300 digits"
            raise ValueError(f"recipe is not valid JSON ({reason})") from None
        return cls.from_dict(data)


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    """How a message names the type of a JSON value."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    if type(value) in names:
        return names[type(value)]
    return "a number" if isinstance(value, numbers.Number) else type(value).__name__


def _check_text(value: Any, what: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {_kind(value)}")
    if len(value) > max_chars:
        raise ValueError(f"{what} is too long ({len(value)} characters; the limit is {max_chars})")
    return value


def _check_depth(data: Any) -> None:
    """Refuse JSON nested deeper than :data:`MAX_RECIPE_DEPTH` (iteratively: no recursion to overflow)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_RECIPE_DEPTH:
            raise ValueError(f"recipe JSON is nested too deeply (the limit is {MAX_RECIPE_DEPTH} levels)")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


_ATTRIBUTE_FIELDS = {"name", "source", "target", "degree", "full_prompt", "via"}


def _parse_attribute(entry: Any, where: str) -> tuple[Attribute, float]:
    """One ``attributes`` entry -> (attribute, degree), every field type-checked."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object, got {_kind(entry)}")
    unknown = sorted(set(entry) - _ATTRIBUTE_FIELDS)
    missing = sorted({"name", "source", "target"} - set(entry))
    if unknown or missing:
        problem = (f"unknown fields {_cut(', '.join(map(str, unknown)))}" if unknown
                   else f"missing {', '.join(missing)}")
        raise ValueError(f"invalid recipe attribute: {problem}")
    name = _check_text(entry["name"], f"{where}.name", MAX_NAME_CHARS)
    source = _check_text(entry["source"], f"{where}.source", MAX_PROMPT_CHARS)
    target = _check_text(entry["target"], f"{where}.target", MAX_PROMPT_CHARS)
    full_prompt = entry.get("full_prompt", False)
    if not isinstance(full_prompt, bool):
        raise ValueError(f"{where}.full_prompt must be true or false, got {_kind(full_prompt)}")
    degree = entry.get("degree", 0.0)
    if isinstance(degree, bool) or not isinstance(degree, numbers.Real):
        raise ValueError(f"{where}.degree must be a number, got {short_repr(degree)} ({_kind(degree)})")
    if not math.isfinite(degree):
        raise ValueError(f"{where}.degree must be a finite number, got {degree}")
    via = entry.get("via", [])
    if not isinstance(via, list) or len(via) > MAX_WAYPOINTS:
        raise ValueError(f"{where}.via must be a list of at most {MAX_WAYPOINTS} phrases, got {_kind(via)}")
    via = tuple(_check_text(v, f"{where}.via[{i}]", MAX_PROMPT_CHARS) for i, v in enumerate(via))
    attribute = Attribute(name, source, target, full_prompt, via)
    attribute.check()
    return attribute, check_degree(name, degree)


def _png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def save_png_with_recipe(image: Image.Image, recipe: Recipe, path: str | Path) -> Path:
    """Write ``image`` as a PNG whose ``ems-recipe`` text chunk holds ``recipe`` (compressed iTXt)."""
    path = Path(path)
    text = recipe.to_json(indent=None)
    if len(text) > MAX_RECIPE_BYTES:  # it could not be read back
        raise ValueError(f"this recipe is too large to embed ({len(text) / 2**20:.1f} MiB; the limit is "
                         f"{MAX_RECIPE_BYTES // 2**20} MiB): save it without its source image")
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PNG_KEY, text, zip=True)
    image.convert("RGB").save(path, format="PNG", pnginfo=info)
    return path


def read_recipe(source: str | Path | Image.Image) -> Recipe:
    """The recipe in a PNG written by :func:`save_png_with_recipe`, a recipe ``.json`` file, or an
    opened PIL image of such a PNG. Raises ``ValueError`` if there is none or it is invalid, and
    ``FileNotFoundError`` for a missing file. A PNG's pixels are never decoded."""
    if isinstance(source, Image.Image):
        return _recipe_in_image(source, "this image")
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"recipe file not found: {path}")
    size = path.stat().st_size
    if size > MAX_RECIPE_FILE_BYTES:
        raise ValueError(f"{path.name} is too large for a recipe ({size / 2**20:.0f} MiB; "
                         f"the limit is {MAX_RECIPE_FILE_BYTES // 2**20} MiB)")
    with path.open("rb") as stream:
        head = stream.read(8)
        if head == PNG_SIGNATURE:
            text = png_text_chunk(stream, PNG_KEY, path.name)
            if text is None:
                raise ValueError(f"{path.name} carries no EMS Studio recipe (no {PNG_KEY!r} PNG text chunk)")
            return Recipe.from_json(text)
        data = head + stream.read(MAX_RECIPE_BYTES + 1 - len(head))
    if data.lstrip()[:1] == b"{":
        if size > MAX_RECIPE_BYTES:
            raise ValueError(f"{path.name} is too large for a recipe ({size / 2**20:.1f} MiB of JSON; "
                             f"the limit is {MAX_RECIPE_BYTES // 2**20} MiB)")
        return Recipe.from_json(data)
    raise ValueError(f"{path.name} is neither a PNG with an EMS recipe nor a recipe JSON file")


def allow_recipe_text_in_pillow() -> None:
    """Let ``Image.open`` read PNGs whose text chunks hold up to :data:`MAX_RECIPE_BYTES` (Pillow's default
    refuses text over 1 MB, so it cannot open a result PNG that embeds a 1024x1024 source).

    Process-wide (it raises ``PngImagePlugin.MAX_TEXT_CHUNK``); for apps whose UI framework opens uploaded
    PNGs with Pillow. :func:`read_recipe` on a path does not need it: it reads the chunk itself.
    """
    PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, MAX_RECIPE_BYTES)


def _recipe_in_image(image: Image.Image, what: str) -> Recipe:
    text = getattr(image, "text", None) or image.info
    if PNG_KEY not in text:
        filename = getattr(image, "filename", None)
        if image.format == "PNG" and filename and Path(filename).is_file():
            return read_recipe(filename)  # Pillow skips text chunks over 1 MB; read the file itself
        raise ValueError(f"{what} carries no EMS Studio recipe (no {PNG_KEY!r} PNG text chunk)")
    return Recipe.from_json(text[PNG_KEY])


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text_chunk(stream: IO[bytes], key: str, what: str = "the PNG") -> str | None:
    """The text of the first ``tEXt`` / ``zTXt`` / ``iTXt`` chunk named ``key`` in a PNG, or ``None``.

    ``stream`` is positioned just after the 8-byte signature. Other chunks (the pixels included) are
    skipped unread; the text may be at most :data:`MAX_RECIPE_BYTES` once decompressed.
    """
    wanted = key.encode("latin-1")
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return None  # truncated before IEND: no recipe found in what is there
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            return None
        if kind not in (b"tEXt", b"zTXt", b"iTXt") or length > MAX_RECIPE_BYTES + 1024:
            stream.seek(length + 4, io.SEEK_CUR)  # data and CRC
            continue
        data, crc = stream.read(length), stream.read(4)
        keyword, _, rest = data.partition(b"\0")
        if keyword != wanted:
            continue
        if len(data) != length or len(crc) != 4 or struct.unpack(">I", crc)[0] != zlib.crc32(kind + data):
            raise ValueError(f"{what}: its {key!r} text chunk is truncated or corrupt")
        return _chunk_text(kind, rest, key, what)


def _chunk_text(kind: bytes, rest: bytes, key: str, what: str) -> str:
    """Decode a text chunk's payload (after ``keyword\\0``) with a bounded decompression."""
    try:
        if kind == b"tEXt":
            return rest.decode("latin-1")
        if kind == b"zTXt":
            return _inflate(rest[1:], key, what).decode("latin-1")
        compressed, rest = rest[0], rest[2:]  # the flag, then the method byte (0: zlib, the only one)
        _language, _, rest = rest.partition(b"\0")
        _translated, _, text = rest.partition(b"\0")
        return (_inflate(text, key, what) if compressed else text).decode("utf-8")
    except (IndexError, UnicodeDecodeError, zlib.error) as error:
        raise ValueError(f"{what}: its {key!r} text chunk is not readable ({type(error).__name__})") from None


def _inflate(data: bytes, key: str, what: str) -> bytes:
    inflater = zlib.decompressobj()
    text = inflater.decompress(data, MAX_RECIPE_BYTES + 1)
    if len(text) > MAX_RECIPE_BYTES or inflater.unconsumed_tail:
        raise ValueError(f"{what}: its {key!r} text is larger than {MAX_RECIPE_BYTES // 2**20} MiB")
    return text
