"""``@gpu``: ``spaces.GPU`` on a Hugging Face ZeroGPU Space, a no-op everywhere else."""

from __future__ import annotations

from typing import Callable, TypeVar

try:  # the `spaces` package exists on Hugging Face Spaces only
    import spaces
except ImportError:
    spaces = None

F = TypeVar("F", bound=Callable)


def gpu(fn: F | None = None, *, duration: int = 60):
    """Mark a function that runs the model; usable as ``@gpu`` or ``@gpu(duration=120)``.

    On a ZeroGPU Space this is ``spaces.GPU(duration=...)``, which attaches a GPU for the call;
    elsewhere it returns the function unchanged.
    """

    def decorate(f: F) -> F:
        return f if spaces is None else spaces.GPU(duration=duration)(f)

    return decorate if fn is None else decorate(fn)
