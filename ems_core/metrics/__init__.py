"""Metrics: how an edit scores, as pure functions over images and oracle readings.

- :mod:`.image`: pixel metrics (PSNR, SSIM, mean absolute change on a region);
- :mod:`.attributes`: oracle agreement, edit success and preservation by caption words;
- :mod:`.preservation`: target hit and preservation with visual tolerances;
- :mod:`.response`: slider response (Spearman's rho, the degree where a categorical target switches on);
- :mod:`.sde`: semantic disentanglement (SDE) from pixel L2 distances.
"""

from .attributes import EditOutcome, agreement, edit_outcome, summarise
from .image import mean_abs_change, psnr, ssim
from .preservation import BACKGROUND_TOLERANCE, POSITION_TOLERANCE, SIZE_TOLERANCE, kept, preservation, target_hit
from .response import spearman, switch_degree
from .sde import SDEScore, rms_distance, sde

__all__ = ["BACKGROUND_TOLERANCE", "EditOutcome", "POSITION_TOLERANCE", "SDEScore", "SIZE_TOLERANCE", "agreement",
           "edit_outcome", "kept", "mean_abs_change", "preservation", "psnr", "rms_distance", "sde", "spearman", "ssim",
           "summarise", "switch_degree", "target_hit"]
