"""Metrics: how an edit scores, as pure functions over images and oracle readings.

- :mod:`.image`: pixel metrics (PSNR);
- :mod:`.attributes`: oracle agreement, edit success and preservation.
"""

from .attributes import EditOutcome, agreement, edit_outcome, summarise
from .image import psnr

__all__ = ["EditOutcome", "agreement", "edit_outcome", "psnr", "summarise"]
