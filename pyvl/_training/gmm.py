"""Training a GMM: the one driver behind ``pyvl.GaussianMixture`` (in memory, out of
core, on Dask) and the encoders.

:func:`fit` runs, for ``n_init`` seeds drawn from ``random_state``: an
initialisation (on the data, or on a sample of it when it is read in
chunks), then EM -- libgmm's ``vl_gmm_em`` for data in memory, or
:func:`em_by_passes` for chunked data -- and keeps the run of highest
log-likelihood. Convergence is scikit-learn's (``tol`` on the change of the
mean log-likelihood, tested by the iteration callback; VLFeat's own relative
test is disabled), Ctrl-C stops it within an iteration with valid parameters.

EM by passes
------------
:func:`em_by_passes` is ``vl_gmm_em``'s loop (libgmm/src/gmm.tc, and the C
reference driver ``em_by_stats`` in libgmm/tests/test_gmm_em.c) written with
the statistics API of vl/gmm.h. Per iteration t:

1. the E-step parameters are frozen (a copy of the GMM);
2. one pass gives the statistics of all the data (``pyvl/_training/data.py``);
3. convergence: the iteration callback, then the iteration limit;
4. from t = 2 on, the restart of nearly empty components exactly as
   ``vl_gmm_em``: ``vl_gmm_plan_restart`` proposes a "split" from the masses,
   a pass replays all splits so far on the frozen E-step's posteriors around
   the current means, an M-step follows, and so on until no component is
   empty; then one more pass gives the statistics of the edited posteriors;
5. the M-step from the statistics (``vl_gmm_mstep_from_stats``).

With the same initialisation and iteration count the result is in-memory
EM's up to floating-point rounding (sums run in another order).
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import numpy as np

from .._core.arrays import c_array
from .._core.enums import CovarianceType, GMMInit, KMeansAlgorithm, KMeansInit
from .._core.errors import InvalidArgumentError, TrainingInterrupted
from .._core.objects import GMM, KMeans
from .._core.rand import Rand, seeded
from .._core.runtime import num_threads
from .data import DaskPasses, InMemory, Interrupted, LocalPasses, default_init_sample_size
from .params import GMMParams, draw_seed, random_state
from .progress import FINISH, Monitor

logger = logging.getLogger("pyvl")

Source = Union[InMemory, LocalPasses, DaskPasses]


@dataclass
class GMMFit:
    """The kept run of a fit: parameters (float32/float64 of the working dtype),
    its summed log-likelihood, convergence, iterations (M-steps), the summed
    log-likelihood after each E-step, and the number of points."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    loglikelihood: float
    converged: bool
    n_iter: int
    loglikelihoods: list[float] = field(default_factory=list)
    n: int = 0
    interrupted: bool = False


def variance(X: np.ndarray, block: int = 4096) -> np.ndarray:
    """Unbiased per-feature variance in float64, two passes over row blocks
    (no full-size temporary; 0 for a single row)."""
    n = X.shape[0]
    if n < 2:
        return np.zeros(X.shape[1])
    mean = X.mean(axis=0, dtype=np.float64)
    ss = np.zeros(X.shape[1])
    for i in range(0, n, block):
        z = X[i : i + block] - mean
        ss += np.einsum("ij,ij->j", z, z)
    return ss / (n - 1)


def initialize(gmm: GMM, X: np.ndarray, p: GMMParams,
               warm: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
               stop: Callable[[], bool] | None = None) -> None:
    """Set the GMM's starting parameters from X (the data or a sample of it), with
    libgmm's default generator (seeded by the caller). ``stop()`` true ends the
    k-means of the "kmeans" initialisation after its current iteration (its
    centers are valid, so is the initialisation)."""
    k = p.n_components
    if warm is not None:
        gmm.set_params(*warm)
    elif p.init_params == "kmeans":
        with KMeans.of_dtype(gmm.dtype) as km:
            km.algorithm = KMeansAlgorithm.LLOYD
            km.initialization = KMeansInit.PLUS_PLUS
            km.max_num_iterations = 20
            if stop is not None:
                km.set_iteration_callback(lambda iteration, energy: int(stop()))
            try:
                gmm.init_with_kmeans(X, None, km)
            except TrainingInterrupted:  # stopped early: the initialisation is made, valid
                pass
            finally:
                gmm.set_kmeans_init_object(None)
                km.set_iteration_callback(None)
    elif p.init_params in ("k-means++", "random"):
        gmm.init_with_rand_data(X)
    else:  # random_from_data: indices from libgmm's seeded generator
        rand = Rand.default()
        idx = [rand.uindex(X.shape[0]) for _ in range(k)]
        gmm.set_params(np.full(k, 1.0 / k), X[idx],
                       data_covariances(variance(X), p.covariance_type, k))
    user = p.user_init if warm is None else {}  # a warm start continues the previous fit
    if user:
        w, m, c = gmm.params()
        w = user.get("weights_init", w)
        m = user.get("means_init", m)
        given = p.covariances_init
        if given is not None:
            c = given
        gmm.set_params(w, m, c)


