"""The app in a real browser: ``python app.py`` as a subprocess, driven through Playwright's Chromium.

Uses the bundled ``world`` model when its weights exist, else ``tiny-random-world`` (same
architecture and captioner, random weights). ``EMS_UI_TEST_MODEL`` overrides the choice.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ems_core import Attribute, EditConfig, EditSession, load_backend
from ems_core.recipe import Recipe, read_recipe

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.png"))  # the order the page shows them in
MODEL = os.environ.get("EMS_UI_TEST_MODEL") or (
    "world" if (ROOT / "assets" / "world-model" / "world_model.json").exists() else "tiny-random-world")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 300
RENDER_TIMEOUT_MS = 120_000
ACTION_TIMEOUT_MS = 60_000

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = sync_api.expect
expect.set_options(timeout=ACTION_TIMEOUT_MS)  # assertions wait like actions: a busy CPU can take over 5 s
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium executable on PATH (the browser tests use the system Chromium)", allow_module_level=True)


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(model: str, log_name: str):
    """``python app.py --model model`` on a free loopback port, its output in ``test-artifacts/log_name``;
    yields its URL."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    log_path = ARTIFACTS / log_name
    threads = str(torch.get_num_threads())  # same CPU threads as the reference renders here: same floats
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--model", model, "--port", str(port), "--host", "127.0.0.1", "--threads", threads],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the app exited with code {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"the app did not answer within {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def app_url():
    with running_app(MODEL, "app.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def backend():
    return load_backend(MODEL)


def app_config(backend) -> EditConfig:
    """The settings the page's form starts with: the backend's edit settings, steps and guidance explicit."""
    info = backend.info
    return info.edit_config.with_(steps=info.default_edit_steps, guidance=info.default_edit_guidance)


def expected_edit(backend, image: Image.Image, source: str, target: str, slider: float,
                  calibrated: bool = True) -> np.ndarray:
    """What the Python API renders with the app's default settings (the slider calibrated, as the page does)."""
    from ems_core.world.captioner import WorldCaptioner

    session = EditSession(backend, image, prompt=WorldCaptioner().caption(image))
    session.set_attribute("colour", source, target)
    degrees = session.calibrated_degrees({"colour": slider}, app_config(backend)) if calibrated else {"colour": slider}
    return np.asarray(session.render(degrees, app_config(backend)).image)


def calibrated_degree(backend, image: Image.Image, source: str, target: str, slider: float) -> float:
    from ems_core.world.captioner import WorldCaptioner

    session = EditSession(backend, image, prompt=WorldCaptioner().caption(image))
    session.set_attribute("colour", source, target)
    return session.calibrated_degrees({"colour": slider}, app_config(backend))["colour"]


class StudioPage:
    """The few interactions the tests need, by element id."""

    def __init__(self, page, url: str):
        self.page = page
        page.set_default_timeout(ACTION_TIMEOUT_MS)  # a CPU shared with training can stall the renderer
        page.goto(url)
        page.wait_for_selector("#prompt textarea")

    def pick_example(self, name: str, examples: list[Path] = EXAMPLES) -> Image.Image:
        """Click the example ``name`` of ``examples`` (the shown folder's PNGs, sorted) and wait for its caption."""
        path = next(p for p in examples if p.stem == name)
        self.page.locator("#examples img").nth(examples.index(path)).click()
        self.page.wait_for_function("document.querySelector('#prompt textarea').value.length > 0",
                                    timeout=RENDER_TIMEOUT_MS)
        return Image.open(path).convert("RGB")

    def set_target(self, target: str) -> None:
        box = self.page.locator("#row0-target input")
        box.fill(target)
        box.press("Enter")

    def move_slider(self, degree: float) -> None:
        """Type the degree (an ``input`` event: live preview) and leave the field (a ``release``)."""
        number = self.page.locator("#row0-degree input[type=number]")
        number.fill(str(degree))
        number.press("Tab")

    def wait_for_move(self, degree: float, name: str = "colour") -> dict[str, list[str]]:
        """Wait until the stats show a full-quality move of ``name`` at ``degree``; returns the table by row label."""
        cell = f"{name} {degree:+.2f}"
        self.page.wait_for_function(
            """cell => [...document.querySelectorAll('#stats tr')].some(tr => tr.cells[0].innerText.trim() === 'latest move'
                   && (tr.cells[1].innerText.trim() === cell || tr.cells[1].innerText.trim().startsWith(cell + ' (')))""",
            arg=cell, timeout=RENDER_TIMEOUT_MS)
        rows = self.page.locator("#stats tr").evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText))")
        return {row[0].strip(): [c.strip() for c in row[1:]] for row in rows}

    def fetch(self, url: str) -> bytes:
        response = self.page.request.get(url)
        assert response.ok, url
        return response.body()

    def comparison(self) -> tuple[np.ndarray, np.ndarray]:
        """The before and after images exactly as the page shows them (PNG from the server)."""
        images = self.page.locator("#comparison img")
        return tuple(np.asarray(Image.open(io.BytesIO(self.fetch(images.nth(i).get_attribute("src")))).convert("RGB"))
                     for i in (0, 1))

    def load_recipe(self, path: Path) -> None:
        with self.page.expect_file_chooser() as chooser:
            self.page.locator("#load-recipe").click()
        chooser.value.set_files(str(path))

    def downloaded_png(self) -> bytes:
        """Press "Save result" and fetch the PNG it offers."""
        self.page.locator("#save-result").click()
        self.page.wait_for_selector("#downloads a[href$='.png']", timeout=RENDER_TIMEOUT_MS)
        links = self.page.locator("#downloads a").evaluate_all("links => links.map(a => a.href)")
        return self.fetch(next(link for link in links if link.endswith(".png")))

    def drag_degree(self, start: float, stop: float, steps: int = 12, midway: str | None = None) -> None:
        """Drag row 0's slider with the mouse from ``start`` to ``stop`` (fractions of its track); with
        ``midway`` (a JavaScript condition), hold the button half-way until it holds, as a user pausing."""
        track = self.page.locator("#row0-degree input[type=range]").bounding_box()
        y = track["y"] + track["height"] / 2
        self.page.mouse.move(track["x"] + track["width"] * start, y)
        self.page.mouse.down()
        for i in range(steps + 1):
            self.page.mouse.move(track["x"] + track["width"] * (start + (stop - start) * i / steps), y)
            self.page.wait_for_timeout(80)
            if midway and i == steps // 2:
                self.page.wait_for_function(midway, timeout=RENDER_TIMEOUT_MS)
        self.page.mouse.up()

    def move_direction(self, index: int, value: float) -> np.ndarray:
        """Type direction slider ``index``'s value, wait for its render and return the shown "after" image."""
        number = self.page.locator(f"#direction{index}-strength input[type=number]")
        number.fill(str(value))
        number.press("Tab")
        self.page.wait_for_function("text => document.querySelector('#direction-stats').innerText.includes(text)",
                                    arg=f"{value:+.2f}", timeout=RENDER_TIMEOUT_MS)
        image = self.page.locator("#direction-view img").nth(1).get_attribute("src")
        return np.asarray(Image.open(io.BytesIO(self.fetch(image))).convert("RGB"))

    def toasts(self) -> list[str]:
        return self.page.locator(".toast-body").all_inner_texts()

    def error_badges(self) -> int:
        """Components marked as failed by gradio (the red "Error" status)."""
        return self.page.locator("[data-testid='status-tracker'].error, .error-badge").count()

    def comparison_view(self, handle_at: float) -> np.ndarray:
        """A screenshot of the before/after box with its handle dragged to ``handle_at`` of its width."""
        box = self.page.locator("#comparison").bounding_box()
        handle = self.page.locator("#comparison [data-testid=slider] .icon-wrap").bounding_box()
        y = handle["y"] + handle["height"] / 2
        self.page.mouse.move(handle["x"] + handle["width"] / 2, y)
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + box["width"] * handle_at, y, steps=10)
        self.page.mouse.up()
        self.page.wait_for_timeout(300)
        return np.asarray(Image.open(io.BytesIO(self.page.locator("#comparison").screenshot())).convert("RGB"))


