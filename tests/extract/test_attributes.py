import pytest

from ems_core.extract import Attribute, AttributePreset

PROMPT = "a large red circle at the top left on a white background"


def test_target_prompt_replaces_the_whole_word_only():
    assert Attribute("colour", "red", "blue").target_prompt(PROMPT) == PROMPT.replace("red", "blue")
    assert Attribute("c", "RED", "blue").target_prompt(PROMPT) == PROMPT.replace("red", "blue")
    with pytest.raises(ValueError, match="not in the prompt"):
        Attribute("c", "re", "blue").target_prompt(PROMPT)  # part of a word is not the phrase


def test_whole_prompt_needs_no_source():
    whole = Attribute("scene", "", " a small blue star ", full_prompt=True)
    assert whole.target_prompt(PROMPT) == "a small blue star"


@pytest.mark.parametrize("attribute, message", [
    (Attribute("", "red", "blue"), "no name"),
    (Attribute("c", "", "blue"), "source phrase"),
    (Attribute("c", "red", " "), "target phrase"),
    (Attribute("c", 3, "blue"), "source must be text"),
    (Attribute("c", "red", "blue", full_prompt="yes"), "full_prompt must be"),
])
def test_problems_are_named(attribute, message):
    with pytest.raises(ValueError, match=message):
        attribute.check()
    with pytest.raises(ValueError, match=message):
        attribute.target_prompt(PROMPT)


def test_preset_makes_the_attribute():
    preset = AttributePreset("colour", "red", ("blue", "green"))
    assert preset.attribute() == Attribute("colour", "red", "blue")
    assert preset.attribute("green").target_prompt(PROMPT) == PROMPT.replace("red", "green")


def test_a_new_slider_spans_the_whole_scale_from_its_source():
    smile = ("frowning", "with a neutral expression", "slightly smiling", "smiling", "beaming")
    frowning = AttributePreset("smile", "frowning", smile[1:], smile)
    assert frowning.default_target == "beaming"
    assert frowning.attribute() == Attribute("smile", "frowning", "beaming", via=smile[1:4])
    assert AttributePreset("smile", "smiling", smile[:3] + smile[4:], smile).default_target == "frowning"
    assert AttributePreset("smile", "slightly smiling", smile[:2] + smile[3:], smile).default_target == "frowning"
    assert AttributePreset("colour", "red", ("blue", "green")).default_target == "blue"  # unordered: the first
    assert AttributePreset("size", "huge", ("small", "large"), ("small", "large")).default_target == "small"
