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

No gradio here: the app and the CLI share this module.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from .config import EditConfig
from .extract import Attribute
from .manipulate import check_degree

if TYPE_CHECKING:
    from .backends.base import Backend
    from .session import EditSession

FORMAT = "ems-studio/recipe"
VERSION = 1
PNG_KEY = "ems-recipe"  # the PNG iTXt chunk holding the recipe JSON


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
        object.__setattr__(self, "attributes", tuple(self.attributes))
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
            with Image.open(io.BytesIO(base64.b64decode(self.source_image, validate=True))) as image:
                return image.convert("RGB")
        except (ValueError, UnidentifiedImageError, OSError) as error:
            raise ValueError(f"the recipe's embedded source image is not a valid base64 PNG ({error})") from None

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
                 "full_prompt": a.full_prompt} for a in self.attributes],
            "config": self.config.to_dict(),
            "source_image": self.source_image,
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> "Recipe":
        """Parse and validate; raises ``ValueError`` saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a recipe must be a JSON object")
        if data.get("format") != FORMAT:
            raise ValueError(f"not an EMS Studio recipe (expected \"format\": \"{FORMAT}\")")
        if data.get("version") != VERSION:
            raise ValueError(f"unsupported recipe version {data.get('version')!r} (this build reads {VERSION})")
        missing = [k for k in ("model", "source_prompt", "attributes", "config") if k not in data]
        if missing:
            raise ValueError(f"recipe is missing: {', '.join(missing)}")
        if not isinstance(data["attributes"], list) or not all(isinstance(a, dict) for a in data["attributes"]):
            raise ValueError("recipe attributes must be a list of objects")
        fields_ = {"name", "source", "target", "degree", "full_prompt"}
        for entry in data["attributes"]:
            unknown = sorted(set(entry) - fields_)
            missing = sorted({"name", "source", "target"} - set(entry))
            if unknown or missing:
                problem = f"unknown fields {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
                raise ValueError(f"invalid recipe attribute: {problem}")
        attributes = tuple(Attribute(a["name"], a["source"], a["target"], a.get("full_prompt", False))
                           for a in data["attributes"])
        for attribute in attributes:
            attribute.check()
        degrees = {a.name: e.get("degree", 0.0) for a, e in zip(attributes, data["attributes"])}
        config = data["config"]
        if not isinstance(config, dict):
            raise ValueError("recipe config must be an object")
        unknown = sorted(set(config) - {f.name for f in fields(EditConfig)})
        if unknown:
            raise ValueError(f"unknown config fields in recipe: {', '.join(unknown)}")
        try:
            edit_config = EditConfig(**config)
        except TypeError as error:
            raise ValueError(f"invalid recipe config: {error}") from None
        source_image = data.get("source_image")
        if source_image is not None and not isinstance(source_image, str):
            raise ValueError("recipe source_image must be a base64 PNG string or null")
        recipe = cls(data["model"], data["source_prompt"], attributes, degrees, edit_config, source_image)
        recipe.source_pil()  # validate the embedded image now rather than at use
        return recipe

    @classmethod
    def from_json(cls, text: str | bytes) -> "Recipe":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"recipe is not valid JSON ({error})") from None
        return cls.from_dict(data)


def _png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def save_png_with_recipe(image: Image.Image, recipe: Recipe, path: str | Path) -> Path:
    """Write ``image`` as a PNG whose ``ems-recipe`` text chunk holds ``recipe`` (compressed iTXt)."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PNG_KEY, recipe.to_json(indent=None), zip=True)
    image.convert("RGB").save(path, format="PNG", pnginfo=info)
    return path


def read_recipe(source: str | Path | Image.Image) -> Recipe:
    """The recipe in a PNG written by :func:`save_png_with_recipe`, a recipe ``.json`` file, or an
    opened PIL image of such a PNG. Raises ``ValueError`` if there is none or it is invalid, and
    ``FileNotFoundError`` for a missing file."""
    if isinstance(source, Image.Image):
        return _recipe_in_image(source, "this image")
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"recipe file not found: {path}")
    data = path.read_bytes()
    if data.startswith(b"\x89PNG"):
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return _recipe_in_image(image, path.name)
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"{path.name} is not a readable PNG ({error})") from None
    if data.lstrip()[:1] == b"{":
        return Recipe.from_json(data)
    raise ValueError(f"{path.name} is neither a PNG with an EMS recipe nor a recipe JSON file")


def _recipe_in_image(image: Image.Image, what: str) -> Recipe:
    text = getattr(image, "text", None) or image.info
    if PNG_KEY not in text:
        raise ValueError(f"{what} carries no EMS Studio recipe (no {PNG_KEY!r} PNG text chunk)")
    return Recipe.from_json(text[PNG_KEY])