def first_move(table: dict[str, list[str]]) -> list[str]:
    """The table's first-move row: labelled "first move", or "first move (a drag's preview)" when the drag's preview
    rendered before the release did."""
    return next(cells for label, cells in table.items() if label.startswith("first move"))


def total_ms(text: str) -> float:
    return float(re.search(r"([\d.]+) ms", text).group(1))


def test_edit_in_the_browser_matches_the_python_api(app_url, browser, backend):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), app_url)
    source = studio.pick_example("red-circle")
    expect(studio.page.locator("#prompt textarea")).to_have_value(
        "a large red circle at the middle center on a white background")
    studio.set_target("blue")

    studio.move_slider(0.75)
    studio.wait_for_move(0.75)
    before, after = studio.comparison()
    assert np.array_equal(before, np.asarray(source))
    assert not np.array_equal(after, np.asarray(source))  # the edit changed the image
    np.testing.assert_array_equal(after, expected_edit(backend, source, "red", "blue", 0.75))

    studio.move_slider(0.5)  # a second move: cached, and visibly faster than the first
    table = studio.wait_for_move(0.5)
    first, latest = first_move(table), table["latest move"]  # [degrees, prepare, render, NFE, cache]
    assert first[-1] == "miss" and "prepare" in first[3] and latest[-1] == "hit" and "prepare" not in latest[3]
    prepare_first, render_first = total_ms(first[1]), total_ms(first[2])
    prepare_latest, render_latest = total_ms(latest[1]), total_ms(latest[2])
    assert prepare_latest < prepare_first  # the inversion is not paid twice
    if prepare_latest + render_latest >= prepare_first + render_first:  # wall clock on a shared CPU: noisy
        warnings.warn(f"second move not faster: {latest} vs first {first}")
    header = studio.page.locator("#stats").inner_text()
    assert "Latest move:" in header and "first move:" in header
    _, after = studio.comparison()
    np.testing.assert_array_equal(after, expected_edit(backend, source, "red", "blue", 0.5))

    png = ARTIFACTS / "browser-result.png"
    png.write_bytes(studio.downloaded_png())
    result = Image.open(png)  # the downloadable PNG is the same image and carries the recipe
    np.testing.assert_array_equal(np.asarray(result.convert("RGB")), after)
    recipe = read_recipe(result)
    degree = calibrated_degree(backend, source, "red", "blue", 0.5)  # a recipe keeps the degree rendered
    assert recipe.model == MODEL and recipe.degrees == {"colour": degree}
    assert np.array_equal(np.asarray(recipe.source_pil()), np.asarray(source))

    studio.page.screenshot(path=str(ARTIFACTS / "browser-edit.png"), full_page=True)
    context.close()

    # a new user loads the downloaded PNG: image, prompt, row and degree come back, same pixels
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    restored = StudioPage(context.new_page(), app_url)
    restored.load_recipe(png)
    restored.wait_for_move(degree)  # shown uncalibrated: the slider is the recipe's degree
    expect(restored.page.locator("#prompt textarea")).to_have_value(recipe.source_prompt)
    expect(restored.page.locator("#row0-target input")).to_have_value("blue")
    assert float(restored.page.locator("#row0-degree input[type=number]").input_value()) == pytest.approx(degree, abs=1e-4)
    restored.page.get_by_text("Advanced settings").click()  # the checkbox lives in the closed accordion
    expect(restored.page.locator("#calibrated input")).not_to_be_checked()
    before, again = restored.comparison()
    assert np.array_equal(before, np.asarray(source)) and np.array_equal(again, after)
    context.close()



