"""Norm-keeping blends between the knots of a slider path (ems_core.manipulate.convex_blend; docs/method.md)."""

import pytest
import torch
from PIL import Image

from ems_core import EditConfig, EditSession, load_backend
from ems_core.embeddings import PromptEmbedding
from ems_core.manipulate import along_path, convex_blend, manipulate_multilinear
from ems_core.recipe import Recipe
from ems_core.session import Attribute


def embedding(seed: int) -> PromptEmbedding:
    g = torch.Generator().manual_seed(seed)
    return PromptEmbedding(torch.randn(1, 5, 8, generator=g), torch.randn(1, 8, generator=g))


def test_a_norm_blend_keeps_the_blended_norms_and_the_linear_direction():
    a, b = embedding(0), embedding(1)
    linear = convex_blend([(a, 0.7), (b, 0.3)])
    kept = convex_blend([(a, 0.7), (b, 0.3)], "norm")
    assert torch.allclose(linear.tokens, 0.7 * a.tokens + 0.3 * b.tokens)
    for part in ("tokens", "pooled"):
        want = 0.7 * getattr(a, part).norm(dim=-1) + 0.3 * getattr(b, part).norm(dim=-1)
        assert torch.allclose(getattr(kept, part).norm(dim=-1), want, atol=1e-5)
        # the linear blend of two random vectors is shorter: the rescale is not a no-op
        assert (getattr(linear, part).norm(dim=-1) < want - 1e-3).all()
        cosine = torch.nn.functional.cosine_similarity(getattr(kept, part), getattr(linear, part), dim=-1)
        assert torch.allclose(cosine, torch.ones_like(cosine), atol=1e-5)


def test_slots_the_parts_agree_on_stay_as_they_are():
    a, b = embedding(0), embedding(1)
    tokens = b.tokens.clone()
    tokens[:, 2:] = a.tokens[:, 2:]  # the words an edit does not touch
    kept = convex_blend([(a, 0.5), (PromptEmbedding(tokens, b.pooled), 0.5)], "norm")
    assert torch.allclose(kept.tokens[:, 2:], a.tokens[:, 2:], atol=1e-6)


def test_an_unknown_blend_is_refused():
    with pytest.raises(ValueError, match="blend must be one of"):
        convex_blend([(embedding(0), 1.0)], "slerp")
    with pytest.raises(ValueError, match="blend must be one of"):
        EditConfig(blend="slerp")


def test_knots_stay_exact_and_extrapolation_stays_straight():
    source, via, target = embedding(0), embedding(1), embedding(2)
    path = [via, target]
    assert along_path(source, path, 0.0, "norm") is source
    assert along_path(source, path, 0.5, "norm") is via
    assert along_path(source, path, 1.0, "norm") is target
    beyond = along_path(source, path, 1.5, "norm")
    assert torch.allclose(beyond.tokens, source.tokens + 1.5 * (target.tokens - source.tokens))
    quarter = along_path(source, path, 0.25, "norm")
    want = 0.5 * source.tokens.norm(dim=-1) + 0.5 * via.tokens.norm(dim=-1)
    assert torch.allclose(quarter.tokens.norm(dim=-1), want, atol=1e-5)
    assert not torch.allclose(quarter.tokens, along_path(source, path, 0.25).tokens)


def test_multilinear_corners_stay_exact_and_in_between_keeps_norms():
    grid = {(i, j): embedding(10 * i + j) for i in range(2) for j in range(2)}
    corner = grid.__getitem__
    at_corner = manipulate_multilinear(corner, [1, 1], [1.0, 0.0], "norm")
    assert torch.equal(at_corner.tokens, grid[1, 0].tokens)
    middle = manipulate_multilinear(corner, [1, 1], [0.5, 0.5], "norm")
    want = sum(0.25 * e.tokens.norm(dim=-1) for e in grid.values())
    assert torch.allclose(middle.tokens.norm(dim=-1), want, atol=1e-5)
    extrapolated = manipulate_multilinear(corner, [1, 1], [1.5, 0.5], "norm")
    assert torch.allclose(extrapolated.tokens, manipulate_multilinear(corner, [1, 1], [1.5, 0.5]).tokens)


def test_the_session_blends_as_its_config_says_and_only_between_knots():
    backend = load_backend("tiny-random-portraits")
    image = Image.new("RGB", (backend.info.image_size,) * 2, (200, 150, 120))
    prompt = ("a portrait of a young person with short dark-brown hair and pale skin, beaming, with open eyes, "
              "without glasses, with an oval face, on a blue background")
    config = EditConfig(steps=4, start_time=0.9, refine_iters=0, guidance=2.0)
    renders = {}
    for blend in ("linear", "norm"):
        session = EditSession(backend, image, prompt=prompt, config=config.with_(blend=blend))
        session.configure(prompt, [Attribute("smile", "beaming", "frowning", via=("with a neutral expression",))])
        renders[blend] = [session.render({"smile": d}).latent for d in (0.5, 0.25, 1.0)]
    assert torch.equal(renders["linear"][0], renders["norm"][0])  # a waypoint: its prompt itself
    assert torch.equal(renders["linear"][2], renders["norm"][2])  # the target
    assert (renders["linear"][1] - renders["norm"][1]).abs().max() > 1e-3  # between knots the blends differ


def test_recipes_written_before_keep_the_linear_blend():
    assert EditConfig().blend == "linear"
    old = {"format": "ems-studio/recipe", "version": 1, "model": "world",
           "source_prompt": "a large red circle at the top left on a white background",
           "attributes": [{"name": "size", "source": "large", "target": "small", "degree": 0.5}],
           "config": {"steps": 10}}
    assert Recipe.from_dict(old).config.blend == "linear"
    assert Recipe.from_dict({**old, "config": {"steps": 10, "blend": "norm"}}).config.blend == "norm"
