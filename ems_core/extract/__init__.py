"""Extract (EMS step 1): describe the source image in text, and name the attributes to move.

- :mod:`.attributes`: :class:`Attribute` (one slider: source phrase -> target) and the presets captioners offer;
- :mod:`.captioners`: the :class:`Captioner` interface, a fixed prompt, any transformers image-to-text model.
  A backend may supply its own (the bundled world's reads captions off the pixels).
"""

from .attributes import Attribute, AttributePreset, combined_prompt, with_waypoints
from .captioners import Captioner, FixedCaptioner, OracleCaptioner, TransformersCaptioner, default_captioner

__all__ = ["Attribute", "AttributePreset", "combined_prompt", "with_waypoints", "Captioner", "FixedCaptioner", "OracleCaptioner", "TransformersCaptioner",
           "default_captioner"]
