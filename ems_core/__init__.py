"""EMS Studio core library: semantic edits of images in the latent space of diffusion transformers.

Never imports gradio. Typical use::

    from ems_core import load_backend, EditSession
    backend = load_backend("world")                 # the bundled model; or "tiny-random-sd3", a hub id...
    session = EditSession(backend, image)           # the bundled model captions the image itself
    session.set_attribute("colour", "red", "blue")
    result = session.render({"colour": 0.75})       # result.image, result.nfe, result.timings_ms
"""

from .backends import DEFAULT_MODEL, PRESETS, Backend, BackendInfo, PromptEmbedding, load_backend
from .captioners import FixedCaptioner, TransformersCaptioner, default_captioner
from .config import DEGREE_RANGE, EditConfig
from .config import PRESETS as EDIT_PRESETS
from .manipulate import manipulate
from .pipeline import generate
from .session import Attribute, EditSession, RenderResult

__all__ = [
    "Attribute", "Backend", "BackendInfo", "DEFAULT_MODEL", "DEGREE_RANGE", "EDIT_PRESETS", "EditConfig",
    "EditSession", "FixedCaptioner", "PRESETS", "PromptEmbedding", "RenderResult", "TransformersCaptioner",
    "default_captioner", "generate", "load_backend", "manipulate",
]
