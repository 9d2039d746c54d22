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

from ._arrays import (
    VL_TYPE_DOUBLE,
    VL_TYPE_FLOAT,
    as_array,
    as_data,
    as_params,
    c_int,
    copy_from_c,
    count,
    dtype_of,
    ptr,
)
from ._errors import InvalidArgumentError, StateError
from ._handle import Handle
from ._lib import lib
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

VlKMeansLloyd = 0
VlKMeansElkan = 1
VlKMeansANN = 2
VlKMeansRandomSelection = 0
VlKMeansPlusPlus = 1
VlDistanceL1 = 0
VlDistanceL2 = 1

_ALGORITHMS = {VlKMeansLloyd: "Lloyd", VlKMeansElkan: "Elkan", VlKMeansANN: "ANN"}
_INITS = {VlKMeansRandomSelection: "RandomSelection", VlKMeansPlusPlus: "PlusPlus"}


class VlKMeans(Handle):
    """Handle to a libgmm ``VlKMeans``; create it with :func:`vl_kmeans_new`."""

    _kind = "KMeans"

    def __init__(self, ptr_: Any) -> None:
        super().__init__(ptr_, lib.vl_kmeans_delete)
        self.data_type = int(lib.vl_kmeans_get_data_type(ptr_))
        self.dtype = dtype_of(self.data_type)

    def __repr__(self) -> str:
        if self.closed:
            return "<VlKMeans deleted>"
        return (
            f"<VlKMeans {self.dtype} distance={vl_kmeans_get_distance(self)} "
            f"num_centers={vl_kmeans_get_num_centers(self)} dimension={vl_kmeans_get_dimension(self)}>"
        )

    def __reduce__(self) -> Any:
        """Pickle (and copy) through the public getters and setters: a new C object
        with the same centers and settings (see docs/persistence.md)."""
        from .io import handle_from_state, handle_state

        return (handle_from_state, (handle_state(self),))


def _km(km: Any) -> VlKMeans:
    if not isinstance(km, VlKMeans):
        raise TypeError(f"expected a VlKMeans from vl_kmeans_new, got {type(km).__name__}")
    if km.closed:
        raise StateError(f"this {km._kind} has been deleted")
    return km


def _data(km: VlKMeans, data: Any, dimension: int, num_data: int | None) -> tuple[np.ndarray, int]:
    d = count(dimension, "dimension")
    if d == 0:
        raise InvalidArgumentError("dimension must be >= 1")
    return as_data(data, d, km.dtype, num_data)


def vl_kmeans_new(data_type: int, distance: int) -> VlKMeans:
    """New k-means object for VL_TYPE_FLOAT/VL_TYPE_DOUBLE data and a distance
    (VlDistanceL2 or VlDistanceL1). Defaults: Lloyd, random selection, 100
    iterations, 1 repetition."""
    dtype_of(data_type)
    return VlKMeans(lib.vl_kmeans_new(int(data_type), c_int(distance, "distance")))


def vl_kmeans_new_copy(kmeans: VlKMeans) -> VlKMeans:
    return VlKMeans(lib.vl_kmeans_new_copy(_km(kmeans)))


def vl_kmeans_delete(kmeans: VlKMeans) -> None:
    """Delete the handle; later use of it raises ``StateError``. The C object is
    freed now, or, while a GMM still uses it for its initialisation
    (``vl_gmm_set_kmeans_init_object``), when that GMM lets it go."""
    _km(kmeans).close()


def vl_kmeans_reset(kmeans: VlKMeans) -> None:
    lib.vl_kmeans_reset(_km(kmeans))


def vl_kmeans_cluster(
    kmeans: VlKMeans, data: Any, dimension: int, num_data: int | None, num_centers: int
) -> float:
    """Seed and refine ``num_repetitions`` times; returns the lowest energy."""
    km = _km(kmeans)
    x, n = _data(km, data, dimension, num_data)
    return float(lib.vl_kmeans_cluster(km, ptr(x), x.shape[1], n, count(num_centers, "num_centers")))


