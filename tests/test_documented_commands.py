"""Every ``python -m ems_core ...`` command the README, docs and model cards show in a code block parses with
today's command line: a renamed or removed flag breaks the documentation, and this test, together."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ems_core.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "assets").glob("*/MODEL_CARD.md"))]
SHELL_TAIL = re.compile(r"\s(?:>>?|\||&&|2>&1|#|&$)")
PLACEHOLDER = re.compile(r"<[^>]*>|\[[^\]]*\]|\.\.\.|\$")  # <folder>, [--option], ..., $variable


def code_lines(text: str) -> list[str]:
    """The lines of fenced and indented (4 spaces after a blank line) code blocks, continuations joined."""
    lines, fenced, indented, previous_blank = [], False, False, True
    for line in text.replace("\\\n", " ").splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        indented = line.startswith("    ") and (indented or previous_blank) and not fenced
        if fenced or indented:
            lines.append(line.strip())
        previous_blank = not line.strip()
    return lines


def documented_commands() -> list[tuple[str, str]]:
    commands = []
    for page in PAGES:
        for line in code_lines(page.read_text()):
            if line.startswith("python -m ems_core ") and not PLACEHOLDER.search(line):
                commands.append((str(page.relative_to(ROOT)), SHELL_TAIL.split(line)[0].strip()))
    return commands


COMMANDS = documented_commands()


def test_the_pages_show_commands_to_check():
    pages = {page for page, _ in COMMANDS}
    assert len(COMMANDS) >= 40 and {"README.md", "docs/training.md", "assets/world-portraits/MODEL_CARD.md"} <= pages


@pytest.mark.parametrize("page, command", COMMANDS, ids=[f"{p}:{i}" for i, (p, _) in enumerate(COMMANDS)])
def test_a_documented_command_parses(page, command):
    build_parser().parse_args(shlex.split(command)[3:])
