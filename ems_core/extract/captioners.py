"""Captioners: ``caption(image) -> str``, and the attributes a caption offers.

- :class:`FixedCaptioner`: the user's own prompt;
- :class:`TransformersCaptioner`: any ``transformers`` image-to-text model by id or local folder,
  loaded on first use only;
- a backend's own (:meth:`Backend.default_captioner`), e.g. the bundled world's oracle-based
  ``WorldCaptioner``, which also offers attribute presets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from PIL import Image

from ..loading import MODEL_LOAD_ERRORS, load_error_reason
from .attributes import AttributePreset

if TYPE_CHECKING:
    from ..backends.contract import Backend

__all__ = ["Captioner", "FixedCaptioner", "OracleCaptioner", "TransformersCaptioner", "default_captioner"]


class Captioner(ABC):
    """Describes an image in text (EMS's Extract step)."""

    #: The preset a new image's first slider edits (its world's demo attribute); ``None``: the first preset.
    demo_attribute: ClassVar[str | None] = None

    @abstractmethod
    def caption(self, image: Image.Image) -> str:
        """The source prompt of ``image``; raises ``ValueError`` when it cannot describe it."""

    def attribute_presets(self, caption: str) -> list[AttributePreset]:
        """Attributes of ``caption`` worth a slider (none unless the captioner knows its vocabulary)."""
        return []

    def out_of_domain(self, image: Image.Image) -> str | None:
        """Why ``image`` is outside what the model knows (its caption would not be trusted), or ``None``.

        Only captioners that know their model's world can tell; the default never warns.
        """
        return None


class OracleCaptioner(Captioner):
    """Reads captions off the pixels with a procedural world's oracle (no model, deterministic).

    Subclasses set ``image_size`` (the world's resolution) and ``oracle`` (``image -> measurement`` with a
    ``caption``), as ``staticmethod(measure)``.
    """

    image_size: int
    oracle: Callable[[Image.Image], Any]

    def measure(self, image: Image.Image) -> Any:
        """The oracle's measurement of ``image``, resized first to the world's size (PIL ``BOX``, the
        renderers' area average) when it has another size; a non-square image is stretched."""
        image = image.convert("RGB")
        if image.size != (self.image_size, self.image_size):
            image = image.resize((self.image_size, self.image_size), Image.Resampling.BOX)
        return self.oracle(image)

    def caption(self, image: Image.Image) -> str:
        return self.measure(image).caption


class FixedCaptioner(Captioner):
    """Returns the prompt it was given (the user describes the image)."""

    def __init__(self, prompt: str):
        if not prompt.strip():
            raise ValueError("empty prompt")
        self.prompt = prompt.strip()

    def caption(self, image: Image.Image) -> str:
        return self.prompt


class TransformersCaptioner(Captioner):
    """An image-to-text model (e.g. a BLIP or Florence checkpoint) from the hub or a local folder.

    The model loads on the first ``caption`` call, not at construction.
    """

    def __init__(self, model: str, device: str = "cpu", max_new_tokens: int = 40):
        self.model_name, self.device, self.max_new_tokens = model, device, max_new_tokens
        self._pipeline = None

    def caption(self, image: Image.Image) -> str:
        if self._pipeline is None:
            from transformers import pipeline

            try:
                self._pipeline = pipeline("image-to-text", model=self.model_name, device=self.device,
                                          model_kwargs={"use_safetensors": True})
            except (ValueError, *MODEL_LOAD_ERRORS) as error:
                raise ValueError(f"could not load captioner {self.model_name!r} ({load_error_reason(error)})") from None
        out = self._pipeline(image.convert("RGB"), max_new_tokens=self.max_new_tokens)
        text = out[0]["generated_text"].strip() if out else ""
        if not text:
            raise ValueError(f"captioner {self.model_name!r} returned an empty caption")
        return text


def default_captioner(backend: "Backend", captioner_model: str | None = None) -> Captioner | None:
    """The captioner to use for ``backend``: an explicit transformers model if given, else the backend's
    own (the bundled model has one), else ``None`` (the user must type the prompt)."""
    if captioner_model:
        return TransformersCaptioner(captioner_model, device=str(backend.device))
    return backend.default_captioner()
