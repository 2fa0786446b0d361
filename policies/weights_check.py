"""Weights against a validated spec: tensor names, dtypes and shapes (before any data is read), then
values (finite, and small enough that the network cannot overflow float32). Raises PolicyFileError."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from robokit.policies.spec_fields import FLOAT32_SAFE, FLOAT_DTYPES, UNBOUNDED_OBS, PolicyFileError, short

if TYPE_CHECKING:
    from robokit.policies.policy_spec import PolicySpec


def check_tensor_header(spec: PolicySpec, header: Mapping[str, tuple[str, list[int]]]) -> None:
    """Compare the file's tensors (name -> (safetensors dtype, shape)) with what ``spec`` needs, before
    any tensor data is read. Raises PolicyFileError."""
    want = spec.tensor_shapes()
    if set(header) != set(want):
        missing, extra = sorted(set(want) - set(header)), sorted(set(header) - set(want))
        raise PolicyFileError(
            f"weights do not match the spec's network {spec.layer_sizes}: "
            f"missing {short(missing, 120)}, unexpected {short(extra, 120)}"
        )
    for name, (dtype, shape) in header.items():
        if dtype not in FLOAT_DTYPES:
            raise PolicyFileError(
                f"tensor {name} has dtype {dtype}; weights are floating point ({FLOAT_DTYPES})"
            )
        if tuple(shape) != want[name]:
            raise PolicyFileError(f"tensor {name} has shape {tuple(shape)}, the spec needs {want[name]}")


def check_weights(spec: PolicySpec, tensors: Mapping[str, Any]) -> None:
    """Tensors (torch) of the right names, dtypes and shapes, all finite, and bounded so that the network
    cannot overflow float32 for any observation inside its normalisation clip (or its observation
    space's bounds). Raises PolicyFileError."""
    import torch

    names = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64"}
    check_tensor_header(
        spec, {k: (names.get(t.dtype, str(t.dtype)), list(t.shape)) for k, t in tensors.items()}
    )
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise PolicyFileError(f"tensor {name} holds NaN or infinite values")
    bound = input_bound(spec)
    for i in range(len(spec.layer_sizes) - 1):
        w, b = tensors[f"net.{2 * i}.weight"].double(), tensors[f"net.{2 * i}.bias"].double()
        # |W x + b|_inf <= |W|_inf |x|_inf + |b|_inf; relu, tanh and elu never increase |x|
        bound = float(w.abs().sum(dim=1).max()) * bound + float(b.abs().max())
    if not bound <= FLOAT32_SAFE:
        raise PolicyFileError(
            f"the weights are so large that the network's output can overflow float32 (bound {bound:.3g})"
        )


def input_bound(spec: PolicySpec) -> float:
    """Largest |network input|: the normalisation clip, else the observation bounds, else UNBOUNDED_OBS."""
    if spec.obs_norm is not None:
        return spec.obs_norm.clip
    bounds = []
    for key in spec.obs_keys:
        space = spec.obs_spaces[key]
        for values in (space.low, space.high):
            bounds += [math.inf] if values is None else [abs(v) for v in values]
    finite = bool(bounds) and all(math.isfinite(v) for v in bounds)
    return max(bounds) if finite else UNBOUNDED_OBS
