"""Velocity blends between the knots of a slider path (EditConfig.blend="velocity"; docs/method.md): the sampler
blends the knots' velocities, not their embeddings."""

import pytest
import torch
from PIL import Image

from ems_core import EditConfig, EditSession, load_backend
from ems_core.backends.contract import CountingBackend
from ems_core.embeddings import PromptEmbedding, PromptMixture
from ems_core.manipulate import convex_blend, manipulate_paths, multilinear_parts, path_parts, summed_parts
from ems_core.recipe import Recipe
from ems_core.refine.sds import sds_delta
from ems_core.sampling.guidance import guided_velocity
from ems_core.session import Attribute

PROMPT = ("a portrait of a young person with short dark-brown hair and pale skin, beaming, with open eyes, "
          "without glasses, with an oval face, on a blue background")


def embedding(seed: int, tokens: int = 5, width: int = 8) -> PromptEmbedding:
    g = torch.Generator().manual_seed(seed)
    return PromptEmbedding(torch.randn(1, tokens, width, generator=g), torch.randn(1, width, generator=g))


@pytest.fixture(scope="module")
def portraits():
    return load_backend("tiny-random-portraits")


def test_path_parts_are_the_knots_around_a_degree():
    source, via, target = embedding(0), embedding(1), embedding(2)
    assert path_parts(source, [via, target], 0.5) == [(via, 1.0)]
    (start, w0), (end, w1) = path_parts(source, [via, target], 0.75)
    assert start is via and end is target and (w0, w1) == pytest.approx((0.5, 0.5))
    (straight, weight), = path_parts(source, [via, target], -0.5)  # outside [0, 1]: the straight line
    assert weight == 1.0 and torch.allclose(straight.tokens, source.tokens - 0.5 * (target.tokens - source.tokens))
    with pytest.raises(ValueError, match="a velocity blend is no single embedding"):
        convex_blend(path_parts(source, [target], 0.5), "velocity")


def test_summed_parts_are_the_sum_of_two_sliders_as_an_affine_blend():
    source, paths, degrees = embedding(0), [[embedding(1), embedding(2)], [embedding(3)]], [0.25, 0.6]
    parts = summed_parts(source, paths, degrees)
    assert sum(w for _, w in parts) == pytest.approx(1.0) and parts[0][0] is source
    assert parts[0][1] == pytest.approx(-1.0 + 0.5 + 0.4)  # the source once: its own weight and the first segments'
    assert len(parts) == 3 and parts[1][0] is paths[0][0] and parts[2][0] is paths[1][0]  # waypoint, 2nd target
    linear = convex_blend([(e, w) for e, w in parts[:1]] + parts[1:], "linear")
    want = manipulate_paths(source, paths, degrees)
    assert torch.allclose(linear.tokens, want.tokens, atol=1e-6) and torch.allclose(linear.pooled, want.pooled)


def test_multilinear_parts_say_whether_the_blend_is_convex():
    grid = {(i, j): embedding(10 * i + j) for i in range(3) for j in range(2)}
    parts, convex = multilinear_parts(grid.__getitem__, [2, 1], [0.25, 0.5])
    assert convex and len(parts) == 4 and sum(w for _, w in parts) == pytest.approx(1.0)
    assert multilinear_parts(grid.__getitem__, [2, 1], [1.5, 0.5])[1] is False


def test_a_mixture_spreads_latents_to_knots_and_gathers_them_weighted():
    a, b, c = embedding(0), embedding(1), embedding(2)
    mixture = PromptMixture.of([[(a, 1.0)], [(b, 0.25), (c, 0.75)]])
    assert mixture.images == 2 and mixture.single() is None
    z = torch.tensor([[1.0], [2.0]])
    assert torch.equal(mixture.spread(z), torch.tensor([[1.0], [2.0], [2.0]]))
    assert torch.equal(mixture.gather(torch.tensor([[4.0], [8.0], [16.0]])), torch.tensor([[4.0], [14.0]]))
    plain = PromptMixture.of([[(a, 1.0)], [(b, 1.0)]]).single()
    assert plain is not None and torch.equal(plain.tokens, torch.cat([a.tokens, b.tokens]))
    with pytest.raises(ValueError, match="at least one knot"):
        PromptMixture.of([[(a, 1.0)], []])


def test_the_guided_velocity_of_a_mixture_is_the_blend_of_the_knots_guided_velocities(portraits):
    start, end, empty = (portraits.encode_prompt([p]) for p in (PROMPT, PROMPT.replace("beaming", "frowning"), ""))
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, *portraits.latent_shape(), generator=g)
    t = torch.tensor([0.7, 0.7])
    counted = CountingBackend(portraits)
    mixture = PromptMixture.of([[(start, 1.0)], [(start, 0.3), (end, 0.7)]])
    with torch.no_grad():
        mixed = guided_velocity(counted, mixture, empty, [2.0, 3.0])(z, t)
        assert counted.evaluations == 2 + 3  # the unconditional branch once per image, then the three knots
        alone = [guided_velocity(portraits, e, empty, 3.0)(z[1:], t[1:]) for e in (start, end)]
        assert torch.allclose(mixed[0:1], guided_velocity(portraits, start, empty, 2.0)(z[:1], t[:1]), atol=1e-5)
        assert torch.allclose(mixed[1:], 0.3 * alone[0] + 0.7 * alone[1], atol=1e-5)
        blended_input = guided_velocity(portraits, convex_blend([(start, 0.3), (end, 0.7)]), empty, 3.0)(z[1:], t[1:])
    assert (mixed[1:] - blended_input).abs().max() > 1e-4  # the velocity blend is not the embedding blend