def data_covariances(var: np.ndarray, covariance_type: str, k: int) -> np.ndarray:
    """The data's per-feature variances ``var`` (D,) as the covariances of every
    component in the type's layout (diagonal matrices; spherical: their mean), as
    libgmm's "rand" initialisation sets them."""
    d = var.shape[0]
    if covariance_type == "diag":
        return np.tile(var, (k, 1))
    if covariance_type == "spherical":
        return np.full(k, var.mean())
    if covariance_type == "tied":
        return np.diag(var)
    return np.broadcast_to(np.diag(var), (k, d, d)).copy()


def configure(gmm: GMM, p: GMMParams) -> None:
    """The covariance type (before the parameters: setting it resets them), the
    EM variant, ``reg_covar`` and the lower bounds of a GMM trained for ``p``."""
    gmm.covariance_type = p.covariance_type
    if p.covariance_type == "diag":
        gmm.exact_em = p.em == "sklearn"
    gmm.reg_covar = p.reg_covar
    gmm.set_covariance_bound(p.bound)


#: scikit-learn's words for a covariance that is not positive definite after an M-step.
ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, increase reg_covar, or scale the input data."
)


def _ill_defined(exc: InvalidArgumentError) -> ValueError | None:
    """scikit-learn's ValueError for libgmm's "not positive definite after the
    M-step" (None for any other error)."""
    text = str(exc)
    if "not positive definite" not in text:
        return None
    return ValueError(f"{ILL_DEFINED} (libgmm: {text})")


def fit(p: GMMParams, source: Source,
        warm: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        warm_lower_bound: float | None = None) -> GMMFit:
    """Fit a diagonal GMM to ``source`` (see the module doc). ``warm``: start from
    these (weights, means, covariances), once, instead of initialising, with
    ``warm_lower_bound`` (the previous fit's mean log-likelihood) as the value
    the first iteration's is compared with. Raises ``ValueError`` if the data has
    fewer points than components.

    The loop is scikit-learn's: an iteration is an E-step then an M-step; it
    converges when the mean log-likelihood of its E-step differs from the
    previous one by less than ``tol``, and ends with that iteration's M-step;
    ``max_iter`` iterations at most (0: the initial parameters, one E-step).
    ``n_iter`` counts the M-steps, ``loglikelihoods`` the E-steps'
    log-likelihoods (one per iteration)."""
    k, d, dtype = p.n_components, source.d, source.dtype
    n_init = 1 if warm is not None else p.n_init
    rng = random_state(p.random_state)
    seeds = [draw_seed(rng) for _ in range(n_init)]
    monitor = Monitor("gmm", p.max_iter, p.verbose)
    with GMM.of_dtype(dtype, d, k) as gmm, num_threads(p.n_threads), monitor.catching_sigint():
        configure(gmm, p)
        gmm.store_posteriors = False
        monitor.finish_with_step, monitor.limit = True, p.max_iter
        if p.verbose:  # scikit-learn's lines on stdout, besides the progress bar
            monitor.print_every = max(1, p.verbose_interval)
        if isinstance(source, InMemory):
            monitor.n = source.n
            gmm.convergence_threshold = 0.0
            gmm.max_num_iterations = p.max_iter
            gmm.set_iteration_callback(monitor)
            n = source.n
            sample = source.X
        else:
            n = 0
            source.stop = lambda: monitor.interrupted
            sample = _init_sample(p, source, rng, warm)
        monitor.converged_test = _tol_test(p.tol, lambda: n or monitor.n)
        best: GMMFit | None = None
        for trial in range(n_init):
            logger.debug("GaussianMixture: initialisation %d of %d (%s)", trial + 1, n_init,
                         "warm start" if warm is not None else p.init_params)
            try:
                with seeded(seeds[trial]):
                    if len(p.user_init) < 3 or warm is not None:
                        initialize(gmm, sample, p, warm, lambda: monitor.interrupted)
                    else:  # nothing to draw: every parameter is given
                        gmm.set_params(p.weights_init, p.means_init, p.covariances_init)
            except InvalidArgumentError as exc:
                raise _ill_defined(exc) or exc from None
            if p.verbose:
                print("Initialization %d" % trial)
            monitor.start("GaussianMixture EM" if n_init == 1
                          else f"GaussianMixture EM, init {trial + 1}/{n_init}")
            monitor.previous = warm_lower_bound if warm is not None else None
            try:
                if isinstance(source, InMemory):
                    ll = _em_in_memory(gmm, source.X)
                else:
                    ll = em_by_passes(gmm, source, p.max_iter, monitor, k)
            except InvalidArgumentError as exc:
                raise _ill_defined(exc) or exc from None
            finally:
                monitor.close()
            if p.verbose and p.max_iter > 0:
                monitor.print_init_end()
            values = list(monitor.values)
            w, m, c = gmm.params()
            result = GMMFit(w, m, c, ll, monitor.converged, monitor.m_steps, values)
            if best is None or ll > best.loglikelihood or (
                math.isnan(best.loglikelihood) and not math.isnan(ll)
            ):
                best = result
            if monitor.interrupted:
                break
        gmm.set_iteration_callback(None)
    assert best is not None
    best.n = n or monitor.n
    best.interrupted = monitor.interrupted
    return best


