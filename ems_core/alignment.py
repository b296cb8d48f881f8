"""Token alignment: pair each token slot of a prompt with the slot of the same word in another prompt.

EMS blends prompt embeddings slot by slot (``e(a) = e_src + a (e_tgt - e_src)``, :mod:`ems_core.manipulate`). When
the target's phrase has another number of tokens than the source's ("beaming" -> "with a neutral expression"),
every later word sits in another slot, and a slot-by-slot blend mixes unrelated words ("open" with "neutral"...),
so an in-between degree describes a prompt that names neither image. The MMDiTs we drive (SD3, Flux, the bundled
models) give text tokens no position of their own (SD3 adds none; Flux's text ids are all zero), so permuting a
prompt's token slots leaves its velocity unchanged; :func:`aligned_slots` finds the permutation of the other
prompt that puts each of its words in the source slot of the same word (docs/method.md, "Aligned tokens").
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Sequence

import torch

from .embeddings import PromptEmbedding

__all__ = ["aligned_slots", "align_embedding"]


def _segment_slots(source: Sequence[int], other: Sequence[int]) -> list[int]:
    """For one text encoder's ids (equal lengths): ``index[i]`` = the slot of ``other`` paired with source slot
    ``i``. Equal runs pair word for word (``difflib``'s matching blocks); in a replaced run the last tokens pair
    first (a phrase's head word is usually its last, and a causal encoder gathers the phrase there); what is left
    on either side (the longer phrase's first tokens, the shorter prompt's extra padding) pairs in order."""
    if len(source) != len(other):
        raise ValueError(f"token segments differ in length: {len(source)} and {len(other)}")
    index: list[int | None] = [None] * len(source)
    left_source: list[int] = []
    left_other: list[int] = []
    matcher = SequenceMatcher(None, list(source), list(other), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                index[i1 + offset] = j1 + offset
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(1, paired + 1):
            index[i2 - offset] = j2 - offset
        left_source.extend(range(i1, i2 - paired))
        left_other.extend(range(j1, j2 - paired))
    for i, j in zip(left_source, left_other, strict=True):
        index[i] = j
    return [int(j) for j in index]  # type: ignore[arg-type]  (every slot is filled: the lengths are equal)


def aligned_slots(source_ids: Sequence[Sequence[int]], other_ids: Sequence[Sequence[int]]) -> list[int]:
    """A permutation of the other prompt's token axis: slot ``i`` of the result holds the other prompt's token that
    belongs with source slot ``i``. The ids come in segments, one per text encoder whose tokens the backend
    concatenates along the token axis (SD3: CLIP's 77, then T5's); slots pair only within a segment."""
    if len(source_ids) != len(other_ids):
        raise ValueError(f"the prompts have {len(source_ids)} and {len(other_ids)} token segments")
    index: list[int] = []
    start = 0
    for source, other in zip(source_ids, other_ids):
        index.extend(start + j for j in _segment_slots(source, other))
        start += len(source)
    return index


def align_embedding(embedding: PromptEmbedding, index: Sequence[int]) -> PromptEmbedding:
    """``embedding`` with its token slots reordered by :func:`aligned_slots` (the pooled embedding is one vector
    and stays)."""
    if len(index) != embedding.tokens.shape[1]:
        raise ValueError(f"the alignment has {len(index)} slots, the embedding {embedding.tokens.shape[1]} tokens")
    order = torch.as_tensor(list(index), dtype=torch.long, device=embedding.tokens.device)
    return PromptEmbedding(embedding.tokens.index_select(1, order), embedding.pooled)
