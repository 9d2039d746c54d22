"""cyvlfeat.kmeans: ``kmeans`` and ``kmeans_quantize``."""

from __future__ import annotations

import numpy as np

from ..._core.arrays import vl_type_of
from ...kmeans import (
    VlKMeansANN,
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
from ._common import (
    _KMEANS_ALGORITHMS,
    _KMEANS_DISTANCES,
    _KMEANS_INITS,
    _check_finite,
    _integer,
    _matrix,
    _option,
    _verbosity,
)

__all__ = ["kmeans", "kmeans_quantize"]


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
