"""cyvlfeat's GMM, Fisher vector, VLAD and k-means functions, on pyvl.

Code written for cyvlfeat (https://github.com/menpo/cyvlfeat) runs unchanged
after swapping the imports::

    # from cyvlfeat.gmm import gmm
    # from cyvlfeat.fisher import fisher
    # from cyvlfeat.vlad import vlad
    # from cyvlfeat.kmeans import kmeans, kmeans_quantize
    from pyvl.compat.cyvlfeat import gmm, fisher, vlad, kmeans, kmeans_quantize

    means, covars, priors, ll, posteriors = gmm(x, n_clusters=64)
    enc = fisher(x, means, covars, priors, improved=True)

The functions have cyvlfeat's names, argument names and order, defaults and
return values; arrays are row-major as in cyvlfeat (one data point per row):
data (N, D), means/covariances/centers (K, D), priors (K,), VLAD assignments
(N, K). They call pyvl's VLFeat-compatible API (:mod:`pyvl.gmm`,
:mod:`pyvl.kmeans`, :mod:`pyvl.fisher`, :mod:`pyvl.vlad`), so for the same
settings and the same seed they return what those functions return, and
what VLFeat 0.9.21 returns (except where the approximate, ANN, k-means is
involved: libgmm's kd-forest is its own).

Randomness (the GMM 'rand' and 'kmeans' initialisations, k-means seeding,
the ANN kd-trees) draws from VLFeat's per-thread MT19937 generator, as in
cyvlfeat; seed it for repeatable results::

    from pyvl.random import vl_get_rand, vl_rand_seed
    vl_rand_seed(vl_get_rand(), 0)

Bad arguments raise ``ValueError`` with a message naming the argument.
Where cyvlfeat misbehaves, these functions follow VLFeat's MATLAB toolbox
instead (see ``docs/compat.md``):

* ``gmm``: giving ``init_priors``, ``init_means`` and ``init_covars`` selects
  the custom initialisation (cyvlfeat fails with "truth value of an array is
  ambiguous", or silently ignores them); giving them together with an
  explicit ``init_mode`` other than ``'custom'`` is an error;
  ``covariance_bound`` may be a Python float or a length-D array of any
  float dtype (always passed to C as doubles); the log-likelihood is a
  Python ``float`` (double), never truncated to float32.
* ``vlad``: the number of rows of ``assignments`` is checked; the verbose
  code dimension is K*D.
* ``kmeans``/``kmeans_quantize``: ``num_centers`` must be >= 1; integer
  arguments may be numpy integers; ``min_energy_variation`` may be an int.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .._arrays import c_array, vl_type_of
from ..fisher import (
    VL_FISHER_FLAG_FAST,
    VL_FISHER_FLAG_IMPROVED,
    VL_FISHER_FLAG_NORMALIZED,
    VL_FISHER_FLAG_SQUARE_ROOT,
    vl_fisher_encode,
)
from ..gmm import (
    VlGMMCustom,
    VlGMMKMeans,
    VlGMMRand,
    vl_gmm_cluster,
    vl_gmm_delete,
    vl_gmm_get_covariance_lower_bounds,
    vl_gmm_get_covariances,
    vl_gmm_get_means,
    vl_gmm_get_posteriors,
    vl_gmm_get_priors,
    vl_gmm_new,
    vl_gmm_set_covariance_lower_bound,
    vl_gmm_set_covariance_lower_bounds,
    vl_gmm_set_covariances,
    vl_gmm_set_initialization,
    vl_gmm_set_max_num_iterations,
    vl_gmm_set_means,
    vl_gmm_set_num_repetitions,
    vl_gmm_set_priors,
    vl_gmm_set_verbosity,
)
from ..kmeans import (
    VlDistanceL1,
    VlDistanceL2,
    VlKMeansANN,
    VlKMeansElkan,
    VlKMeansLloyd,
    VlKMeansPlusPlus,
    VlKMeansRandomSelection,
    vl_kmeans_cluster,
    vl_kmeans_delete,
    vl_kmeans_get_centers,
    vl_kmeans_get_min_energy_variation,
    vl_kmeans_new,
    vl_kmeans_quantize,
    vl_kmeans_quantize_ann,
    vl_kmeans_set_algorithm,
    vl_kmeans_set_centers,
    vl_kmeans_set_initialization,
    vl_kmeans_set_max_num_comparisons,
    vl_kmeans_set_max_num_iterations,
    vl_kmeans_set_min_energy_variation,
    vl_kmeans_set_num_repetitions,
    vl_kmeans_set_num_trees,
    vl_kmeans_set_verbosity,
)
from ..vlad import (
    VL_VLAD_FLAG_NORMALIZE_COMPONENTS,
    VL_VLAD_FLAG_NORMALIZE_MASS,
    VL_VLAD_FLAG_SQUARE_ROOT,
    VL_VLAD_FLAG_UNNORMALIZED,
    vl_vlad_encode,
)
from ._cyvlfeat_ikm import hikmeans, hikmeans_push, ikmeans, ikmeans_push

__all__ = ["fisher", "gmm", "hikmeans", "hikmeans_push", "ikmeans", "ikmeans_push", "kmeans", "kmeans_quantize", "vlad"]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_GMM_INITS = {"rand": VlGMMRand, "kmeans": VlGMMKMeans, "custom": VlGMMCustom}
_KMEANS_DISTANCES = {"l1": VlDistanceL1, "l2": VlDistanceL2}
_KMEANS_INITS = {"RANDSEL": VlKMeansRandomSelection, "PLUSPLUS": VlKMeansPlusPlus}
_KMEANS_ALGORITHMS = {"LLOYD": VlKMeansLloyd, "ELKAN": VlKMeansElkan, "ANN": VlKMeansANN}


class _DefaultInitMode(str):
    """The string ``'rand'`` used as ``gmm``'s default ``init_mode``.

    It behaves exactly like ``'rand'``; being a distinct object, it tells an
    ``init_mode`` left out (which the init arrays may override) from an
    explicit ``init_mode='rand'`` (which conflicts with them).
    """

    __slots__ = ()


_INIT_MODE_DEFAULT = _DefaultInitMode("rand")


# ---- argument checks ---------------------------------------------------------------


def _float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as an ndarray that must be float32 or float64 (as cyvlfeat requires)."""
    if value is None:
        raise ValueError(f"{name} is required, got None")
    arr = np.asarray(value)
    if arr.dtype not in _FLOAT_DTYPES:
        raise ValueError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def _matrix(value: Any, name: str) -> np.ndarray:
    """A 2-D float32/float64 array (one row per point)."""
    arr = _float_array(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one row per point), got shape {arr.shape}")
    return arr


