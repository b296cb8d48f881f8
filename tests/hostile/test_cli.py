"""The command line on hostile input: every expected failure is one ``error: ...`` line and status 2,
before any model is loaded."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ems_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "assets" / "examples" / "red-circle.png")


@pytest.fixture()
def no_model(monkeypatch):
    """Fail the test if a command gets as far as loading a model."""
    import ems_core.cli.edit
    import ems_core.cli.generate

    def load_model(args):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(ems_core.cli.edit, "load_model", load_model)
    monkeypatch.setattr(ems_core.cli.generate, "load_model", load_model)


def error_line(capsys, argv) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and captured.out == "", captured.err
    return lines[0]


def edit(*extra: str, image: str = EXAMPLE, out: str = "{tmp}/o.png") -> list[str]:
    return ["edit", "--model", "tiny-random-world", "--image", image, "--edit", "red->blue=0.5", "--out", out, *extra]


CASES = {
    "bomb image": (dict(image="{corpus}/bomb-30000x30000.png"), r"bomb-30000x30000.png is too large \(900 MP\)"),
    "truncated image": (dict(image="{corpus}/truncated.png"), r"truncated.png could not be decoded"),
    "not an image": (dict(image="{corpus}/not-an-image.png"), r"not an image in a supported format"),
    "postscript": (dict(image="{corpus}/postscript.eps"), r"not an image in a supported format"),
    "cuda on a CPU machine": ((["--device", "cuda"]), r"device 'cuda' is not available here"),
    "unknown device": ((["--device", "gpu0"]), r"unknown device 'gpu0'"),
    "bad dtype": ((["--dtype", "int8"]), r"unknown dtype 'int8'"),
    "bad --out extension": (dict(out="{tmp}/o.xyz"), r"--out '.*o.xyz': the file name must end in .png, .jpg"),
    "--out is a folder": (dict(out="{tmp}"), r"the file name must end in"),
    "--out under a file": (dict(out="{corpus}/gray16.png/o.png"), r"cannot make its folder"),
    "seed 2**70": ((["--seed", str(2**70)]), r"--seed must be an integer in \[0, 4294967295\], got 1180591620717411303424"),
    "seed -1": ((["--seed", "-1"]), r"--seed must be an integer in \[0, 4294967295\], got -1"),
    "seed abc": ((["--seed", "abc"]), r"argument --seed: invalid int value: 'abc'"),
    "steps 150": ((["--steps", "150"]), r"--steps must be an integer in \[1, 100\]"),
    "steps 2.5": ((["--steps", "2.5"]), r"argument --steps: invalid int value: '2.5'"),
    "refine iters 1e9": ((["--refine-iters", "1000000000"]), r"--refine-iters must be an integer in \[0, 50\]"),
    "start time 0": ((["--start-time", "0"]), r"--start-time must be a finite number in \(0, 1\]"),
    "guidance nan": ((["--guidance", "nan"]), r"--guidance must be a finite number in \[0, 30\]"),
    "1000 degrees": ((["--degrees", ",".join(["0.5"] * 1000)]), r"--degrees has 1000 values; a sweep has at most 16"),
    "degree out of range": ((["--degrees", "0,5"]), r"--degrees value 5.0 is outside the allowed range"),
    "unknown flag": ((["--bogus"]), r"unrecognized arguments: --bogus"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_hostile_argument_is_one_line_before_any_model_work(case, capsys, tmp_path, corpus, no_model):
    change, message = CASES[case]
    folder = str(next(iter(corpus.values())).parent)
    fill = lambda text: text.replace("{tmp}", str(tmp_path)).replace("{corpus}", folder)  # noqa: E731
    argv = [fill(arg) for arg in (edit(**change) if isinstance(change, dict) else edit(*change))]  # no "{tmp}" left
    if case == "cuda on a CPU machine":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    if case == "degree out of range":
        argv[argv.index("red->blue=0.5")] = "red->blue"
    started = time.perf_counter()
    line = error_line(capsys, argv)
    assert __import__("re").search(message, line), line
    assert time.perf_counter() - started < 2.0


def test_many_edits_and_long_prompts(capsys, tmp_path, no_model):
    many = [a for i in range(16) for a in ("--edit", f"red->blue{i}=0.5")]  # and edit()'s own: 17
    assert "17 --edit flags; at most 16" in error_line(capsys, edit(*many))
    assert "--prompt is too long (3000 characters" in error_line(capsys, edit("--prompt", "a" * 3000))
    out = str(tmp_path / "g.png")
    assert "--prompt is too long" in error_line(capsys, ["generate", "--prompt", "a" * 3000, "--out", out])
    assert "--seed must be" in error_line(capsys, ["generate", "--prompt", "a", "--seed", "-3", "--out", out])
    assert "must end in" in error_line(capsys, ["generate", "--prompt", "a", "--out", str(tmp_path / "g.gif")])
    assert "must end in" in error_line(capsys, ["world", "render", "--caption", "a red circle", "--out", "s.txt"])


def test_big_image_is_refused_before_decoding(capsys, tmp_path, big_corpus, no_model):
    started = time.perf_counter()
    line = error_line(capsys, edit(image=str(big_corpus["big-13000x13000.png"]), out=str(tmp_path / "o.png")))
    assert "too large (13000x13000, 169 MP); the limit is 40 MP" in line and time.perf_counter() - started < 1.0


def test_subprocess_exit_status_and_single_line(tmp_path, corpus):
    proc = subprocess.run([sys.executable, "-m", "ems_core", *edit(image=str(corpus["bomb-30000x30000.png"]),
                                                                   out=str(tmp_path / "o.png"))],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("error: ") and "too large (900 MP)" in lines[0]
