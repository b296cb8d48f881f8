import pytest
import torch
from PIL import Image

from ems_core import Attribute
from ems_core.alignment import align_embedding, aligned_slots
from ems_core.backends import load_backend
from ems_core.config import EditConfig
from ems_core.embeddings import PromptEmbedding
from ems_core.recipe import Recipe
from ems_core.session import EditSession

BOS, EOS, PAD = 3, 1, 0
PORTRAIT = ("a portrait of an old person with long light-pink hair and pale skin, beaming, with open eyes, wearing "
            "glasses, with a wide face, on a purple background")
NEUTRAL = PORTRAIT.replace("beaming", "with a neutral expression")


def test_words_pair_with_the_same_words_and_a_longer_phrase_pairs_from_its_last_token():
    #         bos  x   y  beaming  a   b  eos pad pad pad
    source = [BOS, 10, 11, 20, 12, 13, EOS, PAD, PAD, PAD]
    #         bos  x   y  with  a  neutral expression  a   b  eos
    other = [BOS, 10, 11, 30, 31, 32, 33, 12, 13, EOS]
    index = aligned_slots([source], [other])
    assert index == [0, 1, 2, 6, 7, 8, 9, 3, 4, 5]
    # the source's last three slots (padding) take the phrase's first three tokens, in order
    assert sorted(index) == list(range(len(source)))
    assert aligned_slots([source], [source]) == list(range(len(source)))


def test_segments_pair_only_within_themselves():
    clip_source, clip_other = [BOS, 20, EOS, PAD], [BOS, 30, 31, EOS]
    t5_source, t5_other = [20, EOS, PAD], [30, 31, EOS]
    index = aligned_slots([clip_source, t5_source], [clip_other, t5_other])
    assert index[:4] == [0, 2, 3, 1] and sorted(index[4:]) == [4, 5, 6]
    with pytest.raises(ValueError, match="differ in length"):
        aligned_slots([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="segments"):
        aligned_slots([[1]], [[1], [2]])


def test_align_embedding_moves_token_slots_and_keeps_the_pooled_vector():
    embedding = PromptEmbedding(torch.arange(6.0).reshape(1, 3, 2), torch.ones(1, 4))
    moved = align_embedding(embedding, [2, 0, 1])
    assert moved.tokens[0, :, 0].tolist() == [4.0, 0.0, 2.0] and torch.equal(moved.pooled, embedding.pooled)
    with pytest.raises(ValueError, match="slots"):
        align_embedding(embedding, [0, 1])


@pytest.mark.parametrize("name", ["tiny-random-sd3", "tiny-random-flux", "tiny-random-portraits"])
def test_a_prompt_in_aligned_order_gives_the_same_velocity(name):
    # What the method rests on: these MMDiTs give text tokens no position, so reordering them changes nothing.
    backend = load_backend(name)
    ids = backend.token_ids(NEUTRAL)
    embedding = backend.encode_prompt([NEUTRAL])
    assert sum(len(segment) for segment in ids) == embedding.tokens.shape[1]
    index = aligned_slots(backend.token_ids(PORTRAIT), ids)
    assert index != list(range(len(index)))  # "beaming" -> four words: the later words move
    latent = torch.randn(1, *backend.latent_shape(), generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.6])
    with torch.no_grad():
        plain = backend.velocity(latent, t, embedding)
        aligned = backend.velocity(latent, t, align_embedding(embedding, index))
    assert torch.allclose(plain, aligned, atol=1e-5 * max(1.0, plain.abs().max().item()))


def test_aligned_tokens_change_only_the_degrees_between_the_prompts():
    backend = load_backend("tiny-random-portraits")
    image = Image.new("RGB", (backend.info.image_size,) * 2, (200, 150, 120))
    config = EditConfig(steps=4, start_time=0.9, refine_iters=0, guidance=2.0)
    renders = {}
    for align in (True, False):
        session = EditSession(backend, image, prompt=PORTRAIT, config=config.with_(align_tokens=align))
        session.configure(PORTRAIT, [Attribute("smile", "beaming", "with a neutral expression")])
        renders[align] = [session.render({"smile": d}).latent for d in (0.0, 0.5, 1.0)]
    # degree 0 is the source's own render; degree 1 the target prompt, its tokens reordered (float rounding only);
    # half-way the blend pairs other tokens, and on this random model that moves the render a hundred times more
    assert torch.equal(renders[True][0], renders[False][0])
    at_target = (renders[True][2] - renders[False][2]).abs().max().item()
    half_way = (renders[True][1] - renders[False][1]).abs().max().item()
    assert at_target < 1e-5 and half_way > 100 * max(at_target, 1e-6), (at_target, half_way)


def test_recipes_written_before_keep_blending_slot_by_slot():
    assert EditConfig().align_tokens is True
    with pytest.raises(ValueError, match="align_tokens"):
        EditConfig(align_tokens="yes")
    old = {"format": "ems-studio/recipe", "version": 1, "model": "world",
           "source_prompt": "a large red circle at the top left on a white background",
           "attributes": [{"name": "size", "source": "large", "target": "small", "degree": 0.5}],
           "config": {"steps": 10}}
    assert Recipe.from_dict(old).config.align_tokens is False


def test_on_the_shapes_world_every_preset_swaps_word_for_word():
    # So aligned tokens leave the shapes model's edits as they were (its benchmark needs no new run).
    from ems_core.world.captioner import attribute_presets

    backend = load_backend("tiny-random-world")
    prompt = "a large red triangle at the bottom center on a brown background"
    for preset in attribute_presets(prompt):
        for choice in preset.choices:
            target = preset.attribute(choice).target_prompt(prompt)
            index = aligned_slots(backend.token_ids(prompt), backend.token_ids(target))
            assert index == list(range(len(index))), (preset.name, choice)


def test_on_portraits_the_phrases_of_four_attributes_change_length():
    # docs/method.md ("Aligned tokens"): the portrait presets whose edits move later words to other slots.
    import random

    from ems_core.portraits.captioner import attribute_presets
    from ems_core.portraits.scene import caption_of, random_portrait

    backend = load_backend("tiny-random-portraits")
    rng = random.Random(0)
    moved, names = set(), set()
    for _ in range(20):
        prompt = caption_of(random_portrait(rng))
        for preset in attribute_presets(prompt):
            names.add(preset.name)
            for choice in preset.choices:
                target = preset.attribute(choice).target_prompt(prompt)
                index = aligned_slots(backend.token_ids(prompt), backend.token_ids(target))
                if index != list(range(len(index))):
                    moved.add(preset.name)
    assert moved == {"smile", "eyes", "glasses", "background lightness"} and len(names) == 11