def _same_dtype(arr: np.ndarray, name: str, dtype: np.dtype, ref_name: str) -> None:
    if arr.dtype != dtype:
        raise ValueError(
            f"{name} has dtype {arr.dtype} but {ref_name} has dtype {dtype}: they must match"
        )


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or Inf values")


def _integer(value: Any, name: str, minimum: int) -> int:
    """An int (Python or numpy integer, not bool) >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v}")
    return v


def _option(value: Any, name: str, choices: dict[str, int], lower: bool) -> tuple[str, int]:
    """A string option (case-insensitive) as ``(canonical name, VLFeat enum value)``."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    key = value.lower() if lower else value.upper()
    if key not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return key, choices[key]


def _verbosity(verbose: Any) -> int:
    """VLFeat verbosity level: ``True`` is 1; an int gives that level."""
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    try:
        return max(0, operator.index(verbose))
    except TypeError:
        return int(bool(verbose))


def _format_bounds(bounds: np.ndarray) -> str:
    if bounds.size <= 3:
        return " ".join(f"{b:g}" for b in bounds)
    return f"{bounds[0]:g} {bounds[1]:g} ... {bounds[-1]:g}"


# ---- GMM ---------------------------------------------------------------------------


def _init_param(
    value: Any, shape: tuple[int, ...], dtype: np.dtype, name: str, nonnegative: bool
) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    arr = c_array(arr, dtype=dtype)
    _check_finite(arr, name)
    if nonnegative and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0")
    return arr


