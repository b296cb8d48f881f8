"""Every failure reaches the user as one clear message; the per-user state stays usable.

User errors (bad input) are logged as one line, never a traceback, and their messages never show the
server's file paths. Bugs are logged with their traceback and reported without details.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Callable, TypeVar

import gradio as gr
import torch

F = TypeVar("F", bound=Callable)
log = logging.getLogger("ems_studio")

_PATH = re.compile(r"(?<![\w.~])(?:/[^\s'\"():,/]+)+/([^\s'\"():,/]+)")


class Stopped(Exception):
    """A request stopped early: its client left, or it ran past its time budget (the message says which)."""


def without_paths(message: str) -> str:
    """``message`` with every absolute path shortened to its file name (no server layout leaks)."""
    return _PATH.sub(r"\1", message)


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
        except (ValueError, KeyError, FileNotFoundError, Stopped) as error:
            message = without_paths(str(error.args[0] if isinstance(error, KeyError) and error.args else error))
            log.info("%s: %s", fn.__name__, message)
            raise gr.Error(message, print_exception=False) from None
        except torch.cuda.OutOfMemoryError:
            log.warning("%s: out of GPU memory", fn.__name__)
            raise gr.Error("out of GPU memory: lower the steps or the sweep frames, or use --cpu-offload",
                           print_exception=False) from None
        except Exception as error:  # a bug: keep the server alive, tell the user, log the traceback
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"unexpected error ({type(error).__name__}); the server log has the details",
                           print_exception=False) from None

    return wrapper  # type: ignore[return-value]
