"""Rendering ahead while users are idle (issue 10, part 2): the positions, the gate, the background thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ems_core import Attribute, EditSession, default_captioner
from ems_core.anticipate import ANTICIPATED_POSITIONS, neighbour_positions
from ui import Studio
from ui.anticipation import Anticipator, ModelGate, Yielded, moved_attribute
from ui.workspace import EditRequest

CAPTION = "a large red circle at the middle center on a white background"


def test_neighbour_positions_are_the_slider_grid_nearest_first():
    positions = neighbour_positions(0.5)
    assert positions[:4] == [0.55, 0.45, 0.6, 0.4] and 0.5 not in positions
    assert len(positions) == 60 and min(positions) == -1.0 and max(positions) == 2.0  # 61 slider stops
    assert neighbour_positions(2.0, limit=3) == [1.95, 1.9, 1.85]  # at the end: one side only
    assert neighbour_positions(0.52, 0.25, (0.0, 1.0)) == [0.5, 0.75, 0.25, 1.0, 0.0]  # off-grid: its stop is next
    window = neighbour_positions(0.0, limit=ANTICIPATED_POSITIONS)
    assert max(abs(p) for p in window) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="positive"):
        neighbour_positions(0.0, 0.0)


def test_memoised_renders_nothing(tiny_world, red_circle):
    session = EditSession(tiny_world, red_circle, prompt=CAPTION)
    session.set_attribute("colour", "red", "blue")
    assert session.memoised({"colour": 0.5}) is None and session.total_nfe == 0
    rendered = session.render({"colour": 0.5})
    again = session.memoised({"colour": 0.5})
    assert again.nfe == 0 and np.array_equal(np.asarray(again.image), np.asarray(rendered.image))


def test_background_work_gives_way_to_a_real_request_within_one_step():
    gate = ModelGate()
    steps, started = [], threading.Event()

    def background():
        with gate.background() as taken:
            assert taken
            started.set()
            try:
                for i in range(500):  # 5 s of "evaluations" unless it yields
                    time.sleep(0.01)
                    gate.yield_if_wanted()
                    steps.append(i)
            except Yielded:
                steps.append("yielded")

    thread = threading.Thread(target=background)
    thread.start()
    started.wait(5)
    tick = time.monotonic()
    with gate.foreground():
        waited = time.monotonic() - tick
    thread.join(5)
    assert steps[-1] == "yielded" and waited < 0.5
    taken = []

    def try_background():
        with gate.background(timeout_s=0.05) as ok:
            taken.append(ok)

    with gate.foreground():  # while a real request holds the model, background work does not start
        other = threading.Thread(target=try_background)
        other.start()
        other.join(5)
    assert taken == [False]


@pytest.fixture()
def studio(tiny_world):
    studio = Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world), anticipate=True)
    yield studio
    studio.anticipator.close()


def request(studio: Studio, degree: float) -> EditRequest:
    return EditRequest(CAPTION, (Attribute("colour", "red", "blue"),), {"colour": degree},
                       studio.default_config().with_(steps=5))


def test_after_a_release_the_neighbours_are_rendered_ahead_and_cost_nothing(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    studio.render(workspace, request(studio, 0.5))
    assert studio.anticipator.wait_idle(120)
    assert studio.anticipator.rendered >= ANTICIPATED_POSITIONS - 3  # the calibration's own renders may cover some
    studio.anticipator.cancel(workspace)
    for position in neighbour_positions(0.5, limit=ANTICIPATED_POSITIONS):  # every one is there already
        assert not workspace.anticipate(request(studio, 0.5), "colour", position)
    nudged = studio.render(workspace, request(studio, 0.65))
    move = workspace.latest_move
    assert move.nfe == 0 and move.prepare_nfe == 0
    fresh = Studio(studio.backend, studio.model, studio.captioner)  # no rendering ahead
    other = fresh.open_image(red_circle).workspace
    fresh.render(other, request(fresh, 0.5))  # the same calibration, fitted the same way
    expected = fresh.render(other, request(fresh, 0.65))
    assert other.latest_move.nfe == 8 and fresh.anticipator is None
    assert np.array_equal(np.asarray(nudged.comparison[1]), np.asarray(expected.comparison[1]))
    # a drag over a position rendered ahead shows the full-quality render, not a 4-evaluation preview
    studio.anticipator.cancel(workspace)
    shown = studio.preview(workspace, request(studio, 0.4))
    assert workspace.latest_preview.nfe == 0 and shown is not None


def test_an_opened_image_is_warmed_up_so_that_the_first_drag_costs_nothing(studio, red_circle):
    cold = studio.open_image(red_circle).workspace  # no warm-up: the first drag pays the image's first-time work
    studio.preview(cold, request(studio, 0.1))
    assert cold.latest_preview.prepare_nfe >= 8 + 72 and cold.latest_preview.nfe > 0  # source path, calibration
    workspace = studio.open_image(red_circle).workspace
    assert studio.warm_up(workspace, request(studio, 0.0))
    assert studio.anticipator.wait_idle(120) and studio.anticipator.rendered >= ANTICIPATED_POSITIONS - 3
    shown = studio.preview(workspace, request(studio, 0.1))
    assert shown is not None and workspace.latest_preview.nfe == 0 and workspace.latest_preview.prepare_nfe == 0
    assert np.array_equal(np.asarray(shown.comparison[1]),  # the full-quality render the release would show
                          np.asarray(studio.render(cold, request(studio, 0.1)).comparison[1]))
    assert not studio.warm_up(workspace, request(studio, 0.0))  # the user has moved: releases take over
    studio.preview(workspace, request(studio, 1.7))  # beyond the positions rendered ahead: a preview, prepared
    assert workspace.latest_preview.nfe == 4 and workspace.latest_preview.prepare_nfe == 0
    unfinished = EditRequest(CAPTION, (Attribute("colour", "purple", "blue"),), {}, studio.default_config())
    assert not studio.warm_up(studio.open_image(red_circle).workspace, unfinished)  # "purple" is not in the prompt
    assert not Studio(studio.backend, studio.model, studio.captioner).warm_up(workspace, request(studio, 0.0))


def test_a_releases_job_runs_before_a_newly_opened_images(studio, red_circle):
    """A warm-up is more speculative than a release's job (the image may be left unmoved, the tab closed): it
    waits while any release's job is pending; jobs of one kind take turns."""
    from ui.anticipation import _Job

    anticipator = Anticipator(ModelGate())  # its thread is never started: _next is read directly
    opened, released, other = (studio.open_image(red_circle).workspace for _ in range(3))
    anticipator._jobs[id(opened)] = _Job(opened, request(studio, 0.0), "colour", [0.05], warm_up=True)
    anticipator._jobs[id(released)] = _Job(released, request(studio, 0.5), "colour", [0.55])
    anticipator._jobs[id(other)] = _Job(other, request(studio, 0.5), "colour", [0.45])
    assert [anticipator._next().workspace for _ in range(3)] == [released, other, released]
    del anticipator._jobs[id(released)], anticipator._jobs[id(other)]
    assert anticipator._next().workspace is opened