def _covariance_bound(value: Any, dimension: int) -> float | np.ndarray | None:
    """None, one bound for every dimension (a float) or D bounds (float64 array)."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise ValueError(
            f"covariance_bound must be a number or an array of {dimension} numbers, "
            f"got dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64)
    if arr.ndim == 0 or arr.shape == (1,):
        bound: float | np.ndarray = float(arr.reshape(()))
    elif arr.shape == (dimension,):
        bound = c_array(arr)
    else:
        raise ValueError(
            f"covariance_bound must be a number or have shape ({dimension},) "
            f"(one bound per dimension), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("covariance_bound must be finite and >= 0")
    return bound


def gmm(
    x: np.ndarray,
    n_clusters: int = 10,
    max_num_iterations: int = 100,
    covariance_bound: float | np.ndarray | None = None,
    init_mode: str = _INIT_MODE_DEFAULT,
    init_priors: np.ndarray | None = None,
    init_means: np.ndarray | None = None,
    init_covars: np.ndarray | None = None,
    n_repetitions: int = 1,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """Fit a diagonal-covariance Gaussian mixture by EM (cyvlfeat's ``gmm``).

    Parameters
    ----------
    x : (N, D) float32 or float64 ndarray
        The data, one point per row; N >= 1, no NaN or Inf.
    n_clusters : int, optional
        Number of components K, 1 <= K <= N.
    max_num_iterations : int, optional
        Maximum number of EM iterations (>= 0; 0 runs a single E-step).
    covariance_bound : float or (D,) array, optional
        Lower bound on the variances: one value for every dimension, or one
        per dimension (any float dtype; passed to VLFeat as doubles).
        Default (None): VLFeat's 1e-4.
    init_mode : {'rand', 'kmeans', 'custom'}, optional
        'rand': k-means++ means, the data variance as covariances, uniform
        priors (VLFeat's VlGMMRand); 'kmeans': from a k-means clustering;
        'custom': from ``init_priors``, ``init_means``, ``init_covars``.
    init_priors : (K,) array, optional
    init_means : (K, D) array, optional
    init_covars : (K, D) array, optional
        Initial parameters (converted to x's dtype). Give all three or none;
        giving them selects 'custom' (MATLAB's rule), and an explicit
        ``init_mode`` other than 'custom' is then an error.
    n_repetitions : int, optional
        Number of fits (>= 1); the one with the highest log-likelihood is
        kept. With 'custom', every repetition starts from the given
        parameters.
    verbose : bool, optional
        Print the settings and VLFeat's progress messages to ``sys.stdout``.

    Returns
    -------
    means : (K, D) ndarray of x's dtype
    covars : (K, D) ndarray of x's dtype
        Diagonal covariances (variances).
    priors : (K,) ndarray of x's dtype
    ll : float
        Log-likelihood of the data (a sum over points), as a double.
    posteriors : (N, K) ndarray of x's dtype
        Posterior probability of each component for each point.
    """
    x = _matrix(x, "x")
    n, d = x.shape
    if n == 0:
        raise ValueError("x must contain at least one row (data point)")
    if d == 0:
        raise ValueError("x must have at least one column (dimension)")
    _check_finite(x, "x")
    if isinstance(n_clusters, (bool, np.bool_)) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"n_clusters must be an integer, got {n_clusters!r}")
    k = int(n_clusters)
    if k <= 0 or k > n:
        raise ValueError(
            f"n_clusters must be a positive integer no larger than the number of data points "
            f"{n}, got {k}"
        )
    iterations = _integer(max_num_iterations, "max_num_iterations", 0)
    repetitions = _integer(n_repetitions, "n_repetitions", 1)
    mode, _ = _option(init_mode, "init_mode", _GMM_INITS, lower=True)

    inits = {"init_priors": init_priors, "init_means": init_means, "init_covars": init_covars}
    given = [name for name, value in inits.items() if value is not None]
    if given:
        if len(given) != 3:
            missing = [name for name in inits if name not in given]
            raise ValueError(
                "init_priors, init_means and init_covars must be given together "
                f"(custom initialization): {', '.join(missing)} missing"
            )
        if init_mode is not _INIT_MODE_DEFAULT and mode != "custom":
            raise ValueError(
                f"init_mode={init_mode!r} conflicts with init_priors/init_means/init_covars: "
                "giving the initial parameters selects init_mode='custom'"
            )
        mode = "custom"
    elif mode == "custom":
        raise ValueError("init_mode='custom' requires init_priors, init_means and init_covars")
    custom: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    if mode == "custom":
        custom = (
            _init_param(init_priors, (k,), x.dtype, "init_priors", True),
            _init_param(init_means, (k, d), x.dtype, "init_means", False),
            _init_param(init_covars, (k, d), x.dtype, "init_covars", True),
        )
    bound = _covariance_bound(covariance_bound, d)
    level = _verbosity(verbose)

    g = vl_gmm_new(vl_type_of(x.dtype), d, k)
    try:
        vl_gmm_set_verbosity(g, level)
        vl_gmm_set_num_repetitions(g, repetitions)
        vl_gmm_set_max_num_iterations(g, iterations)
        vl_gmm_set_initialization(g, _GMM_INITS[mode])
        if isinstance(bound, float):
            vl_gmm_set_covariance_lower_bound(g, bound)
        elif bound is not None:
            vl_gmm_set_covariance_lower_bounds(g, bound)
        if custom is not None:
            vl_gmm_set_priors(g, custom[0])
            vl_gmm_set_means(g, custom[1])
            vl_gmm_set_covariances(g, custom[2])
        if level:
            bounds = vl_gmm_get_covariance_lower_bounds(g)
            print(f"vl_gmm: initialization = {mode}")
            print(f"vl_gmm: maxNumIterations = {iterations}")
            print(f"vl_gmm: numRepetitions = {repetitions}")
            print(f"vl_gmm: data type = {'float' if x.dtype == np.float32 else 'double'}")
            print(f"vl_gmm: data dimension = {d}")
            print(f"vl_gmm: num. data points = {n}")
            print(f"vl_gmm: num. Gaussian modes = {k}")
            print(f"vl_gmm: lower bound on covariance = [{_format_bounds(bounds)}]")
        ll = vl_gmm_cluster(g, x)
        means = vl_gmm_get_means(g).reshape(k, d)
        covars = vl_gmm_get_covariances(g).reshape(k, d)
        priors = vl_gmm_get_priors(g)
        post = vl_gmm_get_posteriors(g)
        posteriors = np.zeros((n, k), dtype=x.dtype) if post is None else post.reshape(n, k)
    finally:
        vl_gmm_delete(g)
    return means, covars, priors, float(ll), posteriors


# ---- Fisher vectors and VLAD -------------------------------------------------------------


def fisher(
    x: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    priors: np.ndarray,
    normalized: bool = False,
    square_root: bool = False,
    improved: bool = False,
    fast: bool = False,
    verbose: bool = False,
) -> np.ndarray:
    """Fisher vector of the descriptors ``x`` for a diagonal GMM (cyvlfeat's ``fisher``).

    Parameters
    ----------
    x : (N, D) float32 or float64 ndarray
        Descriptors, one per row (N may be 0: the encoding is then zeros).
    means : (K, D) ndarray of x's dtype
    covariances : (K, D) ndarray of x's dtype
        Diagonal covariances (variances), > 0.
    priors : (K,) ndarray of x's dtype
    normalized : bool, optional
        L2-normalise the vector.
    square_root : bool, optional
        Signed square root, before normalisation.
    improved : bool, optional
        The improved Fisher vector: ``square_root`` and ``normalized``.
    fast : bool, optional
        Hard-assign each descriptor to its most likely component.
    verbose : bool, optional
        Print the sizes, options and sparsity of the assignments.

    Returns
    -------
    enc : (2*K*D,) ndarray of x's dtype
        ``[u_0 .. u_{K-1}, v_0 .. v_{K-1}]`` (mean then variance blocks of D).
    """
    for name, value in (
        ("x", x),
        ("means", means),
        ("covariances", covariances),
        ("priors", priors),
    ):
        if value is None:
            raise ValueError(f"{name} is required, got None")
    x = _matrix(x, "x")
    m = _matrix(means, "means")
    c = _matrix(covariances, "covariances")
    p = _float_array(priors, "priors")
    k, d = m.shape
    if k == 0 or d == 0:
        raise ValueError(f"means must be a (K, D) array with K, D >= 1, got shape {m.shape}")
    if c.shape != m.shape:
        raise ValueError(f"covariances must have the shape of means {m.shape}, got {c.shape}")
    if p.shape != (k,):
        raise ValueError(f"priors must have shape ({k},) (one per component), got {p.shape}")
    if x.shape[1] != d:
        raise ValueError(
            f"x has {x.shape[1]} columns but means has {d}: they must have the same dimension"
        )
    for name, arr in (("means", m), ("covariances", c), ("priors", p)):
        _same_dtype(arr, name, x.dtype, "x")

    flags = 0
    if bool(normalized):
        flags |= VL_FISHER_FLAG_NORMALIZED
    if bool(square_root):
        flags |= VL_FISHER_FLAG_SQUARE_ROOT
    if bool(improved):
        flags |= VL_FISHER_FLAG_IMPROVED
    if bool(fast):
        flags |= VL_FISHER_FLAG_FAST
    n = x.shape[0]
    if verbose:
        print(f"vl_fisher: num data:       {n}")
        print(f"vl_fisher: num clusters:   {k}")
        print(f"vl_fisher: data dimension: {d}")
        print(f"vl_fisher: code dimension: {2 * k * d}")
        print(f"vl_fisher: square root:    {bool(flags & VL_FISHER_FLAG_SQUARE_ROOT)}")
        print(f"vl_fisher: normalized:     {bool(flags & VL_FISHER_FLAG_NORMALIZED)}")
        print(f"vl_fisher: fast:           {bool(flags & VL_FISHER_FLAG_FAST)}")
    enc, terms = vl_fisher_encode(m, c, p, x, flags, return_num_terms=True)
    if verbose:
        sparsity = 100.0 * (1.0 - terms / (n * k + 1e-12))
        print(
            f"vl_fisher: sparsity of assignments: {sparsity:.2f}% "
            f"({terms} non-negligible assignments)"
        )
    return enc


def vlad(
    x: np.ndarray,
    means: np.ndarray,
    assignments: np.ndarray,
    unnormalized: bool = False,
    square_root: bool = False,
    normalize_components: bool = False,
    normalize_mass: bool = False,
    verbose: bool = False,
) -> np.ndarray:
    """VLAD of the descriptors ``x`` for the centers ``means`` (cyvlfeat's ``vlad``).

    Parameters
    ----------
    x : (N, D) float32 or float64 ndarray
        Descriptors, one per row.
    means : (K, D) ndarray of x's dtype
        The cluster centers.
    assignments : (N, K) ndarray of x's dtype
        Weight of each descriptor for each center (one-hot rows for hard
        assignments; entries <= 0 are ignored).
    unnormalized : bool, optional
        Skip the final L2 normalisation of the whole vector (applied by default).
    square_root : bool, optional
        Signed square root of every entry.
    normalize_components : bool, optional
        L2-normalise each center's block.
    normalize_mass : bool, optional
        Divide each center's block by the total weight assigned to it.
    verbose : bool, optional
        Print the sizes and options.

    Returns
    -------
    enc : (K*D,) ndarray of x's dtype
        ``[v_0 .. v_{K-1}]``, blocks of D.
    """
    for name, value in (("x", x), ("means", means), ("assignments", assignments)):
        if value is None:
            raise ValueError(f"{name} is required, got None")
    x = _matrix(x, "x")
    m = _matrix(means, "means")
    a = _matrix(assignments, "assignments")
    k, d = m.shape
    if k == 0 or d == 0:
        raise ValueError(f"means must be a (K, D) array with K, D >= 1, got shape {m.shape}")
    if x.shape[1] != d:
        raise ValueError(
            f"x has {x.shape[1]} columns but means has {d}: they must have the same dimension"
        )
    n = x.shape[0]
    if a.shape != (n, k):
        raise ValueError(
            f"assignments must have shape ({n}, {k}) (one row per descriptor, one column per "
            f"center), got {a.shape}"
        )
    _same_dtype(m, "means", x.dtype, "x")
    _same_dtype(a, "assignments", x.dtype, "x")

    flags = 0
    if bool(unnormalized):
        flags |= VL_VLAD_FLAG_UNNORMALIZED
    if bool(normalize_components):
        flags |= VL_VLAD_FLAG_NORMALIZE_COMPONENTS
    if bool(normalize_mass):
        flags |= VL_VLAD_FLAG_NORMALIZE_MASS
    if bool(square_root):
        flags |= VL_VLAD_FLAG_SQUARE_ROOT
    if verbose:
        print(f"vl_vlad: num data:             {n}")
        print(f"vl_vlad: num clusters:         {k}")
        print(f"vl_vlad: data dimension:       {d}")
        print(f"vl_vlad: code dimension:       {k * d}")
        print(f"vl_vlad: unnormalized:         {int(bool(flags & VL_VLAD_FLAG_UNNORMALIZED))}")
        print(f"vl_vlad: normalize mass:       {int(bool(flags & VL_VLAD_FLAG_NORMALIZE_MASS))}")
        print(
            f"vl_vlad: normalize components: {int(bool(flags & VL_VLAD_FLAG_NORMALIZE_COMPONENTS))}"
        )
        print(f"vl_vlad: square root:          {int(bool(flags & VL_VLAD_FLAG_SQUARE_ROOT))}")
    return vl_vlad_encode(m, x, a, flags)


# ---- k-means -------------------------------------------------------------------------


def kmeans(
    data: np.ndarray,
    num_centers: int,
    distance: str = "l2",
    initialization: str = "RANDSEL",
    algorithm: str = "LLOYD",
    num_repetitions: int = 1,
    num_trees: int = 3,
    max_num_comparisons: int = 100,
    max_num_iterations: int = 100,
    min_energy_variation: float = 0.0,
    verbose: bool = False,
) -> np.ndarray:
    """Cluster ``data`` with k-means (cyvlfeat's ``kmeans``); returns the centers.

    Parameters
    ----------
    data : (N, D) float32 or float64 ndarray
        The points, one per row; no NaN or Inf.
    num_centers : int
        Number of centers K, 1 <= K <= N.
    distance : {'l2', 'l1'}, optional
    initialization : {'RANDSEL', 'PLUSPLUS'}, optional
        Random data points, or k-means++.
    algorithm : {'LLOYD', 'ELKAN', 'ANN'}, optional
        Lloyd; Elkan (same result, fewer distance computations); Lloyd
        with approximate nearest centers from a randomised kd-forest.
    num_repetitions : int, optional
        Number of runs (>= 1); the one of lowest energy is kept.
    num_trees : int, optional
        Trees of the kd-forest (ANN), >= 1.
    max_num_comparisons : int, optional
        Comparisons per ANN query, >= 1.
    max_num_iterations : int, optional
        Maximum number of iterations, >= 1.
    min_energy_variation : float, optional
        Stop when the relative energy variation falls below it; 0 (the
        default) keeps VLFeat's default, 1e-4.
    verbose : bool, optional
        Print the settings and VLFeat's progress messages to ``sys.stdout``.

    Returns
    -------
    centers : (K, D) ndarray of data's dtype
    """
    data = _matrix(data, "data")
    n, d = data.shape
    if isinstance(num_centers, (bool, np.bool_)) or not isinstance(num_centers, (int, np.integer)):
        raise ValueError(f"num_centers must be an integer, got {num_centers!r}")
    k = int(num_centers)
    if k <= 0 or k > n:
        raise ValueError(
            "num_centers must be a positive integer no larger than the number of data points "
            f"{n}, got {k}"
        )
    if d == 0:
        raise ValueError("data must have at least one column (dimension)")
    _check_finite(data, "data")
    distance_name, distance_value = _option(distance, "distance", _KMEANS_DISTANCES, lower=True)
    init_name, init_value = _option(initialization, "initialization", _KMEANS_INITS, lower=False)
    algo_name, algo_value = _option(algorithm, "algorithm", _KMEANS_ALGORITHMS, lower=False)
    repetitions = _integer(num_repetitions, "num_repetitions", 1)
    trees = _integer(num_trees, "num_trees", 1)
    comparisons = _integer(max_num_comparisons, "max_num_comparisons", 1)
    iterations = _integer(max_num_iterations, "max_num_iterations", 1)
    if isinstance(min_energy_variation, (bool, np.bool_)) or not isinstance(
        min_energy_variation, (int, float, np.integer, np.floating)
    ):
        raise ValueError(
            f"min_energy_variation must be a number >= 0, got {min_energy_variation!r}"
        )
    variation = float(min_energy_variation)
    if not np.isfinite(variation) or variation < 0:
        raise ValueError(f"min_energy_variation must be a finite number >= 0, got {variation}")
    level = _verbosity(verbose)

    km = vl_kmeans_new(vl_type_of(data.dtype), distance_value)
    try:
        vl_kmeans_set_verbosity(km, level)
        vl_kmeans_set_num_repetitions(km, repetitions)
        vl_kmeans_set_algorithm(km, algo_value)
        vl_kmeans_set_initialization(km, init_value)
        vl_kmeans_set_max_num_iterations(km, iterations)
        vl_kmeans_set_max_num_comparisons(km, comparisons)
        vl_kmeans_set_num_trees(km, trees)
        if variation > 0:
            vl_kmeans_set_min_energy_variation(km, variation)
        if level:
            print(f"kmeans: Initialization = {init_name}")
            print(f"kmeans: Algorithm = {algo_name}")
            print(f"kmeans: MaxNumIterations = {iterations}")
            print(f"kmeans: MinEnergyVariation = {vl_kmeans_get_min_energy_variation(km):g}")
            print(f"kmeans: NumRepetitions = {repetitions}")
            print(f"kmeans: data type = {'float' if data.dtype == np.float32 else 'double'}")
            print(f"kmeans: distance = {distance_name}")
            print(f"kmeans: data dimension = {d}")
            print(f"kmeans: num. data points = {n}")
            print(f"kmeans: num. centers = {k}")
            print(f"kmeans: max num. comparisons = {comparisons}")
            print(f"kmeans: num. trees = {trees}")
        vl_kmeans_cluster(km, data, d, n, k)
        centers = vl_kmeans_get_centers(km)
    finally:
        vl_kmeans_delete(km)
    if centers is None:  # cannot happen after a successful vl_kmeans_cluster
        raise RuntimeError("vl_kmeans_cluster produced no centers")
    return centers.reshape(k, d)


def kmeans_quantize(
    data: np.ndarray,
    centers: np.ndarray,
    distance: str = "l2",
    algorithm: str = "LLOYD",
    num_trees: int = 3,
    max_num_comparisons: int = 100,
    verbose: bool = False,
) -> np.ndarray:
    """Index of the nearest center of every point (cyvlfeat's ``kmeans_quantize``).

    Parameters
    ----------
    data : (N, D) float32 or float64 ndarray
        The points, one per row (N >= 1).
    centers : (K, D) ndarray of data's dtype
        The centers (K >= 1).
    distance : {'l2', 'l1'}, optional
    algorithm : {'LLOYD', 'ELKAN', 'ANN'}, optional
        'LLOYD' and 'ELKAN' give the exact nearest center (the first one on
        ties); 'ANN' searches a randomised kd-forest of the centers.
    num_trees : int, optional
        Trees of the kd-forest (ANN), >= 1.
    max_num_comparisons : int, optional
        Comparisons per ANN query, >= 1.
    verbose : bool, optional
        Set VLFeat's verbosity.

    Returns
    -------
    assignments : (N,) uint32 ndarray
        Index (0..K-1) of the center each point is assigned to.
    """
    data = _matrix(data, "data")
    c = _matrix(centers, "centers")
    if c.dtype != data.dtype or c.shape[1] != data.shape[1]:
        raise ValueError(
            f"data {data.shape} {data.dtype} and centers {c.shape} {c.dtype} must have the "
            "same dtype and the same number of columns"
        )
    if c.shape[0] == 0:
        raise ValueError("centers must contain at least one row")
    if data.shape[0] == 0:
        raise ValueError("data must contain at least one row")
    if data.shape[1] == 0:
        raise ValueError("data must have at least one column (dimension)")
    _check_finite(data, "data")
    _check_finite(c, "centers")
    _, distance_value = _option(distance, "distance", _KMEANS_DISTANCES, lower=True)
    _, algo_value = _option(algorithm, "algorithm", _KMEANS_ALGORITHMS, lower=False)
    trees = _integer(num_trees, "num_trees", 1)
    comparisons = _integer(max_num_comparisons, "max_num_comparisons", 1)
    k, d = c.shape

    km = vl_kmeans_new(vl_type_of(data.dtype), distance_value)
    try:
        vl_kmeans_set_verbosity(km, _verbosity(verbose))
        vl_kmeans_set_algorithm(km, algo_value)
        vl_kmeans_set_max_num_comparisons(km, comparisons)
        vl_kmeans_set_num_trees(km, trees)
        vl_kmeans_set_centers(km, c, d, k)
        if algo_value == VlKMeansANN:
            assignments, _ = vl_kmeans_quantize_ann(km, data, update=False)
        else:
            assignments, _ = vl_kmeans_quantize(km, data)
    finally:
        vl_kmeans_delete(km)
    return assignments
