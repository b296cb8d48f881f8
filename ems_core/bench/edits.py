"""Judge EMS edits of world scenes with the oracle: success, preservation, degree-0 PSNR."""

from __future__ import annotations

import statistics
from typing import Mapping

from ..backends.contract import Backend
from ..config import EditConfig
from ..metrics import EditOutcome, edit_outcome, psnr, summarise
from ..session import EditSession
from ..world.edits import EditCase
from ..world.oracle import measure
from ..world.scene import caption_of, render

__all__ = ["case_session", "judge", "evaluate_edits"]


def case_session(backend: Backend, case: EditCase, config: EditConfig) -> EditSession:
    """A session on the case's rendered scene, its caption as the prompt, the case's attribute set."""
    session = EditSession(backend, render(case.scene), prompt=caption_of(case.scene), config=config)
    session.configure(session.source_prompt, [case.as_attribute()])
    return session


def judge(case: EditCase, measured_words: Mapping[str, str]) -> EditOutcome:
    """The verdict on an edit of ``case`` from the oracle's words of the edited image."""
    return edit_outcome(case.scene.words, {case.attribute: case.target_word}, measured_words)


def evaluate_edits(backend: Backend, cases: list[EditCase], config: EditConfig, degree: float = 1.0) -> dict:
    """Render each case at ``degree``; shares of success / preservation / both, reconstruction PSNR,
    p50 render time and the cached move's NFE."""
    outcomes, recon, render_ms, by_attribute = [], [], [], {}
    session = None
    for case in cases:
        session = case_session(backend, case, config)
        recon.append(psnr(session.image, session.reconstruct().image))
        result = session.render({case.attribute: degree})
        render_ms.append(result.timings_ms["render"])
        outcomes.append(judge(case, measure(result.image).words))
        by_attribute.setdefault(case.attribute, []).append(outcomes[-1])
    return {**summarise(outcomes), "recon_psnr": round(statistics.fmean(recon), 2),
            "render_ms_p50": round(statistics.median(render_ms), 1), "edit_nfe": session.edit_nfe(),
            "both_by_attribute": {name: summarise(found)["both"] for name, found in by_attribute.items()}}
