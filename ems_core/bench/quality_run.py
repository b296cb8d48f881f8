"""``python -m ems_core bench quality``: build the suite, run it (sharded when launched by accelerate), write
the report. The argument parsing is in ``ems_core/cli/bench.py``; this is the library side."""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..backends.contract import Backend
from .quality import (DEFAULT_METHODS, QualityCase, QualityMethod, aggregate, make_methods, run_quality,
                      sweep_curves, world_suite)
from .quality_report import contact_sheet, headline, markdown_report, plot_preservation, plot_sweeps, text_tables
from .shard import ProcessShare, merge_shards, write_shard

__all__ = ["FULL", "FULL_PORTRAITS", "QUICK", "QUICK_PORTRAITS", "QualityOptions", "SuiteSize", "run_benchmark",
           "suite_for", "world_of"]


@dataclass(frozen=True)
class SuiteSize:
    cases: int  # single-attribute edits (cycling through the six attributes)
    sweeps: int  # of those, per attribute, run at 5 degrees
    pairs: int  # two-attribute edits


FULL = SuiteSize(cases=240, sweeps=8, pairs=36)  # 240 singles (48 of them sweeps) + 36 pairs
QUICK = SuiteSize(cases=30, sweeps=1, pairs=6)  # 36 cases, one sweep per attribute
#: The portrait world's suites: eleven editable attributes, 20 singles each (4 of them sweeps) in the full one.
FULL_PORTRAITS = SuiteSize(cases=220, sweeps=4, pairs=30)
QUICK_PORTRAITS = SuiteSize(cases=11, sweeps=1, pairs=3)
SIZES = {"shapes": (FULL, QUICK), "portraits": (FULL_PORTRAITS, QUICK_PORTRAITS)}


@dataclass(frozen=True)
class QualityOptions:
    """What ``bench quality`` runs; ``None`` sizes take the quick or full suite's."""

    quick: bool = False
    cases: int | None = None
    sweeps: int | None = None
    pairs: int | None = None
    seed: int = 11  # the seed of docs/method.md's 240 cheap-move cases, so its single cases are the same
    methods: tuple[str, ...] = DEFAULT_METHODS
    annotations: str | None = None
    out_dir: str | None = "docs"
    records: str | None = None  # a JSON file for every per-case record (large: about 6 kB a case)
    command: str = "python -m ems_core bench quality"
    device: str = "cpu"
    extra_notes: tuple[str, ...] = field(default_factory=tuple)

    world: str = "shapes"  # the bundled world whose suite runs (the backend's; other backends run the shapes one)

    def check(self) -> None:
        """Refuse unknown methods, sizes out of range and a missing annotations file (before any model loads)."""
        from .quality import METHODS

        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"unknown method {(unknown or [''])[0]!r} (known: {', '.join(METHODS)})")
        if self.annotations:
            if not Path(self.annotations).is_file():
                raise FileNotFoundError(f"annotations not found: {self.annotations}")
            return
        size = self.size()
        for name, value, high in (("cases", size.cases, 100_000), ("sweeps", size.sweeps, 10_000),
                                  ("pairs", size.pairs, 100_000)):
            if not 0 <= value <= high:
                raise ValueError(f"--{name} must be in [0, {high}], got {value}")
        if size.cases + size.pairs == 0:
            raise ValueError("nothing to run: --cases and --pairs are both 0")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"--seed must be in [0, 2^32), got {self.seed}")

    def size(self) -> SuiteSize:
        full, quick = SIZES.get(self.world, SIZES["shapes"])
        base = quick if self.quick else full
        return SuiteSize(base.cases if self.cases is None else self.cases,
                         base.sweeps if self.sweeps is None else self.sweeps,
                         base.pairs if self.pairs is None else self.pairs)


def suite_for(options: QualityOptions, image_size: int) -> list[QualityCase]:
    """The cases: the annotated file's, or the seeded world suite of :meth:`QualityOptions.size`."""
    if options.annotations:
        from .annotated import load_annotated

        return load_annotated(options.annotations, image_size)
    options.check()
    size = options.size()
    if options.world == "portraits":
        from .portrait_quality import portrait_suite

        return portrait_suite(size.cases, size.sweeps, size.pairs, options.seed, image_size)
    return world_suite(size.cases, size.sweeps, size.pairs, options.seed, image_size)


def world_of(backend: Backend) -> str:
    """The bundled world a backend was trained on (``"shapes"`` for any other backend: its suite is the default)."""
    world = getattr(backend, "world", None)
    return getattr(world, "name", "shapes")


