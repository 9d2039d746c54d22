"""The one validation of training parameters, and ``random_state`` -> seeds.

Estimators (scikit-learn's conventions: every invalid parameter is a
``ValueError``, checked in ``fit``), the out-of-core and Dask paths and the
encoders all read their parameters through :func:`gmm_params` /
:func:`kmeans_params` into frozen dataclasses; the training drivers take
those. numpy only: the encoders train without scikit-learn.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.arrays import SIZE_MAX, check_int

GMM_INITS = ("kmeans", "k-means++", "random", "random_from_data")
#: scikit-learn's covariance types (libgmm's VlGMMFull, VlGMMTied, VlGMMDiagonal, VlGMMSpherical).
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: The two EMs: scikit-learn's (libgmm's exact EM) and VLFeat's (diagonal only).
GMM_EMS = ("sklearn", "vlfeat")
#: VLFeat's lower bound of the variances (``covariance_lower_bound=None`` with em="vlfeat").
VLFEAT_COVARIANCE_LOWER_BOUND = 1e-4
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


# ---- sample weights ------------------------------------------------------------------------

#: Values read at a time when checking weights that may be a large memmap.
_WEIGHT_BLOCK = 1 << 20


def _weight_values(sample_weight: Any) -> np.ndarray:
    """``sample_weight`` as a real numeric ndarray (no copy), 1-D."""
    try:
        w = np.asarray(sample_weight)
    except Exception as exc:  # an object that numpy cannot read
        raise ValueError(f"sample_weight must be an array of numbers: {exc}") from None
    if w.dtype.kind not in "biuf":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"sample_weight must be an array of real numbers, got dtype {w.dtype}"
            ) from None
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. Expected either a "
            "scalar value or a 1D array of length n_samples."
        )
    return w


def check_weight_values(w: np.ndarray) -> None:
    """scikit-learn's checks of the values (``ValueError``): finite, >= 0 (libgmm
    needs that), not all 0. Reads a memmap block by block."""
    positive = False
    for i in range(0, w.shape[0], _WEIGHT_BLOCK):
        b = np.asarray(w[i : i + _WEIGHT_BLOCK])
        if b.dtype.kind == "f" and not np.all(np.isfinite(b)):
            what = "NaN" if np.any(np.isnan(b)) else "infinity"
            raise ValueError(f"Input sample_weight contains {what}.")
        if b.size and b.min() < 0:
            raise ValueError("Negative values in data passed to `sample_weight`.")
        positive = positive or bool(np.any(b > 0))
    if not positive:
        raise ValueError("Sample weights must contain at least one non-zero number.")


def check_sample_weight(sample_weight: Any, n: int, dtype: np.dtype) -> np.ndarray | None:
    """scikit-learn's ``sample_weight`` validation for n samples: None stays None
    (every sample weighs 1); a number is the weight of every sample; an array
    must be 1-D with n finite values >= 0, not all 0. The weights come back as a
    C-contiguous array of ``dtype`` (the data's working dtype: scikit-learn
    rounds them to X's dtype), a copy only if the given array is not one
    already; pyvl never writes to it."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        w = np.full(n, float(sample_weight), dtype=dtype)
    else:
        w = _weight_values(sample_weight)
        if w.shape != (n,):
            raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        w = np.ascontiguousarray(w, dtype=dtype)
    check_weight_values(w)
    return w


def check_chunked_weights(sample_weight: Any, n: int | None) -> np.ndarray | None:
    """``sample_weight`` of chunked data: a 1-D array (a memmap stays one) of one
    weight per row, in row order, checked as :func:`check_sample_weight` without
    a copy; ``n`` None (a chunk source of unknown length): the length is checked
    by the passes."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        if n is None:
            raise ValueError("a scalar sample_weight needs data of known length: pass an array "
                             "of one weight per row")
        sample_weight = np.full(n, float(sample_weight))
    w = _weight_values(sample_weight)
    if n is not None and w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    check_weight_values(w)
    return w


def check_dask_weights(sample_weight: Any, n: int, row_chunks: tuple[int, ...]) -> Any:
    """The sample weights of a dask array of n rows chunked as ``row_chunks``: a
    1-D dask array with those chunks, its values checked (one computation); a
    numpy array or a number is checked here and wrapped in one."""
    dask = sys.modules["dask"]  # imported by whoever made the dask array
    da = sys.modules["dask.array"]
    w = sample_weight
    if isinstance(w, da.Array):
        if w.ndim != 1:
            raise ValueError(f"Sample weights must be 1D array or scalar, got {w.ndim}D array.")
        if np.dtype(w.dtype).kind not in "biuf":
            raise ValueError(f"sample_weight must be an array of real numbers, got dtype {w.dtype}")
        if any(math.isnan(c) for c in w.chunks[0]):
            w = w.compute_chunk_sizes()
        if w.shape != (n,):
            raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        finite, low, positive = dask.compute(da.isfinite(w).all(), w.min(), (w > 0).any())
        if not finite:
            raise ValueError("Input sample_weight contains NaN or infinity.")
        if low < 0:
            raise ValueError("Negative values in data passed to `sample_weight`.")
        if not positive:
            raise ValueError("Sample weights must contain at least one non-zero number.")
    else:
        w = da.from_array(check_chunked_weights(w, n), chunks=(row_chunks,))
    return w.rechunk((row_chunks,))


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
    covariance_type: str = "diag"
    reg_covar: float = 0.0
    em: str = "vlfeat"

    @property
    def user_init(self) -> dict[str, np.ndarray]:
        """The given initial arrays, by name."""
        return {name: a for name, a in (("weights_init", self.weights_init),
                                        ("means_init", self.means_init),
                                        ("precisions_init", self.precisions_init))
                if a is not None}

    @property
    def covariances_init(self) -> np.ndarray | None:
        """``precisions_init`` as covariances in the type's layout (float64), or None."""
        if self.precisions_init is None:
            return None
        return precisions_to_covariances(self.precisions_init, self.covariance_type)


def check_covariance_type(value: Any) -> str:
    if not isinstance(value, str) or value not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be 'full', 'tied', 'diag' or 'spherical', got {value!r}"
        )
    return value


