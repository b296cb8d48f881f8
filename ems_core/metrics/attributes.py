"""Attribute metrics: did an edit hit its target, and keep everything else (words read by an oracle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = ["EditOutcome", "agreement", "edit_outcome", "summarise"]


def agreement(expected: Mapping[str, str], measured: Mapping[str, str],
              attributes: Iterable[str] | None = None) -> dict[str, bool]:
    """Per attribute (default: every expected one), whether the measured word equals the expected one."""
    names = list(expected) if attributes is None else list(attributes)
    return {name: measured.get(name) == expected[name] for name in names}


@dataclass(frozen=True)
class EditOutcome:
    """One edit judged by an oracle."""

    target_hit: dict[str, bool]  # per edited attribute: reads as its target word
    kept: dict[str, bool]  # per other attribute: keeps its source word

    @property
    def success(self) -> bool:
        return all(self.target_hit.values())

    @property
    def preserved(self) -> bool:
        return all(self.kept.values())

    @property
    def both(self) -> bool:
        return self.success and self.preserved


def edit_outcome(source: Mapping[str, str], targets: Mapping[str, str], measured: Mapping[str, str]) -> EditOutcome:
    """Judge an edit: ``targets`` (edited attribute -> target word) must be read in ``measured``, every
    other attribute of ``source`` must keep its word."""
    others = [name for name in source if name not in targets]
    return EditOutcome(agreement(targets, measured), agreement(source, measured, others))


def summarise(outcomes: list[EditOutcome]) -> dict[str, float]:
    """Shares of edits with ``success``, ``preservation`` and ``both`` (rounded to 3 decimals)."""
    if not outcomes:
        raise ValueError("no outcomes to summarise")
    n = len(outcomes)
    return {"success": round(sum(o.success for o in outcomes) / n, 3),
            "preservation": round(sum(o.preserved for o in outcomes) / n, 3),
            "both": round(sum(o.both for o in outcomes) / n, 3)}