def _aliases(methods: Sequence[QualityMethod]) -> dict[str, str]:
    """Methods whose settings equal an earlier method's (e.g. ems-no-refine when the edit config has no
    refinement): name -> the earlier name. Their outputs are the same by construction."""
    seen: dict[tuple, str] = {}
    aliases = {}
    for method in methods:
        key = (method.family, repr(method.settings))
        if key in seen:
            aliases[method.name] = seen[key]
        else:
            seen[key] = method.name
    return aliases


def _case_counts(cases: Sequence[QualityCase]) -> str:
    kinds: dict[str, int] = {}
    for case in cases:
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items())


def run_benchmark(backend: Backend, options: QualityOptions, share: ProcessShare | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> dict | None:
    """Run the benchmark and (on the main process) write the report; returns ``{"text", "headline", "summary",
    "files"}`` on the main process and ``None`` on the others."""
    share = share or ProcessShare()
    started = time.perf_counter()
    if options.world != world_of(backend) and not options.annotations:
        options = dataclasses.replace(options, world=world_of(backend))
    cases = suite_for(options, backend.info.image_size)
    methods = make_methods(options.methods, backend.info)
    aliases = _aliases(methods)
    to_run = [m for m in methods if m.name not in aliases]
    mine = share.split(cases)
    result = run_quality(backend, mine, to_run, progress=progress, cost_case=cases[0])
    records, costs, contact = result.records, result.costs, result.contact
    out_dir = Path(options.out_dir) if options.out_dir else None
    if share.world > 1:
        if out_dir is None:
            raise ValueError("a sharded run needs --out-dir (the processes meet there)")
        shards = out_dir / "benchmark" / "shards"
        write_shard(shards, share.rank, {"records": records, "costs": costs})
        share.wait()
        if not share.is_main:
            return None
        records = merge_shards(shards, share.world)["records"]
    for alias, original in aliases.items():
        records += [{**r, "method": alias} for r in records if r["method"] == original]
        costs[alias] = costs[original]
        contact = [(case, {**outputs, alias: outputs[original]}) for case, outputs in contact]
    order = {m.name: i for i, m in enumerate(methods)}
    records.sort(key=lambda r: order[r["method"]])  # stable: cases stay in order within a method
    contact = [(case, {m.name: outputs[m.name] for m in methods}) for case, outputs in contact]
    summary = aggregate(records, costs)
    wall = time.perf_counter() - started
    run = {"command": options.command, "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
           "model": backend.info.name, "device": str(backend.device), "threads": torch.get_num_threads(),
           "processes": share.world, "cases": len(cases), "case_counts": _case_counts(cases),
           "quick": options.quick, "wall_s": round(wall, 1)}
    portraits = options.world == "portraits" and not options.annotations
    extra = list(options.extra_notes)
    if portraits and share.is_main:
        from .portrait_quality import reconstruction_note

        extra = [reconstruction_note(backend, cases), "FlowEdit and refine-only keep the settings chosen on the shapes "
                 "world (below); they were not tuned again for portraits."] + extra
    notes = [f"`{alias}` has the same settings as `{original}` on this backend, so its rows are `{original}`'s "
             f"outputs (not a second run)." for alias, original in aliases.items()] + extra
    files = {}
    if options.records:
        Path(options.records).write_text(json.dumps({"run": run, "costs": costs, "records": records}))
        files["records"] = options.records
    if out_dir is not None:
        annotated = bool(options.annotations)
        stem = "benchmark-annotated" if annotated else "benchmark-portraits" if portraits else "benchmark"
        figures_dir = out_dir / stem
        figures_dir.mkdir(parents=True, exist_ok=True)
        figures = {
            "degree vs measured attribute": plot_sweeps(sweep_curves(records), figures_dir / "degree_response.png"),
            "preservation per attribute": plot_preservation(summary, figures_dir / "preservation.png"),
            "contact sheet (largest degree)": contact_sheet(contact, figures_dir / "contact_sheet.png"),
        }
        page = out_dir / f"{stem}.md"
        run["wall_s"] = round(time.perf_counter() - started, 1)  # the page's time includes the plots
        page.write_text(markdown_report(summary, methods, run, figures, out_dir, annotated, notes,
                                        world="portraits" if portraits else "shapes"))
        files = {"report": str(page), **{k: str(v) for k, v in figures.items() if v is not None}}
    return {"text": text_tables(summary), "headline": headline(summary, run=run), "summary": summary,
            "files": files, "notes": notes}
