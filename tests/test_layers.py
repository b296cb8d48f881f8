"""The library's layers: no module imports from a layer above its own, and nothing imports gradio.

Lower layers are the maths and data types; higher ones compose them. A module may import from its own
layer or below (lazy imports inside functions included, ``TYPE_CHECKING`` blocks excluded).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ems_core"

#: Module prefixes (relative to ems_core) by layer, lowest first; the longest matching prefix wins.
LAYERS: dict[str, int] = {
    "embeddings": 0, "config": 0, "images": 0, "loading": 0,
    "manipulate": 1, "alignment": 1, "calibration": 1, "anticipate": 1, "extract": 1, "metrics": 1,
    "backends.contract": 1,
    "sampling": 2, "refine": 2, "directions": 2, "world": 2, "portraits": 2, "baselines": 2,
    "backends": 3,
    "session": 4, "recipe": 4, "edit_directions": 4,
    "bench": 5, "cli": 5, "__init__": 5, "__main__": 5,
}


def layer_of(module: str) -> int:
    matches = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    if not matches:
        raise AssertionError(f"ems_core.{module} is in no layer: add it to LAYERS")
    return LAYERS[max(matches, key=len)]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[str]:
    """``ems_core`` modules (relative names) and other top-level packages that ``path`` imports."""
    tree = ast.parse(path.read_text())
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    skipped = set()
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks are annotations only
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    names = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # `from . import x`: x is a module
                    names += [f"{target}.{alias.name}".strip(".") for alias in node.names]
                else:
                    names.append(target)
            elif node.module and node.module.startswith("ems_core"):
                names.append(node.module.removeprefix("ems_core").strip(".") or "__init__")
            elif node.module:
                names.append("!" + node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names += ["!" + alias.name.split(".")[0] for alias in node.names]
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_import_runs_up_a_layer(path):
    own = layer_of(module_name(path))
    for name in imported_modules(path):
        if name.startswith("!"):
            assert name not in ("!gradio", "!ui"), f"ems_core.{module_name(path)} imports {name[1:]}"
            continue
        assert layer_of(name) <= own, (f"ems_core.{module_name(path)} (layer {own}) imports ems_core.{name} "
                                       f"(layer {layer_of(name)})")


def test_the_checker_sees_a_violation(tmp_path):
    """The parser above resolves relative imports (so the test can fail)."""
    assert imported_modules(PACKAGE / "session.py").count("refine") == 1
    assert "backends.contract" in imported_modules(PACKAGE / "sampling" / "guidance.py")
    assert layer_of("session") > layer_of("sampling.ode") > layer_of("embeddings")
