"""cyvlfeat.gmm: ``gmm``."""

from __future__ import annotations

import numpy as np

from ..._core.arrays import vl_type_of
from ...gmm import (
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
from ._common import (
    _GMM_INITS,
    _INIT_MODE_DEFAULT,
    _check_finite,
    _covariance_bound,
    _format_bounds,
    _init_param,
    _integer,
    _matrix,
    _option,
    _verbosity,
)

__all__ = ["gmm"]


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


