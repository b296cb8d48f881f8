"""The one attribute type: a slider's source phrase, its target, and the target prompt they make.

An :class:`Attribute` is plain data (the app builds one from whatever a user typed); :meth:`Attribute.check`
and :meth:`Attribute.target_prompt` raise ``ValueError`` naming what is wrong. Degrees live beside
attributes, as ``{name: degree}``, in sessions, recipes and requests alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Attribute", "AttributePreset"]


@dataclass(frozen=True)
class Attribute:
    """One slider: replace ``source`` by ``target`` in the source prompt, or use ``target`` as the
    whole target prompt when ``full_prompt`` is true."""

    name: str
    source: str
    target: str
    full_prompt: bool = False

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


@dataclass(frozen=True)
class AttributePreset:
    """An attribute a captioner offers for its caption: the phrase as written and what it may become."""

    name: str
    source: str  # exactly as in the caption
    choices: tuple[str, ...]  # target phrases, the most useful first

    def attribute(self, target: str | None = None) -> Attribute:
        """The attribute towards ``target`` (default: the first choice)."""
        return Attribute(self.name, self.source, target if target is not None else (self.choices or ("",))[0])
