"""Edit directions in the image latent (LOCO, T-LOCO, HSDS, SDS): one module per method over :class:`Direction`.

A direction is a unit vector ``v`` in the latent at noise level ``t`` of one model; applying it with a
strength ``lambda`` moves an inverted latent ``z_t' = z_t + lambda v``, and the session samples the rest
(:meth:`ems_core.session.EditSession.render_batch` with ``latent_offset``; the session-level glue is
:mod:`ems_core.edit_directions`). Modules:

- :mod:`.base`: :class:`Direction`, :func:`compose`, the sign convention (:func:`canonical_sign`);
- :mod:`.jacobian`: JVPs/VJPs of the posterior-mean predictor, region masks, subspace iteration,
  null-space projection (pure functions over a ``z -> x0_hat`` callable);
- :mod:`.loco`: unsupervised LOCO directions (top right singular vectors of the masked PMP Jacobian);
- :mod:`.text`: the text pair's PMP change and what strength 1 means for text-supervised directions;
- :mod:`.tloco`: text-supervised T-LOCO (the text pair's PMP change pulled back through the Jacobian);
- :mod:`.hsds`: the Hessian-informed score-distillation direction (damped Gauss-Newton, solved by CG);
- :mod:`.sds`: the score-distillation direction (the text pair's PMP change itself, no Jacobian);
- :mod:`.library`: save / load a direction (one ``.safetensors`` file with JSON metadata) and a library folder.
"""

from .base import Direction, canonical_sign, compose
from .hsds import HSDSResult, hsds_direction
from .jacobian import (PMPFunction, SubspaceResult, jvp, latent_mask, masked, null_space_project, pmp_function,
                       subspace_iteration, vjp)
from .library import (DEFAULT_LIBRARY, FORMAT_VERSION, DirectionEntry, DirectionLibrary, load_direction,
                      save_direction)
from .loco import loco_directions
from .sds import sds_direction
from .text import StrengthFit, matched_strength, text_pmp_delta
from .tloco import tloco_direction

__all__ = [
    "DEFAULT_LIBRARY", "FORMAT_VERSION", "Direction", "DirectionEntry", "DirectionLibrary", "HSDSResult",
    "PMPFunction", "StrengthFit", "SubspaceResult", "canonical_sign", "compose", "hsds_direction", "jvp", "latent_mask",
    "load_direction", "loco_directions", "masked", "matched_strength", "null_space_project", "pmp_function",
    "save_direction", "sds_direction", "subspace_iteration", "text_pmp_delta", "tloco_direction", "vjp",
]