def _tol_test(tol: float, n: Any) -> Any:
    """scikit-learn's convergence test on two consecutive summed log-likelihoods."""
    return lambda a, b: abs(b - a) / n() < tol


def _init_sample(p: GMMParams, source: LocalPasses | DaskPasses, rng: np.random.RandomState,
                 warm: Any) -> np.ndarray:
    """The rows the initialisation sees when the data is read in chunks: a uniform
    sample of at most ``init_sample_size`` rows (one pass), or none when nothing is
    drawn from the data (warm start, every initial array given)."""
    sample_seed = draw_seed(rng)
    if warm is not None or len(p.user_init) == 3:
        return np.empty((0, source.d), dtype=source.dtype)
    m = p.init_sample_size or default_init_sample_size(p.n_components)
    try:
        sample, n = source.sample(m, sample_seed)
    except Interrupted:
        raise KeyboardInterrupt from None
    if n < p.n_components:
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = {p.n_components}, "
            f"n_samples = {n}"
        )
    logger.info("GaussianMixture: initialising on a sample of %d of %d rows", len(sample), n)
    return sample


def _em_in_memory(gmm: GMM, X: np.ndarray) -> float:
    try:
        return gmm.em(X)
    except TrainingInterrupted:  # the callback stopped it (converged or Ctrl-C)
        return gmm.loglikelihood


# ---- EM by passes over chunks ------------------------------------------------------------


def _clamp_covariances(gmm: GMM) -> None:
    """What vl_gmm_em does first: raise the variances (the diagonal entries of the
    covariances; a spherical variance to the largest bound) to their lower bounds."""
    k, d = gmm.num_clusters, gmm.dimension
    bounds = gmm.covariance_lower_bounds
    kind = gmm.covariance_type
    covs = gmm.covariances.reshape(gmm.covariances_shape)
    if kind is CovarianceType.SPHERICAL:
        diag, full_bounds = covs, np.full(k, bounds.max())
    elif kind is CovarianceType.DIAGONAL:
        diag, full_bounds = covs, np.broadcast_to(bounds, (k, d))
    else:
        diag = np.diagonal(covs, axis1=-2, axis2=-1).copy()
        full_bounds = np.broadcast_to(bounds, diag.shape)
    low = diag.astype(np.float64) < full_bounds
    if not np.any(low):
        return
    diag = diag.copy()
    diag[low] = full_bounds.astype(gmm.dtype)[low]
    if kind in (CovarianceType.SPHERICAL, CovarianceType.DIAGONAL):
        covs = diag
    else:
        idx = np.arange(d)
        covs[..., idx, idx] = diag
    gmm.set_covariances(covs)


