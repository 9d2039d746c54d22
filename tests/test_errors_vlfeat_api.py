"""Bad input to VLFeat's API (pyvl.gmm, pyvl.kmeans, pyvl.random, pyvl.fisher,
pyvl.vlad, pyvl.bovw: the facade over the object layer): the Python rows of
docs/errors.md.

Every row calls one entry point with one kind of bad input and asserts the
exact exception type and a fragment of its message, then that the object it
was called on is unchanged and still works. The rows' data and helpers are in
tests/helpers.py; docs/errors.md is the table they check.

Rows of accepted input (read-only, non-contiguous, object arrays of numbers, priors
not summing to one, ...) assert that the result equals the one for the clean input;
objects used after their delete raise StateError.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    ASSIGN,
    COV,
    MU,
    PRI,
    D,
    K,
    N,
    X,
    check_usable,
    expect,
    nan_at,
    readonly,
    strided,
    vl_objects,
)

import pyvl
import pyvl.simd
from pyvl import AllocationError, InvalidArgumentError, SizeOverflowError, StateError
from pyvl import bovw as B
from pyvl import fisher as F
from pyvl import gmm as G
from pyvl import kmeans as KM
from pyvl import random as R
from pyvl import vlad as V


def _state(o):
    return (
        G.vl_gmm_get_means(o.gmm).tobytes(),
        G.vl_gmm_get_covariances(o.gmm).tobytes(),
        G.vl_gmm_get_priors(o.gmm).tobytes(),
        G.vl_gmm_get_covariance_lower_bounds(o.gmm).tobytes(),
        G.vl_gmm_get_loglikelihood(o.gmm),
        G.vl_gmm_get_initialization(o.gmm),
        G.vl_gmm_get_num_repetitions(o.gmm),
        G.vl_gmm_get_max_num_iterations(o.gmm),
        G.vl_gmm_get_verbosity(o.gmm),
        KM.vl_kmeans_get_centers(o.km).tobytes(),
        KM.vl_kmeans_get_energy(o.km),
        KM.vl_kmeans_get_algorithm(o.km),
        KM.vl_kmeans_get_distance(o.km),
        KM.vl_kmeans_get_verbosity(o.km),
        KM.vl_kmeans_get_min_energy_variation(o.km),
    )



@pytest.fixture
def objs():
    o = vl_objects()
    yield o




# (kind of bad input, entry point, call(o), exception type, message fragment)
MIRROR_ROWS = [
    # -- None where an array or object is expected
    ("none", "vl_gmm_cluster", lambda o: G.vl_gmm_cluster(o.gmm, None), TypeError, "data is None"),
    (
        "none",
        "vl_gmm_set_means",
        lambda o: G.vl_gmm_set_means(o.gmm, None),
        TypeError,
        "means is None",
    ),
    (
        "none",
        "vl_gmm_set_priors",
        lambda o: G.vl_gmm_set_priors(o.gmm, None),
        TypeError,
        "priors is None",
    ),
    (
        "none",
        "vl_get_gmm_data_posteriors_d",
        lambda o: G.vl_get_gmm_data_posteriors_d(None, K, N, PRI, MU, D, None, X),
        TypeError,
        "covariances is None",
    ),
    (
        "none",
        "vl_gmm_get_means (not a handle)",
        lambda o: G.vl_gmm_get_means(None),
        TypeError,
        "expected a VlGMM",
    ),
    (
        "none",
        "vl_gmm_set_kmeans_init_object (not a handle)",
        lambda o: G.vl_gmm_set_kmeans_init_object(o.gmm, 3),
        TypeError,
        "must be a VlKMeans",
    ),
    (
        "none",
        "vl_kmeans_quantize",
        lambda o: KM.vl_kmeans_quantize(o.km, None),
        TypeError,
        "data is None",
    ),
    (
        "none",
        "vl_kmeans_quantize (not a handle)",
        lambda o: KM.vl_kmeans_quantize(None, X),
        TypeError,
        "expected a VlKMeans",
    ),
    (
        "none",
        "vl_rand_uint32 (not a generator)",
        lambda o: R.vl_rand_uint32(None),
        TypeError,
        "expected a VlRand",
    ),
    (
        "none",
        "vl_rand_seed_by_array",
        lambda o: R.vl_rand_seed_by_array(o.rand, None),
        TypeError,
        "key is None",
    ),
    (
        "none",
        "vl_fisher_encode",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, None),
        TypeError,
        "data is None",
    ),
    (
        "none",
        "vl_fisher_encode (means)",
        lambda o: F.vl_fisher_encode(None, COV, PRI, X),
        TypeError,
        "means is None",
    ),
    (
        "none",
        "vl_vlad_encode",
        lambda o: V.vl_vlad_encode(MU, X, None),
        TypeError,
        "assignments is None",
    ),
    ("none", "bovw_encode", lambda o: B.bovw_encode(None, X), TypeError, "centers is None"),
    (
        "none",
        "fisher_encode_batch",
        lambda o: F.fisher_encode_batch(MU, COV, PRI, None),
        TypeError,
        "must be a list of per-image",
    ),
    # -- zero sizes
    (
        "zero size",
        "vl_gmm_new (D = 0)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_DOUBLE, 0, K),
        InvalidArgumentError,
        r"vl_gmm_new: dimension \(0\) and numComponents \(4\) must be >= 1",
    ),
    (
        "zero size",
        "vl_gmm_new (K = 0)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_FLOAT, D, 0),
        InvalidArgumentError,
        "must be >= 1",
    ),
    (
        "zero size",
        "vl_gmm_cluster (N = 0)",
        lambda o: G.vl_gmm_cluster(o.gmm, np.zeros((0, D))),
        InvalidArgumentError,
        "vl_gmm_cluster: numData is 0",
    ),
    (
        "zero size",
        "vl_gmm_em (num_data = 0)",
        lambda o: G.vl_gmm_em(o.gmm, X, 0),
        InvalidArgumentError,
        "numData is 0",
    ),
    (
        "zero size",
        "vl_gmm_set_num_repetitions",
        lambda o: G.vl_gmm_set_num_repetitions(o.gmm, 0),
        InvalidArgumentError,
        "must be >= 1",
    ),
    (
        "zero size",
        "vl_get_gmm_data_posteriors_d (K = 0)",
        lambda o: G.vl_get_gmm_data_posteriors_d(None, 0, N, PRI, MU, D, COV, X),
        InvalidArgumentError,
        "num_clusters and dimension must be >= 1",
    ),
    (
        "zero size",
        "vl_kmeans_cluster (K = 0)",
        lambda o: KM.vl_kmeans_cluster(o.km, X, D, None, 0),
        InvalidArgumentError,
        "numCenters is 0",
    ),
    (
        "zero size",
        "vl_kmeans_cluster (D = 0)",
        lambda o: KM.vl_kmeans_cluster(o.km, X, 0, None, K),
        InvalidArgumentError,
        "dimension must be >= 1",
    ),
    (
        "zero size",
        "vl_kmeans_set_num_trees",
        lambda o: KM.vl_kmeans_set_num_trees(o.km, 0),
        InvalidArgumentError,
        "numTrees must be >= 1",
    ),
    (
        "zero size",
        "vl_rand_uindex (range 0)",
        lambda o: R.vl_rand_uindex(o.rand, 0),
        InvalidArgumentError,
        "range must be positive",
    ),
    (
        "zero size",
        "vl_fisher_encode (K = 0)",
        lambda o: F.vl_fisher_encode(np.zeros((0, D)), np.zeros((0, D)), np.zeros(0), X),
        ValueError,
        r"K >= 1 components in D >= 1 dimensions",
    ),
    (
        "zero size",
        "vl_vlad_encode (D = 0)",
        lambda o: V.vl_vlad_encode(np.zeros((K, 0)), X, ASSIGN),
        ValueError,
        "K, D >= 1",
    ),
    # -- dimension and shape mismatch
    (
        "mismatch",
        "vl_gmm_cluster",
        lambda o: G.vl_gmm_cluster(o.gmm, np.zeros((10, D + 1))),
        ValueError,
        r"expected \(N, 3\) for dimension 3",
    ),
    (
        "mismatch",
        "vl_gmm_em (flat, not a multiple of D)",
        lambda o: G.vl_gmm_em(o.gmm, np.zeros(10)),
        ValueError,
        "not a multiple of the dimension 3",
    ),
    (
        "mismatch",
        "vl_gmm_cluster (num_data > rows)",
        lambda o: G.vl_gmm_cluster(o.gmm, X, N + 1),
        ValueError,
        "num_data = 121 but data holds only 120 points",
    ),
    (
        "mismatch",
        "vl_gmm_set_means",
        lambda o: G.vl_gmm_set_means(o.gmm, np.zeros((K, D + 1))),
        ValueError,
        r"means must have 12 values",
    ),
    (
        "mismatch",
        "vl_gmm_set_covariance_lower_bounds",
        lambda o: G.vl_gmm_set_covariance_lower_bounds(o.gmm, np.ones(D + 2)),
        ValueError,
        "bounds must have 3 values",
    ),
    (
        "mismatch",
        "vl_gmm_set_kmeans_init_object (float k-means, double GMM)",
        lambda o: G.vl_gmm_set_kmeans_init_object(
            o.gmm, KM.vl_kmeans_new(KM.VL_TYPE_FLOAT, KM.VlDistanceL2)
        ),
        InvalidArgumentError,
        r"data type \(1\) differs from the GMM's \(2\)",
    ),
    (
        "mismatch",
        "vl_get_gmm_data_posteriors_d (output too small)",
        lambda o: G.vl_get_gmm_data_posteriors_d(np.zeros(5), K, N, PRI, MU, D, COV, X),
        ValueError,
        "posteriors must be a writable C-contiguous float64 array of at least 480 values",
    ),
    (
        "mismatch",
        "vl_kmeans_quantize",
        lambda o: KM.vl_kmeans_quantize(o.km, np.zeros((4, D + 1))),
        ValueError,
        r"expected \(N, 3\)",
    ),
    (
        "mismatch",
        "vl_kmeans_set_centers",
        lambda o: KM.vl_kmeans_set_centers(o.km, MU, D, K + 1),
        ValueError,
        "centers must have 15 values",
    ),
    (
        "mismatch",
        "vl_kmeans_quantize_ann (assignments)",
        lambda o: KM.vl_kmeans_quantize_ann(o.km, X, update=True, assignments=np.zeros(5)),
        ValueError,
        "assignments must have 120 values",
    ),
    (
        "mismatch",
        "vl_fisher_encode (data D)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, np.zeros((5, D + 1))),
        ValueError,
        r"expected \(N, 3\)",
    ),
    (
        "mismatch",
        "vl_fisher_encode (covariances)",
        lambda o: F.vl_fisher_encode(MU, COV[:2], PRI, X),
        ValueError,
        "covariances must have the shape of means",
    ),
    (
        "mismatch",
        "vl_fisher_encode (priors)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI[:2], X),
        ValueError,
        r"priors must have shape \(4,\)",
    ),
    (
        "mismatch",
        "vl_vlad_encode (assignment rows)",
        lambda o: V.vl_vlad_encode(MU, X, ASSIGN[:10]),
        ValueError,
        "assignments has 10 rows for 120 descriptors",
    ),
    (
        "mismatch",
        "vlad_encode_batch (per-image assignments)",
        lambda o: V.vlad_encode_batch(MU, [X, X[:5]], [ASSIGN, ASSIGN[:4]]),
        ValueError,
        "one \\(N_j, K\\) array per image",
    ),
    (
        "mismatch",
        "fisher_encode_batch (one set of another D)",
        lambda o: F.fisher_encode_batch(MU, COV, PRI, [X, np.zeros((2, D + 1))]),
        ValueError,
        r"descriptor_sets\[1\] has shape \(2, 4\)",
    ),
    (
        "mismatch",
        "fisher.encode_sets (offsets)",
        lambda o: F.encode_sets(MU, COV, PRI, X, [0, 50, 40, N]),
        ValueError,
        "never decrease",
    ),
    # -- fewer points than clusters
    (
        "N < K",
        "vl_gmm_cluster",
        lambda o: G.vl_gmm_cluster(o.gmm, X[: K - 1]),
        InvalidArgumentError,
        r"vl_gmm_cluster: fewer data points \(3\) than clusters \(4\)",
    ),
    (
        "N < K",
        "vl_gmm_em",
        lambda o: G.vl_gmm_em(o.gmm, X[:1]),
        InvalidArgumentError,
        r"fewer data points \(1\) than clusters \(4\)",
    ),
    (
        "N < K",
        "vl_gmm_init_with_kmeans",
        lambda o: G.vl_gmm_init_with_kmeans(o.gmm, X[:2]),
        InvalidArgumentError,
        "fewer data points",
    ),
    (
        "N < K",
        "vl_kmeans_cluster",
        lambda o: KM.vl_kmeans_cluster(o.km, X[:3], D, None, K),
        InvalidArgumentError,
        r"numCenters \(4\) exceeds numData \(3\)",
    ),
    (
        "N < K",
        "vl_kmeans_refine_centers",
        lambda o: KM.vl_kmeans_refine_centers(o.km, X[:2]),
        InvalidArgumentError,
        r"numCenters \(4\) exceeds numData \(2\)",
    ),
    (
        "N < K",
        "vl_kmeans_init_centers_plus_plus",
        lambda o: KM.vl_kmeans_init_centers_plus_plus(o.km, X[:2], D, None, K),
        InvalidArgumentError,
        "exceeds numData",
    ),
    # -- NaN / Inf
    (
        "NaN/Inf data",
        "vl_gmm_cluster",
        lambda o: G.vl_gmm_cluster(o.gmm, nan_at(X)),
        InvalidArgumentError,
        "vl_gmm_cluster: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_gmm_em (+Inf)",
        lambda o: G.vl_gmm_em(o.gmm, nan_at(X, value=np.inf)),
        InvalidArgumentError,
        "vl_gmm_em: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_gmm_init_with_rand_data (-Inf)",
        lambda o: G.vl_gmm_init_with_rand_data(o.gmm, nan_at(X, value=-np.inf)),
        InvalidArgumentError,
        "data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_get_gmm_data_posteriors_f",
        lambda o: G.vl_get_gmm_data_posteriors_f(None, K, N, PRI, MU, D, COV, nan_at(X)),
        InvalidArgumentError,
        "vl_get_gmm_data_posteriors_f: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_kmeans_cluster",
        lambda o: KM.vl_kmeans_cluster(o.km, nan_at(X), D, None, K),
        InvalidArgumentError,
        "vl_kmeans_cluster: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_kmeans_quantize",
        lambda o: KM.vl_kmeans_quantize(o.km, nan_at(X, value=np.inf)),
        InvalidArgumentError,
        "vl_kmeans_quantize: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_fisher_encode",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, nan_at(X)),
        InvalidArgumentError,
        "vl_fisher_encode: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "fisher_encode_batch",
        lambda o: F.fisher_encode_batch(MU, COV, PRI, [X, nan_at(X[:10], (2, 2))]),
        InvalidArgumentError,
        "vl_fisher_encode_batch: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_vlad_encode",
        lambda o: V.vl_vlad_encode(MU, nan_at(X), ASSIGN),
        InvalidArgumentError,
        "vl_vlad_encode: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "bovw_encode",
        lambda o: B.bovw_encode(MU, nan_at(X, value=-np.inf)),
        InvalidArgumentError,
        "vl_bovw_encode: data contains NaN or Inf",
    ),
    (
        "NaN/Inf data",
        "vl_kmeans_quantize_ann (NaN current distances)",
        lambda o: KM.vl_kmeans_quantize_ann(
            o.km,
            X,
            update=True,
            assignments=np.zeros(N),
            distances=nan_at(np.zeros((N, 1)), (7, 0)),
        ),
        InvalidArgumentError,
        "vl_kmeans_quantize_ann: distances contain NaN",
    ),
    (
        "NaN/Inf means",
        "vl_gmm_set_means",
        lambda o: G.vl_gmm_set_means(o.gmm, nan_at(MU, (1, 1))),
        InvalidArgumentError,
        "vl_gmm_set_means: means contain NaN or Inf",
    ),
    (
        "NaN/Inf means",
        "vl_kmeans_set_centers",
        lambda o: KM.vl_kmeans_set_centers(o.km, nan_at(MU, (0, 0), np.inf), D, K),
        InvalidArgumentError,
        "centers contains NaN or Inf",
    ),
    (
        "NaN/Inf means",
        "vl_get_gmm_data_posteriors_d",
        lambda o: G.vl_get_gmm_data_posteriors_d(None, K, N, PRI, nan_at(MU, (0, 0)), D, COV, X),
        InvalidArgumentError,
        "means contain NaN or Inf",
    ),
    (
        "NaN/Inf means",
        "vl_fisher_encode",
        lambda o: F.vl_fisher_encode(nan_at(MU, (3, 2), -np.inf), COV, PRI, X),
        InvalidArgumentError,
        "means contain NaN or Inf",
    ),
    (
        "NaN/Inf means",
        "vl_vlad_encode",
        lambda o: V.vl_vlad_encode(nan_at(MU, (3, 2)), X, ASSIGN),
        InvalidArgumentError,
        "means contain NaN or Inf",
    ),
    (
        "NaN/Inf means",
        "bovw_encode_batch",
        lambda o: B.bovw_encode_batch(nan_at(MU, (0, 1)), [X]),
        InvalidArgumentError,
        "centers contain NaN or Inf",
    ),
    (
        "NaN/Inf covariances",
        "vl_gmm_set_covariances",
        lambda o: G.vl_gmm_set_covariances(o.gmm, nan_at(COV, (2, 0))),
        InvalidArgumentError,
        "covariances contain NaN or Inf",
    ),
    (
        "NaN/Inf covariances",
        "vl_get_gmm_data_posteriors_d",
        lambda o: G.vl_get_gmm_data_posteriors_d(
            None, K, N, PRI, MU, D, nan_at(COV, (0, 1), np.inf), X
        ),
        InvalidArgumentError,
        "covariance 1 is inf",
    ),
    (
        "NaN/Inf covariances",
        "vl_fisher_encode",
        lambda o: F.vl_fisher_encode(MU, nan_at(COV, (0, 0)), PRI, X),
        InvalidArgumentError,
        "covariance 0 is nan",
    ),
    (
        "NaN/Inf covariances",
        "bovw_encode_gmm_batch",
        lambda o: B.bovw_encode_gmm_batch(MU, nan_at(COV, (0, 0)), PRI, [X]),
        InvalidArgumentError,
        "covariance 0 is nan",
    ),
    (
        "NaN/Inf priors",
        "vl_gmm_set_priors",
        lambda o: G.vl_gmm_set_priors(o.gmm, nan_at(PRI, 1)),
        InvalidArgumentError,
        "priors contain NaN or Inf",
    ),
    (
        "NaN/Inf priors",
        "vl_get_gmm_data_posteriors_d",
        lambda o: G.vl_get_gmm_data_posteriors_d(None, K, N, nan_at(PRI, 2, np.inf), MU, D, COV, X),
        InvalidArgumentError,
        "prior 2 is inf",
    ),
    (
        "NaN/Inf priors",
        "vl_fisher_encode",
        lambda o: F.vl_fisher_encode(MU, COV, nan_at(PRI, 0), X),
        InvalidArgumentError,
        "prior 0 is nan",
    ),
    (
        "NaN/Inf settings",
        "vl_gmm_set_covariance_lower_bound",
        lambda o: G.vl_gmm_set_covariance_lower_bound(o.gmm, np.nan),
        InvalidArgumentError,
        "bound is nan",
    ),
    (
        "NaN/Inf settings",
        "vl_kmeans_set_min_energy_variation",
        lambda o: KM.vl_kmeans_set_min_energy_variation(o.km, np.inf),
        InvalidArgumentError,
        "must be finite and >= 0, got inf",
    ),
    (
        "NaN/Inf settings",
        "bovw_encode (sigma)",
        lambda o: B.bovw_encode(MU, X, sigma=np.nan, flags=B.VL_BOVW_FLAG_SOFT),
        ValueError,
        "sigma must be finite and > 0",
    ),
    (
        "NaN/Inf settings",
        "vlad weights +Inf",
        lambda o: V.vl_vlad_encode(MU, X, nan_at(ASSIGN, (3, 1), np.inf)),
        InvalidArgumentError,
        r"assignment \(3, 1\) is \+Inf",
    ),
    # -- non-positive covariances
    (
        "covariance <= 0",
        "vl_gmm_set_covariances (negative)",
        lambda o: G.vl_gmm_set_covariances(o.gmm, -COV),
        InvalidArgumentError,
        r"covariances\[0\] = -1 is negative",
    ),
    (
        "covariance <= 0",
        "vl_get_gmm_data_posteriors_d (zero)",
        lambda o: G.vl_get_gmm_data_posteriors_d(None, K, N, PRI, MU, D, 0 * COV, X),
        InvalidArgumentError,
        r"covariance 0 is 0 \(must be finite and > 0\)",
    ),
    (
        "covariance <= 0",
        "vl_fisher_encode (negative)",
        lambda o: F.vl_fisher_encode(MU, -COV, PRI, X),
        InvalidArgumentError,
        "covariance 0 is -1",
    ),
    (
        "covariance <= 0",
        "bovw_encode_gmm_batch (zero)",
        lambda o: B.bovw_encode_gmm_batch(MU, 0 * COV, PRI, [X]),
        InvalidArgumentError,
        "covariance 0 is 0",
    ),
    (
        "covariance <= 0",
        "vl_gmm_set_covariance_lower_bound (negative)",
        lambda o: G.vl_gmm_set_covariance_lower_bound(o.gmm, -1),
        InvalidArgumentError,
        "must be finite and >= 0",
    ),
    # -- priors
    (
        "priors",
        "vl_gmm_set_priors (negative)",
        lambda o: G.vl_gmm_set_priors(o.gmm, -PRI),
        InvalidArgumentError,
        r"priors\[0\] = -0.25 is negative",
    ),
    (
        "priors",
        "vl_get_gmm_data_posteriors_d (all < 1e-6)",
        lambda o: G.vl_get_gmm_data_posteriors_d(None, K, N, 0 * PRI, MU, D, COV, X),
        InvalidArgumentError,
        "every prior is below 1e-6",
    ),
    (
        "priors",
        "vl_fisher_encode (negative)",
        lambda o: F.vl_fisher_encode(MU, COV, -PRI, X),
        InvalidArgumentError,
        "prior 0 is -0.25",
    ),
    # -- enums, types and flags
    (
        "enum/flag",
        "vl_gmm_new (data type)",
        lambda o: G.vl_gmm_new(7, D, K),
        InvalidArgumentError,
        "data type 7 is not supported",
    ),
    (
        "enum/flag",
        "vl_gmm_set_initialization",
        lambda o: G.vl_gmm_set_initialization(o.gmm, 3),
        InvalidArgumentError,
        "unknown initialization 3",
    ),
    (
        "enum/flag",
        "vl_gmm_set_initialization (str)",
        lambda o: G.vl_gmm_set_initialization(o.gmm, "rand"),
        InvalidArgumentError,
        "unknown initialization 'rand'",
    ),
    (
        "enum/flag",
        "vl_gmm_set_verbosity (> C int)",
        lambda o: G.vl_gmm_set_verbosity(o.gmm, 2**40),
        InvalidArgumentError,
        "verbosity = 1099511627776 does not fit in a C int",
    ),
    (
        "enum/flag",
        "vl_kmeans_new (distance)",
        lambda o: KM.vl_kmeans_new(KM.VL_TYPE_FLOAT, 5),
        InvalidArgumentError,
        "distance 5 is not supported by k-means",
    ),
    (
        "enum/flag",
        "vl_kmeans_new (distance 2**32 + 1)",
        lambda o: KM.vl_kmeans_new(KM.VL_TYPE_FLOAT, 2**32 + 1),
        InvalidArgumentError,
        "distance = 4294967297 does not fit in a C int",
    ),
    (
        "enum/flag",
        "vl_kmeans_new (distance str)",
        lambda o: KM.vl_kmeans_new(KM.VL_TYPE_FLOAT, "l2"),
        TypeError,
        "distance must be an integer",
    ),
    (
        "enum/flag",
        "vl_kmeans_set_algorithm",
        lambda o: KM.vl_kmeans_set_algorithm(o.km, 9),
        InvalidArgumentError,
        "unknown algorithm 9",
    ),
    (
        "enum/flag",
        "vl_kmeans_set_initialization",
        lambda o: KM.vl_kmeans_set_initialization(o.km, -1),
        InvalidArgumentError,
        "unknown initialization -1",
    ),
    (
        "enum/flag",
        "vl_fisher_encode (unknown bit)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, X, 0x8),
        InvalidArgumentError,
        r"unknown flag bits 0x8 in flags=8 \(known VL_FISHER_FLAG_\* bits: 0x7\)",
    ),
    (
        "enum/flag",
        "vl_fisher_encode (negative)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, X, -1),
        InvalidArgumentError,
        "unknown flag bits",
    ),
    (
        "enum/flag",
        "vl_fisher_encode (float flags)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, X, 1.0),
        TypeError,
        "flags must be an integer combination",
    ),
    (
        "enum/flag",
        "vl_vlad_encode",
        lambda o: V.vl_vlad_encode(MU, X, ASSIGN, 0x10),
        InvalidArgumentError,
        "known VL_VLAD_FLAG_",
    ),
    (
        "enum/flag",
        "bovw_encode",
        lambda o: B.bovw_encode(MU, X, flags=0x20),
        InvalidArgumentError,
        "known VL_BOVW_FLAG_",
    ),
    (
        "enum/flag",
        "bovw_encode (soft without sigma)",
        lambda o: B.bovw_encode(MU, X, flags=B.VL_BOVW_FLAG_SOFT),
        ValueError,
        "needs sigma > 0",
    ),
    (
        "enum/flag",
        "pyvl.simd.set_simd_level",
        lambda o: pyvl.simd.set_simd_level("avx9000"),
        InvalidArgumentError,
        "unknown SIMD level 'avx9000'",
    ),
    # -- sizes that overflow size_t (ctypes would wrap them silently)
    (
        "overflow",
        "vl_gmm_new (K x D)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_DOUBLE, 2**40, 2**40),
        SizeOverflowError,
        "size 1099511627776 x 1099511627776 overflows size_t",
    ),
    (
        "overflow",
        "vl_gmm_new (D > SIZE_MAX)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_DOUBLE, 2**64 + 2, K),
        SizeOverflowError,
        "dimension = 18446744073709551618 does not fit in size_t",
    ),
    (
        "overflow",
        "vl_gmm_new (bytes > PTRDIFF_MAX)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_DOUBLE, 2**60, 1),
        SizeOverflowError,
        "too large",
    ),
    (
        "overflow",
        "vl_kmeans_cluster (K > SIZE_MAX)",
        lambda o: KM.vl_kmeans_cluster(o.km, X, D, None, 2**64 + 3),
        SizeOverflowError,
        "num_centers = 18446744073709551619 does not fit in size_t",
    ),
    (
        "overflow",
        "vl_gmm_cluster (num_data > SIZE_MAX)",
        lambda o: G.vl_gmm_cluster(o.gmm, X, 2**64),
        SizeOverflowError,
        "num_data",
    ),
    (
        "overflow",
        "vl_rand_uindex (range > SIZE_MAX)",
        lambda o: R.vl_rand_uindex(o.rand, 2**64),
        SizeOverflowError,
        "range = 18446744073709551616 does not fit in size_t",
    ),
    (
        "overflow",
        "vl_gmm_set_max_num_iterations",
        lambda o: G.vl_gmm_set_max_num_iterations(o.gmm, 2**70),
        SizeOverflowError,
        "max_num_iterations",
    ),
    (
        "overflow",
        "vl_rand_seed (> 32 bits)",
        lambda o: R.vl_rand_seed(o.rand, 2**33),
        InvalidArgumentError,
        "seed must fit in 32 bits",
    ),
    (
        "overflow",
        "vl_rand_seed_by_array (> 32 bits)",
        lambda o: R.vl_rand_seed_by_array(o.rand, [1, 2**40]),
        InvalidArgumentError,
        r"32-bit unsigned integers, in \[0, 2\*\*32\)",
    ),
    (
        "overflow",
        "vl_rand_seed_by_array (negative)",
        lambda o: R.vl_rand_seed_by_array(o.rand, [-1]),
        InvalidArgumentError,
        "32-bit unsigned",
    ),
    (
        "overflow",
        "vl_rand_seed_by_array (fractional)",
        lambda o: R.vl_rand_seed_by_array(o.rand, [1.5]),
        InvalidArgumentError,
        "key must hold integers",
    ),
    (
        "overflow",
        "vl_set_num_threads (> 1024)",
        lambda o: pyvl.vl_set_num_threads(10**6),
        InvalidArgumentError,
        "vl_set_num_threads: 1000000 threads is more than the maximum of 1024",
    ),
    (
        "overflow",
        "vl_set_num_threads (negative)",
        lambda o: pyvl.vl_set_num_threads(-1),
        ValueError,
        "n must be an integer >= 0, got -1",
    ),
    # -- allocation failure (larger than the address space, yet no size_t overflow)
    (
        "allocation",
        "vl_gmm_new (2**50 bytes)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_DOUBLE, 2**47, 1),
        AllocationError,
        "could not allocate 1125899906842624 bytes",
    ),
    # -- wrong dtype, 0-d and 3-d arrays, object arrays that are not numbers
    (
        "dtype",
        "vl_gmm_cluster (complex)",
        lambda o: G.vl_gmm_cluster(o.gmm, X.astype(complex)),
        TypeError,
        "data must be a real numeric array, got dtype complex128",
    ),
    (
        "dtype",
        "vl_gmm_cluster (str)",
        lambda o: G.vl_gmm_cluster(o.gmm, X.astype(str)),
        TypeError,
        "got dtype <U",
    ),
    (
        "dtype",
        "vl_gmm_set_means (datetime)",
        lambda o: G.vl_gmm_set_means(o.gmm, np.zeros((K, D), dtype="M8[s]")),
        TypeError,
        "got dtype datetime64",
    ),
    (
        "dtype",
        "vl_kmeans_cluster (complex)",
        lambda o: KM.vl_kmeans_cluster(o.km, X.astype(complex), D, None, K),
        TypeError,
        "real numeric array",
    ),
    (
        "dtype",
        "vl_fisher_encode (bytes)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, X.astype("S8")),
        TypeError,
        "got dtype |S8",
    ),
    (
        "dtype",
        "vl_rand_seed_by_array (str)",
        lambda o: R.vl_rand_seed_by_array(o.rand, ["a"]),
        TypeError,
        "key must be a real numeric array",
    ),
    (
        "dtype",
        "vl_gmm_cluster (num_data float)",
        lambda o: G.vl_gmm_cluster(o.gmm, X, 5.0),
        TypeError,
        "num_data must be an integer >= 0, got 5.0",
    ),
    (
        "dtype",
        "vl_gmm_new (dimension float)",
        lambda o: G.vl_gmm_new(G.VL_TYPE_DOUBLE, 3.0, K),
        TypeError,
        "dimension must be an integer",
    ),
    (
        "0-d",
        "vl_gmm_cluster",
        lambda o: G.vl_gmm_cluster(o.gmm, np.float64(1.0)),
        ValueError,
        r"data must be 1-D \(N\*D,\) or 2-D \(N, D\); got 0-D shape \(\)",
    ),
    (
        "0-d",
        "vl_fisher_encode",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, np.array(2.0)),
        ValueError,
        "got 0-D",
    ),
    (
        "0-d",
        "vl_gmm_set_priors",
        lambda o: G.vl_gmm_set_priors(o.gmm, np.array(0.25)),
        ValueError,
        "priors must have 4 values",
    ),
    (
        "0-d",
        "vl_vlad_encode (means)",
        lambda o: V.vl_vlad_encode(np.array(1.0), X, ASSIGN),
        ValueError,
        r"means must be a \(K, D\) array",
    ),
    (
        "3-d",
        "vl_gmm_cluster",
        lambda o: G.vl_gmm_cluster(o.gmm, X.reshape(2, N // 2, D)),
        ValueError,
        "got 3-D shape",
    ),
    (
        "3-d",
        "vl_kmeans_quantize",
        lambda o: KM.vl_kmeans_quantize(o.km, X.reshape(1, N, D)),
        ValueError,
        "got 3-D shape",
    ),
    (
        "3-d",
        "vl_fisher_encode (means)",
        lambda o: F.vl_fisher_encode(MU[None], COV, PRI, X),
        ValueError,
        r"means must be a \(K, D\) array, got shape \(1, 4, 3\)",
    ),
    (
        "3-d",
        "fisher_encode_batch (a 3-d set)",
        lambda o: F.fisher_encode_batch(MU, COV, PRI, [X[None]]),
        ValueError,
        r"descriptor_sets\[0\] has shape \(1, 120, 3\)",
    ),
    (
        "object",
        "vl_gmm_cluster (strings)",
        lambda o: G.vl_gmm_cluster(o.gmm, np.array([["a", "b", "c"]] * 10, dtype=object)),
        TypeError,
        "got an object array that does not convert to float",
    ),
    (
        "object",
        "vl_fisher_encode (None inside)",
        lambda o: F.vl_fisher_encode(MU, COV, PRI, np.array([[1, None, 2]], dtype=object)),
        InvalidArgumentError,
        "data contains NaN or Inf",
    ),
    (
        "object",
        "vl_kmeans_set_centers (dicts)",
        lambda o: KM.vl_kmeans_set_centers(o.km, np.array([{}] * (K * D), dtype=object), D, K),
        TypeError,
        "does not convert to float",
    ),
    (
        "object",
        "ragged nested lists",
        lambda o: G.vl_gmm_cluster(o.gmm, [[1.0, 2.0, 3.0], [1.0]]),
        ValueError,
        "inhomogeneous",
    ),
]


@pytest.mark.parametrize(
    "kind, entry, call, exc, match",
    MIRROR_ROWS,
    ids=[f"{r[0]}: {r[1]}" for r in MIRROR_ROWS],
)
def test_mirror_row(objs, restore_threads, kind, entry, call, exc, match):
    before = _state(objs)
    expect(exc, match, call, objs)
    assert _state(objs) == before, "a failed call changed the object"
    check_usable(objs)


# ---- accepted inputs: converted (copied only when needed), same result as clean input ----


def _cluster(data, num_data=None):
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K)
    G.vl_rand_seed(G.vl_get_rand(), 5)
    G.vl_gmm_set_max_num_iterations(g, 5)
    ll = G.vl_gmm_cluster(g, data, num_data)
    return ll, G.vl_gmm_get_means(g)


def _quantize(data):
    km = KM.vl_kmeans_new(KM.VL_TYPE_DOUBLE, KM.VlDistanceL2)
    KM.vl_kmeans_set_centers(km, MU, D, K)
    return KM.vl_kmeans_quantize(km, data)


ACCEPTED_ROWS = [
    # (kind, entry, f(input) -> result, clean input, accepted variant)
    ("read-only", "vl_gmm_cluster", _cluster, X, readonly(X)),
    ("non-contiguous", "vl_gmm_cluster", _cluster, X, strided(X)),
    ("Fortran order", "vl_gmm_cluster", _cluster, X, np.asfortranarray(X)),
    ("object numbers", "vl_gmm_cluster", _cluster, X, X.astype(object)),
    ("nested lists", "vl_gmm_cluster", _cluster, X, X.tolist()),
    ("flat (N*D,)", "vl_gmm_cluster", _cluster, X, X.ravel()),
    (
        "int data",
        "vl_kmeans_quantize",
        _quantize,
        np.round(X).astype(np.float64),
        np.round(X).astype(np.int32),
    ),
    ("non-contiguous", "vl_kmeans_quantize", _quantize, X, X[::-1].copy()[::-1]),
    (
        "read-only",
        "vl_fisher_encode",
        lambda x: F.vl_fisher_encode(MU, COV, PRI, x),
        X,
        readonly(X),
    ),
    (
        "non-contiguous",
        "vl_fisher_encode",
        lambda x: F.vl_fisher_encode(MU, COV, PRI, x),
        X,
        strided(X),
    ),
    (
        "object numbers",
        "vl_fisher_encode",
        lambda x: F.vl_fisher_encode(MU, COV, PRI, x),
        X,
        X.astype(object),
    ),
    (
        "read-only params",
        "vl_fisher_encode",
        lambda m: F.vl_fisher_encode(m, COV, PRI, X),
        MU,
        readonly(MU),
    ),
    (
        "non-contiguous",
        "vl_vlad_encode",
        lambda a: V.vl_vlad_encode(MU, X, a),
        ASSIGN,
        np.asfortranarray(ASSIGN),
    ),
    (
        "read-only",
        "bovw_encode_batch",
        lambda x: B.bovw_encode_batch(MU, [x, x[:3]]),
        X,
        readonly(X),
    ),
]


@pytest.mark.parametrize(
    "kind, entry, f, clean, variant", ACCEPTED_ROWS, ids=[f"{r[0]}: {r[1]}" for r in ACCEPTED_ROWS]
)
def test_accepted_row(kind, entry, f, clean, variant):
    snapshot = (
        np.array(variant, dtype=object, copy=True) if isinstance(variant, np.ndarray) else None
    )
    expected, got = f(clean), f(variant)
    for e, g in zip(
        expected if isinstance(expected, tuple) else (expected,),
        got if isinstance(got, tuple) else (got,),
    ):
        np.testing.assert_array_equal(g, e)
    if snapshot is not None:  # inputs are never written
        np.testing.assert_array_equal(np.asarray(variant, dtype=object), snapshot)


def test_priors_not_summing_to_one_are_kept_as_given_and_em_renormalises():
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K)
    G.vl_gmm_set_means(g, MU)
    G.vl_gmm_set_covariances(g, COV)
    G.vl_gmm_set_priors(g, 3 * PRI)  # sum 3: accepted, as VLFeat
    np.testing.assert_array_equal(G.vl_gmm_get_priors(g), 3 * PRI)
    G.vl_gmm_set_max_num_iterations(g, 1)
    G.vl_gmm_em(g, X)
    assert G.vl_gmm_get_priors(g).sum() == pytest.approx(1, abs=1e-12)
    # stateless posteriors: the same posteriors, log p(x) shifted by N log 3
    p1, ll1 = G.vl_get_gmm_data_posteriors_d(None, K, N, PRI, MU, D, COV, X)
    p3, ll3 = G.vl_get_gmm_data_posteriors_d(None, K, N, 3 * PRI, MU, D, COV, X)
    np.testing.assert_allclose(p3, p1, atol=1e-12)
    assert ll3 == pytest.approx(ll1 + N * np.log(3), rel=1e-10)
    # encoders use them as given (1/sqrt(pi_k) factors)
    e1 = F.vl_fisher_encode(MU, COV, PRI, X)
    e3 = F.vl_fisher_encode(MU, COV, 3 * PRI, X)
    np.testing.assert_allclose(e3 * np.sqrt(3), e1, rtol=1e-12, atol=1e-15)


def test_every_prior_below_1e6_gives_zero_encodings_and_refuses_em():
    np.testing.assert_array_equal(F.vl_fisher_encode(MU, COV, 0 * PRI, X), 0)
    np.testing.assert_array_equal(
        B.bovw_encode_gmm_batch(MU, COV, 0 * PRI, [X], B.VL_BOVW_FLAG_SOFT), 0
    )
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K)  # a new object: zero priors
    expect(InvalidArgumentError, "every prior is below 1e-6", G.vl_gmm_em, g, X)
    assert np.isfinite(G.vl_gmm_cluster(g, X))  # initialising makes it usable


def test_zero_covariance_is_raised_to_the_bound_by_em_but_not_with_a_zero_bound():
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K)
    G.vl_gmm_set_means(g, MU)
    G.vl_gmm_set_priors(g, PRI)
    G.vl_gmm_set_covariances(g, 0 * COV)  # accepted: EM raises it to the lower bound
    G.vl_gmm_set_max_num_iterations(g, 1)
    assert np.isfinite(G.vl_gmm_em(g, X))
    G.vl_gmm_set_covariances(g, 0 * COV)
    G.vl_gmm_set_covariance_lower_bound(g, 0)
    expect(InvalidArgumentError, r"covariance \(0, 0\) is 0 after bounding", G.vl_gmm_em, g, X)
    G.vl_gmm_set_covariance_lower_bound(g, 1e-4)
    assert np.isfinite(G.vl_gmm_em(g, X))


def test_empty_input_is_not_an_error():
    np.testing.assert_array_equal(F.vl_fisher_encode(MU, COV, PRI, np.zeros((0, D))), 0)
    np.testing.assert_array_equal(V.vlad_encode_batch(MU, [np.zeros((0, D))]), 0)
    assert F.fisher_encode_batch(MU, COV, PRI, []).shape == (0, 2 * K * D)
    km = KM.vl_kmeans_new(KM.VL_TYPE_DOUBLE, KM.VlDistanceL2)
    KM.vl_kmeans_set_centers(km, MU, D, K)
    a, d = KM.vl_kmeans_quantize(km, np.zeros((0, D)))
    assert a.shape == d.shape == (0,)


def test_numpy_memory_error_is_a_memory_error(objs):
    with pytest.raises(MemoryError):
        R.vl_rand_permute_indexes(objs.rand, 2**50)
    check_usable(objs)


# ---- use after delete ---------------------------------------------------------------------

AFTER_DELETE = [
    ("vl_gmm_cluster", lambda g, km: G.vl_gmm_cluster(g, X)),
    ("vl_gmm_get_means", lambda g, km: G.vl_gmm_get_means(g)),
    ("vl_gmm_set_priors", lambda g, km: G.vl_gmm_set_priors(g, PRI)),
    ("vl_gmm_new_copy", lambda g, km: G.vl_gmm_new_copy(g)),
    ("vl_gmm_delete (twice)", lambda g, km: G.vl_gmm_delete(g)),
    ("vl_kmeans_quantize", lambda g, km: KM.vl_kmeans_quantize(km, X)),
    ("vl_kmeans_get_centers", lambda g, km: KM.vl_kmeans_get_centers(km)),
    ("vl_kmeans_delete (twice)", lambda g, km: KM.vl_kmeans_delete(km)),
    (
        "vl_gmm_set_kmeans_init_object (deleted k-means)",
        lambda g, km: G.vl_gmm_set_kmeans_init_object(G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K), km),
    ),
    (
        "vl_gmm_init_with_kmeans (deleted k-means)",
        lambda g, km: G.vl_gmm_init_with_kmeans(G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K), X, None, km),
    ),
]


@pytest.mark.parametrize("entry, call", AFTER_DELETE, ids=[r[0] for r in AFTER_DELETE])
def test_use_after_delete_raises_state_error(entry, call):
    o = vl_objects()
    G.vl_gmm_delete(o.gmm)
    KM.vl_kmeans_delete(o.km)
    err = expect(StateError, "has (already )?been deleted", call, o.gmm, o.km)
    assert isinstance(err, RuntimeError)
    assert "deleted" in repr(o.gmm) and "deleted" in repr(o.km)
    fresh = vl_objects()  # the library itself is unaffected
    check_usable(fresh)


def test_no_centers_yet(objs):
    km = KM.vl_kmeans_new(KM.VL_TYPE_DOUBLE, KM.VlDistanceL2)
    # the C API's VL_ERR_BAD_STATE, detected before the call
    expect(StateError, "the k-means object has no centers yet", KM.vl_kmeans_quantize, km, X)
    expect(StateError, "no centers yet", KM.vl_kmeans_refine_centers, km, X)
    assert KM.vl_kmeans_get_centers(km) is None
    assert np.isfinite(KM.vl_kmeans_cluster(km, X, D, None, K))
