"""VLFeat's k-means API, function for function (``from pyvl.kmeans import *``).

As in VLFeat, ``vl_kmeans_cluster(km, data, dimension, num_data, num_centers)``
seeds and refines; ``vl_kmeans_quantize`` assigns points to the nearest
center. Unlike VLFeat's C header, every accessor is a real function.

* ``data`` is flat (N*D,) or (N, D), any real dtype (converted to the
  object's float32/float64);
* :func:`vl_kmeans_quantize` returns ``(assignments uint32 (N,), distances (N,))``;
* :func:`vl_kmeans_get_centers` returns a flat (K*D,) copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core.enums import DataType, Distance, KMeansAlgorithm, KMeansInit
from ._core.errors import StateError
from ._core.objects import KMeans as VlKMeans
from .random import vl_get_rand, vl_rand_seed

__all__ = [
    "VL_TYPE_FLOAT",
    "VL_TYPE_DOUBLE",
    "VlKMeansLloyd",
    "VlKMeansElkan",
    "VlKMeansANN",
    "VlKMeansRandomSelection",
    "VlKMeansPlusPlus",
    "VlDistanceL1",
    "VlDistanceL2",
    "VlKMeans",
    "vl_kmeans_new",
    "vl_kmeans_new_copy",
    "vl_kmeans_delete",
    "vl_kmeans_reset",
    "vl_kmeans_cluster",
    "vl_kmeans_quantize",
    "vl_kmeans_quantize_ann",
    "vl_kmeans_set_centers",
    "vl_kmeans_init_centers_with_rand_data",
    "vl_kmeans_init_centers_plus_plus",
    "vl_kmeans_refine_centers",
    "vl_kmeans_get_data_type",
    "vl_kmeans_get_distance",
    "vl_kmeans_get_algorithm",
    "vl_kmeans_get_initialization",
    "vl_kmeans_get_num_repetitions",
    "vl_kmeans_get_dimension",
    "vl_kmeans_get_num_centers",
    "vl_kmeans_get_verbosity",
    "vl_kmeans_get_max_num_iterations",
    "vl_kmeans_get_min_energy_variation",
    "vl_kmeans_get_max_num_comparisons",
    "vl_kmeans_get_num_trees",
    "vl_kmeans_get_energy",
    "vl_kmeans_get_centers",
    "vl_kmeans_set_algorithm",
    "vl_kmeans_set_initialization",
    "vl_kmeans_set_num_repetitions",
    "vl_kmeans_set_max_num_iterations",
    "vl_kmeans_set_min_energy_variation",
    "vl_kmeans_set_verbosity",
    "vl_kmeans_set_max_num_comparisons",
    "vl_kmeans_set_num_trees",
    "vl_get_rand",
    "vl_rand_seed",
]

VL_TYPE_FLOAT = DataType.FLOAT
VL_TYPE_DOUBLE = DataType.DOUBLE
VlKMeansLloyd = KMeansAlgorithm.LLOYD
VlKMeansElkan = KMeansAlgorithm.ELKAN
VlKMeansANN = KMeansAlgorithm.ANN
VlKMeansRandomSelection = KMeansInit.RANDOM_SELECTION
VlKMeansPlusPlus = KMeansInit.PLUS_PLUS
VlDistanceL1 = Distance.L1
VlDistanceL2 = Distance.L2


def _km(km: Any) -> VlKMeans:
    if not isinstance(km, VlKMeans):
        raise TypeError(f"expected a VlKMeans from vl_kmeans_new, got {type(km).__name__}")
    if km.closed:
        raise StateError(f"this {km._kind} has been deleted")
    return km


def vl_kmeans_new(data_type: int, distance: int) -> VlKMeans:
    """New k-means object for VL_TYPE_FLOAT/VL_TYPE_DOUBLE data and a distance
    (VlDistanceL2 or VlDistanceL1). Defaults: Lloyd, random selection, 100
    iterations, 1 repetition."""
    return VlKMeans.new(data_type, distance)


def vl_kmeans_new_copy(kmeans: VlKMeans) -> VlKMeans:
    return _km(kmeans).copy()


def vl_kmeans_delete(kmeans: VlKMeans) -> None:
    """Delete the handle; later use of it raises ``StateError``. The C object is
    freed now, or, while a GMM still uses it for its initialisation
    (``vl_gmm_set_kmeans_init_object``), when that GMM lets it go."""
    _km(kmeans).close()


def vl_kmeans_reset(kmeans: VlKMeans) -> None:
    _km(kmeans).reset()


def vl_kmeans_cluster(
    kmeans: VlKMeans, data: Any, dimension: int, num_data: int | None, num_centers: int
) -> float:
    """Seed and refine ``num_repetitions`` times; returns the lowest energy."""
    return _km(kmeans).cluster(data, dimension, num_data, num_centers)


def vl_kmeans_quantize(kmeans: VlKMeans, data: Any, num_data: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest center of each point: ``(assignments uint32 (N,), distances (N,))``."""
    a, dist = _km(kmeans).quantize(data, num_data)
    assert dist is not None
    return a, dist


