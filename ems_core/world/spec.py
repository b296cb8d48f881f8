"""What the bundled-model pipeline needs to know about a procedural world, one :class:`WorldSpec` each.

Two worlds exist: ``"shapes"`` (:mod:`ems_core.world`: one coloured shape, 64x64) and ``"portraits"``
(:mod:`ems_core.portraits`: stylised faces, 128x128). Training draws ``(image, caption)`` pairs with
:attr:`WorldSpec.sample`; evaluation measures images with the world's oracle; a backend captions
images with the world's captioner and finds its weights in :attr:`WorldSpec.model_dir`.

    >>> spec = world_spec("portraits")
    >>> image, caption = spec.sample(random.Random(0))
    >>> image.size, all(spec.agreement(caption, spec.measure(image)).values())
    ((128, 128), True)
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ..extract import Captioner

__all__ = ["ASSETS_DIR", "WORLD_NAMES", "WorldSpec", "world_spec"]

#: The repository's ``assets/`` folder (a checkout or an editable install; a wheel carries no weights).
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


@dataclass(frozen=True)
class WorldSpec:
    """A procedural world as the training, evaluation and backend code see it."""

    name: str  # "shapes" | "portraits": the key of world_spec() and of world_model.json's "world"
    image_size: int  # square renders, pixels
    vocabulary: tuple[str, ...]  # every word a caption can use (the word tokenizer's vocabulary)
    max_caption_words: int  # the longest caption, in tokenizer words (the tokenizer adds <bos>, <eos>)
    sample: Callable[[random.Random], tuple[Image.Image, str]]  # a random training pair (render, caption)
    measure: Callable[[Image.Image], Any]  # the oracle: image -> measurement with .words and .caption
    agreement: Callable[[Any, Any], dict[str, bool]]  # (caption, measurement) -> per attribute: words equal
    attributes: tuple[str, ...]  # the attributes the oracle reads
    captioner: type[Captioner]  # image -> caption, and a caption's editable attributes
    backend_name: str  # the registered backend that loads the bundled weights
    model_folder: str  # the bundled weights' folder under assets/
    run_dir: str  # the training command's default run folder
    examples_folder: str = "examples"  # example images the app offers for this world, under assets/
    regions: tuple[str, ...] = ()  # edit regions for region-masked directions (besides "none")
    region_mask: Callable[[Image.Image, str], Any] | None = None  # (image, region) -> (S, S) float mask in [0, 1]
    complements: tuple[tuple[str, str], ...] = ()  # (region, of): a region that is another's complement on the latent grid

    @property
    def model_dir(self) -> Path:
        """Where the bundled weights of this world live (``assets/<model_folder>``)."""
        return ASSETS_DIR / self.model_folder

    @property
    def examples_dir(self) -> Path:
        return ASSETS_DIR / self.examples_folder

    @property
    def training_commands(self) -> str:
        """The commands that train and export this world's bundled model, from the repository root."""
        world = "" if self.name == "shapes" else f" --world {self.name}"
        return (f"`python -m ems_core world train all{world} --run-dir {self.run_dir}` then "
                f"`python -m ems_core world export --run-dir {self.run_dir} --out assets/{self.model_folder}`")


def _shapes() -> WorldSpec:
    from .captioner import WorldCaptioner
    from .oracle import ATTRIBUTES, agreement, measure
    from .scene import IMAGE_SIZE, VOCABULARY, Scene, caption_of, random_scene, render

    def sample(rng: random.Random) -> tuple[Image.Image, str]:
        scene = random_scene(rng)
        return render(scene), caption_of(scene)

    def region_mask(image: Image.Image, region: str):
        """The oracle's soft object mask (the background is its complement on the latent grid)."""
        measured = measure(image)
        if not measured.found:
            raise ValueError("the oracle finds no object in this image: no object region; use region 'none'")
        return measured.mask

    return WorldSpec(name="shapes", image_size=IMAGE_SIZE, vocabulary=VOCABULARY,
                     max_caption_words=len(caption_of(Scene()).split()),  # one grammar: every caption has 12
                     sample=sample, measure=measure, agreement=agreement, attributes=ATTRIBUTES,
                     captioner=WorldCaptioner, backend_name="world", model_folder="world-model", run_dir="runs/world",
                     regions=("object", "background"), region_mask=region_mask,
                     complements=(("background", "object"),))


def _longest_portrait_caption() -> int:
    """Words in the longest portrait caption: each attribute's word adds its own count to the caption, so
    maximising one attribute at a time, per phrasing, finds the longest of all word combinations."""
    from ..portraits.scene import BANDS, N_PHRASINGS, caption_from_words, caption_words

    def length(words: dict[str, str], phrasing: int) -> int:
        return len(caption_words(caption_from_words(words, phrasing)))

    longest = 0
    for phrasing in range(N_PHRASINGS):
        words = {name: next(iter(bands)) for name, bands in BANDS.items()}
        for name, bands in BANDS.items():
            words[name] = max(bands, key=lambda word: length({**words, name: word}, phrasing))
        longest = max(longest, length(words, phrasing))
    return longest


def _portraits() -> WorldSpec:
    from ..portraits.captioner import PortraitCaptioner
    from ..portraits.oracle import agreement, measure
    from ..portraits.regions import PORTRAIT_REGIONS, portrait_region
    from ..portraits.scene import ATTRIBUTES, IMAGE_SIZE, VOCABULARY, caption_of, random_portrait, render

    def sample(rng: random.Random) -> tuple[Image.Image, str]:
        portrait = random_portrait(rng)
        return render(portrait), caption_of(portrait, rng)  # the phrasing drawn at random too

    return WorldSpec(name="portraits", image_size=IMAGE_SIZE, vocabulary=VOCABULARY,
                     max_caption_words=_longest_portrait_caption(), sample=sample, measure=measure,
                     agreement=agreement, attributes=ATTRIBUTES, captioner=PortraitCaptioner,
                     backend_name="world-portraits", model_folder="world-portraits", run_dir="runs/portraits",
                     examples_folder="examples-portraits", regions=PORTRAIT_REGIONS, region_mask=portrait_region)


_BUILDERS: dict[str, Callable[[], WorldSpec]] = {"shapes": _shapes, "portraits": _portraits}
WORLD_NAMES: tuple[str, ...] = tuple(_BUILDERS)


@functools.cache
def world_spec(name: str = "shapes") -> WorldSpec:
    """The :class:`WorldSpec` named ``name`` (built on first use: a world's modules load only when asked)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown world {name!r}; choose one of {', '.join(WORLD_NAMES)}")
    return _BUILDERS[name]()
