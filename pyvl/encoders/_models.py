"""Validation of the learned arrays of the built-in encoders (GMMs, centers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._arrays import _numeric

GMM_KEYS = ("means", "covariances", "priors")
CENTERS_KEYS = ("centers",)


def _keys(state: Mapping[str, Any], keys: tuple[str, ...], owner: str) -> None:
    if not isinstance(state, Mapping) or set(state) != set(keys):
        got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
        raise ValueError(f"{owner} state must have exactly the arrays {list(keys)}, got {got}")


def gmm_state(
    state: Mapping[str, Any], dtype: np.dtype, n_components: int, owner: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means (K, D), covariances (K, D) > 0, priors (K,) >= 0), finite, as new
    C-contiguous arrays of ``dtype``; K must be ``n_components``."""
    _keys(state, GMM_KEYS, owner)
    m = _numeric(state["means"], "means")
    c = _numeric(state["covariances"], "covariances")
    p = _numeric(state["priors"], "priors")
    if m.ndim != 2 or m.shape[1] == 0 or c.shape != m.shape or p.shape != (m.shape[0],):
        raise ValueError(
            f"{owner}: means and covariances must be (K, D) and priors (K,); got "
            f"{m.shape}, {c.shape}, {p.shape}"
        )
    if m.shape[0] != n_components:
        raise ValueError(
            f"{owner}: the GMM has {m.shape[0]} components, n_components is {n_components}"
        )
    m, c, p = (np.array(a, dtype=dtype, order="C") for a in (m, c, p))
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(c)) and np.all(np.isfinite(p))):
        raise ValueError(f"{owner}: the GMM parameters contain NaN or Inf")
    if np.any(c <= 0):
        raise ValueError(f"{owner}: covariances must be > 0")
    if np.any(p < 0):
        raise ValueError(f"{owner}: priors must be >= 0")
    return m, c, p


def centers_state(
    state: Mapping[str, Any], dtype: np.dtype, n_clusters: int, owner: str
) -> np.ndarray:
    """Centers (K, D), finite, as a new C-contiguous array of ``dtype``; K = ``n_clusters``."""
    _keys(state, CENTERS_KEYS, owner)
    c = _numeric(state["centers"], "centers")
    if c.ndim != 2 or c.shape[1] == 0:
        raise ValueError(f"{owner}: centers must be (K, D), got shape {c.shape}")
    if c.shape[0] != n_clusters:
        raise ValueError(f"{owner}: there are {c.shape[0]} centers, n_clusters is {n_clusters}")
    c = np.array(c, dtype=dtype, order="C")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{owner}: centers contain NaN or Inf")
    return c


def model_dtype(*arrays: Any) -> str:
    """'float32' if every array is float32, else 'float64' (the dtype a wrapped model keeps)."""
    return "float32" if all(np.asarray(a).dtype == np.float32 for a in arrays) else "float64"
