"""``EditConfig``: every field checked against ``LIMITS`` when made, with one-line messages."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest

from ems_core import EDIT_PRESETS, EditConfig
from ems_core.config import LIMITS, MAX_SEED, SAMPLERS


def test_every_field_has_a_limit_and_the_defaults_and_presets_are_inside():
    non_numeric = {"sampler", "composition", "align_tokens", "blend"}
    assert set(LIMITS) == {f.name for f in fields(EditConfig)} - non_numeric
    for config in EDIT_PRESETS.values():
        assert config.sampler in SAMPLERS
        for name, limit in LIMITS.items():
            assert limit.check(name, getattr(config, name)) == getattr(config, name)


@pytest.mark.parametrize("value", ["ddim", "", None, 1, "Difference"])
def test_an_unknown_sampler_is_refused_in_one_line(value):
    with pytest.raises(ValueError, match=r"^sampler must be one of difference, inversion, got .+$"):
        EditConfig(sampler=value)


@pytest.mark.parametrize("name, value, message", [
    ("steps", 150, r"steps must be an integer in \[1, 100\] or null \(the model's default\), got 150"),
    ("steps", 0, r"steps must be an integer in \[1, 100\]"),
    ("steps", 2.5, r"steps must be an integer .*, got 2.5 \(float\)"),
    ("steps", 20.0, r"got 20.0 \(float\)"),
    ("steps", "abc", r"steps must be an integer .*, got 'abc' \(str\)"),
    ("steps", True, r"got True \(bool\)"),
    ("inversion_fixed_point", 10**6, r"inversion_fixed_point must be an integer in \[0, 10\], got 1000000"),
    ("refine_iters", 10**9, r"refine_iters must be an integer in \[0, 50\], got 1000000000"),
    ("refine_iters", 1e9, r"refine_iters must be an integer in \[0, 50\], got 1000000000.0 \(float\)"),
    ("refine_iters", -1, r"refine_iters must be an integer in \[0, 50\]"),
    ("refine_lr", math.nan, r"refine_lr must be a finite number in \(0, 10\], got nan"),
    ("refine_lr", math.inf, r"refine_lr must be a finite number in \(0, 10\], got inf"),
    ("refine_lr", -1.0, r"refine_lr must be a finite number in \(0, 10\], got -1.0"),
    ("refine_lr", 0.0, r"refine_lr .* got 0.0"),
    ("refine_proximity", 11.0, r"refine_proximity must be a finite number in \[0, 10\]"),
    ("start_time", 0.0, r"start_time must be a finite number in \(0, 1\]"),
    ("guidance", -0.1, r"guidance must be a finite number in \[0, 30\]"),
    ("guidance", math.nan, r"guidance .* got nan"),
    ("refine_t_max", 1.0, r"refine_t_max must be a finite number in \(0, 1\)"),
    ("seed", -1, r"seed must be an integer in \[0, 4294967295\], got -1"),
    ("seed", 2**70, r"seed must be an integer in \[0, 4294967295\], got 1180591620717411303424"),
    ("seed", "abc", r"seed must be an integer .* got 'abc' \(str\)"),
    ("seed", "x" * 10_000, r"got 'xxxxxxxx.*\.\.\. \(str\)$"),
])
def test_bad_values_are_refused_with_one_line_naming_field_value_and_range(name, value, message):
    with pytest.raises(ValueError, match=message) as error:
        EditConfig(**{name: value})
    assert "\n" not in str(error.value) and len(str(error.value)) < 200


def test_t_min_above_t_max_is_refused():
    with pytest.raises(ValueError, match=r"refine_t_min \(0.5\) must not exceed refine_t_max \(0.3\)"):
        EditConfig(refine_t_min=0.5, refine_t_max=0.3)


def test_edges_are_accepted_and_numbers_normalised():
    config = EditConfig(steps=np.int64(100), guidance=4, start_time=1, refine_iters=50, inversion_fixed_point=10,
                        refine_lr=10, refine_proximity=0, seed=MAX_SEED)
    assert type(config.steps) is int and config.steps == 100
    assert type(config.guidance) is float and config.guidance == 4.0 and type(config.start_time) is float
    assert config.seed == MAX_SEED and config.refine_proximity == 0.0
    assert EditConfig(steps=None, guidance=None).steps is None


def test_with_checks_too():
    with pytest.raises(ValueError, match="refine_iters"):
        EditConfig().with_(refine_iters=51)


def test_limit_describes_itself():
    assert LIMITS["steps"].describe() == "an integer in [1, 100] or null (the model's default)"
    assert LIMITS["refine_lr"].describe() == "a finite number in (0, 10]"
    assert (LIMITS["steps"].low, LIMITS["steps"].high, LIMITS["steps"].kind) == (1, 100, int)


def test_preview_settings_are_cheap_and_keep_what_the_user_set():
    from ems_core.backends.world import WORLD_EDIT_CONFIG
    from ems_core.config import preview_config

    preview = preview_config(WORLD_EDIT_CONFIG, default_steps=20)
    assert (preview.steps, preview.refine_iters, preview.inversion_fixed_point) == (2, 0, 1)
    assert (preview.start_time, preview.guidance, preview.source_guidance, preview.guidance_ramp, preview.seed) == (
        0.8, 3.0, 1.5, 1.0, WORLD_EDIT_CONFIG.seed)
    assert preview_config(EditConfig(), default_steps=28).steps == 11  # 40% of the backend's steps


def test_latent_directions_take_the_source_sides_guidance(tiny_world):
    """A direction renders under the source prompt at degree 0, where the target side's guidance is the source's."""
    config = tiny_world.info.direction_config()
    assert (config.guidance, config.source_guidance, config.start_time) == (1.5, None, 0.8)
    assert tiny_world.info.direction_config(EditConfig(guidance=2.0)).guidance == 2.0  # equal sides: unchanged
