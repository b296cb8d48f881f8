"""EMS Studio core library: semantic edits of images in the latent space of diffusion transformers.

Never imports gradio. Laid out by concept, each a module or package:
``extract`` (captioners, the attribute type), ``manipulate`` (moving embeddings), ``sampling`` (the
ODE, guidance, schedules), ``refine`` (score distillation), ``directions`` (latent edit directions),
``metrics``, ``session`` (per-image caches and the numbered render steps), ``backends`` (the model
contract and its registry), ``world`` (the bundled procedural world), ``bench`` and ``cli``.
Typical use::

    from ems_core import load_backend, EditSession
    backend = load_backend("world")                 # the bundled model; or "tiny-random-sd3", a hub id...
    session = EditSession(backend, image)           # the bundled model captions the image itself
    session.set_attribute("colour", "red", "blue")
    result = session.render({"colour": 0.75})       # result.image, result.nfe, result.timings_ms
"""

from .backends import (DEFAULT_MODEL, Backend, BackendInfo, load_backend, register_backend,
                       registered_backends)
from .config import DEGREE_RANGE, EDIT_PRESETS, EditConfig
from .embeddings import PromptEmbedding
from .extract import Attribute, AttributePreset, Captioner, FixedCaptioner, TransformersCaptioner, default_captioner
from .manipulate import manipulate
from .sampling import generate
from .session import EditSession, RenderResult

__all__ = [
    "Attribute", "AttributePreset", "Backend", "BackendInfo", "Captioner", "DEFAULT_MODEL", "DEGREE_RANGE",
    "EDIT_PRESETS", "EditConfig", "EditSession", "FixedCaptioner", "PromptEmbedding", "RenderResult",
    "TransformersCaptioner", "default_captioner", "generate", "load_backend", "manipulate", "register_backend",
    "registered_backends",
]
