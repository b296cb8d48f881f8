"""The Hugging Face hub, asked quickly: is a model in the local cache, and does the hub answer at all?

Without these checks an uncached hub id on a machine without network waits out the hub client's retries
(23 s here, about 50 s where connections time out) before failing. Nothing here imports diffusers, so a
caller can check a hub id before the slow imports of loading a model.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path

import huggingface_hub
import huggingface_hub.constants

__all__ = ["HUB_PROBE_TIMEOUT_S", "cached_model_index", "hub_reachable", "looks_like_hub_id", "require_hub_model"]

#: How long the hub may take to answer before a hub id that is not cached is given up on.
HUB_PROBE_TIMEOUT_S = 3.0


def looks_like_hub_id(name: str) -> bool:
    """``"owner/name"`` that is not an existing path."""
    if name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") != 1:
        return False
    return not Path(name).expanduser().exists()


def cached_model_index(repo_id: str) -> Path | None:
    """``model_index.json`` of ``repo_id`` in the local hub cache, or ``None``."""
    try:
        found = huggingface_hub.try_to_load_from_cache(repo_id, "model_index.json")
    except ValueError:  # not a valid repository id
        return None
    return Path(found) if isinstance(found, str) else None


def hub_reachable(timeout: float | None = None) -> bool:
    """Whether the hub answers an HTTP request within ``timeout`` seconds (default
    :data:`HUB_PROBE_TIMEOUT_S`), name lookup included; ``False`` at once when ``HF_HUB_OFFLINE`` is set.

    One ``HEAD`` of the endpoint (through the environment's proxy, as the hub client does): a success, a
    redirect or 401/403/404 count as an answer; no answer, a refused connection, a TLS failure or another
    status (an intercepting proxy's 426, a 5xx) do not.
    """
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        return False
    timeout = HUB_PROBE_TIMEOUT_S if timeout is None else timeout
    answers: list[bool] = []

    def probe() -> None:
        request = urllib.request.Request(huggingface_hub.constants.ENDPOINT, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answers.append(response.status < 400)
        except urllib.error.HTTPError as error:
            answers.append(error.code in (401, 403, 404))
        except (OSError, ValueError):  # URLError, timeouts, TLS errors, a malformed endpoint
            answers.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # a stuck name lookup ignores socket timeouts
    thread.start()
    thread.join(timeout)
    return bool(answers and answers[0])


def require_hub_model(repo_id: str, help_text: str) -> Path | None:
    """The cached ``model_index.json`` of ``repo_id``; ``None`` when it is not cached but the hub answers;
    a ``ValueError`` saying why (offline mode, or no answer within the timeout) when neither."""
    cached = cached_model_index(repo_id)
    if cached is not None or hub_reachable():
        return cached
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        why = "HF_HUB_OFFLINE is set"
    else:
        why = (f"the hub ({huggingface_hub.constants.ENDPOINT}) could not be reached within "
               f"{HUB_PROBE_TIMEOUT_S:g} s (offline?)")
    raise ValueError(f"Model {repo_id!r} is not a local folder and could not be read from the Hugging Face hub: "
                     f"it is not in the local cache ({huggingface_hub.constants.HF_HUB_CACHE}) and {why}; "
                     f"download it where the hub is reachable or pass a local folder; {help_text}.")
