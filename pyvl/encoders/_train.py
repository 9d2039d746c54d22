"""Learning the codebooks of the built-in encoders with pyvl's VLFeat API.

A GMM is trained with ``vl_gmm_*`` (VLFeat's EM), a k-means codebook with
``vl_kmeans_*`` (k-means++ seeding). ``random_state`` seeds the calling
thread's MT19937 generator (``vl_rand_seed(vl_get_rand(), seed)``), which
every random initialisation draws from, so a seeded fit is repeatable (and,
for the same data and settings, equal to a seeded VLFeat run).
"""

from __future__ import annotations

import numpy as np

from .. import gmm as G
from .. import kmeans as KM
from ..random import vl_get_rand, vl_rand_seed

GMM_INITS = {"rand": G.VlGMMRand, "kmeans": G.VlGMMKMeans}
KMEANS_ALGORITHMS = {"lloyd": KM.VlKMeansLloyd, "elkan": KM.VlKMeansElkan, "ann": KM.VlKMeansANN}


def _seed(random_state: int | None) -> None:
    if random_state is not None:
        vl_rand_seed(vl_get_rand(), random_state)


def _vl_type(data: np.ndarray) -> int:
    return G.VL_TYPE_FLOAT if data.dtype == np.float32 else G.VL_TYPE_DOUBLE


def train_gmm(
    data: np.ndarray,
    n_components: int,
    *,
    init: str,
    max_num_iterations: int,
    num_repetitions: int,
    covariance_bound: float | None,
    random_state: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM on ``data`` (N, D) float32/float64: ``(means (K, D), covariances (K, D),
    priors (K,))`` in the data's dtype."""
    n, d = data.shape
    if n < n_components:
        raise ValueError(f"fit needs at least n_components = {n_components} descriptors, got {n}")
    gmm = G.vl_gmm_new(_vl_type(data), d, n_components)
    try:
        G.vl_gmm_set_initialization(gmm, GMM_INITS[init])
        G.vl_gmm_set_max_num_iterations(gmm, max_num_iterations)
        G.vl_gmm_set_num_repetitions(gmm, num_repetitions)
        if covariance_bound is not None:
            G.vl_gmm_set_covariance_lower_bound(gmm, covariance_bound)
        _seed(random_state)
        G.vl_gmm_cluster(gmm, data)
        return (
            G.vl_gmm_get_means(gmm).reshape(n_components, d),
            G.vl_gmm_get_covariances(gmm).reshape(n_components, d),
            G.vl_gmm_get_priors(gmm),
        )
    finally:
        G.vl_gmm_delete(gmm)


def train_kmeans(
    data: np.ndarray,
    n_clusters: int,
    *,
    algorithm: str,
    max_num_iterations: int,
    num_repetitions: int,
    random_state: int | None,
) -> np.ndarray:
    """k-means (squared L2, k-means++ seeding) on ``data`` (N, D): centers (K, D)
    in the data's dtype."""
    n, d = data.shape
    if n < n_clusters:
        raise ValueError(f"fit needs at least n_clusters = {n_clusters} descriptors, got {n}")
    km = KM.vl_kmeans_new(_vl_type(data), KM.VlDistanceL2)
    try:
        KM.vl_kmeans_set_algorithm(km, KMEANS_ALGORITHMS[algorithm])
        KM.vl_kmeans_set_initialization(km, KM.VlKMeansPlusPlus)
        KM.vl_kmeans_set_max_num_iterations(km, max_num_iterations)
        KM.vl_kmeans_set_num_repetitions(km, num_repetitions)
        _seed(random_state)
        KM.vl_kmeans_cluster(km, data, d, n, n_clusters)
        centers = KM.vl_kmeans_get_centers(km)
        assert centers is not None
        return centers.reshape(n_clusters, d)
    finally:
        KM.vl_kmeans_delete(km)
