"""The one attribute type: a slider's source phrase, its target, and the target prompt they make.

An :class:`Attribute` is plain data (the app builds one from whatever a user typed); :meth:`Attribute.check`
and :meth:`Attribute.target_prompt` raise ``ValueError`` naming what is wrong. Degrees live beside
attributes, as ``{name: degree}``, in sessions, recipes and requests alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_WAYPOINTS", "Attribute", "AttributePreset", "combined_prompt", "with_waypoints"]

MAX_WAYPOINTS = 8  # phrases between source and target on one slider


@dataclass(frozen=True)
class Attribute:
    """One slider: replace ``source`` by ``target`` in the source prompt, or use ``target`` as the
    whole target prompt when ``full_prompt`` is true."""

    name: str
    source: str
    target: str
    full_prompt: bool = False
    via: tuple[str, ...] = ()  # waypoints: phrases the slider passes through on its way (an ordered scale)

    def check(self) -> None:
        """Raise ``ValueError`` if a field has the wrong type or a required phrase is empty."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("an attribute has no name")
        for key in ("source", "target"):
            if not isinstance(getattr(self, key), str):
                raise ValueError(f"attribute {self.name!r}: {key} must be text")
        if not isinstance(self.full_prompt, bool):
            raise ValueError(f"attribute {self.name!r}: full_prompt must be true or false")
        if not self.target.strip():
            raise ValueError(f"attribute {self.name!r}: choose or type a target phrase")
        if not self.full_prompt and not self.source.strip():
            raise ValueError(f"attribute {self.name!r}: give the source phrase (a part of the prompt)")
        if not isinstance(self.via, tuple) or not all(isinstance(v, str) and v.strip() for v in self.via):
            raise ValueError(f"attribute {self.name!r}: via must be a list of non-empty phrases")
        if len(self.via) > MAX_WAYPOINTS:
            raise ValueError(f"attribute {self.name!r}: at most {MAX_WAYPOINTS} waypoints, got {len(self.via)}")

    def target_prompt(self, source_prompt: str) -> str:
        """The prompt at degree 1; raises ``ValueError`` if the attribute is incomplete or ``source`` is not
        in the prompt."""
        self.check()
        if self.full_prompt:
            return self.target.strip()
        pattern = re.compile(rf"(?<!\w){re.escape(self.source.strip())}(?!\w)", re.IGNORECASE)
        if not pattern.search(source_prompt):
            raise ValueError(
                f"attribute {self.name!r}: source phrase {self.source!r} is not in the prompt {source_prompt!r}")
        return pattern.sub(self.target.strip(), source_prompt)

    def path_prompts(self, source_prompt: str) -> list[str]:
        """The prompts the slider passes through from degree 0 to 1, the source prompt excluded: one per
        waypoint (at degrees k / (len(via) + 1)), then the target prompt."""
        target = self.target_prompt(source_prompt)  # validates
        if self.full_prompt:
            return [v.strip() for v in self.via] + [target]
        pattern = re.compile(rf"(?<!\w){re.escape(self.source.strip())}(?!\w)", re.IGNORECASE)
        return [pattern.sub(v.strip(), source_prompt) for v in self.via] + [target]


def combined_prompt(source_prompt: str, attributes: list[Attribute], knots: list[int]) -> str | None:
    """The source prompt with every attribute's source phrase replaced at once by its knot phrase ``knots[i]``
    (0: the source phrase, ``len(via) + 1``: the target; the waypoints between), e.g. both edits of a pair applied
    together. ``None`` when the attributes cannot be combined in one prompt: a whole-prompt attribute, a phrase
    not in the prompt, or two attributes whose phrases overlap there.

    >>> pair = [Attribute("colour", "red", "blue"), Attribute("size", "large", "small", via=("medium",))]
    >>> combined_prompt("a large red circle", pair, [1, 1])
    'a medium blue circle'
    """
    spans = []
    for attribute, knot in zip(attributes, knots):
        if attribute.full_prompt:
            return None
        phrases = [attribute.source.strip(), *(v.strip() for v in attribute.via), attribute.target.strip()]
        pattern = re.compile(rf"(?<!\w){re.escape(attribute.source.strip())}(?!\w)", re.IGNORECASE)
        found = [(m.start(), m.end(), phrases[knot] if knot else m.group(0)) for m in pattern.finditer(source_prompt)]
        if not found:
            return None
        spans.extend(found)
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return None
    prompt = source_prompt
    for start, end, phrase in reversed(spans):
        prompt = prompt[:start] + phrase + prompt[end:]
    return prompt


@dataclass(frozen=True)
class AttributePreset:
    """An attribute a captioner offers for its caption: the phrase as written and what it may become."""

    name: str
    source: str  # exactly as in the caption
    choices: tuple[str, ...]  # target phrases, the most useful first
    scale: tuple[str, ...] = ()  # for an ordered attribute (size, position): every phrase in order, source included

    def waypoints(self, target: str) -> tuple[str, ...]:
        """The phrases strictly between the source and ``target`` on :attr:`scale` (none when unordered)."""
        folded = [phrase.casefold() for phrase in self.scale]
        source, target = self.source.strip().casefold(), target.strip().casefold()
        if source not in folded or target not in folded:
            return ()
        i, j = folded.index(source), folded.index(target)
        return tuple(self.scale[i + 1:j] if i < j else self.scale[j + 1:i][::-1])

    @property
    def default_target(self) -> str:
        """The target a new slider starts with: for an ordered attribute the end of its scale farther from the
        source (the lower end on a tie), so that the slider spans the whole scale through every phrase between
        ("frowning" -> "beaming"); otherwise the first choice."""
        folded = [phrase.casefold() for phrase in self.scale]
        source = self.source.strip().casefold()
        if source in folded:
            index = folded.index(source)
            end = self.scale[0] if index >= len(self.scale) - 1 - index else self.scale[-1]
            if end in self.choices:
                return end
        return (self.choices or ("",))[0]

    def attribute(self, target: str | None = None) -> Attribute:
        """The attribute towards ``target`` (default: :attr:`default_target`), through the scale's waypoints."""
        target = target if target is not None else self.default_target
        return Attribute(self.name, self.source, target, via=self.waypoints(target))


def with_waypoints(attributes: "list[Attribute] | tuple[Attribute, ...]",
                   presets: "list[AttributePreset]") -> tuple[Attribute, ...]:
    """``attributes`` with waypoints filled in where an attribute has none (a form or a command line builds
    attributes from text, which carries no waypoints): from the preset with the same source phrase whose scale
    holds the target, the one of the same name if several do (portraits' hair colour and hair lightness share
    "black hair")."""
    completed = []
    for attribute in attributes:
        source, target = attribute.source.strip().casefold(), attribute.target.strip().casefold()
        candidates = [p for p in presets if p.source.strip().casefold() == source
                      and target in (phrase.casefold() for phrase in p.scale)]
        named = [p for p in candidates if p.name == attribute.name]
        preset = named[0] if named else (candidates[0] if len(candidates) == 1 else None)
        if preset is not None and not attribute.via and not attribute.full_prompt:
            attribute = Attribute(attribute.name, attribute.source, attribute.target, via=preset.waypoints(attribute.target))
        completed.append(attribute)
    return tuple(completed)
