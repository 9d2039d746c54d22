"""The one validation of training parameters, and ``random_state`` -> seeds.

Estimators (scikit-learn's conventions: every invalid parameter is a
``ValueError``, checked in ``fit``), the out-of-core and Dask paths and the
encoders all read their parameters through :func:`gmm_params` /
:func:`kmeans_params` into frozen dataclasses; the training drivers take
those. numpy only: the encoders train without scikit-learn.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.arrays import SIZE_MAX, check_int

GMM_INITS = ("kmeans", "k-means++", "random", "random_from_data")
KMEANS_INITS = ("k-means++", "random")
KMEANS_ALGORITHMS = ("lloyd", "elkan", "ann")
_INT32_MAX = int(np.iinfo(np.int32).max)


def positive(value: Any, name: str, minimum: int = 1, maximum: int = SIZE_MAX) -> int:
    """An integer parameter >= ``minimum`` (``ValueError`` otherwise, as scikit-learn)."""
    return check_int(value, name, minimum, maximum, type_error=ValueError)


def optional_positive(value: Any, name: str, maximum: int = SIZE_MAX) -> int | None:
    """None or an integer >= 1."""
    return None if value is None else positive(value, name, 1, maximum)


#: Most libgmm threads a fit may ask for (libgmm's own limit).
MAX_THREADS = 1024


# ---- random_state -------------------------------------------------------------------------


def random_state(seed: Any) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``: None -> numpy's global RandomState,
    an int -> a new RandomState(seed), a RandomState -> itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def draw_seed(rng: np.random.RandomState) -> int:
    """A libgmm seed (int32 range) drawn from ``rng``."""
    return int(rng.randint(_INT32_MAX))


# ---- the parameters --------------------------------------------------------------------


@dataclass(frozen=True)
class GMMParams:
    """Validated parameters of a GMM fit (see ``pyvl.GaussianMixture``)."""

    n_components: int
    tol: float
    bound: float | np.ndarray
    max_iter: int
    n_init: int
    init_params: str
    weights_init: np.ndarray | None
    means_init: np.ndarray | None
    precisions_init: np.ndarray | None
    random_state: Any
    verbose: int
    n_threads: int | None
    dtype: Any
    chunk_size: int | None
    init_sample_size: int | None
    verbose_interval: int = 10

    @property
    def user_init(self) -> dict[str, np.ndarray]:
        """The given initial arrays, by name."""
        return {name: a for name, a in (("weights_init", self.weights_init),
                                        ("means_init", self.means_init),
                                        ("precisions_init", self.precisions_init))
                if a is not None}


def check_covariance_type(value: Any) -> None:
    if value != "diag":
        raise ValueError(
            f"covariance_type must be 'diag' (libgmm fits diagonal covariances), got {value!r}"
        )


def gmm_params(est: Any, n_features: int | None) -> GMMParams:
    """The parameters of a GaussianMixture-like object ``est``, checked for data
    of ``n_features`` dimensions (None: not known yet, shapes along D unchecked)."""
    k = positive(est.n_components, "n_components")
    max_iter = positive(est.max_iter, "max_iter", 0)
    n_init = positive(est.n_init, "n_init")
    check_covariance_type(est.covariance_type)
    if est.init_params not in GMM_INITS:
        raise ValueError(
            "init_params must be 'kmeans', 'k-means++', 'random' or 'random_from_data', "
            f"got {est.init_params!r}"
        )
    if not (isinstance(est.tol, numbers.Real) and float(est.tol) >= 0):
        raise ValueError(f"tol must be a float >= 0, got {est.tol!r}")
    bound = np.asarray(est.covariance_lower_bound, dtype=np.float64)
    if bound.ndim > 1 or (bound.ndim == 1 and n_features is not None
                          and bound.shape[0] != n_features):
        raise ValueError(
            f"covariance_lower_bound must be a float or an array of {n_features} values"
        )
    if not np.all(np.isfinite(bound)) or np.any(bound < 0):
        raise ValueError("covariance_lower_bound must be finite and >= 0")
    user = _user_init(est, k, n_features)
    return GMMParams(
        n_components=k, tol=float(est.tol), bound=float(bound) if bound.ndim == 0 else bound,
        max_iter=max_iter, n_init=n_init, init_params=est.init_params,
        weights_init=user.get("weights_init"), means_init=user.get("means_init"),
        precisions_init=user.get("precisions_init"), random_state=est.random_state,
        verbose=_verbose(est.verbose),
        n_threads=optional_positive(est.n_threads, "n_threads", MAX_THREADS),
        dtype=_dtype(est.dtype), chunk_size=optional_positive(est.chunk_size, "chunk_size"),
        init_sample_size=optional_positive(est.init_sample_size, "init_sample_size"),
        verbose_interval=positive(getattr(est, "verbose_interval", 10), "verbose_interval"),
    )


def _verbose(value: Any) -> int:
    return check_int(value, "verbose", 0, 1 << 16, type_error=ValueError, allow_bool=True)


def _dtype(value: Any) -> Any:
    if value is not None:
        try:
            ok = np.dtype(value) in (np.float32, np.float64)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtype must be float32, float64 or None, got {value!r}")
    return value


def _user_init(est: Any, k: int, d: int | None) -> dict[str, np.ndarray]:
    out = {}
    for name, shape in (("weights_init", (k,)), ("means_init", (k, d)), ("precisions_init", (k, d))):
        value = getattr(est, name)
        if value is None:
            continue
        arr = np.asarray(value, dtype=np.float64)
        if d is None and len(shape) == 2 and arr.ndim == 2:
            shape = (k, arr.shape[1])
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
        out[name] = arr
    if "weights_init" in out:
        w = out["weights_init"]
        if np.any(w < 0):
            raise ValueError(f"weights_init must be non-negative, got min {w.min():.6g}")
        if not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-6):
            raise ValueError(
                f"weights_init must be non-negative and sum to 1, got sum {w.sum():.6g}"
            )
    if "precisions_init" in out and np.any(out["precisions_init"] <= 0):
        raise ValueError("precisions_init must be positive")
    return out


@dataclass(frozen=True)
class KMeansParams:
    """Validated parameters of a k-means fit (see ``pyvl.KMeans``). ``n_init`` is
    resolved ("auto": 1 for k-means++ or given centers, 10 for random seeding or
    a callable); ``init`` is "k-means++", "random", a (K, D) float64 array or a
    callable ``init(X, n_clusters, random_state) -> (K, D)``."""

    n_clusters: int
    init: Any
    n_init: int
    max_iter: int
    tol: float
    algorithm: str
    random_state: Any
    verbose: int
    n_threads: int | None
    dtype: Any
    chunk_size: int | None
    init_sample_size: int | None


def check_centers(centers: Any, k: int, d: int | None) -> np.ndarray:
    """Initial k-means centers (an ``init`` array or what an ``init`` callable returned)
    as a float64 (k, d) array; ``d`` None takes the array's. scikit-learn's messages."""
    c = np.asarray(centers)
    if c.dtype.kind not in "biuf":
        raise ValueError(f"The initial centers must be a real numeric array, got dtype {c.dtype}")
    if c.ndim != 2 or c.shape[0] != k:
        raise ValueError(f"The shape of the initial centers {c.shape} does not match the number "
                         f"of clusters {k}.")
    if d is not None and c.shape[1] != d:
        raise ValueError(f"The shape of the initial centers {c.shape} does not match the number "
                         f"of features of the data {d}.")
    c = c.astype(np.float64)
    if not np.all(np.isfinite(c)):
        raise ValueError("The initial centers contain NaN or infinity.")
    return c


def kmeans_params(est: Any, n_features: int | None = None) -> KMeansParams:
    """The parameters of a KMeans-like object ``est``; an array ``init`` is checked
    against ``n_features`` when it is known."""
    k = positive(est.n_clusters, "n_clusters")
    max_iter = positive(est.max_iter, "max_iter", 0)
    auto = isinstance(est.n_init, str) and est.n_init == "auto"
    n_init = 1 if auto else positive(est.n_init, "n_init")
    if est.algorithm not in KMEANS_ALGORITHMS:
        raise ValueError(f"algorithm must be 'lloyd', 'elkan' or 'ann', got {est.algorithm!r}")
    if not isinstance(getattr(est, "copy_x", True), (bool, np.bool_)):
        raise ValueError(f"copy_x must be True or False, got {est.copy_x!r}")
    algorithm = est.algorithm
    if algorithm == "elkan" and k == 1:
        warnings.warn("algorithm='elkan' doesn't make sense for a single cluster. Using "
                      "'lloyd' instead.", RuntimeWarning, stacklevel=4)
        algorithm = "lloyd"
    if not (isinstance(est.tol, numbers.Real) and not isinstance(est.tol, bool)
            and float(est.tol) >= 0):
        raise ValueError(f"tol must be a float >= 0, got {est.tol!r}")
    init: Any
    if isinstance(est.init, str):
        if est.init not in KMEANS_INITS:
            raise ValueError(
                f"init must be 'k-means++', 'random', a callable or an array, got {est.init!r}"
            )
        init = est.init
        if auto and init == "random":
            n_init = 10
    elif callable(est.init):
        init = est.init
        if auto:
            n_init = 10
    else:
        init = check_centers(est.init, k, n_features)
        if n_init != 1:
            warnings.warn("Explicit initial center position passed: performing only one init "
                          f"in {type(est).__name__} instead of n_init={n_init}.",
                          RuntimeWarning, stacklevel=4)
            n_init = 1
    return KMeansParams(
        n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, tol=float(est.tol),
        algorithm=algorithm, random_state=est.random_state, verbose=_verbose(est.verbose),
        n_threads=optional_positive(est.n_threads, "n_threads", MAX_THREADS), dtype=_dtype(est.dtype),
        chunk_size=optional_positive(est.chunk_size, "chunk_size"),
        init_sample_size=optional_positive(est.init_sample_size, "init_sample_size"),
    )

