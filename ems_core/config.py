"""Edit settings: one frozen dataclass with commented defaults, and named presets (:data:`EDIT_PRESETS`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

#: Degrees outside [0, 1] extrapolate along ``e_tgt - e_src``; beyond this range images degrade.
DEGREE_RANGE = (-1.0, 2.0)


@dataclass(frozen=True)
class EditConfig:
    """How an edit is sampled (see docs/method.md for how the defaults were measured).

    ``None`` for ``steps`` / ``guidance`` means the backend's own default.
    """

    steps: int | None = None  # length of the full 1 -> 0 schedule; the edit runs the part below start_time
    start_time: float = 0.7  # t0: the source is inverted to this noise level and re-sampled from it
    guidance: float | None = None  # classifier-free guidance, same in inversion and sampling
    inversion_fixed_point: int = 2  # extra evaluations per inversion step that make it exact (0 = explicit)
    refine_iters: int = 2  # constrained-SDS iterations after sampling (0 = off)
    refine_lr: float = 0.5  # step size of the SDS update
    refine_proximity: float = 0.2  # lambda of the proximity term ||z - z_src||^2
    refine_t_max: float = 0.6  # SDS noise levels, annealed from t_max to t_min
    refine_t_min: float = 0.2
    seed: int = 0  # noise of the SDS refinement (explicit generator)

    def __post_init__(self) -> None:
        if self.steps is not None and not 1 <= self.steps <= 1000:
            raise ValueError(f"steps must be in [1, 1000], got {self.steps}")
        if not 0.0 < self.start_time <= 1.0:
            raise ValueError(f"start_time must be in (0, 1], got {self.start_time}")
        if self.guidance is not None and not 0.0 <= self.guidance <= 30.0:
            raise ValueError(f"guidance must be in [0, 30], got {self.guidance}")
        if self.refine_iters < 0 or self.inversion_fixed_point < 0:
            raise ValueError("refine_iters and inversion_fixed_point must be >= 0")
        if not 0.0 < self.refine_t_min <= self.refine_t_max < 1.0:
            raise ValueError("need 0 < refine_t_min <= refine_t_max < 1")

    def with_(self, **changes) -> "EditConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


EDIT_PRESETS: dict[str, EditConfig] = {
    "default": EditConfig(),
    "preview": EditConfig(steps=10, refine_iters=0, inversion_fixed_point=1),  # live slider drag
    "quality": EditConfig(steps=40, refine_iters=4, inversion_fixed_point=3),
    "no-refine": EditConfig(refine_iters=0),
}
