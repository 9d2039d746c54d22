"""Validation of the learned arrays of the built-in encoders (GMMs, centers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._core.arrays import check_gmm
from .._core.arrays import numeric as _numeric

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
    m, c, p, _ = check_gmm(state["means"], state["covariances"], state["priors"], dtype=dtype,
                           n_components=n_components, what=owner)
    return m.copy(), c.copy(), p.copy()


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
