"""Extract (EMS step 1): describe the source image in text.

Three captioners share one method, ``caption(image) -> str``:
- :class:`FixedCaptioner`: the user's own prompt;
- :class:`TransformersCaptioner`: any ``transformers`` image-to-text model by id or local folder,
  loaded on first use only;
- ``WorldCaptioner`` (``ems_core.world.captioner``): the bundled world's oracle-based captioner.
"""

from __future__ import annotations

from PIL import Image

from .backends.base import Backend


class FixedCaptioner:
    """Returns the prompt it was given (the user describes the image)."""

    def __init__(self, prompt: str):
        if not prompt.strip():
            raise ValueError("empty prompt")
        self.prompt = prompt.strip()

    def caption(self, image: Image.Image) -> str:
        return self.prompt


class TransformersCaptioner:
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
                self._pipeline = pipeline("image-to-text", model=self.model_name, device=self.device)
            except (OSError, ValueError) as error:
                raise ValueError(f"could not load captioner {self.model_name!r}: {error}") from None
        out = self._pipeline(image.convert("RGB"), max_new_tokens=self.max_new_tokens)
        text = out[0]["generated_text"].strip() if out else ""
        if not text:
            raise ValueError(f"captioner {self.model_name!r} returned an empty caption")
        return text


def default_captioner(backend: Backend, captioner_model: str | None = None):
    """The captioner to use for ``backend``: an explicit transformers model if given, the world
    captioner for the bundled model, else ``None`` (the user must type the prompt)."""
    if captioner_model:
        return TransformersCaptioner(captioner_model, device=str(backend.device))
    if backend.info.family == "world":
        from .world.captioner import WorldCaptioner

        return WorldCaptioner()
    return None