def test_the_sds_delta_of_a_mixture_is_the_blend_of_the_knots_deltas(portraits):
    start, end = (portraits.encode_prompt([p]) for p in (PROMPT, PROMPT.replace("beaming", "frowning")))
    g = torch.Generator().manual_seed(1)
    z, eps = (torch.randn(1, *portraits.latent_shape(), generator=g) for _ in range(2))
    with torch.no_grad():
        mixed = sds_delta(portraits, z, 0.5, eps, PromptMixture.of([[(start, 0.4), (end, 0.6)]]), start)
        want = 0.6 * sds_delta(portraits, z, 0.5, eps, end, start)  # the start knot's own delta is zero
    assert torch.allclose(mixed, want, atol=1e-5) and want.abs().max() > 1e-4


def test_the_session_blends_velocities_between_knots_and_costs_one_more_evaluation_per_step(portraits):
    image = Image.new("RGB", (portraits.info.image_size,) * 2, (200, 150, 120))
    config = EditConfig(steps=4, start_time=0.9, refine_iters=1, guidance=2.0)
    renders, costs = {}, {}
    for blend in ("linear", "velocity"):
        session = EditSession(portraits, image, prompt=PROMPT, config=config.with_(blend=blend))
        session.configure(PROMPT, [Attribute("smile", "beaming", "frowning", via=("with a neutral expression",))])
        results = [session.render({"smile": d}) for d in (0.5, 0.25, 1.0)]
        renders[blend] = [r.latent for r in results]
        costs[blend] = ([r.nfe for r in results], session.edit_nfe())
    assert torch.equal(renders["linear"][0], renders["velocity"][0])  # a waypoint: its prompt itself
    assert torch.equal(renders["linear"][2], renders["velocity"][2])  # the target
    assert (renders["linear"][1] - renders["velocity"][1]).abs().max() > 1e-3  # between knots the blends differ
    (at_knot, between, _), promised = costs["velocity"]
    assert between == promised == at_knot + 4 + 1 and costs["linear"][1] == at_knot


def test_two_sliders_between_knots_sample_under_their_four_corners(portraits):
    image = Image.new("RGB", (portraits.info.image_size,) * 2, (120, 150, 200))
    session = EditSession(portraits, image, prompt=PROMPT,
                          config=EditConfig(steps=4, start_time=0.9, refine_iters=0, guidance=2.0, blend="velocity"))
    session.configure(PROMPT, [Attribute("smile", "beaming", "frowning"),
                               Attribute("eyes", "with open eyes", "with closed eyes")])
    both = session.render({"smile": 0.5, "eyes": 0.5})
    assert both.nfe == 4 * (1 + 4)
    corner = session.render({"smile": 1.0, "eyes": 1.0})
    assert corner.nfe == 4 * 2


def test_recipes_carry_the_velocity_blend():
    recipe = {"format": "ems-studio/recipe", "version": 1, "model": "world",
              "source_prompt": "a large red circle at the top left on a white background",
              "attributes": [{"name": "size", "source": "large", "target": "small", "degree": 0.5}],
              "config": {"steps": 10, "blend": "velocity"}}
    assert Recipe.from_dict(recipe).config.blend == "velocity"


def test_many_sliders_at_once_stay_bounded_in_prompts_and_rows(tiny_world):
    """A recipe may move up to MAX_ATTRIBUTES sliders: multilinear composition over more than MAX_MULTILINEAR of
    them would encode 2^n prompts, and a velocity blend of more than MAX_VELOCITY_KNOTS would evaluate as many."""
    from ems_core.config import MAX_MULTILINEAR, MAX_VELOCITY_KNOTS

    words = [f"w{i}" for i in range(MAX_MULTILINEAR + 4)]
    prompt = "a large red circle " + " ".join(words)
    image = Image.new("RGB", (tiny_world.info.image_size,) * 2, (255, 255, 255))
    attributes = [Attribute(f"a{i}", w, w + "x") for i, w in enumerate(words)]
    for blend in ("linear", "velocity"):
        session = EditSession(tiny_world, image, prompt=prompt,
                              config=EditConfig(steps=2, start_time=0.8, refine_iters=0, guidance=2.0, blend=blend))
        session.configure(prompt, attributes)
        moved = session.render({a.name: 0.5 for a in attributes})
        assert len(session._embeddings) == 2 + len(attributes)  # the sum: no combined prompt encoded
        assert moved.nfe == 2 * 2  # a velocity blend of 2n + 1 prompts blends their embeddings instead
        three = session.render({a.name: 0.5 for a in attributes[:3]})  # multilinear: 8 corners, over the cap
        assert len(session._embeddings) == 2 + len(attributes) + 2 ** 3 - 4  # corners not yet encoded
        assert three.nfe == 2 * 2
    two = session.render({a.name: 0.5 for a in attributes[:2]})  # 4 corners: within the cap, blended velocities
    assert two.nfe == 2 * (1 + MAX_VELOCITY_KNOTS)