def em_by_passes(gmm: GMM, passes: LocalPasses | DaskPasses, max_iter: int, monitor: Monitor,
                 min_points: int = 1) -> float:
    """EM from the GMM's current parameters, reading data only through ``passes``;
    leaves the result in the GMM and returns the last summed log-likelihood (that
    of the returned parameters unless stopped mid-pass). ``monitor.n`` is set to
    the number of points after the first pass."""
    k = gmm.num_clusters
    _clamp_covariances(gmm)
    ll = math.nan
    for t in itertools.count():
        with gmm.copy() as frozen:
            try:
                st = passes.gmm_stats(frozen)
            except Interrupted:
                break
            n = int(st[-1])
            if t == 0:
                if n < min_points:
                    raise ValueError(
                        f"Expected n_samples >= n_components but got n_components = {k}, "
                        f"n_samples = {n}"
                    )
                monitor.n = n
            ll = float(st[-2])
            logger.debug("gmm (chunked): iteration %d: %d points, loglikelihood %.6f", t, n, ll)
            r = monitor.report(t, ll)
            if r == 1 or (r == 0 and t >= max_iter):
                break
            if t > 1:
                try:
                    st = _restart_empty_modes(gmm, frozen, st, n, passes)
                except Interrupted:
                    break
            gmm.mstep_from_stats(st)
            if r == FINISH:
                break
    return ll


def _restart_empty_modes(gmm: GMM, frozen: GMM, st: np.ndarray, n: int,
                         passes: LocalPasses | DaskPasses) -> np.ndarray:
    """gmm.tc's restart_empty_modes, with passes instead of in-memory replays."""
    k, d = gmm.num_clusters, gmm.dimension
    if k <= 1:
        return st
    mass = c_array(st[k : 2 * k])
    splits: list[np.ndarray] = []
    start = 0
    while True:
        split = np.zeros(4)
        start = gmm.plan_restart(mass, n, start, split)
        if not start:
            break
        splits.append(split)
        logger.debug("gmm (chunked): restarting empty component %d from %d", split[0], split[1])
        ref = gmm.means.reshape(k, d)
        st = passes.gmm_stats(frozen, ref=ref, splits=c_array(np.stack(splits)))
        gmm.mstep_from_stats(st)
    if splits:
        ref = gmm.means.reshape(k, d)
        st = passes.gmm_stats(frozen, ref=ref, splits=c_array(np.stack(splits)))
    return st


# ---- VLFeat's vl_gmm_cluster (the encoders' codebooks) ---------------------------------

#: The encoders' names of VLFeat's initialisations.
VLFEAT_INITS = {"rand": GMMInit.RAND, "kmeans": GMMInit.KMEANS}


def cluster_vlfeat(data: np.ndarray, n_components: int, *, init: Any, max_num_iterations: int,
                   num_repetitions: int, covariance_bound: float | None,
                   random_state: int | None,
                   verbose: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VLFeat's ``vl_gmm_cluster`` on ``data`` (N, D) float32/float64 with a
    ``GMMInit`` ``init``: ``(means (K, D), covariances (K, D), priors (K,))``.
    ``random_state`` seeds the calling thread's libgmm generator (as a seeded
    VLFeat run does); ``verbose``: a progress bar of the EM iterations."""
    n, d = data.shape
    if n < n_components:
        raise ValueError(f"fit needs at least n_components = {n_components} descriptors, got {n}")
    with GMM.of_dtype(data.dtype, d, n_components) as gmm:
        gmm.initialization = init
        gmm.max_num_iterations = max_num_iterations
        gmm.num_repetitions = num_repetitions
        if covariance_bound is not None:
            gmm.set_covariance_lower_bound(covariance_bound)
        if random_state is not None:
            Rand.default().seed(random_state)
        monitor = Monitor("gmm", max_num_iterations, verbose)
        monitor.n = n
        gmm.set_iteration_callback(monitor)
        monitor.start(f"GMM codebook, {num_repetitions} repetition(s)")
        try:
            gmm.cluster(data)
        finally:
            monitor.close()
            gmm.set_iteration_callback(None)
        w, m, c = gmm.params()
    return m, c, w
