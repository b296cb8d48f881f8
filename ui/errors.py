"""Every failure reaches the user as a clear ``gr.Error``; the per-user state stays usable."""

from __future__ import annotations

import functools
import logging
from typing import Callable, TypeVar

import gradio as gr
import torch

F = TypeVar("F", bound=Callable)
log = logging.getLogger("ems_studio")


def user_errors(fn: F) -> F:
    """Turn library errors into ``gr.Error`` messages; unexpected ones are logged and reported too.

    ``ems_core`` validates before it mutates, so an error leaves the session as it was.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, KeyError, FileNotFoundError) as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            raise gr.Error(str(message)) from error
        except torch.cuda.OutOfMemoryError as error:
            raise gr.Error("out of GPU memory: lower the steps or the sweep frames, or use --cpu-offload") from error
        except Exception as error:  # a bug: keep the server alive, tell the user, log the traceback
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"unexpected error ({type(error).__name__}: {error})") from error

    return wrapper  # type: ignore[return-value]