def covariances_shape(covariance_type: str, k: int, d: int | None) -> tuple[Any, ...]:
    """scikit-learn's shape of ``covariances_`` (and ``precisions_``) for a type."""
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def _inverse_spd(a: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix through its Cholesky
    factor L (A^-1 = L^-T L^-1), symmetrised."""
    inv_l = np.linalg.inv(np.linalg.cholesky(a))
    out = inv_l.T @ inv_l
    return (out + out.T) / 2


def precisions_to_covariances(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances (float64, the type's layout) of checked precisions: 1 / p for
    the diagonal and spherical types, the matrix inverse (by Cholesky) for full
    and tied."""
    p = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        return np.stack([_inverse_spd(m) for m in p]) if len(p) else p.copy()
    if covariance_type == "tied":
        return _inverse_spd(p)
    return 1.0 / p


def _check_precisions(p: np.ndarray, covariance_type: str) -> None:
    """scikit-learn's checks of ``precisions_init``: positive values (diag,
    spherical), symmetric positive definite matrices (full, tied)."""
    if covariance_type in ("diag", "spherical"):
        if np.any(p <= 0):
            raise ValueError(f"'{covariance_type} precision' should be positive "
                             "(precisions_init must be positive)")
        return
    for m in p if covariance_type == "full" else p[None]:
        ok = bool(np.all(np.isclose(m, m.T)))
        if ok:
            try:
                np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                ok = False
        if not ok:
            raise ValueError(f"'{covariance_type} precision' should be symmetric, "
                             "positive-definite")


def _reg_covar(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        math.isfinite(float(value)) and float(value) >= 0
    ):
        raise ValueError(f"reg_covar must be a finite float >= 0, got {value!r}")
    return float(value)


def _em(value: Any, covariance_type: str) -> str:
    if not isinstance(value, str) or value not in GMM_EMS:
        raise ValueError(f"em must be 'sklearn' or 'vlfeat', got {value!r}")
    if value == "vlfeat" and covariance_type != "diag":
        raise ValueError(
            f"em='vlfeat' (VLFeat's EM) exists for covariance_type='diag' only, got "
            f"covariance_type={covariance_type!r}: use em='sklearn'"
        )
    return value


def gmm_params(est: Any, n_features: int | None) -> GMMParams:
    """The parameters of a GaussianMixture-like object ``est``, checked for data
    of ``n_features`` dimensions (None: not known yet, shapes along D unchecked)."""
    k = positive(est.n_components, "n_components")
    max_iter = positive(est.max_iter, "max_iter", 0)
    n_init = positive(est.n_init, "n_init")
    covariance_type = check_covariance_type(est.covariance_type)
    em = _em(getattr(est, "em", "vlfeat"), covariance_type)
    reg_covar = _reg_covar(getattr(est, "reg_covar", 0.0))
    if est.init_params not in GMM_INITS:
        raise ValueError(
            "init_params must be 'kmeans', 'k-means++', 'random' or 'random_from_data', "
            f"got {est.init_params!r}"
        )
    if not (isinstance(est.tol, numbers.Real) and float(est.tol) >= 0):
        raise ValueError(f"tol must be a float >= 0, got {est.tol!r}")
    bound_param = est.covariance_lower_bound
    if bound_param is None:
        bound_param = VLFEAT_COVARIANCE_LOWER_BOUND if em == "vlfeat" else 0.0
    bound = np.asarray(bound_param, dtype=np.float64)
    if bound.ndim > 1 or (bound.ndim == 1 and n_features is not None
                          and bound.shape[0] != n_features):
        raise ValueError(
            f"covariance_lower_bound must be a float or an array of {n_features} values"
        )
    if not np.all(np.isfinite(bound)) or np.any(bound < 0):
        raise ValueError("covariance_lower_bound must be finite and >= 0")
    user = _user_init(est, k, n_features, covariance_type)
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
        covariance_type=covariance_type, reg_covar=reg_covar, em=em,
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


def _user_init(est: Any, k: int, d: int | None,
               covariance_type: str = "diag") -> dict[str, np.ndarray]:
    out = {}
    for name, shape in (("weights_init", (k,)), ("means_init", (k, d)),
                        ("precisions_init", covariances_shape(covariance_type, k, d))):
        value = getattr(est, name)
        if value is None:
            continue
        arr = np.asarray(value, dtype=np.float64)
        if d is None and None in shape and arr.ndim == len(shape) and arr.ndim >= 1:
            dd = arr.shape[-1]
            shape = tuple(dd if s is None else s for s in shape)
        if arr.shape != shape:
            if name == "precisions_init":
                raise ValueError(f"The parameter '{covariance_type} precision' should have the "
                                 f"shape of {shape}, but got {arr.shape} (precisions_init)")
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
    if "precisions_init" in out:
        _check_precisions(out["precisions_init"], covariance_type)
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