def test_a_new_request_cancels_its_workspace_job_and_release_drops_it(studio, red_circle):
    workspace = studio.open_image(red_circle).workspace
    studio.anticipator.positions = 200  # more than the grid: the job would take a while
    studio.render(workspace, request(studio, 0.0))
    assert studio.anticipator.pending() > 0
    studio.release(workspace)
    assert studio.anticipator.pending() == 0


def test_the_moved_attribute_is_the_one_whose_degree_changed(studio):
    first = EditRequest(CAPTION, (Attribute("colour", "red", "blue"), Attribute("size", "large", "small")),
                        {"colour": 0.5, "size": 0.0}, studio.default_config())
    second = EditRequest(first.prompt, first.attributes, {"colour": 0.5, "size": 0.3}, first.config)
    assert moved_attribute(first, second) == "size" and moved_attribute(None, second) == "colour"
    assert moved_attribute(None, EditRequest(CAPTION, (), {}, first.config)) is None


def test_a_failing_job_is_dropped_and_the_thread_lives_on():
    class Broken:
        def renders_that_fit(self):
            return 2  # a big model's renders: only two fit in half the memo

        def anticipate(self, *args):
            raise RuntimeError("boom")

    anticipator = Anticipator(ModelGate())
    attributes = (Attribute("colour", "red", "blue"),)
    from ems_core import EditConfig

    anticipator.submit(Broken(), EditRequest(CAPTION, attributes, {"colour": 0.0}, EditConfig()), "colour")
    assert anticipator.pending() == 2  # never more positions than the memo can keep
    assert anticipator.wait_idle(5) and anticipator._thread.is_alive()
    anticipator.close()
    assert not anticipator._thread.is_alive()


def test_concurrent_users_are_served_at_once_and_one_users_events_never_interleave(tiny_world, red_circle,
                                                                                 blue_square):
    """``concurrency`` > 1: two users' renders run at once through one batching backend; one user's two events
    are kept apart by the workspace's lock; the pixels equal a serial render's."""
    from ems_core.backends.batching import BatchingBackend

    studio = Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world), concurrency=2, batch=True)
    assert isinstance(studio.backend, BatchingBackend)
    assert not isinstance(Studio(tiny_world, "tiny-random-world", concurrency=2).backend, BatchingBackend)
    serial = Studio(tiny_world, "tiny-random-world", default_captioner(tiny_world))
    prompts = {"red": CAPTION, "blue": "a medium blue square at the top left on a white background"}
    images = {"red": red_circle, "blue": blue_square}
    attributes = {"red": Attribute("colour", "red", "blue"), "blue": Attribute("colour", "blue", "red")}
    config = studio.default_config().with_(steps=5)
    workspaces = {k: studio.open_image(images[k]).workspace for k in images}
    results, inside, overlaps = {}, {"red": 0}, []

    def user(key: str, degree: float) -> None:
        results[(key, degree)] = studio.render(workspaces[key], EditRequest(prompts[key], (attributes[key],),
                                                                           {"colour": degree}, config))

    original = type(workspaces["red"]).render

    def watched(self, request, progress=None):  # count overlapping events of the red user
        if self is workspaces["red"]:
            inside["red"] += 1
            overlaps.append(inside["red"])
            try:
                return original(self, request, progress)
            finally:
                inside["red"] -= 1
        return original(self, request, progress)

    type(workspaces["red"]).render = watched
    try:
        threads = [threading.Thread(target=user, args=args)
                   for args in (("red", 0.5), ("blue", 0.5), ("red", 1.0))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        type(workspaces["red"]).render = original
    assert max(overlaps) == 1 and len(results) == 3
    for (key, degree), rendered in results.items():
        alone = serial.open_image(images[key]).workspace
        expected = serial.render(alone, EditRequest(prompts[key], (attributes[key],), {"colour": degree}, config))
        assert np.array_equal(np.asarray(rendered.comparison[1]), np.asarray(expected.comparison[1]))
    with pytest.raises(ValueError, match="concurrency"):
        Studio(tiny_world, "tiny-random-world", concurrency=0)
