"""Command line: ``python -m ems_core {edit,generate,world} ...``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
