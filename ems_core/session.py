"""The edit session: one source image, its cached latent/inversion/embeddings, and cheap re-renders.

What is cached, and what invalidates it:

=====================  =================================================  ===========================
cache                  key                                                cleared by
=====================  =================================================  ===========================
source latent z_src    the image                                          a new session (new image)
prompt embeddings      the prompt text (source, "" and each target)       prompt / attribute change
inversion z_t0         (source prompt, steps, start time, guidance, iters)  any part of its key changing
=====================  =================================================  ===========================

A degree change touches nothing cached: it re-runs only the manipulation, the sampling from ``t0``
and the short refinement. The session references a shared, read-only backend and never copies it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch
from PIL import Image

from .backends.base import Backend, PromptEmbedding
from .captioners import default_captioner
from .config import EditConfig
from .images import fit_square, pil_to_tensor, tensor_to_pil
from .manipulate import check_degree, manipulate
from .sampling import guided_velocity, integrate, invert, tail_schedule
from .sds import refine_latent

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


class Captioner(Protocol):
    def caption(self, image: Image.Image) -> str: ...


@dataclass(frozen=True)
class Attribute:
    """One slider: replace ``source`` by ``target`` in the source prompt, or use ``target`` as the
    whole target prompt when ``full_prompt`` is true."""

    name: str
    source: str
    target: str
    full_prompt: bool = False

    def target_prompt(self, source_prompt: str) -> str:
        """The prompt at degree 1; raises ``ValueError`` if ``source`` is not in the prompt."""
        if self.full_prompt:
            return self.target
        if not self.source.strip():
            raise ValueError(f"attribute {self.name!r}: empty source phrase")
        pattern = re.compile(rf"(?<!\w){re.escape(self.source.strip())}(?!\w)", re.IGNORECASE)
        if not pattern.search(source_prompt):
            raise ValueError(
                f"attribute {self.name!r}: source phrase {self.source!r} is not in the prompt {source_prompt!r}")
        return pattern.sub(self.target.strip(), source_prompt)


@dataclass
class RenderResult:
    """One rendered edit."""

    image: Image.Image
    degrees: dict[str, float]
    nfe: int  # transformer evaluations per image spent rendering (the slider-move cost)
    prepare_nfe: int  # evaluations spent on first-time work in this call (inversion); 0 on a cache hit
    timings_ms: dict[str, float]  # "prepare": first-time work in this call, "render": the rest
    cache_hit: bool  # True when nothing cached had to be computed
    latent: torch.Tensor = field(repr=False)


@dataclass(frozen=True)
class _InversionKey:
    prompt: str
    steps: int
    start_time: float
    guidance: float
    fixed_point: int


class _CountingBackend:
    """Forwards to a backend and counts transformer evaluations (rows of each velocity batch)."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self.evaluations = 0

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        self.evaluations += latents.shape[0]
        return self._backend.velocity(latents, t, embedding)

    def __getattr__(self, name: str):
        return getattr(self._backend, name)


