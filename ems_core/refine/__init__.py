"""Refine (EMS step 3, "Sample"): short score-distillation updates of an edited latent."""

from .sds import refine_latent, sds_delta

__all__ = ["refine_latent", "sds_delta"]
