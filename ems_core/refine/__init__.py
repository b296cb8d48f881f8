"""Refine (EMS step 3, "Sample"): short score-distillation updates of an edited latent."""

from .sds import annealed_time, refine_latent, sds_delta

__all__ = ["annealed_time", "refine_latent", "sds_delta"]