class EditSession:
    """Edits of one source image (see the module docstring for the caches).

    Example::

        backend = load_backend("world")
        session = EditSession(backend, Image.open("scene.png"))  # the model's captioner writes the prompt
        session.set_attribute("colour", "red", "blue")
        result = session.render({"colour": 0.5})
    """

    def __init__(self, backend: Backend, image: Image.Image, prompt: str | None = None,
                 captioner: Captioner | None = None, config: EditConfig = EditConfig()):
        self.backend = backend
        self.config = config
        self.image = fit_square(image, backend.info.image_size)
        if prompt is None or not prompt.strip():
            captioner = captioner or default_captioner(backend)
            if captioner is None:
                raise ValueError("no prompt given and no captioner for this model: describe the image in text")
            prompt = captioner.caption(self.image)
        self._source_prompt = prompt.strip()
        self._attributes: dict[str, Attribute] = {}
        self._latent: torch.Tensor | None = None  # (1, C, h, w)
        self._embeddings: dict[str, PromptEmbedding] = {}
        self._inversion: tuple[_InversionKey, torch.Tensor] | None = None
        self.total_nfe = 0
        self.inversions_computed = 0

    # The backend is shared: copies of a session (e.g. by gr.State) keep referencing it.
    def __deepcopy__(self, memo: dict) -> "EditSession":
        clone = EditSession.__new__(EditSession)
        clone.__dict__.update(self.__dict__)
        clone._attributes = dict(self._attributes)
        clone._embeddings = dict(self._embeddings)
        return clone

    # ----- the text side -------------------------------------------------------------------------
    @property
    def source_prompt(self) -> str:
        return self._source_prompt

    def set_prompt(self, prompt: str) -> None:
        """Change the source prompt: the inversion and every target prompt depend on it."""
        prompt = prompt.strip()
        if not prompt:
            raise ValueError("the source prompt is empty")
        if prompt == self._source_prompt:
            return
        for attribute in self._attributes.values():
            attribute.target_prompt(prompt)  # validate before changing anything
        self._source_prompt = prompt
        self._inversion = None
        self._prune_embeddings()

    @property
    def attributes(self) -> dict[str, Attribute]:
        return dict(self._attributes)

    def set_attribute(self, name: str, source: str, target: str, full_prompt: bool = False) -> str:
        """Add or change one attribute; returns its target prompt. Only its embedding is recomputed."""
        if not name.strip():
            raise ValueError("attribute name is empty")
        attribute = Attribute(name.strip(), source, target, full_prompt)
        target_prompt = attribute.target_prompt(self._source_prompt)
        self._attributes[attribute.name] = attribute
        self._prune_embeddings()
        return target_prompt

    def remove_attribute(self, name: str) -> None:
        self._attributes.pop(name, None)
        self._prune_embeddings()

    def target_prompt(self, name: str) -> str:
        return self._attribute(name).target_prompt(self._source_prompt)

    def _attribute(self, name: str) -> Attribute:
        if name not in self._attributes:
            known = ", ".join(self._attributes) or "none"
            raise KeyError(f"unknown attribute {name!r} (known: {known})")
        return self._attributes[name]

    def _prune_embeddings(self) -> None:
        keep = {self._source_prompt, ""} | {a.target_prompt(self._source_prompt) for a in self._attributes.values()}
        self._embeddings = {p: e for p, e in self._embeddings.items() if p in keep}

    def _embedding(self, prompt: str, counter: list[int]) -> PromptEmbedding:
        if prompt not in self._embeddings:
            self._embeddings[prompt] = self.backend.encode_prompt([prompt])
            counter[0] += 1
        return self._embeddings[prompt]

    # ----- rendering ---------------------------------------------------------------------------
    def resolved(self, config: EditConfig | None = None) -> tuple[EditConfig, int, float]:
        """The config with the backend's defaults filled in: ``(config, steps, guidance)``."""
        config = config or self.config
        steps = config.steps or self.backend.info.default_steps
        guidance = self.backend.info.default_edit_guidance if config.guidance is None else config.guidance
        return config, steps, guidance

    @torch.no_grad()
    def prepare(self, config: EditConfig | None = None, progress: Progress | None = None) -> bool:
        """Compute whatever the next render needs and is not cached; returns True if anything was."""
        config, steps, guidance = self.resolved(config)
        work = [0]
        if self._latent is None:
            self._latent = self.backend.encode_image(pil_to_tensor(self.image).to(self.backend.device))
            work[0] += 1
        source = self._embedding(self._source_prompt, work)
        uncond = self._embedding("", work)
        for attribute in self._attributes.values():
            self._embedding(attribute.target_prompt(self._source_prompt), work)
        key = _InversionKey(self._source_prompt, steps, config.start_time, guidance, config.inversion_fixed_point)
        if self._inversion is None or self._inversion[0] != key:
            counted = _CountingBackend(self.backend)
            times = tail_schedule(self.backend.sigmas(steps), config.start_time).flip(0)
            callback = (lambda i, n: progress(i / n, "inverting the source image")) if progress else None
            z_t0 = invert(guided_velocity(counted, source, uncond, guidance), self._latent, times,
                          config.inversion_fixed_point, callback)
            self._inversion = (key, z_t0)
            self.inversions_computed += 1
            self.total_nfe += counted.evaluations
            work[0] += 1
        return work[0] > 0

    def render(self, degrees: dict[str, float], config: EditConfig | None = None,
               progress: Progress | None = None) -> RenderResult:
        """Render one edit: ``{attribute name: degree}``; missing attributes are at degree 0."""
        return self.render_batch([degrees], config, progress)[0]

    @torch.no_grad()
    def render_batch(self, degree_sets: list[dict[str, float]], config: EditConfig | None = None,
                     progress: Progress | None = None, refine: bool = True) -> list[RenderResult]:
        """Render several edits of this image in one batch (a degree sweep)."""
        if not degree_sets:
            raise ValueError("nothing to render")
        config, steps, guidance = self.resolved(config)
        names = list(self._attributes)
        for degrees in degree_sets:
            for name, degree in degrees.items():
                self._attribute(name)
                check_degree(name, degree)
        start = time.perf_counter()
        prepare_nfe = self.total_nfe
        did_work = self.prepare(config, progress)
        prepare_nfe = self.total_nfe - prepare_nfe
        prepared = time.perf_counter()

        source = self._embeddings[self._source_prompt]
        uncond = self._embeddings[""]
        targets = [self._embeddings[self._attributes[n].target_prompt(self._source_prompt)] for n in names]
        edits = PromptEmbedding.cat([
            manipulate(source, targets, [float(d.get(n, 0.0)) for n in names]) for d in degree_sets])
        batch = len(degree_sets)
        z_t0 = self._inversion[1].expand(batch, -1, -1, -1)
        counted = _CountingBackend(self.backend)
        times = tail_schedule(self.backend.sigmas(steps), config.start_time)
        callback = (lambda i, n: progress(i / n, "sampling the edit")) if progress else None
        z = integrate(guided_velocity(counted, edits, uncond, guidance), z_t0, times, callback)
        if refine and config.refine_iters > 0:
            active = [any(float(v) != 0.0 for v in d.values()) for d in degree_sets]
            if any(active):
                generator = torch.Generator("cpu").manual_seed(config.seed)
                refined = refine_latent(counted, z, self._latent.expand_as(z), edits, source, config.refine_iters,
                                        config.refine_lr, config.refine_proximity, config.refine_t_max,
                                        config.refine_t_min, generator)
                mask = torch.tensor(active, device=z.device).view(-1, 1, 1, 1)
                z = torch.where(mask, refined, z)
        images = tensor_to_pil(self.backend.decode_latent(z))
        done = time.perf_counter()
        self.total_nfe += counted.evaluations
        timings = {"prepare": round((prepared - start) * 1000, 2), "render": round((done - prepared) * 1000, 2)}
        per_image = counted.evaluations // batch
        return [RenderResult(image, {n: float(d.get(n, 0.0)) for n in names}, per_image, prepare_nfe, timings,
                             not did_work, z[i:i + 1]) for i, (image, d) in enumerate(zip(images, degree_sets))]

    def reconstruct(self, config: EditConfig | None = None, progress: Progress | None = None) -> RenderResult:
        """Degree 0 everywhere and no refinement: how faithfully the inversion rebuilds the source."""
        return self.render_batch([{}], config, progress, refine=False)[0]

    def edit_nfe(self, config: EditConfig | None = None) -> int:
        """Transformer evaluations one render costs once everything is cached (the slider-move cost)."""
        config, steps, guidance = self.resolved(config)
        sampling = len(tail_schedule(self.backend.sigmas(steps), config.start_time)) - 1
        per_step = 1 if guidance == 1.0 else 2
        return sampling * per_step + 2 * config.refine_iters
