"""Latent directions on an :class:`~ems_core.session.EditSession`: find them at its inversion, apply them.

The glue between the pure direction methods (:mod:`ems_core.directions`) and a session:

- the point: the session's cached inversion ``z_t0`` at ``config.start_time`` (:meth:`EditSession.prepare`);
- the PMP: ``x0_hat(z) = z - t0 v_g(z, t0, e_src)`` with the session's guidance ``g`` and source prompt,
  the velocity its sampler integrates (:func:`session_pmp`);
- region masks (bundled world only): the oracle's object mask area-downsampled to the latent grid, or its
  complement (:func:`region_mask`);
- applying: ``z_t0' = z_t0 + sum_k lambda_k v_k`` as the session's ``latent_offset``, sampled down to 0 with
  the source prompt (all degrees 0, no refinement). A direction found at noise level ``t`` applies only to a
  session inverted to the same ``t`` (its ``start_time``): :func:`check_applicable` refuses anything else,
  as it refuses another model's direction or another latent shape.

Example::

    session = EditSession(load_backend("world"), image)
    directions, report = discover_directions(session, k=5, region="object")
    results = render_directions(session, [directions[0]], [[-5.0], [0.0], [5.0]])
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Callable

import numpy as np
import torch
from PIL import Image

from .config import EditConfig
from .directions import (Direction, PMPFunction, compose, hsds_direction, latent_mask, loco_directions,
                         pmp_function, sds_direction, subspace_iteration, tloco_direction)
from .directions.jacobian import jvp, masked
from .extract import Attribute
from .manipulate import check_degree
from .sampling import guided_velocity
from .session import EditSession, RenderResult

__all__ = ["REGIONS", "TEXT_METHODS", "check_applicable", "discover_directions", "image_hash", "region_mask",
           "painted_image_mask", "regions_of", "render_directions", "render_text_edits", "session_pmp", "text_direction"]

REGIONS = ("none", "object", "background", "face", "eyes", "mouth", "painted")  # a backend's: regions_of()
PAINTED = "painted"  # a region the user paints (any model): pass its image-resolution mask as ``painted``
TEXT_METHODS = ("sds", "tloco", "hsds")  # text-supervised directions; sds transfers best (docs/method.md)


def image_hash(image: Image.Image) -> str:
    """sha256 of the PNG bytes of ``image`` (the session's fitted source image, as the model sees it)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _config(session: EditSession, config: EditConfig | None) -> tuple[EditConfig, int, float]:
    """The session's settings with the inversion sampler: directions live at the inverted ``z_t0``."""
    config, steps, guidance = session.resolved(config)
    return config.with_(sampler="inversion"), steps, guidance


def session_pmp(session: EditSession, config: EditConfig | None = None,
                prompt: str | None = None) -> tuple[torch.Tensor, float, PMPFunction]:
    """``(z_t0, t0, x0_hat)`` of the session: its inversion (prepared if needed) and the guided PMP under
    ``prompt`` (default: the source prompt) at ``t0 = config.start_time``."""
    config, _, guidance = _config(session, config)
    session.prepare(config)
    backend = session.backend
    with torch.no_grad():
        cond = backend.encode_prompt([session.source_prompt if prompt is None else prompt])
        uncond = backend.encode_prompt([""])
    velocity = guided_velocity(backend, cond, uncond, guidance)
    return session.inversion, float(config.start_time), pmp_function(velocity, config.start_time)


def regions_of(backend) -> tuple[str, ...]:
    """The regions a backend offers: ``"none"`` (the whole image), plus its bundled world's (shapes: object and
    background from the oracle's object mask; portraits: face, eyes, mouth from the head geometry)."""
    world = getattr(backend, "world", None)
    own = world.regions if world is not None and world.region_mask is not None else ()
    return ("none", *own, PAINTED)


def region_mask(session: EditSession, region: str, painted: np.ndarray | None = None) -> torch.Tensor | None:
    """The latent mask ``(h, w)`` of ``region`` (:func:`regions_of`), or ``None`` for ``"none"``.

    The world's image-resolution mask (:attr:`ems_core.world.spec.WorldSpec.region_mask`), or for ``"painted"``
    the user's ``painted`` mask (``(H, W)``, non-zero inside; resized to the image when it differs),
    area-downsampled to the latent grid (any coverage counts).
    """
    offered = regions_of(session.backend)
    if region not in offered:
        if offered == ("none", PAINTED):
            raise ValueError(f"region {region!r} comes from a bundled world's geometry: only for the bundled models; "
                             "use 'none' (the whole image) or paint one")
        raise ValueError(f"unknown region {region!r} for this model; choose one of {', '.join(offered)}")
    if region == "none":
        return None
    if region == PAINTED:
        image_mask = painted_image_mask(painted, session.image.size)
        complement_of = None
    else:
        world = session.backend.world
        complement_of = dict(world.complements).get(region)
        image_mask = np.asarray(world.region_mask(session.image, complement_of or region), dtype=np.float32)
    _, h, w = session.backend.latent_shape()
    mask = latent_mask(torch.from_numpy(image_mask), (h, w))
    if complement_of is not None:  # e.g. the background: every latent cell the object does not touch
        mask = 1.0 - mask
    if float(mask.sum()) == 0.0:
        raise ValueError(f"the {region} region is empty at the latent resolution; use region 'none'")
    return mask.to(session.backend.device)


def painted_image_mask(painted: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    """A painted mask as float ``(H, W)`` in {0, 1} at the image's ``size`` (nearest-neighbour resize)."""
    if painted is None:
        raise ValueError("region 'painted' needs a painted mask: paint over the image first")
    mask = np.asarray(painted)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"a painted mask is one 2-D array, got shape {mask.shape}")
    mask = (np.nan_to_num(mask.astype(np.float32)) > 0).astype(np.float32)
    if mask.shape != (size[1], size[0]):
        mask = np.asarray(Image.fromarray((mask * 255).astype(np.uint8)).resize(size, Image.Resampling.NEAREST)) / 255.0
    if not mask.any():
        raise ValueError("the painted mask is empty: paint over the part of the image to edit")
    return mask.astype(np.float32)


def _provenance(session: EditSession, config: EditConfig, steps: int, guidance: float) -> dict:
    return {"model": session.backend.info.name, "t": float(config.start_time), "prompt": session.source_prompt,
            "source_sha256": image_hash(session.image), "steps": steps, "guidance": guidance}


def discover_directions(session: EditSession, k: int = 5, region: str = "none", null_rank: int = 0,
                        config: EditConfig | None = None, seed: int = 0, max_iters: int = 30, tol: float = 1e-3,
                        oversample: int = 3, chunk: int | None = None,
                        callback: Callable[[int, float], None] | None = None,
                        painted: np.ndarray | None = None) -> tuple[list[Direction], dict]:
    """LOCO: the top-``k`` directions of the session's (region-masked) PMP Jacobian at its inversion.

    ``null_rank`` > 0 projects them off the complement region's top directions (needs a region); ``painted`` is
    the mask of region ``"painted"`` (:func:`region_mask`).
    ``oversample`` extra vectors ride along in the subspace iteration (3 by default: on the bundled model an
    object-masked k = 5 converged to 1e-3 in 19 iterations with 3, and had not in 40 without).
    Each direction's provenance also records its ``gain`` ``||J v||`` on the whole image's PMP (one JVP each): with a
    region mask the singular value measures only the region, and a direction may change much more elsewhere.
    Returns the directions and a report (iterations, convergence, singular values, products, seconds).
    """
    if null_rank and region == "none":
        raise ValueError("a null-space projection needs a region (object or background)")
    config, steps, guidance = _config(session, config)
    started = time.perf_counter()
    z_t, t, pmp = session_pmp(session, config)
    mask = region_mask(session, region, painted)
    generator = torch.Generator("cpu").manual_seed(seed)
    provenance = {**_provenance(session, config, steps, guidance), "seed": seed}
    directions, report = loco_directions(pmp, z_t, t, k, generator, session.backend.info.name, mask=mask,
                                         mask_kind=region, null_rank=null_rank, max_iters=max_iters, tol=tol,
                                         oversample=oversample, chunk=chunk, provenance=provenance, callback=callback)
    if directions:
        gains = jvp(pmp, z_t, torch.stack([d.vector for d in directions]), chunk=chunk).flatten(1).norm(dim=1)
        directions = [Direction(d.vector, d.model, d.noise_level, d.method, {**d.provenance, "gain": float(g)})
                      for d, g in zip(directions, gains)]
    report["seconds"] = round(time.perf_counter() - started, 3)
    return directions, report


def text_direction(session: EditSession, method: str, source: str, target: str, full_prompt: bool = False,
                   region: str = "none", null_rank: int = 0, config: EditConfig | None = None,
                   damping: float = 0.1, cg_iters: int = 8, seed: int = 0,
                   painted: np.ndarray | None = None) -> Direction:
    """A text-supervised direction (``method`` ``"sds"``, ``"tloco"`` or ``"hsds"``) for the edit ``source -> target``
    (a phrase of the source prompt, or with ``full_prompt`` the whole target prompt) at the session's
    inversion. Its ``unit_strength`` is what a degree of 1 means (:mod:`ems_core.directions.text`)."""
    if method not in TEXT_METHODS:
        raise ValueError(f"unknown direction method {method!r}; choose one of {', '.join(TEXT_METHODS)}")
    if null_rank and region == "none":
        raise ValueError("a null-space projection needs a region (object or background)")
    config, steps, guidance = _config(session, config)
    target_prompt = Attribute("edit", source, target, full_prompt).target_prompt(session.source_prompt)
    z_t, t, source_pmp = session_pmp(session, config)
    _, _, target_pmp = session_pmp(session, config, target_prompt)
    mask = region_mask(session, region, painted)
    complement = None
    if null_rank:
        generator = torch.Generator("cpu").manual_seed(seed)
        complement = subspace_iteration(masked(source_pmp, 1.0 - mask), z_t, null_rank, generator).vectors
    provenance = {**_provenance(session, config, steps, guidance), "source": source, "target": target,
                  "target_prompt": target_prompt}
    name = session.backend.info.name
    if method == "sds":
        return sds_direction(source_pmp, target_pmp, z_t, t, name, mask, complement, region, provenance)
    if method == "tloco":
        return tloco_direction(source_pmp, target_pmp, z_t, t, name, mask, complement, region, provenance)
    return hsds_direction(source_pmp, target_pmp, z_t, t, name, mask, damping, cg_iters,
                          complement_basis=complement, mask_kind=region, provenance=provenance).direction


def check_applicable(session: EditSession, direction: Direction, config: EditConfig | None = None) -> None:
    """Refuse (``ValueError``) a direction of another model, latent shape or noise level than the session's."""
    config, _, _ = _config(session, config)
    backend = session.backend
    if direction.model != backend.info.name:
        raise ValueError(f"the direction belongs to model {direction.model!r}, this session uses {backend.info.name!r}")
    shape = tuple(backend.latent_shape())
    if tuple(direction.vector.shape) != shape:
        raise ValueError(f"the direction has latent shape {tuple(direction.vector.shape)}, this model {shape}")
    if abs(direction.noise_level - config.start_time) > 1e-6:
        raise ValueError(f"the direction was found at noise level {direction.noise_level:g} and applies to a session "
                         f"inverted there; this one starts at {config.start_time:g} (use a config with "
                         f"start_time={direction.noise_level:g})")


def render_directions(session: EditSession, directions: list[Direction], strength_sets: list[list[float]],
                      config: EditConfig | None = None, enable_grad: bool = False,
                      relative: bool = True) -> list[RenderResult]:
    """Render the session's image moved by ``sum_k lambda_k v_k`` for each list of strengths (one image each,
    one batch): ``z_t0' = z_t0 + offset``, sampled to 0 with the source prompt, degrees 0, no refinement.
    Strengths are in latent units (multiply by :attr:`Direction.unit_strength` for degrees).

    ``relative`` (default): the result is the source latent plus what the move changed (the render minus the
    zero-offset render, ``EditSession.render_batch(relative_offset=True)``), so strength 0 gives the source back
    and the inversion's own blur does not show; ``False``: the raw render."""
    if not directions or not strength_sets:
        raise ValueError("nothing to render: give at least one direction and one set of strengths")
    for direction in directions:
        check_applicable(session, direction, config)
    device = session.backend.device
    offsets = torch.cat([compose(directions, list(strengths)) for strengths in strength_sets]).to(device)
    return session.render_batch([{} for _ in strength_sets], config, refine=False, latent_offset=offsets,
                                enable_grad=enable_grad, relative_offset=relative)


def render_text_edits(session: EditSession, method: str, degree_sets: list[dict[str, float]],
                      config: EditConfig | None = None, region: str = "none",
                      **options) -> tuple[list[RenderResult], dict[str, Direction]]:
    """EMS-style degrees rendered with text-supervised latent directions instead of moved embeddings.

    One direction per attribute of the session (``method`` ``"sds"``, ``"tloco"`` or ``"hsds"``, its source and target
    phrases as the text pair), found once at the session's inversion; each ``{attribute: degree}`` renders
    ``z_t0 + sum_i degree_i * unit_strength_i * v_i`` (:func:`render_directions`). ``options`` go to
    :func:`text_direction`. Returns the renders and the directions by attribute name.
    """
    if not session.attributes:
        raise ValueError("the session has no attribute to turn into a direction")
    for degrees in degree_sets:
        unknown = sorted(set(degrees) - set(session.attributes))
        if unknown:
            raise KeyError(f"unknown attribute {unknown[0]!r} (known: {', '.join(session.attributes)})")
        for name, degree in degrees.items():
            check_degree(name, degree)
    directions = {name: text_direction(session, method, a.source, a.target, a.full_prompt, region,
                                       config=config, **options)
                  for name, a in session.attributes.items()}
    names = list(directions)
    strengths = [[float(d.get(n, 0.0)) * directions[n].unit_strength for n in names] for d in degree_sets]
    results = render_directions(session, [directions[n] for n in names], strengths, config)
    for result, degrees in zip(results, degree_sets):
        result.degrees = {n: float(degrees.get(n, 0.0)) for n in names}
    return results, directions
