"""Sampling: the rectified-flow ODE (Euler step, integrate, invert), the difference sampler, guidance, schedules, generation.

Pure functions in the style of k-diffusion; none of them disables gradients except where asked.
"""

from .difference import SourcePath, difference_sample, source_path
from .generate import generate
from .guidance import guided_velocity, ramped_guidance
from .ode import StepCallback, VelocityFn, euler_step, integrate, invert, posterior_mean
from .schedules import initial_noise, shifted_sigmas, tail_schedule

__all__ = ["SourcePath", "StepCallback", "VelocityFn", "difference_sample", "euler_step", "generate", "guided_velocity", "initial_noise", "integrate",
           "invert", "posterior_mean", "ramped_guidance", "shifted_sigmas", "source_path", "tail_schedule"]
