"""The latency benchmark moves each world's own demo slider on a render of that world."""

import pytest

from ems_core.backends import load_backend
from ems_core.bench.latency import _scene_session
from ems_core.world.spec import world_spec


@pytest.mark.parametrize(("model", "world"), [("tiny-random-world", "shapes"), ("tiny-random-portraits", "portraits"),
                                              ("tiny-random-sd3", "shapes")])
def test_the_session_is_a_scene_of_the_models_world_with_its_demo_slider(model, world):
    backend = load_backend(model)
    session, name = _scene_session(backend, backend.info.edit_config, seed=3)
    presets = world_spec(world).captioner().attribute_presets(session.source_prompt)
    assert name == {"shapes": "colour", "portraits": "smile"}[world] and name in {preset.name for preset in presets}  # the world's grammar
    attribute = session.attributes[name]
    assert attribute.source in session.source_prompt and attribute.target != attribute.source

