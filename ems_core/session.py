"""The edit session: one source image, its cached latent/inversion/embeddings, and cheap re-renders.

What is cached, and what invalidates it:

=====================  =====================================================  ===========================
cache                  key                                                    cleared by
=====================  =====================================================  ===========================
source latent z_src    the image                                              a new session (new image)
prompt embeddings      the prompt text (source, "" and each target)           prompt / attribute change
source side            difference sampler: (source prompt, steps, start time,  a prompt change; the least
                       source guidance, seed) -> the source path; inversion    recently used beyond
                       sampler: (source prompt, steps, start time, guidance,   PREPARED_KEPT
                       iters) -> z_t0
rendered moves         (prompts, attributes, settings, every degree)          least recently used first
calibrations           (source prompt, an attribute's path prompts, settings)  never (a few numbers each)
=====================  =====================================================  ===========================

The source side is what the Sample step (``config.sampler``) needs of the source image whatever the degrees:
the difference sampler's source path (noisy source latents and their guided velocities,
:func:`~ems_core.sampling.source_path`) or the inversion ``z_t0``. A degree change touches nothing cached: it
re-runs only the manipulation, the target side of the sampling and the short refinement; a degree seen
before costs nothing (``render`` memoises). A few source sides are kept, so that a live preview's shorter
schedule and the full render do not evict each other. The session references a shared, read-only backend
and never copies it.
Gradients are off unless a call asks for them (``enable_grad=True``), as in flow_matching's solvers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
from PIL import Image

from .alignment import align_embedding, aligned_slots
from .backends.contract import Backend, CountingBackend
from .calibration import CALIBRATION_DEGREES, DegreeCalibration, fit_calibration
from .config import MAX_MULTILINEAR, MAX_VELOCITY_KNOTS, EditConfig
from .embeddings import PromptEmbedding, PromptMixture
from .extract import Attribute, Captioner, combined_prompt, default_captioner
from .images import fit_square, pil_to_tensor, tensor_to_pil
from .manipulate import Parts, check_degree, convex_blend, manipulate_paths, multilinear_parts, summed_parts
from .refine import refine_latent
from .sampling import (SourcePath, difference_sample, guided_velocity, integrate, invert, ramped_guidance, source_path,
                       tail_schedule)

__all__ = ["EditSession", "Progress", "RenderResult"]

Progress = Callable[[float, str], None]  # (fraction done, what is happening)

MEMO_BYTES = 64 * 2**20  # memoised renders per session (images + latents); 64x64 scenes: thousands of them
PREPARED_KEPT = 4  # source sides (source paths / inversions) kept per session, e.g. preview and full settings


@dataclass
class RenderResult:
    """One rendered edit."""

    image: Image.Image
    degrees: dict[str, float]
    nfe: int  # transformer evaluations per image spent rendering (the slider-move cost)
    prepare_nfe: int  # evaluations spent on first-time work in this call (inversion); 0 on a cache hit
    timings_ms: dict[str, float]  # "prepare": first-time work in this call, "render": the rest
    cache_hit: bool  # True when nothing cached had to be computed
    latent: torch.Tensor = field(repr=False)  # (1, C, h, w); part of a graph when rendered with gradients


@dataclass(frozen=True)
class _SourceKey:
    """What the source side of a render depends on (``detail``: the seed and noise grid of a source path, the
    fixed-point iterations of an inversion)."""

    sampler: str
    prompt: str
    steps: int
    start_time: float
    guidance: float
    detail: int | tuple[int, int]


class EditSession:
    """Edits of one source image (see the module docstring for the caches).

    Example::

        backend = load_backend("world")
        session = EditSession(backend, Image.open("scene.png"))  # the model's captioner writes the prompt
        session.set_attribute("colour", "red", "blue")
        result = session.render({"colour": 0.5})

    ``image`` may be any PIL image: it is made RGB by :func:`~ems_core.images.sanitize_image`'s rules
    (16-bit scaled, transparency on white, EXIF orientation) and fitted to the model's square, but its size
    is the caller's business: open untrusted files with :func:`~ems_core.images.load_image`, which refuses
    images over :data:`~ems_core.images.MAX_IMAGE_PIXELS` before decoding them.
    """

    def __init__(self, backend: Backend, image: Image.Image, prompt: str | None = None,
                 captioner: Captioner | None = None, config: EditConfig | None = None):
        self.backend = backend
        self.config = config or backend.info.edit_config  # the backend's measured edit settings by default
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
        self._aligned: dict[tuple[str, str], PromptEmbedding] = {}  # (source, path prompt) -> its aligned embedding
        self._prepared: OrderedDict[_SourceKey, SourcePath | torch.Tensor] = OrderedDict()  # least recent first
        self._memo: OrderedDict[tuple, RenderResult] = OrderedDict()  # rendered moves, least recent first
        self._calibrations: dict[tuple, DegreeCalibration] = {}  # (target prompt, settings) -> calibration
        self._offset_bases: dict[tuple, torch.Tensor] = {}  # zero-offset renders of inversions (relative_offset)
        self.total_nfe = 0
        self.preparations = 0  # source sides computed (source paths and inversions)
        self.memo_hits = 0

    # The backend is shared: copies of a session (e.g. by gr.State) keep referencing it.
    def __deepcopy__(self, memo: dict) -> "EditSession":
        clone = EditSession.__new__(EditSession)
        clone.__dict__.update(self.__dict__)
        clone._attributes = dict(self._attributes)
        clone._embeddings = dict(self._embeddings)
        clone._aligned = dict(self._aligned)
        clone._memo = OrderedDict(self._memo)
        clone._prepared = OrderedDict(self._prepared)
        clone._calibrations = dict(self._calibrations)
        clone._offset_bases = dict(self._offset_bases)
        return clone

    # ----- the text side -------------------------------------------------------------------------
    @property
    def source_prompt(self) -> str:
        return self._source_prompt

    @property
    def attributes(self) -> dict[str, Attribute]:
        return dict(self._attributes)

    def configure(self, prompt: str, attributes: list[Attribute] | tuple[Attribute, ...]) -> None:
        """Set the source prompt and the whole attribute list at once (validated before anything changes).

        Caches that still apply are kept: the source side when the prompt is unchanged, the embedding of
        every prompt still in use.
        """
        prompt = prompt.strip()
        if not prompt:
            raise ValueError("the source prompt is empty")
        names = [a.name.strip() if isinstance(a.name, str) else a.name for a in attributes]
        for attribute in attributes:
            attribute.target_prompt(prompt)  # validates
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"two attributes are called {', '.join(map(repr, duplicates))}")
        configured = {a.name.strip(): a for a in attributes}
        if prompt == self._source_prompt and configured == self._attributes:
            return  # nothing changed: every cache stays (the combined prompts of several sliders included)
        if prompt != self._source_prompt:
            self._source_prompt = prompt
            self._prepared.clear()
            self._offset_bases.clear()
        self._attributes = configured
        self._prune_embeddings()

    def set_prompt(self, prompt: str) -> None:
        """Change the source prompt, keeping the attributes (each must still fit the new prompt)."""
        self.configure(prompt, list(self._attributes.values()))

    def set_attribute(self, name: str, source: str, target: str, full_prompt: bool = False,
                      via: tuple[str, ...] = ()) -> str:
        """Add or change one attribute (``via``: waypoint phrases); returns its target prompt. Only its
        embeddings are recomputed."""
        attribute = Attribute(name.strip() if isinstance(name, str) else name, source, target, full_prompt, tuple(via))
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

    def _manipulated(self, source: PromptEmbedding, paths: list[list[PromptEmbedding]], names: list[str],
                     degrees: list[float], config: EditConfig) -> Parts:
        """``e(a)`` for one image, as knots and weights (one embedding of weight 1 unless ``config.blend`` is
        "velocity"): EMS's sum, or with ``config.composition == "multilinear"`` and two or more attributes moved,
        :func:`manipulate_multilinear` over their combined prompts (encoded on first use; the sum when their
        phrases cannot be combined in one prompt, or more than :data:`MAX_MULTILINEAR` attributes move: 2^n
        prompts). An extrapolated degree blends linearly, and a velocity blend of more than
        :data:`MAX_VELOCITY_KNOTS` prompts blends their embeddings instead (keeping norms where it is convex)."""
        active = [i for i, degree in enumerate(degrees) if degree != 0.0]
        velocity = config.blend == "velocity"
        attributes = [self._attributes[names[i]] for i in active]
        if (config.composition == "sum" or len(active) < 2 or len(active) > MAX_MULTILINEAR
                or combined_prompt(self._source_prompt, attributes, [0] * len(attributes)) is None):
            if not velocity:
                return [(manipulate_paths(source, paths, degrees, config.blend), 1.0)]
            parts = summed_parts(source, paths, degrees)
            if len(parts) <= MAX_VELOCITY_KNOTS:
                return parts
            return [(manipulate_paths(source, paths, degrees, "norm"), 1.0)]

        def corner(index: tuple[int, ...]) -> PromptEmbedding:
            prompt = combined_prompt(self._source_prompt, attributes, list(index))
            if prompt not in self._embeddings:
                with torch.no_grad():
                    self._embeddings[prompt] = self.backend.encode_prompt([prompt])
            return self._path_embedding(prompt, config)

        parts, convex = multilinear_parts(corner, [len(a.via) + 1 for a in attributes], [degrees[i] for i in active])
        if velocity and convex and len(parts) <= MAX_VELOCITY_KNOTS:
            return parts
        kept_norms = "norm" if velocity else config.blend
        return [(convex_blend(parts, kept_norms if convex else "linear"), 1.0)]

    def _prune_embeddings(self) -> None:
        keep = {self._source_prompt, ""} | {p for a in self._attributes.values() for p in a.path_prompts(self._source_prompt)}
        self._embeddings = {p: e for p, e in self._embeddings.items() if p in keep}
        self._aligned = {k: e for k, e in self._aligned.items() if k[0] == self._source_prompt and k[1] in keep}

    def _embedding(self, prompt: str) -> PromptEmbedding:
        return self._embeddings[prompt]

    def _path_embedding(self, prompt: str, config: EditConfig) -> PromptEmbedding:
        """A target, waypoint or combined prompt's embedding for blending with the source's: with
        ``config.align_tokens`` its token slots reordered so that each word sits in the source slot of the same
        word (:func:`~ems_core.alignment.aligned_slots`; the same velocity, docs/method.md "Aligned tokens"),
        else as encoded. Backends that cannot tell their token ids blend slot by slot."""
        embedding = self._embeddings[prompt]
        if not config.align_tokens or prompt == self._source_prompt:
            return embedding
        key = (self._source_prompt, prompt)
        if key not in self._aligned:
            source_ids, other_ids = self.backend.token_ids(self._source_prompt), self.backend.token_ids(prompt)
            self._aligned[key] = (embedding if source_ids is None or other_ids is None
                                  else align_embedding(embedding, aligned_slots(source_ids, other_ids)))
        return self._aligned[key]

    # ----- rendering ---------------------------------------------------------------------------
    def resolved(self, config: EditConfig | None = None) -> tuple[EditConfig, int, float]:
        """The config with the backend's defaults filled in: ``(config, steps, guidance)``."""
        config = config or self.config
        steps = config.steps or self.backend.info.default_edit_steps
        guidance = self.backend.info.default_edit_guidance if config.guidance is None else config.guidance
        return config, steps, guidance

    def _source_key(self, config: EditConfig) -> _SourceKey:
        config, steps, guidance = self.resolved(config)
        detail = (config.seed, config.noise_grid) if config.sampler == "difference" else config.inversion_fixed_point
        return _SourceKey(config.sampler, self._source_prompt, steps, config.start_time,
                          self._source_guidance(config, guidance), detail)

    @staticmethod
    def _source_guidance(config: EditConfig, guidance: float) -> float:
        """The guidance under the source prompt (``source_guidance`` when set, else ``guidance``): the difference
        sampler's source side, or the inversion to ``t0``; the target side's ramps in from it."""
        return guidance if config.source_guidance is None else config.source_guidance

    def _target_guidance(self, config: EditConfig, guidance: float,
                         degree_sets: list[dict[str, float]]) -> float | list[float]:
        """The target side's guidance, one per edit when the source side's differs: ramped from the source side's
        at degree 0 to ``guidance`` at ``config.guidance_ramp`` (:func:`ramped_guidance`)."""
        source_guidance = self._source_guidance(config, guidance)
        if source_guidance == guidance:
            return guidance
        return [ramped_guidance(guidance, source_guidance, config.guidance_ramp,
                                max((abs(float(v)) for v in degrees.values()), default=0.0))
                for degrees in degree_sets]

    def prepare(self, config: EditConfig | None = None, progress: Progress | None = None) -> bool:
        """Compute whatever the next render needs and is not cached (source latent, embeddings, the source
        side of ``config.sampler``); returns True if anything was.

        Cached parts never carry gradients: they are computed under ``torch.no_grad``.
        """
        config, steps, guidance = self.resolved(config)
        computed = False
        with torch.no_grad():
            if self._latent is None:
                self._latent = self.backend.encode_image(pil_to_tensor(self.image).to(self.backend.device))
                computed = True
            prompts = [self._source_prompt, ""] + [p for a in self._attributes.values()
                                                     for p in a.path_prompts(self._source_prompt)]
            for prompt in dict.fromkeys(prompts):
                if prompt not in self._embeddings:
                    self._embeddings[prompt] = self.backend.encode_prompt([prompt])
                    computed = True
            key = self._source_key(config)
            if key in self._prepared:
                self._prepared.move_to_end(key)
            else:
                counted = CountingBackend(self.backend)
                velocity = guided_velocity(counted, self._embedding(self._source_prompt), self._embedding(""),
                                           self._source_guidance(config, guidance))
                times = tail_schedule(self.backend.sigmas(steps), config.start_time)
                if config.sampler == "difference":
                    callback = (lambda i, n: progress(i / n, "following the source path")) if progress else None
                    generator = torch.Generator("cpu").manual_seed(config.seed)
                    prepared = source_path(velocity, self._latent, times, generator, callback, config.noise_grid)
                else:
                    callback = (lambda i, n: progress(i / n, "inverting the source image")) if progress else None
                    prepared = invert(velocity, self._latent, times.flip(0), config.inversion_fixed_point, callback)
                self._prepared[key] = prepared
                while len(self._prepared) > PREPARED_KEPT:
                    self._prepared.popitem(last=False)
                self.preparations += 1
                self.total_nfe += counted.evaluations
                computed = True
        return computed

    @property
    def inversion(self) -> torch.Tensor | None:
        """The most recently used inverted latent ``z_t0`` ``(1, C, h, w)``, or ``None`` before a
        :meth:`prepare` with the inversion sampler."""
        inversions = [v for k, v in self._prepared.items() if k.sampler == "inversion"]
        return inversions[-1] if inversions else None

    def render(self, degrees: dict[str, float], config: EditConfig | None = None,
               progress: Progress | None = None, enable_grad: bool = False) -> RenderResult:
        """Render one edit: ``{attribute name: degree}``; missing attributes are at degree 0.

        Renders are memoised (up to :data:`MEMO_BYTES` per session): moving back to degrees already
        rendered with the same prompt, attributes and settings costs no model evaluation.
        """
        if enable_grad:
            return self.render_batch([degrees], config, progress, enable_grad=True)[0]
        started = time.perf_counter()
        key = self._memo_key(degrees, config)
        if key in self._memo:
            self._memo.move_to_end(key)
            self.memo_hits += 1
            hit = self._memo[key]
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            return replace(hit, nfe=0, prepare_nfe=0, timings_ms={"prepare": 0.0, "render": elapsed}, cache_hit=True)
        result = self.render_batch([degrees], config, progress)[0]
        self._remember(key, result)
        return result

    def memoised(self, degrees: dict[str, float], config: EditConfig | None = None) -> RenderResult | None:
        """The memoised render of ``degrees`` as :meth:`render` would return it (0 evaluations), or ``None``
        when it was not rendered yet; renders nothing."""
        key = self._memo_key(degrees, config)
        return self.render(degrees, config) if key in self._memo else None

    def _memo_key(self, degrees: dict[str, float], config: EditConfig | None) -> tuple:
        """What a render depends on: prompts, attributes, settings and every degree (missing ones are 0)."""
        for name, degree in degrees.items():
            self._attribute(name)
            check_degree(name, degree)
        text = (self._source_prompt, tuple((n, tuple(a.path_prompts(self._source_prompt)))
                                           for n, a in self._attributes.items()))
        return text, self.resolved(config), tuple(float(degrees.get(n, 0.0)) for n in self._attributes)

    def _remember(self, key: tuple, result: RenderResult) -> None:
        size = result.image.width * result.image.height * 3 + result.latent.numel() * result.latent.element_size()
        self._memo[key] = replace(result, latent=result.latent.detach())
        while len(self._memo) > max(1, MEMO_BYTES // max(size, 1)):
            self._memo.popitem(last=False)

    def render_batch(self, degree_sets: list[dict[str, float]], config: EditConfig | None = None,
                     progress: Progress | None = None, refine: bool = True,
                     latent_offset: torch.Tensor | None = None, enable_grad: bool = False,
                     relative_offset: bool = False) -> list[RenderResult]:
        """Render several edits of this image in one batch (a degree sweep).

        Args:
            degree_sets: one ``{attribute name: degree}`` per image.
            config: settings of this call (default: the session's).
            progress: ``(fraction, message)`` callback.
            refine: run the constrained-SDS refinement on edited images (``config.refine_iters`` of them).
            latent_offset: added to the cached ``z_t0`` before sampling (``(1 or B, C, h, w)``): a move
                along a latent direction, ``z_t0' = z_t0 + lambda v``. It needs an inversion, so such
                renders use the inversion sampler whatever ``config.sampler`` says.
            enable_grad: build the autograd graph through sampling, refinement and decoding, so that
                ``result.latent`` can be differentiated (e.g. with respect to ``latent_offset``).
            relative_offset: with ``latent_offset``, return the source latent plus what the offset changed,
                ``z_src + (z(z_t0 + offset) - z(z_t0))``: the inversion's own reconstruction error (the
                zero-offset render, computed once per settings and cached) cancels, as the difference sampler
                cancels it for EMS edits. At offset 0 this gives the source latent back exactly.
        """
        # 1. Check inputs
        if not degree_sets:
            raise ValueError("nothing to render")
        config, steps, guidance = self.resolved(config)
        if latent_offset is not None:
            config = config.with_(sampler="inversion")
        names = list(self._attributes)
        for degrees in degree_sets:
            for name, degree in degrees.items():
                self._attribute(name)
                check_degree(name, degree)
        batch = len(degree_sets)

        # 2. Prepare what is not cached (source latent, embeddings, the source path or the inversion to t0)
        start = time.perf_counter()
        nfe_before = self.total_nfe
        computed = self.prepare(config, progress)
        prepare_nfe = self.total_nfe - nfe_before
        prepared = time.perf_counter()

        with torch.set_grad_enabled(enable_grad):
            # 3. Manipulate: e(a) = e_src + sum_i a_i (e_tgt_i - e_src) (through waypoints), one per image
            source, uncond = self._embedding(self._source_prompt), self._embedding("")
            paths = [[self._path_embedding(p, config) for p in self._attributes[n].path_prompts(self._source_prompt)]
                     for n in names]
            edits = PromptMixture.of([  # one embedding per image, or its knots (blend="velocity")
                self._manipulated(source, paths, names, [float(d.get(n, 0.0)) for n in names], config)
                for d in degree_sets])

            # 4. Sample under e(a): the target side of the cached source path, or down from the cached z_t0
            #    (moved by latent_offset)
            counted = CountingBackend(self.backend)
            velocity = guided_velocity(counted, edits, uncond, self._target_guidance(config, guidance, degree_sets))
            source_side = self._prepared[self._source_key(config)]
            callback = (lambda i, n: progress(i / n, "sampling the edit")) if progress else None
            if config.sampler == "difference":
                z = difference_sample(velocity, self._latent, source_side, batch, callback)
            else:
                z = source_side.expand(batch, -1, -1, -1)
                if latent_offset is not None:
                    z = z + latent_offset
                times = tail_schedule(self.backend.sigmas(steps), config.start_time)
                z = integrate(velocity, z, times, callback)
                if latent_offset is not None and relative_offset:
                    z = self._latent + (z - self._offset_base(config, steps, self._source_guidance(config, guidance)))

            # 5. Refine edited images with the constrained SDS (what the edit does not name stays)
            edited = [any(float(v) != 0.0 for v in d.values()) for d in degree_sets]
            if refine and config.refine_iters > 0 and any(edited):
                generator = torch.Generator("cpu").manual_seed(config.seed)
                callback = (lambda i, n: progress(i / n, "refining the edit")) if progress else None
                refined = refine_latent(counted, z, self._latent.expand_as(z), edits, source, config.refine_iters,
                                        config.refine_lr, config.refine_proximity, config.refine_t_max,
                                        config.refine_t_min, generator, callback)
                z = torch.where(torch.tensor(edited, device=z.device).view(-1, 1, 1, 1), refined, z)

            # 6. Decode
            images = tensor_to_pil(self.backend.decode_latent(z))
        done = time.perf_counter()
        self.total_nfe += counted.evaluations
        timings = {"prepare": round((prepared - start) * 1000, 2), "render": round((done - prepared) * 1000, 2)}
        return [RenderResult(image, {n: float(d.get(n, 0.0)) for n in names}, counted.evaluations // batch,
                             prepare_nfe, timings, not computed, z[i:i + 1])
                for i, (image, d) in enumerate(zip(images, degree_sets))]

    def _offset_base(self, config: EditConfig, steps: int, guidance: float) -> torch.Tensor:
        """The inversion sampled back down with no offset under the source prompt (what ``relative_offset``
        subtracts), cached per source key; its evaluations count in :attr:`total_nfe`."""
        source_key = self._source_key(config)
        key = (source_key, steps, guidance)  # the degree-0 render's guidance
        if key not in self._offset_bases:
            with torch.no_grad():
                counted = CountingBackend(self.backend)
                velocity = guided_velocity(counted, self._embedding(self._source_prompt), self._embedding(""), guidance)
                times = tail_schedule(self.backend.sigmas(steps), config.start_time)
                self._offset_bases[key] = integrate(velocity, self._prepared[source_key], times)
            self.total_nfe += counted.evaluations
        return self._offset_bases[key]

    def calibration(self, name: str, config: EditConfig | None = None,
                    progress: Progress | None = None) -> DegreeCalibration:
        """The slider calibration of attribute ``name`` (:mod:`ems_core.calibration`): the edit rendered alone at
        :data:`~ems_core.calibration.CALIBRATION_DEGREES` in one batch, the RMS pixel change between neighbouring
        renders fitted by :func:`~ems_core.calibration.fit_calibration`. Cached per target prompt, source prompt
        and settings; the renders are memoised, so moves to those degrees cost nothing afterwards."""
        config = self.resolved(config)
        key = (self._source_prompt, tuple(self._attribute(name).path_prompts(self._source_prompt)), config)
        if key not in self._calibrations:
            degree_sets = [{name: degree} for degree in CALIBRATION_DEGREES]
            results = self.render_batch(degree_sets, config[0], progress)
            for degrees, result in zip(degree_sets, results):
                self._remember(self._memo_key(degrees, config[0]), result)
            pixels = [np.asarray(r.image, dtype=np.float32) / 255.0 for r in results]
            steps = [float(np.sqrt(np.mean((b - a) ** 2))) for a, b in zip(pixels, pixels[1:])]
            self._calibrations[key] = fit_calibration(CALIBRATION_DEGREES, steps)
        return self._calibrations[key]

    def calibrated_degrees(self, sliders: dict[str, float], config: EditConfig | None = None,
                           progress: Progress | None = None) -> dict[str, float]:
        """``{attribute: slider position}`` -> ``{attribute: degree}`` through each attribute's
        :meth:`calibration` (fitted on first use); a slider at 0 stays 0 and costs nothing."""
        return {name: (self.calibration(name, config, progress).degree(value) if float(value) != 0.0 else 0.0)
                for name, value in sliders.items()}

    def reconstruct(self, config: EditConfig | None = None, progress: Progress | None = None) -> RenderResult:
        """Degree 0 everywhere and no refinement: how faithfully the Sample step rebuilds the source (the
        difference sampler: exactly the autoencoder's reconstruction)."""
        return self.render_batch([{}], config, progress, refine=False)[0]

    def edit_nfe(self, config: EditConfig | None = None) -> int:
        """Transformer evaluations one render costs once everything is cached (the slider-move cost); with
        ``blend="velocity"``, of one slider between two knots (one evaluation more per step and per refinement
        than at a knot, where every blend costs the same)."""
        config, steps, guidance = self.resolved(config)
        sampling = len(tail_schedule(self.backend.sigmas(steps), config.start_time)) - 1
        knots = 2 if config.blend == "velocity" else 1
        unguided = guidance == 1.0 and self._source_guidance(config, guidance) == 1.0
        return sampling * (knots if unguided else 1 + knots) + (1 + knots) * config.refine_iters