def vl_kmeans_quantize_ann(
    kmeans: VlKMeans,
    data: Any,
    num_data: int | None = None,
    update: bool = False,
    assignments: np.ndarray | None = None,
    distances: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate nearest center (kd-forest). With ``update``, the given
    ``assignments``/``distances`` are kept unless the ANN answer is strictly closer."""
    return _km(kmeans).quantize_ann(data, num_data, update, assignments, distances)


def vl_kmeans_set_centers(kmeans: VlKMeans, centers: Any, dimension: int, num_centers: int) -> None:
    """Set K centers (K*D values, flat or (K, D))."""
    _km(kmeans).set_centers(centers, dimension, num_centers)


def vl_kmeans_init_centers_with_rand_data(
    kmeans: VlKMeans, data: Any, dimension: int, num_data: int | None, num_centers: int
) -> None:
    _km(kmeans).init_centers_with_rand_data(data, dimension, num_data, num_centers)


def vl_kmeans_init_centers_plus_plus(
    kmeans: VlKMeans, data: Any, dimension: int, num_data: int | None, num_centers: int
) -> None:
    _km(kmeans).init_centers_plus_plus(data, dimension, num_data, num_centers)


def vl_kmeans_refine_centers(kmeans: VlKMeans, data: Any, num_data: int | None = None) -> float:
    """Run the configured algorithm from the current centers; returns the energy."""
    return _km(kmeans).refine_centers(data, num_data)


def vl_kmeans_get_centers(kmeans: VlKMeans) -> np.ndarray | None:
    """Centers, flat (K*D,), or None if there are none."""
    return _km(kmeans).centers


def _getter(name: str) -> Any:
    def get(kmeans: VlKMeans) -> Any:
        value = getattr(_km(kmeans), name)
        return int(value) if name == "data_type" else value

    get.__name__ = get.__qualname__ = "vl_kmeans_get_" + name
    get.__doc__ = f"The k-means object's {name.replace('_', ' ')}."
    return get


def _setter(name: str) -> Any:
    def set_(kmeans: VlKMeans, value: Any) -> None:
        setattr(_km(kmeans), name, value)

    set_.__name__ = set_.__qualname__ = "vl_kmeans_set_" + name
    set_.__doc__ = f"Set the k-means object's {name.replace('_', ' ')}."
    return set_


vl_kmeans_get_data_type = _getter("data_type")
vl_kmeans_get_distance = _getter("distance")
vl_kmeans_get_algorithm = _getter("algorithm")
vl_kmeans_get_initialization = _getter("initialization")
vl_kmeans_get_num_repetitions = _getter("num_repetitions")
vl_kmeans_get_dimension = _getter("dimension")
vl_kmeans_get_num_centers = _getter("num_centers")
vl_kmeans_get_verbosity = _getter("verbosity")
vl_kmeans_get_max_num_iterations = _getter("max_num_iterations")
vl_kmeans_get_min_energy_variation = _getter("min_energy_variation")
vl_kmeans_get_max_num_comparisons = _getter("max_num_comparisons")
vl_kmeans_get_num_trees = _getter("num_trees")
vl_kmeans_get_energy = _getter("energy")
vl_kmeans_set_algorithm = _setter("algorithm")
vl_kmeans_set_initialization = _setter("initialization")
vl_kmeans_set_num_repetitions = _setter("num_repetitions")
vl_kmeans_set_max_num_iterations = _setter("max_num_iterations")
vl_kmeans_set_min_energy_variation = _setter("min_energy_variation")
vl_kmeans_set_verbosity = _setter("verbosity")
vl_kmeans_set_max_num_comparisons = _setter("max_num_comparisons")
vl_kmeans_set_num_trees = _setter("num_trees")
