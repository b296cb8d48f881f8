"""The bars a newly trained portrait model must clear before it replaces ``assets/world-portraits``: generation
faithfulness per attribute on the held-out captions, slider sweeps that move smile, age and hair lightness
monotonically while keeping the details no caption names, and the bundled weights' size (docs/training.md, "What
is not done yet").

They are read from the files ``benchmarks/portrait_release.sh`` writes (``world eval --out`` and
``benchmarks/portrait_sweeps.py --out``); ``benchmarks/portrait_release_check.py`` prints them and fails when one
is missed, so the decision to ship is a rule stated here, not a reading of tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..portraits.scene import ATTRIBUTES
from ..world.spec import world_spec
from .portrait_quality import sweep_nuisance_kept

__all__ = ["BUNDLED_MB_CAP", "Bar", "GENERATION_BAR", "NUISANCE_KEPT_BAR", "RELEASE_SWEEPS", "SWEEP_COLUMNS",
           "SWEEP_RHO_BAR", "comparison_tables", "folder_megabytes", "nuisance_kept_share", "portrait_model_folder",
           "portrait_release_bars"]

GENERATION_BAR = 0.95  # share of held-out captions whose oracle word matches, per attribute
RELEASE_SWEEPS = ("smile", "age", "hair lightness")  # the sliders whose sweeps must be monotonic
SWEEP_RHO_BAR = 0.95  # Spearman's rho of slider position vs the oracle's value: the median sweep, and 95% of them
NUISANCE_KEPT_BAR = 0.95  # share of sweeps whose head position, tilt and background stay within tolerance
BUNDLED_MB_CAP = 60.0  # both bundled models' folders together, in 10^6 bytes


@dataclass(frozen=True)
class Bar:
    """One measured number against its threshold; ``at_most`` bars cap the value, the others require reaching it.
    A missing measurement is ``nan`` and never passes."""

    name: str
    value: float
    threshold: float
    at_most: bool = False

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value <= self.threshold if self.at_most else self.value >= self.threshold


def nuisance_kept_share(attribute_report: dict) -> float:
    """The share of an attribute's sweeps that keep the nuisance details: the summary's ``nuisance_kept``, or,
    for reports written before it existed, recomputed from the per-sweep drifts (``sweep_nuisance_kept``)."""
    summary = attribute_report.get("summary", {})
    if "nuisance_kept" in summary:
        return float(summary["nuisance_kept"])
    sweeps = attribute_report.get("sweeps") or []
    return sum(sweep_nuisance_kept(s) for s in sweeps) / len(sweeps) if sweeps else math.nan


def portrait_release_bars(evaluation: dict, sweeps: dict, bundled_mb: float) -> list[Bar]:
    """Every bar, in a stable order: generation per portrait attribute (``evaluation["generation"]``), then per
    swept slider its rho median, its share of sweeps at rho >= 0.95 and its nuisance-kept share
    (``sweeps["attributes"]``), then the bundled size. Attributes or sliders the files lack read ``nan``."""
    generation = evaluation.get("generation", {})
    bars = [Bar(f"generation: {name}", float(generation.get(name, math.nan)), GENERATION_BAR) for name in ATTRIBUTES]
    for name in RELEASE_SWEEPS:
        report = sweeps.get("attributes", {}).get(name, {})
        summary = report.get("summary", {})
        bars += [Bar(f"sweep {name}: rho, median", float(summary.get("rho_median", math.nan)), SWEEP_RHO_BAR),
                 Bar(f"sweep {name}: share of sweeps at rho >= {SWEEP_RHO_BAR}",
                     float(summary.get(f"rho_at_least_{SWEEP_RHO_BAR}", math.nan)), SWEEP_RHO_BAR),
                 Bar(f"sweep {name}: nuisance details kept", nuisance_kept_share(report), NUISANCE_KEPT_BAR)]
    bars.append(Bar("bundled weights, MB", bundled_mb, BUNDLED_MB_CAP, at_most=True))
    return bars


def portrait_model_folder(model: str) -> Path:
    """The folder of ``model``: ``world-portraits`` (the bundled one) or an exported model's folder."""
    return world_spec("portraits").model_dir if model == "world-portraits" else Path(model)


def folder_megabytes(*folders: Path) -> float:
    """The bytes of every file under ``folders``, in 10^6 (as the model cards quote sizes)."""
    return sum(f.stat().st_size for folder in folders for f in Path(folder).rglob("*") if f.is_file()) / 1e6


SWEEP_COLUMNS: tuple[tuple[str, str], ...] = (  # (summary key, column heading) of the model card's sweep table
    ("rho_median", "rho median"), (f"rho_at_least_{SWEEP_RHO_BAR}", f"sweeps with rho >= {SWEEP_RHO_BAR}"),
    ("evenness_median", "evenness"), ("kept", "other attributes kept"),
    ("head_x_drift_median", "head x drift (px)"), ("head_y_drift_median", "head y drift (px)"),
    ("tilt_drift_median", "tilt drift (deg)"), ("background_drift_median", "background signature drift"))


def _cell(new: object, reference: object, digits: int) -> str:
    """``new (reference)`` to ``digits`` decimals; a value a file lacks reads ``-``."""
    def number(value: object) -> str:
        return f"{float(value):.{digits}f}" if isinstance(value, (int, float)) else "-"
    return f"{number(new)} ({number(reference)})"


def comparison_tables(evaluation: dict, sweeps: dict, reference_evaluation: dict, reference_sweeps: dict) -> str:
    """The model card's two tables for a candidate model beside the shipped one, in markdown, every cell
    ``candidate (shipped)``: generation faithfulness per portrait attribute and all at once (``world eval``),
    the inversion round trip's PSNR, and per released slider the sweep summary (``portrait_sweeps.py``)."""
    generation, reference = evaluation.get("generation", {}), reference_evaluation.get("generation", {})
    lines = ["| attribute | generation, 500 held-out captions: candidate (shipped) |", "|---|---|"]
    lines += [f"| {name} | {_cell(generation.get(name), reference.get(name), 3)} |" for name in (*ATTRIBUTES, "all")]
    inversion, reference_inversion = evaluation.get("inversion") or {}, reference_evaluation.get("inversion") or {}
    for key, label in (("psnr_mean", "inversion PSNR, mean (dB)"), ("share_at_least_30db", "inversions >= 30 dB"),
                       ("autoencoder_psnr_mean", "autoencoder alone, mean (dB)")):
        lines.append(f"| {label} | {_cell(inversion.get(key), reference_inversion.get(key), 2)} |")
    lines += ["", "| slider | " + " | ".join(heading for _, heading in SWEEP_COLUMNS) + " |",
              "|---" * (len(SWEEP_COLUMNS) + 1) + "|"]
    for name in RELEASE_SWEEPS:
        summary = sweeps.get("attributes", {}).get(name, {}).get("summary", {})
        reference_summary = reference_sweeps.get("attributes", {}).get(name, {}).get("summary", {})
        cells = [_cell(summary.get(key), reference_summary.get(key), 3 if key.endswith("median") else 2)
                 for key, _ in SWEEP_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