def vl_kmeans_quantize(kmeans: VlKMeans, data: Any, num_data: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest center of each point: ``(assignments uint32 (N,), distances (N,))``."""
    km = _km(kmeans)
    d = int(lib.vl_kmeans_get_dimension(km))
    if d == 0:
        raise StateError("the k-means object has no centers yet (cluster, set or initialise them first)")
    x, n = as_data(data, d, km.dtype, num_data)
    assignments = np.zeros(n, dtype=np.uint32)
    distances = np.zeros(n, dtype=km.dtype)
    lib.vl_kmeans_quantize(km, ptr(assignments), ptr(distances), ptr(x), n)
    return assignments, distances


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
    km = _km(kmeans)
    d = int(lib.vl_kmeans_get_dimension(km))
    if d == 0:
        raise StateError("the k-means object has no centers yet (cluster, set or initialise them first)")
    x, n = as_data(data, d, km.dtype, num_data)
    a = np.zeros(n, dtype=np.uint32) if assignments is None else _given(assignments, n, "assignments")
    dist = np.zeros(n, dtype=km.dtype) if distances is None else _given(distances, n, "distances", km.dtype)
    lib.vl_kmeans_quantize_ann(km, ptr(a), ptr(dist), ptr(x), n, int(bool(update)))
    return a, dist


def _given(values: Any, n: int, name: str, dtype: Any = None) -> np.ndarray:
    """A copy of the current assignments (uint32) or distances (``dtype``) of n points."""
    arr = as_array(values, np.dtype(np.float64) if dtype is None else dtype, name)
    if arr.size != n:
        raise ValueError(f"{name} must have {n} values (one per point), got shape {arr.shape}")
    arr = arr.reshape(n).copy()
    if dtype is None:
        if np.any(arr != np.floor(arr)) or np.any(arr < 0) or np.any(arr > 0xFFFFFFFF):
            raise InvalidArgumentError(f"{name} must be integers in [0, 2**32)")
        return arr.astype(np.uint32)
    return arr


def vl_kmeans_set_centers(kmeans: VlKMeans, centers: Any, dimension: int, num_centers: int) -> None:
    """Set K centers (K*D values, flat or (K, D))."""
    km = _km(kmeans)
    d, k = count(dimension, "dimension"), count(num_centers, "num_centers")
    c = as_params(centers, (k, d), km.dtype, "centers")
    lib.vl_kmeans_set_centers(km, ptr(c), d, k)


def vl_kmeans_init_centers_with_rand_data(
    kmeans: VlKMeans, data: Any, dimension: int, num_data: int | None, num_centers: int
) -> None:
    km = _km(kmeans)
    x, n = _data(km, data, dimension, num_data)
    lib.vl_kmeans_init_centers_with_rand_data(km, ptr(x), x.shape[1], n, count(num_centers, "num_centers"))


def vl_kmeans_init_centers_plus_plus(
    kmeans: VlKMeans, data: Any, dimension: int, num_data: int | None, num_centers: int
) -> None:
    km = _km(kmeans)
    x, n = _data(km, data, dimension, num_data)
    lib.vl_kmeans_init_centers_plus_plus(km, ptr(x), x.shape[1], n, count(num_centers, "num_centers"))


def vl_kmeans_refine_centers(kmeans: VlKMeans, data: Any, num_data: int | None = None) -> float:
    """Run the configured algorithm from the current centers; returns the energy."""
    km = _km(kmeans)
    d = int(lib.vl_kmeans_get_dimension(km))
    if d == 0:
        raise StateError("the k-means object has no centers yet (cluster, set or initialise them first)")
    x, n = as_data(data, d, km.dtype, num_data)
    return float(lib.vl_kmeans_refine_centers(km, ptr(x), n))


def vl_kmeans_get_centers(kmeans: VlKMeans) -> np.ndarray | None:
    """Centers, flat (K*D,), or None if there are none."""
    km = _km(kmeans)
    address = lib.vl_kmeans_get_centers(km)
    if not address:
        return None
    n = int(lib.vl_kmeans_get_num_centers(km)) * int(lib.vl_kmeans_get_dimension(km))
    return copy_from_c(address, n, km.dtype)


def _getter(name: str, conv: Any = int) -> Any:
    cfn = getattr(lib, "vl_kmeans_get_" + name)

    def get(kmeans: VlKMeans) -> Any:
        return conv(cfn(_km(kmeans)))

    get.__name__ = get.__qualname__ = "vl_kmeans_get_" + name
    get.__doc__ = f"The k-means object's {name.replace('_', ' ')}."
    return get


vl_kmeans_get_data_type = _getter("data_type")
vl_kmeans_get_distance = _getter("distance")
vl_kmeans_get_algorithm = _getter("algorithm")
vl_kmeans_get_initialization = _getter("initialization")
vl_kmeans_get_num_repetitions = _getter("num_repetitions")
vl_kmeans_get_dimension = _getter("dimension")
vl_kmeans_get_num_centers = _getter("num_centers")
vl_kmeans_get_verbosity = _getter("verbosity")
vl_kmeans_get_max_num_iterations = _getter("max_num_iterations")
vl_kmeans_get_min_energy_variation = _getter("min_energy_variation", float)
vl_kmeans_get_max_num_comparisons = _getter("max_num_comparisons")
vl_kmeans_get_num_trees = _getter("num_trees")
vl_kmeans_get_energy = _getter("energy", float)


def vl_kmeans_set_algorithm(kmeans: VlKMeans, algorithm: int) -> None:
    """VlKMeansLloyd, VlKMeansElkan or VlKMeansANN."""
    if algorithm not in _ALGORITHMS:
        raise InvalidArgumentError(f"unknown algorithm {algorithm!r} (Lloyd=0, Elkan=1, ANN=2)")
    lib.vl_kmeans_set_algorithm(_km(kmeans), int(algorithm))


def vl_kmeans_set_initialization(kmeans: VlKMeans, initialization: int) -> None:
    """VlKMeansRandomSelection or VlKMeansPlusPlus."""
    if initialization not in _INITS:
        raise InvalidArgumentError(
            f"unknown initialization {initialization!r} (RandomSelection=0, PlusPlus=1)"
        )
    lib.vl_kmeans_set_initialization(_km(kmeans), int(initialization))


def vl_kmeans_set_num_repetitions(kmeans: VlKMeans, num_repetitions: int) -> None:
    lib.vl_kmeans_set_num_repetitions(_km(kmeans), count(num_repetitions, "num_repetitions"))


def vl_kmeans_set_max_num_iterations(kmeans: VlKMeans, max_num_iterations: int) -> None:
    lib.vl_kmeans_set_max_num_iterations(_km(kmeans), count(max_num_iterations, "max_num_iterations"))


def vl_kmeans_set_min_energy_variation(kmeans: VlKMeans, min_energy_variation: float) -> None:
    lib.vl_kmeans_set_min_energy_variation(_km(kmeans), float(min_energy_variation))


def vl_kmeans_set_verbosity(kmeans: VlKMeans, verbosity: int) -> None:
    lib.vl_kmeans_set_verbosity(_km(kmeans), c_int(verbosity, "verbosity"))


def vl_kmeans_set_max_num_comparisons(kmeans: VlKMeans, max_num_comparisons: int) -> None:
    lib.vl_kmeans_set_max_num_comparisons(_km(kmeans), count(max_num_comparisons, "max_num_comparisons"))


def vl_kmeans_set_num_trees(kmeans: VlKMeans, num_trees: int) -> None:
    lib.vl_kmeans_set_num_trees(_km(kmeans), count(num_trees, "num_trees"))
