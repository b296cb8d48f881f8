"""The hostile corpus: the committed small files (``corpus/``) and the big ones, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .make_corpus import CORPUS_DIR, small_names, write_big


@pytest.fixture(scope="session")
def corpus() -> dict[str, Path]:
    """name -> path of every small hostile file (committed; ``python tests/hostile/make_corpus.py`` rebuilds)."""
    paths = {name: CORPUS_DIR / name for name in small_names()}
    missing = [name for name, path in paths.items() if not path.is_file()]
    assert not missing, f"run `python tests/hostile/make_corpus.py`: missing {missing}"
    return paths


@pytest.fixture(scope="session")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> path of the big hostile files (never committed; about 15 MB, 2 s to build)."""
    return write_big(tmp_path_factory.mktemp("hostile-big"))
