"""Edit settings: one frozen dataclass with commented defaults, named presets (:data:`EDIT_PRESETS`) and
the range of every field (:data:`LIMITS`), which the CLI, recipes and the app all read.

Every :class:`EditConfig` is checked when it is made, before any work: a wrong type, a non-finite
number or a value out of range raises a one-line ``ValueError`` naming the field, the value and the range.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["DEGREE_RANGE", "EDIT_PRESETS", "LIMITS", "preview_config", "MAX_ATTRIBUTES", "MAX_PROMPT_CHARS", "MAX_SEED", "MAX_SWEEP",
           "SAMPLERS", "COMPOSITIONS", "EditConfig", "Limit", "short_repr"]

#: Degrees outside [0, 1] extrapolate along ``e_tgt - e_src``; beyond this range images degrade.
DEGREE_RANGE = (-1.0, 2.0)

MAX_SEED = 2**32 - 1  # what a torch.Generator seed, a numpy seed and the app's seed field all accept
MAX_ATTRIBUTES = 16  # attributes (sliders) in one edit: a recipe, a CLI call
MAX_SWEEP = 16  # degrees in one sweep (one image each)
MAX_MULTILINEAR = 4  # attributes moved at once that compose multilinearly (2^n combined prompts); more: the sum
MAX_VELOCITY_KNOTS = 4  # prompts one image's velocity blend evaluates; more: their embeddings blended instead
MAX_PROMPT_CHARS = 2000  # a prompt or phrase; CLIP reads 77 tokens, T5 256-512: far more is never useful


@dataclass(frozen=True)
class Limit:
    """The allowed values of one setting: a number of ``kind`` (``int`` or ``float``) between ``low`` and
    ``high``, each end included unless ``open_low`` / ``open_high``; ``None`` too when ``optional``."""

    low: float
    high: float
    kind: type  # int: a real integer (not a bool, not 2.5, not "3"); float: any finite real number
    open_low: bool = False
    open_high: bool = False
    optional: bool = False  # None allowed (it means: the backend's default)

    def describe(self) -> str:
        """``"an integer in [1, 100]"``, ``"a number in (0, 10]"``..."""
        what = "an integer" if self.kind is int else "a finite number"
        interval = f"{'(' if self.open_low else '['}{_number(self.low)}, {_number(self.high)}{')' if self.open_high else ']'}"
        return f"{what} in {interval}" + (" or null (the model's default)" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        """``value`` as an ``int`` / ``float``; raises a one-line ``ValueError`` naming ``name`` otherwise."""
        if value is None and self.optional:
            return None
        if self.kind is int:
            ok_type = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        else:
            ok_type = (isinstance(value, numbers.Real) and not isinstance(value, bool)
                       and math.isfinite(float(value)))
        if not ok_type:
            raise ValueError(f"{name} must be {self.describe()}, got {short_repr(value)} ({type(value).__name__})")
        number = self.kind(value)
        above = number > self.low if self.open_low else number >= self.low
        below = number < self.high if self.open_high else number <= self.high
        if not (above and below):
            raise ValueError(f"{name} must be {self.describe()}, got {short_repr(number)}")
        return number


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line messages about untrusted values."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: The Sample step's two ways (docs/method.md, "The Sample step", measures both):
#: ``"difference"``: coupled source/target paths from the source latent, the source path cached per image
#: (:func:`~ems_core.sampling.difference_sample`); ``"inversion"``: invert the source to ``t0`` under its prompt,
#: then integrate down under ``e(a)``.
SAMPLERS = ("difference", "inversion")

#: How several attributes' embeddings combine (:mod:`ems_core.manipulate`): ``"sum"``, EMS's
#: ``e_src + sum_i a_i (e_tgt_i - e_src)``; ``"multilinear"``, interpolation between the prompts that apply the
#: attributes' phrases together (every corner of the degree grid is its combined prompt). One attribute: the same.
COMPOSITIONS = ("sum", "multilinear")
#: How a slider blends between two knots (docs/method.md): the embeddings linearly (EMS) or keeping their norms,
#: or no embeddings at all, the knots' velocities (``"velocity"``: one more evaluation per step between knots)
BLENDS = ("linear", "norm", "velocity")

#: The range of every numeric :class:`EditConfig` field (the app's sliders and fields use the same numbers).
LIMITS: dict[str, Limit] = {
    "steps": Limit(1, 100, int, optional=True),  # the app's steps slider is 1..100
    "start_time": Limit(0.0, 1.0, float, open_low=True),
    "guidance": Limit(0.0, 30.0, float, optional=True),
    "source_guidance": Limit(0.0, 30.0, float, optional=True),
    "guidance_ramp": Limit(0.0, 10.0, float),  # 0: guidance at every nonzero degree
    "inversion_fixed_point": Limit(0, 10, int),  # each one is an extra evaluation per inversion step
    "refine_iters": Limit(0, 50, int),  # each one is a (batched) pair of evaluations
    "refine_lr": Limit(0.0, 10.0, float, open_low=True),
    "refine_proximity": Limit(0.0, 10.0, float),
    "refine_t_max": Limit(0.0, 1.0, float, open_low=True, open_high=True),  # and refine_t_min <= refine_t_max
    "refine_t_min": Limit(0.0, 1.0, float, open_low=True, open_high=True),
    "seed": Limit(0, MAX_SEED, int),
    "noise_grid": Limit(0, 64, int),  # 0: the raw draw
}


@dataclass(frozen=True)
class EditConfig:
    """How an edit is sampled (see docs/method.md for how the defaults were measured; ranges in :data:`LIMITS`).

    ``None`` for ``steps`` / ``guidance`` means the backend's own default. Integers must be ``int`` (a
    recipe's ``2.5`` or ``"3"`` is refused, not rounded); floats must be finite.
    """

    sampler: str = "difference"  # the Sample step: one of SAMPLERS
    steps: int | None = None  # length of the full 1 -> 0 schedule; the edit runs the part below start_time
    start_time: float = 0.7  # t0: where the edit starts (inversion: the source is inverted to it)
    guidance: float | None = None  # classifier-free guidance (the target side; the inversion too)
    source_guidance: float | None = None  # under the source prompt: source path or inversion (None: = guidance)
    guidance_ramp: float = 1.0  # with source_guidance: the target side's reaches guidance at this |degree|
    inversion_fixed_point: int = 2  # extra evaluations per inversion step that make it exact (0 = explicit)
    refine_iters: int = 2  # constrained-SDS iterations after sampling (0 = off)
    refine_lr: float = 0.5  # step size of the SDS update
    refine_proximity: float = 0.2  # lambda of the proximity term ||z - z_src||^2
    refine_t_max: float = 0.6  # SDS noise levels, annealed from t_max to t_min
    refine_t_min: float = 0.2
    seed: int = 0  # noise of the difference sampler and the SDS refinement (explicit generators)
    noise_grid: int = 4  # difference sampler: its noise's block means on a g x g grid removed (0: raw; method.md)
    composition: str = "multilinear"  # several attributes at once: one of COMPOSITIONS (docs/method.md)
    align_tokens: bool = True  # blend target prompts word by word, not slot by slot (ems_core/alignment.py)
    blend: str = "linear"  # between two knots of a slider path: one of BLENDS

    def __post_init__(self) -> None:
        if not isinstance(self.sampler, str) or self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {short_repr(self.sampler)}")
        if not isinstance(self.composition, str) or self.composition not in COMPOSITIONS:
            raise ValueError(f"composition must be one of {', '.join(COMPOSITIONS)}, "
                             f"got {short_repr(self.composition)}")
        if not isinstance(self.blend, str) or self.blend not in BLENDS:
            raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {short_repr(self.blend)}")
        if not isinstance(self.align_tokens, bool):
            raise ValueError(f"align_tokens must be true or false, got {short_repr(self.align_tokens)}")
        for f in fields(self):
            if f.name in LIMITS:
                object.__setattr__(self, f.name, LIMITS[f.name].check(f.name, getattr(self, f.name)))
        if self.refine_t_min > self.refine_t_max:
            raise ValueError(f"refine_t_min ({self.refine_t_min:g}) must not exceed refine_t_max "
                             f"({self.refine_t_max:g})")

    def with_(self, **changes) -> "EditConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


EDIT_PRESETS: dict[str, EditConfig] = {
    "default": EditConfig(),
    "preview": EditConfig(steps=10, refine_iters=0, inversion_fixed_point=1),  # live slider drag
    "quality": EditConfig(steps=40, refine_iters=4, inversion_fixed_point=3),
    "no-refine": EditConfig(refine_iters=0),
    "inversion": EditConfig(sampler="inversion"),  # the Sample step before the difference sampler
    # FlowEdit's guidance over 8 steps (docs/method.md, "The Sample step"): 16 evaluations a move; the target
    # side's guidance ramps in with the degree (guidance_ramp), so degree 0 stays exact
    "fidelity": EditConfig(steps=10, start_time=0.8, guidance=3.0, source_guidance=1.5, refine_iters=0),
}


def preview_config(config: EditConfig, default_steps: int) -> EditConfig:
    """The live-preview settings of ``config`` (a slider drag): 40% of its steps (at least 2), no
    refinement, one fixed-point iteration; same start time, guidance and seed. With the bundled model's
    edit settings (5 steps from t0 = 0.8) that is 2 steps with guidance: 4 evaluations a preview."""
    steps = max(2, round(0.4 * (config.steps or default_steps)))
    return config.with_(steps=steps, refine_iters=0, inversion_fixed_point=min(config.inversion_fixed_point, 1))