def test_two_users_editing_at_once_never_see_each_others_images(app_url, browser, backend):
    users = {"red-circle": ("red", "blue"), "blue-square": ("blue", "red")}
    pages, sources = {}, {}
    for name in users:  # separate browser contexts: separate cookies, separate gradio sessions
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pages[name] = StudioPage(context.new_page(), app_url)
        sources[name] = pages[name].pick_example(name)
    for name, (_, target) in users.items():
        pages[name].set_target(target)
    for name in users:  # both moves are queued before either finishes
        pages[name].move_slider(0.75)
    for name, (source, target) in users.items():
        page = pages[name]
        page.wait_for_move(0.75)
        before, after = page.comparison()
        assert np.array_equal(before, np.asarray(sources[name]))
        np.testing.assert_array_equal(after, expected_edit(backend, sources[name], source, target, 0.75))
    pages["blue-square"].page.screenshot(path=str(ARTIFACTS / "browser-second-user.png"), full_page=True)
    for page in pages.values():
        page.page.context.close()


def test_a_whole_target_prompt_round_trips_through_the_page(app_url, browser, backend):
    """A recipe whose attribute is a whole target prompt loads into a row, renders, and downloads unchanged."""
    source = Image.open(next(p for p in EXAMPLES if p.stem == "red-circle")).convert("RGB")
    prompt = "a large red circle at the middle center on a white background"
    whole = Attribute("scene", "", "a small blue star at the top left on a black background", full_prompt=True)
    config = app_config(backend)
    recipe = Recipe(MODEL, prompt, (whole,), {"scene": 0.5}, config).with_source_image(source)
    path = ARTIFACTS / "whole-prompt-recipe.json"
    path.write_text(recipe.to_json())

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), app_url)
    studio.load_recipe(path)
    studio.wait_for_move(0.5, name="scene")
    expect(studio.page.locator("#row0-whole-prompt input")).to_be_checked()
    expect(studio.page.locator("#row0-target input")).to_have_value(whole.target)
    _, after = studio.comparison()
    session = recipe.session(backend)
    np.testing.assert_array_equal(after, np.asarray(session.render(recipe.degrees, recipe.config).image))
    again = read_recipe(Image.open(io.BytesIO(studio.downloaded_png())))
    assert again.attributes == (whole,) and again.degrees == {"scene": 0.5}
    studio.page.screenshot(path=str(ARTIFACTS / "browser-whole-prompt.png"), full_page=True)
    context.close()


