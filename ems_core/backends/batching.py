"""Batch concurrent slider moves of several users into one transformer call.

:class:`BatchingBackend` wraps a shared backend for a server whose requests run in several threads.
A thread that asks for a velocity while another thread's transformer call is running waits; when that
call ends, the first waiting thread runs *every* request that has arrived meanwhile as one batch (rows
concatenated, grouped by shape), and each thread gets its own rows back. A lone user never waits: with
nothing running, its call runs at once, so batching only happens under load, where it pays (one call
costs a fixed ~11 ms plus ~12 ms per row on the bundled model on this CPU: docs/performance.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch

from ..embeddings import PromptEmbedding
from .contract import Backend, ForwardingBackend

__all__ = ["BatchingBackend"]


@dataclass
class _Request:
    latents: torch.Tensor  # (B, C, h, w)
    t: torch.Tensor  # (B,)
    embedding: PromptEmbedding
    result: torch.Tensor | None = None
    error: BaseException | None = None
    done: bool = False
    key: tuple = field(init=False)

    def __post_init__(self) -> None:
        e = self.embedding
        self.key = (tuple(self.latents.shape[1:]), tuple(e.tokens.shape[1:]), tuple(e.pooled.shape[1:]),
                    self.latents.dtype, self.latents.device, torch.is_grad_enabled())


class BatchingBackend(ForwardingBackend):
    """A backend whose ``velocity`` merges the requests of concurrent threads (module docstring).

    Args:
        backend: the shared backend to wrap.
        max_rows: at most this many latent rows in one transformer call (memory bound).
    """

    def __init__(self, backend: Backend, max_rows: int = 64):
        if max_rows < 1:
            raise ValueError("max_rows must be >= 1")
        super().__init__(backend)
        self.max_rows = max_rows
        self._condition = threading.Condition()
        self._pending: list[_Request] = []
        self._running = False
        self.calls = 0  # transformer calls made
        self.requests = 0  # velocity requests served

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        request = _Request(latents, t.reshape(-1).expand(latents.shape[0]), embedding)
        with self._condition:
            self._pending.append(request)
            while not request.done:
                if self._running:
                    self._condition.wait()
                    continue
                self._running = True  # this thread leads: it runs what is pending, oldest first
                batch = self._take()
                self._condition.release()
                try:
                    self._run(batch)
                finally:
                    self._condition.acquire()
                    self._running = False
                    self._condition.notify_all()
        return self._outcome(request)

    def _take(self) -> list[_Request]:
        """Pending requests up to ``max_rows`` rows (at least one), oldest first; the rest stay pending."""
        taken, rows = [], 0
        while self._pending and (not taken or rows + self._pending[0].latents.shape[0] <= self.max_rows):
            request = self._pending.pop(0)
            taken.append(request)
            rows += request.latents.shape[0]
        return taken

    def _run(self, batch: list[_Request]) -> None:
        groups: dict[tuple, list[_Request]] = {}
        for request in batch:
            groups.setdefault(request.key, []).append(request)
        for group in groups.values():
            try:
                with torch.set_grad_enabled(group[0].key[-1]):
                    v = self.inner.velocity(
                        torch.cat([r.latents for r in group]), torch.cat([r.t for r in group]),
                        PromptEmbedding.cat([r.embedding for r in group]))
                start = 0
                for request in group:
                    rows = request.latents.shape[0]
                    request.result = v[start:start + rows]
                    start += rows
            except BaseException as error:  # every waiting thread hears of it
                for request in group:
                    request.error = error
            self.calls += 1
            self.requests += len(group)
            for request in group:
                request.done = True

    @staticmethod
    def _outcome(request: _Request) -> torch.Tensor:
        if request.error is not None:
            raise request.error
        return request.result
