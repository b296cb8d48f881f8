"""Backends: the model contract, its implementations and the registry that loads them.

- :mod:`.contract`: :class:`Backend` (encode prompt, encode/decode image, velocity, schedule);
- :mod:`.registry`: ``register_backend`` / ``load_backend`` by name, hub id or folder;
- :mod:`.diffusers_adapter`: the shared adapter base of :mod:`.sd3` and :mod:`.flux`;
- :mod:`.world`: the bundled model; :mod:`.tiny`: tiny random models for tests;
- :mod:`.pretrained`: SD3/Flux from a hub id or folder.
"""

from .contract import Backend, BackendInfo, CountingBackend
from .registry import DEFAULT_MODEL, check_device, load_backend, parse_dtype, register_backend, registered_backends

__all__ = ["Backend", "BackendInfo", "CountingBackend", "DEFAULT_MODEL", "check_device", "load_backend", "parse_dtype",
           "register_backend", "registered_backends"]
