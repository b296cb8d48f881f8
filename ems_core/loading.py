"""Loading model files (a diffusers / transformers folder, the hub): what it can raise, and how to say it
in one line. Shared by the backends and the captioners, which turn these errors into ``ValueError``."""

from __future__ import annotations

import pickle
import re

from safetensors import SafetensorError

__all__ = ["MODEL_LOAD_ERRORS", "load_error_reason"]

#: What ``from_pretrained`` can raise besides ``ValueError``: missing or unreadable files, a class the
#: installed libraries lack, weights that do not fit the config, a refused pickle, a corrupt safetensors file.
MODEL_LOAD_ERRORS = (OSError, ImportError, RuntimeError, KeyError, TypeError, AttributeError, pickle.UnpicklingError,
                     SafetensorError)


def load_error_reason(error: BaseException) -> str:
    """``"Type: first line"`` of a loading error, absolute paths cut to their last two parts (no cache or
    temporary folders in messages)."""
    reason = _scrub_paths((str(error).strip().splitlines() or [""])[0])[:300]
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


def _scrub_paths(text: str) -> str:
    return re.sub(r"(?:/[^/\s'\"]+)+/([^/\s'\"]+/[^/\s'\"]+)", r".../\1", text)