def displacement(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """The (dx, dy) in screen pixels that best maps screenshot ``b`` onto ``a`` (phase correlation),
    ignoring the slider handles at either edge."""
    grey = [x.astype(np.float64).mean(axis=-1)[:, 60:-60] for x in (a, b)]
    spectra = [np.fft.fft2(g - g.mean()) for g in grey]
    cross = spectra[0] * np.conj(spectra[1])
    peak = np.fft.ifft2(cross / np.maximum(np.abs(cross), 1e-9)).real
    dy, dx = np.unravel_index(int(np.argmax(peak)), peak.shape)
    height, width = peak.shape
    return (int(dx - width) if dx > width // 2 else int(dx)), (int(dy - height) if dy > height // 2 else int(dy))


def test_drags_show_no_error_and_the_halves_align(app_url, browser):
    """Issue 8, 1-3: no toast while dragging (live preview off and on); before and after halves drawn in
    the same place at degree 0; a bad row gives one warning and no lasting "Error" badges; the fifth row
    cannot be asked for."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), app_url)
    studio.pick_example("blue-square")  # reconstructs at 33 dB (the red circle only at 19 dB: issue 9)
    studio.set_target("red")
    studio.page.locator("text=Advanced settings").click()
    preview = studio.page.locator("#live-preview input")

    preview.uncheck()
    studio.drag_degree(0.34, 0.55)
    studio.page.wait_for_function("[...document.querySelectorAll('#stats tr')].length >= 3",
                                  timeout=RENDER_TIMEOUT_MS)
    studio.page.wait_for_timeout(1500)
    assert studio.toasts() == [] and studio.error_badges() == 0
    assert "latest preview" not in studio.page.locator("#stats").inner_text()

    preview.check()
    preview_shown = ("[...document.querySelectorAll('#stats tr')].some("
                     "tr => tr.cells[0].innerText.trim() === 'latest preview')")
    studio.drag_degree(0.55, 0.40, midway=preview_shown)  # a preview arrives while the button is held
    studio.page.wait_for_timeout(1500)
    assert studio.toasts() == [] and studio.error_badges() == 0

    number = studio.page.locator("#row0-degree input[type=number]")
    number.fill("0")
    number.press("Tab")
    studio.wait_for_move(0.0)
    images = studio.page.locator("#comparison img")
    assert images.nth(0).bounding_box() == images.nth(1).bounding_box()
    source_view = studio.comparison_view(0.97)  # the handle at the right: the source fills the box
    render_view = studio.comparison_view(0.03)  # at the left: its degree-0 render
    assert displacement(source_view, render_view) == (0, 0)
    assert displacement(source_view, np.roll(source_view, 41, axis=0)) == (0, -41)  # the check sees a shift
    studio.page.screenshot(path=str(ARTIFACTS / "browser-degree0.png"), full_page=True)

    source = studio.page.locator("#row0-source textarea")
    source.fill("")
    source.press_sequentially("green", delay=30)  # typed, as a user does (fill() fires no gradio input event)
    studio.page.locator("#render").click()
    studio.page.wait_for_selector(".toast-body", timeout=RENDER_TIMEOUT_MS)
    toasts = studio.toasts()
    assert len(toasts) == 1 and "not in the prompt" in toasts[0] and "Warning" in toasts[0]
    assert studio.error_badges() == 0
    studio.page.wait_for_function("document.querySelector('#stats').innerText.includes('Stale')",
                                  timeout=ACTION_TIMEOUT_MS)  # the image no longer matches the form
    studio.page.screenshot(path=str(ARTIFACTS / "browser-bad-row.png"), full_page=True)
    source.fill("blue")
    studio.page.locator("#render").click()
    studio.page.wait_for_function("!document.querySelector('#stats').innerText.includes('Stale')",
                                  timeout=RENDER_TIMEOUT_MS)
    assert studio.error_badges() == 0

    add = studio.page.locator("#add-row")
    for _ in range(3):
        add.click()
        studio.page.wait_for_timeout(500)
    expect(add).to_be_disabled()
    assert studio.page.locator("#row3-degree").is_visible() and studio.error_badges() == 0
    context.close()


def test_directions_are_discovered_moved_saved_and_applied_to_another_image(app_url, browser, backend):
    """Issue 11, part 4: discover LOCO directions with thumbnails, move one (the same pixels as the Python
    API), save it, open another image (the sliders come along) and load the saved file there."""
    from ems_core.world.captioner import WorldCaptioner
    from ui.workspace import EditRequest, Workspace

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), app_url)
    page = studio.page
    source = studio.pick_example("blue-square")
    page.get_by_role("tab", name="Latent directions").click()
    page.locator("#direction-k input[type=number]").fill("2")
    page.locator("#direction-k input[type=number]").press("Tab")
    page.locator("#discover").click()
    page.wait_for_function("document.querySelector('#direction-report').innerText.includes('Found 2 directions')",
                           timeout=RENDER_TIMEOUT_MS)
    assert page.locator("#direction1-strength").is_visible() and not page.locator("#direction2-strength").is_visible()
    assert page.locator("#direction0-thumb img").count() == 1  # the -1 / +1 thumbnail

    after = studio.move_direction(0, 1.5)
    workspace = Workspace.open(backend, MODEL, source)  # the same work through the Python API
    request = EditRequest(WorldCaptioner().caption(source), (), {}, app_config(backend))
    workspace.discover_directions(request, 2, "none")
    np.testing.assert_array_equal(after, np.asarray(workspace.render_directions(request, [1.5, 0.0]).image))
    page.screenshot(path=str(ARTIFACTS / "browser-directions.png"), full_page=True)

    page.locator("#direction0-save").click()
    page.wait_for_selector("#direction-file a[href$='.safetensors']", timeout=RENDER_TIMEOUT_MS)
    saved = ARTIFACTS / "browser-direction.safetensors"
    saved.write_bytes(studio.fetch(page.locator("#direction-file a").first.get_attribute("href")))

    other = studio.pick_example("red-circle")  # the sliders come along: a transfer
    expect(page.locator("#direction0-strength")).to_contain_text("found on another image")
    page.wait_for_function("document.querySelector('#direction-report').innerText.includes('on this image')",
                           timeout=RENDER_TIMEOUT_MS)  # their thumbnails, redrawn on the new image
    assert page.locator("#direction0-thumb img").count() == 1 and page.locator("#direction1-thumb img").count() == 1
    with page.expect_file_chooser() as chooser:
        page.locator("#load-direction").click()
    chooser.value.set_files(str(saved))
    page.wait_for_function("document.querySelector('#direction-report').innerText.includes('Loaded')",
                           timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#direction2-strength")).to_contain_text("loaded")
    moved = studio.move_direction(2, -1.0)
    from ems_core.directions import load_direction
    from ems_core.edit_directions import render_directions

    direction = load_direction(saved)
    target = Workspace.open(backend, MODEL, other)
    target_request = EditRequest(WorldCaptioner().caption(other), (), {}, app_config(backend))
    session = target.direction_session(target_request)
    expected = render_directions(session, [direction], [[-direction.unit_strength]],
                                 target.direction_config(target_request))[0]
    np.testing.assert_array_equal(moved, np.asarray(expected.image))
    assert studio.toasts() == [] and studio.error_badges() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-directions-transfer.png"), full_page=True)

    recipe = Recipe(MODEL, WorldCaptioner().caption(source), (Attribute("colour", "blue", "red"),), {"colour": 0.5},
                    app_config(backend)).with_source_image(source)
    recipe_path = ARTIFACTS / "directions-recipe.json"
    recipe_path.write_text(recipe.to_json())
    studio.load_recipe(recipe_path)  # the three sliders come along to the restored edit, redrawn on its image
    page.wait_for_function("document.querySelector('#direction-report').innerText.includes('on this image')",
                           timeout=RENDER_TIMEOUT_MS)
    assert all(page.locator(f"#direction{i}-thumb img").count() == 1 for i in range(3))
    assert studio.toasts() == [] and studio.error_badges() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-directions-recipe.png"), full_page=True)
    context.close()


def test_a_nudge_after_a_pause_was_rendered_ahead(app_url, browser):
    """Issue 10, part 2: after a release the app renders the neighbouring positions while the user is idle; the
    next nudge is shown at once, with no model evaluation. So is the very first move of a new image: opening it
    queues its first slider's first-time work (the source path, the calibration, the positions around 0)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), app_url)
    studio.pick_example("orange-square")
    studio.page.wait_for_timeout(8000)  # the user looks at the image (one calibration and a render, busy machine)
    studio.move_slider(0.05)
    stats = studio.wait_for_move(0.05)  # rows: [degrees, prepare, render, NFE, cache]
    assert first_move(stats)[3] == "0" and stats["latest move"][-1] == "hit"  # this image's first move
    studio.page.screenshot(path=str(ARTIFACTS / "browser-first-drag-warmed-up.png"), full_page=True)
    studio.set_target("blue")
    studio.move_slider(0.5)
    assert studio.wait_for_move(0.5)["latest move"][3] != "0"  # a new position: evaluated
    # The user looks at the result; the app renders +-0.6 around it, nearest first (0.55, 0.45, 0.6, ...): the
    # first stop is ready within 4 s even on a busy machine (one render of 8 evaluations; a farther stop may not be).
    studio.page.wait_for_timeout(4000)
    studio.move_slider(0.55)
    latest = studio.wait_for_move(0.55)["latest move"]  # [degrees, prepare, render, NFE, cache]
    assert latest[3] == "0" and latest[-1] == "hit"
    assert studio.toasts() == [] and studio.error_badges() == 0
    studio.page.screenshot(path=str(ARTIFACTS / "browser-rendered-ahead.png"), full_page=True)
    context.close()


def test_a_painted_region_restricts_discovered_directions(app_url, browser):
    """Issue 11, part 4: the region drawn with the image editor; its directions are labelled "painted"."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), app_url)
    page = studio.page
    studio.pick_example("red-circle")
    page.get_by_role("tab", name="Latent directions").click()
    page.get_by_text("Paint a region").click()
    page.locator("#direction-paint button[aria-label='Brush']").click()
    box = page.locator("#direction-paint canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 30, y - 20)
    page.mouse.down()
    for i in range(16):
        page.mouse.move(x - 30 + 4 * i, y - 20 + 3 * i)
        page.wait_for_timeout(20)
    page.mouse.up()
    page.locator("#direction-region").get_by_text("painted below").click()
    page.locator("#direction-k input[type=number]").fill("1")
    page.locator("#direction-k input[type=number]").press("Tab")
    page.locator("#discover").click()
    page.wait_for_function("document.querySelector('#direction-report').innerText.includes('Found 1 direction')",
                           timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#direction0-strength")).to_contain_text("LOCO #1 (painted")
    assert studio.toasts() == [] and studio.error_badges() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-painted-region.png"), full_page=True)
    context.close()


PORTRAIT_EXAMPLES = sorted((ROOT / "assets" / "examples-portraits").glob("*.png"))


@pytest.fixture(scope="module")
def portrait_app_url():
    """The app on the bundled portrait model (``--model world-portraits``)."""
    if not (ROOT / "assets" / "world-portraits" / "world_model.json").exists():
        pytest.skip("the bundled portrait weights are not in this checkout")
    with running_app("world-portraits", "app-portraits.log") as url:
        yield url


def test_a_frown_becomes_a_beam_and_the_rest_of_the_face_stays(portrait_app_url, browser):
    """Issue 12's stage demo on the bundled portrait model: a frowning example opens on its smile slider towards
    "beaming"; at each release the oracle reads the smile rising, "beaming" at the end, and every other attribute,
    the head's position and tilt and the background texture kept within the quality benchmark's tolerances."""
    from ems_core.bench.portrait_quality import portrait_kept
    from ems_core.portraits.captioner import PortraitCaptioner

    captioner = PortraitCaptioner()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    studio = StudioPage(context.new_page(), portrait_app_url)
    source = studio.pick_example("frowning-young", PORTRAIT_EXAMPLES)
    expect(studio.page.locator("#row0-source textarea")).to_have_value("frowning")
    expect(studio.page.locator("#row0-target input")).to_have_value("beaming")
    read = [captioner.measure(source)]
    for degree in (0.5, 1.0):
        studio.move_slider(degree)
        studio.wait_for_move(degree, "smile")
        before, after = studio.comparison()
        assert np.array_equal(before, np.asarray(source))
        read.append(captioner.measure(Image.fromarray(after)))
        kept = portrait_kept(read[0], read[-1], ["smile"])
        assert all(kept.values()), {name: ok for name, ok in kept.items() if not ok}
    smiles = [measurement.smile for measurement in read]
    assert smiles[0] + 0.1 < smiles[1] < smiles[2] - 0.1 and read[-1].words["smile"] == "beaming", smiles
    assert studio.toasts() == [] and studio.error_badges() == 0
    studio.page.screenshot(path=str(ARTIFACTS / "browser-portrait-smile.png"), full_page=True)
    context.close()
