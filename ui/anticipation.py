"""Rendering ahead while users are idle, without ever delaying a real request (issue 10, part 2).

- :class:`ModelGate`: one model per process. Real requests (the page's compute events) take it with
  :meth:`ModelGate.foreground`; background work takes it with :meth:`ModelGate.background` and checks
  :meth:`ModelGate.yield_if_wanted` between model evaluations (the session's progress callback), giving it up
  as soon as a real request waits. A real request so waits at most one evaluation (a few ms on the bundled model).
- :class:`Anticipator`: after a full-quality release, the slider positions around the new one
  (:func:`ems_core.anticipate.neighbour_positions`) are rendered one by one into the workspace's memo by one
  background thread, so a later move there costs no evaluation. A newer request of the same workspace cancels
  its job; a job that gave way resumes once the model is free. Jobs are kept for at most
  :data:`MAX_JOBS` workspaces (the oldest dropped). A newly opened image gets the same job for its first slider
  (a *warm-up*), which runs only while no release's job is pending.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from ems_core.anticipate import ANTICIPATED_POSITIONS, neighbour_positions

from .errors import log
from .workspace import EditRequest, Workspace

__all__ = ["ANTICIPATED_POSITIONS", "Anticipator", "ModelGate", "Yielded", "moved_attribute"]

MAX_JOBS = 16
START_DELAY_S = 0.15  # after a release, wait this long (a drag may follow at once)


class Yielded(Exception):
    """Background work stopped between two evaluations because a real request wants the model."""


class ModelGate:
    """Real requests first; background work between evaluations only (module docstring).

    Real requests share the model (several may run at once when the app serves users concurrently; each
    user's own events are kept apart by the workspace's lock); background work runs only while none runs or
    waits.
    """

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._active = 0  # real requests running
        self._waiting = 0  # real requests waiting for background work to give way
        self._background = False
        self.closed = False  # the process is exiting: background work stops at its next step

    @contextmanager
    def foreground(self) -> Iterator[None]:
        with self._state:
            self._waiting += 1
            try:
                while self._background:
                    self._state.wait()
            finally:
                self._waiting -= 1
            self._active += 1
        try:
            yield
        finally:
            with self._state:
                self._active -= 1
                self._state.notify_all()

    @property
    def wanted(self) -> bool:
        """Whether a real request runs or waits (or the process is exiting)."""
        return self._waiting > 0 or self._active > 0 or self.closed

    @contextmanager
    def background(self, timeout_s: float = 1.0) -> Iterator[bool]:
        """Take the model for background work when no real request runs or waits (yields whether it was taken
        within ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._state:
            while self.wanted and not self.closed and time.monotonic() < deadline:
                self._state.wait(max(0.0, deadline - time.monotonic()))
            taken = not self.wanted
            self._background = taken
        try:
            yield taken
        finally:
            if taken:
                with self._state:
                    self._background = False
                    self._state.notify_all()

    def yield_if_wanted(self, fraction: float = 0.0, message: str = "") -> None:
        """A progress callback for background renders: raise :class:`Yielded` when a real request waits."""
        if self.wanted:
            raise Yielded(message)


@dataclass
class _Job:
    workspace: Workspace
    request: EditRequest
    name: str
    positions: list[float]
    warm_up: bool = False  # a newly opened image's job: it runs only when no release's job waits
    not_before: float = field(default_factory=lambda: time.monotonic() + START_DELAY_S)


class Anticipator:
    """One background thread that renders slider positions ahead for every workspace (module docstring)."""

    def __init__(self, gate: ModelGate, positions: int = ANTICIPATED_POSITIONS):
        self.gate, self.positions = gate, positions
        self._jobs: OrderedDict[int, _Job] = OrderedDict()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.rendered = 0  # positions rendered ahead (memo hits excluded)
        self.yielded = 0  # renders given up for a real request

    def submit(self, workspace: Workspace, request: EditRequest, name: str, warm_up: bool = False) -> None:
        """Render ``name``'s neighbouring slider positions of ``request`` for ``workspace`` (replacing its job).
        ``warm_up``: the job of a newly opened image (``Studio.warm_up``), more speculative than a release's (the
        image may be left without a move): it waits while any release's job is pending."""
        if name not in request.degrees and name not in {a.name for a in request.attributes}:
            return
        limit = min(self.positions, workspace.renders_that_fit())  # 1024 px SD3 renders: 8 fit in half the memo
        positions = neighbour_positions(request.degrees.get(name, 0.0), limit=limit)
        with self._changed:
            self._jobs.pop(id(workspace), None)
            self._jobs[id(workspace)] = _Job(workspace, request, name, positions, warm_up)
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
            self._changed.notify()
        self._start()

    def cancel(self, workspace: Workspace | None) -> None:
        """Drop ``workspace``'s job (a newer request, or the user left)."""
        if workspace is None:
            return
        with self._changed:
            self._jobs.pop(id(workspace), None)

    def pending(self) -> int:
        """Positions still to render, over every job."""
        with self._changed:
            return sum(len(job.positions) for job in self._jobs.values())

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until every job is done (tests, benchmarks); returns whether it was within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.02)
        return False

    # ----- the thread ----------------------------------------------------------------------------
    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread at its next step and wait for it (registered at exit: a thread killed inside a torch
        call aborts the interpreter)."""
        self.gate.closed = True
        with self._changed:
            self._jobs.clear()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _start(self) -> None:
        if self.gate.closed:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="ems-anticipation", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def _next(self) -> _Job | None:
        with self._changed:
            while not self._jobs and not self.gate.closed:
                self._changed.wait()
            if self.gate.closed:
                return None
            releases = [job for job in self._jobs.values() if not job.warm_up]
            job = (releases or list(self._jobs.values()))[0]
            self._jobs.move_to_end(id(job.workspace))  # round robin over users, releases' jobs first
            return job

    def _run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            delay = job.not_before - time.monotonic()
            if delay > 0 or self.gate.wanted:
                time.sleep(max(delay, 0.01))
                continue
            with self.gate.background() as taken:
                if not taken:
                    continue
                with self._changed:
                    if self._jobs.get(id(job.workspace)) is not job:  # cancelled or replaced meanwhile
                        continue
                    if not job.positions:
                        del self._jobs[id(job.workspace)]
                        continue
                    position = job.positions[0]
                try:
                    rendered = job.workspace.anticipate(job.request, job.name, position, self.gate.yield_if_wanted)
                except Yielded:
                    self.yielded += 1
                    continue
                except Exception as error:  # never let a bad job kill the thread: drop it, log it
                    log.warning("anticipation dropped for one workspace: %s", error)
                    self.cancel(job.workspace)
                    continue
                self.rendered += int(rendered)
                with self._changed:
                    if job.positions and job.positions[0] == position:
                        job.positions.pop(0)
                    if not job.positions and self._jobs.get(id(job.workspace)) is job:
                        del self._jobs[id(job.workspace)]


def moved_attribute(previous: EditRequest | None, request: EditRequest) -> str | None:
    """The attribute whose slider this request moved (the first row when nothing tells)."""
    names = [a.name for a in request.attributes]
    if not names:
        return None
    if previous is not None:
        for name in names:
            if previous.degrees.get(name, 0.0) != request.degrees.get(name, 0.0):
                return name
    return names[0]

