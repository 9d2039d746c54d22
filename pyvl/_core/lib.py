"""Loading libgmm with ctypes: one signature table, one error check.

The shared library is installed inside the pyvl package (its file name is in
the generated ``pyvl/_libinfo.py`` module). ``PYVL_LIBRARY=/path/to/libgmm.so.1`` loads
another build instead (a sanitizer build, a development tree).

Every function listed in ``_SIGNATURES`` is bound when pyvl is imported; a
function missing from the library fails the import, not the first call. Each
call is followed by a read of the thread's last error (libgmm clears it on
entry to every function), which is raised as a typed exception carrying the C
message. ctypes releases the GIL during every call.
"""

from __future__ import annotations

import ast
import ctypes
import importlib.resources
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any

from .errors import error_for_code
from .libname import is_windows, wrong_platform_message

_PACKAGE = __name__.split(".")[0]  # "pyvl"


class _OpaqueGMM(ctypes.Structure):
    """struct VlGMM_ (opaque)."""


class _OpaqueKMeans(ctypes.Structure):
    """struct VlKMeans_ (opaque)."""


class _OpaqueIKMFilt(ctypes.Structure):
    """struct VlIKMFilt_ (opaque)."""


class _OpaqueHIKMTree(ctypes.Structure):
    """struct VlHIKMTree_ (opaque)."""


class VlHIKMNodeStruct(ctypes.Structure):
    """VlHIKMNode (public in vl/hikmeans.h): the node's filter and its children."""


class VlRandStruct(ctypes.Structure):
    """VlRand: the MT19937 state (public in vl/random.h)."""

    _fields_ = [("mt", c_uint32 * 624), ("mti", c_size_t)]


GMMRef = POINTER(_OpaqueGMM)
KMeansRef = POINTER(_OpaqueKMeans)
RandRef = POINTER(VlRandStruct)
IKMFiltRef = POINTER(_OpaqueIKMFilt)
HIKMTreeRef = POINTER(_OpaqueHIKMTree)
HIKMNodeRef = POINTER(VlHIKMNodeStruct)
VlHIKMNodeStruct._fields_ = [("filter", IKMFiltRef), ("children", POINTER(HIKMNodeRef))]
LogFunc = CFUNCTYPE(None, c_void_p, c_char_p)
# int (*)(void *user, vl_size iteration, double value): non-zero stops training
IterationCallback = CFUNCTYPE(c_int, c_void_p, c_size_t, c_double)

c_vl_type = c_uint32
c_enum = c_int
_dp = POINTER(c_double)
_szp = POINTER(c_size_t)  # vl_size* (batch offsets, term counts)

# name: (restype, argtypes). The only place signatures live.
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    # generic.h / libgmm.h
    "vl_get_version_string": (c_char_p, []),
    "vl_get_abi_version": (c_int, []),
    "vl_get_last_error": (c_int, []),
    "vl_get_last_error_message": (c_char_p, []),
    "vl_set_simd_enabled": (None, [c_int]),
    "vl_get_simd_enabled": (c_int, []),
    "vl_get_simd_level": (c_int, []),
    "vl_get_simd_max_level": (c_int, []),
    "vl_get_simd_level_available": (c_int, [c_int]),
    "vl_set_simd_level": (c_int, [c_int]),
    "vl_get_simd_level_name": (c_char_p, [c_int]),
    "vl_get_max_threads": (c_size_t, []),
    "vl_set_num_threads": (None, [c_size_t]),
    "vl_get_thread_limit": (c_size_t, []),
    "vl_set_log_func": (None, [LogFunc, c_void_p]),
    # random.h
    "vl_get_rand": (RandRef, []),
    "vl_rand_init": (None, [RandRef]),
    "vl_rand_seed": (None, [RandRef, c_uint32]),
    "vl_rand_seed_by_array": (None, [RandRef, POINTER(c_uint32), c_size_t]),
    "vl_rand_uint32": (c_uint32, [RandRef]),
    "vl_rand_uint64": (c_uint64, [RandRef]),
    "vl_rand_int63": (c_int64, [RandRef]),
    "vl_rand_int31": (c_int32, [RandRef]),
    "vl_rand_real1": (c_double, [RandRef]),
    "vl_rand_real2": (c_double, [RandRef]),
    "vl_rand_real3": (c_double, [RandRef]),
    "vl_rand_res53": (c_double, [RandRef]),
    "vl_rand_uindex": (c_size_t, [RandRef, c_size_t]),
    "vl_rand_permute_indexes": (None, [RandRef, POINTER(ctypes.c_ssize_t), c_size_t]),
    # gmm.h
    "vl_gmm_new": (GMMRef, [c_vl_type, c_size_t, c_size_t]),
    "vl_gmm_new_copy": (GMMRef, [GMMRef]),
    "vl_gmm_delete": (None, [GMMRef]),
    "vl_gmm_reset": (None, [GMMRef]),
    "vl_gmm_cluster": (c_double, [GMMRef, c_void_p, c_size_t]),
    "vl_gmm_init_with_rand_data": (None, [GMMRef, c_void_p, c_size_t]),
    "vl_gmm_init_with_kmeans": (None, [GMMRef, c_void_p, c_size_t, KMeansRef]),
    "vl_gmm_em": (c_double, [GMMRef, c_void_p, c_size_t]),
    "vl_gmm_set_means": (None, [GMMRef, c_void_p]),
    "vl_gmm_set_covariances": (None, [GMMRef, c_void_p]),
    "vl_gmm_set_priors": (None, [GMMRef, c_void_p]),
    "vl_gmm_set_num_repetitions": (None, [GMMRef, c_size_t]),
    "vl_gmm_set_max_num_iterations": (None, [GMMRef, c_size_t]),
    "vl_gmm_set_verbosity": (None, [GMMRef, c_int]),
    "vl_gmm_set_initialization": (None, [GMMRef, c_enum]),
    "vl_gmm_set_kmeans_init_object": (None, [GMMRef, KMeansRef]),
    "vl_gmm_set_covariance_lower_bounds": (None, [GMMRef, _dp]),
    "vl_gmm_set_covariance_lower_bound": (None, [GMMRef, c_double]),
    "vl_gmm_get_means": (c_void_p, [GMMRef]),
    "vl_gmm_get_covariances": (c_void_p, [GMMRef]),
    "vl_gmm_get_priors": (c_void_p, [GMMRef]),
    "vl_gmm_get_posteriors": (c_void_p, [GMMRef]),
    "vl_gmm_get_data_type": (c_vl_type, [GMMRef]),
    "vl_gmm_get_dimension": (c_size_t, [GMMRef]),
    "vl_gmm_get_num_repetitions": (c_size_t, [GMMRef]),
    "vl_gmm_get_num_data": (c_size_t, [GMMRef]),
    "vl_gmm_get_num_clusters": (c_size_t, [GMMRef]),
    "vl_gmm_get_loglikelihood": (c_double, [GMMRef]),
    "vl_gmm_get_verbosity": (c_int, [GMMRef]),
    "vl_gmm_get_max_num_iterations": (c_size_t, [GMMRef]),
    "vl_gmm_get_initialization": (c_enum, [GMMRef]),
    "vl_gmm_get_kmeans_init_object": (KMeansRef, [GMMRef]),
    "vl_gmm_get_covariance_lower_bounds": (_dp, [GMMRef]),
    "vl_get_gmm_data_posteriors_f": (
        c_double,
        [c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_size_t, c_void_p, c_void_p],
    ),
    "vl_get_gmm_data_posteriors_d": (
        c_double,
        [c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_size_t, c_void_p, c_void_p],
    ),
    # kmeans.h
    "vl_kmeans_new": (KMeansRef, [c_vl_type, c_enum]),
    "vl_kmeans_new_copy": (KMeansRef, [KMeansRef]),
    "vl_kmeans_delete": (None, [KMeansRef]),
    "vl_kmeans_reset": (None, [KMeansRef]),
    "vl_kmeans_cluster": (c_double, [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t]),
    "vl_kmeans_quantize": (None, [KMeansRef, c_void_p, c_void_p, c_void_p, c_size_t]),
    "vl_kmeans_quantize_ann": (None, [KMeansRef, c_void_p, c_void_p, c_void_p, c_size_t, c_int]),
    "vl_kmeans_set_centers": (None, [KMeansRef, c_void_p, c_size_t, c_size_t]),
    "vl_kmeans_init_centers_with_rand_data": (
        None,
        [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t],
    ),
    "vl_kmeans_init_centers_plus_plus": (None, [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t]),
    "vl_kmeans_refine_centers": (c_double, [KMeansRef, c_void_p, c_size_t]),
    "vl_kmeans_get_data_type": (c_vl_type, [KMeansRef]),
    "vl_kmeans_get_distance": (c_enum, [KMeansRef]),
    "vl_kmeans_get_algorithm": (c_enum, [KMeansRef]),
    "vl_kmeans_get_initialization": (c_enum, [KMeansRef]),
    "vl_kmeans_get_num_repetitions": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_dimension": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_num_centers": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_verbosity": (c_int, [KMeansRef]),
    "vl_kmeans_get_max_num_iterations": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_min_energy_variation": (c_double, [KMeansRef]),
    "vl_kmeans_get_max_num_comparisons": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_num_trees": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_energy": (c_double, [KMeansRef]),
    "vl_kmeans_get_centers": (c_void_p, [KMeansRef]),
    "vl_kmeans_set_algorithm": (None, [KMeansRef, c_enum]),
    "vl_kmeans_set_initialization": (None, [KMeansRef, c_enum]),
    "vl_kmeans_set_num_repetitions": (None, [KMeansRef, c_size_t]),
    "vl_kmeans_set_max_num_iterations": (None, [KMeansRef, c_size_t]),
    "vl_kmeans_set_min_energy_variation": (None, [KMeansRef, c_double]),
    "vl_kmeans_set_verbosity": (None, [KMeansRef, c_int]),
    "vl_kmeans_set_max_num_comparisons": (None, [KMeansRef, c_size_t]),
    "vl_kmeans_set_num_trees": (None, [KMeansRef, c_size_t]),
    # gmm.h / kmeans.h libgmm extensions
    "vl_gmm_set_iteration_callback": (None, [GMMRef, IterationCallback, c_void_p]),
    "vl_gmm_set_store_posteriors": (None, [GMMRef, c_int]),
    "vl_gmm_get_store_posteriors": (c_int, [GMMRef]),
    "vl_gmm_set_convergence_threshold": (None, [GMMRef, c_double]),
    "vl_gmm_get_convergence_threshold": (c_double, [GMMRef]),
    "vl_gmm_estep": (
        c_double,
        [GMMRef, c_void_p, c_size_t, c_void_p, _dp, POINTER(c_uint32)],
    ),
    "vl_gmm_set_covariance_type": (None, [GMMRef, c_enum]),
    "vl_gmm_get_covariance_type": (c_enum, [GMMRef]),
    "vl_gmm_get_covariances_size": (c_size_t, [GMMRef]),
    "vl_gmm_set_reg_covar": (None, [GMMRef, c_double]),
    "vl_gmm_get_reg_covar": (c_double, [GMMRef]),
    "vl_gmm_set_exact_em": (None, [GMMRef, c_int]),
    "vl_gmm_get_exact_em": (c_int, [GMMRef]),
    "vl_gmm_init_with_labels": (None, [GMMRef, c_void_p, c_size_t, POINTER(c_uint32)]),
    "vl_gmm_stats_size": (c_size_t, [GMMRef]),
    "vl_gmm_stats_accumulate": (c_int, [GMMRef, _dp, c_void_p, c_size_t, c_void_p, _dp, c_size_t]),
    "vl_gmm_stats_merge": (c_int, [GMMRef, _dp, _dp]),
    "vl_gmm_mstep_from_stats": (c_int, [GMMRef, _dp, c_void_p]),
    "vl_gmm_plan_restart": (c_size_t, [GMMRef, _dp, c_size_t, c_size_t, _dp]),
    "vl_kmeans_set_iteration_callback": (None, [KMeansRef, IterationCallback, c_void_p]),
    "vl_kmeans_stats_size": (c_size_t, [KMeansRef]),
    "vl_kmeans_stats_accumulate": (c_int, [KMeansRef, _dp, c_void_p, c_size_t]),
    "vl_kmeans_stats_merge": (c_int, [KMeansRef, _dp, _dp]),
    "vl_kmeans_update_from_stats": (c_int, [KMeansRef, _dp]),
    "vl_kmeans_cluster_weighted": (
        c_double,
        [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t, _dp],
    ),
    "vl_kmeans_refine_centers_weighted": (c_double, [KMeansRef, c_void_p, c_size_t, _dp]),
    "vl_kmeans_init_centers_with_rand_data_weighted": (
        c_int,
        [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t, _dp],
    ),
    "vl_kmeans_init_centers_plus_plus_weighted": (
        c_int,
        [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t, _dp],
    ),
    "vl_kmeans_quantize_energy": (
        c_double,
        [KMeansRef, c_void_p, c_void_p, c_void_p, c_size_t, _dp],
    ),
    "vl_kmeans_stats_accumulate_weighted": (c_int, [KMeansRef, _dp, c_void_p, c_size_t, _dp]),
    "vl_kmeans_set_stopping_rule": (None, [KMeansRef, c_enum]),
    "vl_kmeans_get_stopping_rule": (c_enum, [KMeansRef]),
    "vl_kmeans_set_center_shift_tolerance": (None, [KMeansRef, c_double]),
    "vl_kmeans_get_center_shift_tolerance": (c_double, [KMeansRef]),
    "vl_kmeans_refine_centers_with_assignments": (
        c_double,
        [KMeansRef, c_void_p, c_size_t, _dp, POINTER(c_uint32)],
    ),
    "vl_kmeans_cluster_with_assignments": (
        c_double,
        [KMeansRef, c_void_p, c_size_t, c_size_t, c_size_t, _dp, POINTER(c_uint32)],
    ),
    "vl_kmeans_get_num_iterations": (c_size_t, [KMeansRef]),
    "vl_kmeans_get_stop_reason": (c_enum, [KMeansRef]),
    "vl_kmeans_get_center_shift": (c_double, [KMeansRef]),
    "vl_kmeans_get_center_shift_threshold": (c_double, [KMeansRef]),
    # fisher.h, vlad.h, encode.h (batch encoders and bag of words)
    "vl_fisher_encode": (
        c_size_t,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
         c_size_t, c_int],
    ),
    "vl_fisher_encode_batch": (
        c_int,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
         _szp, c_size_t, c_int, _szp],
    ),
    "vl_vlad_encode": (
        None,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, c_size_t, c_void_p, c_int],
    ),
    "vl_vlad_encode_batch": (
        c_int,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, _szp, c_size_t, c_void_p,
         c_int],
    ),
    "vl_bovw_encode": (
        c_int,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, c_size_t, c_double, c_int],
    ),
    "vl_bovw_encode_batch": (
        c_int,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, _szp, c_size_t, c_double,
         c_int],
    ),
    "vl_bovw_encode_gmm_batch": (
        c_int,
        [c_void_p, c_vl_type, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p, _szp,
         c_size_t, c_int],
    ),
    # ikmeans.h, hikmeans.h (integer k-means of 8-bit data, vocabulary trees)
    "vl_ikm_new": (IKMFiltRef, [c_int]),
    "vl_ikm_delete": (None, [IKMFiltRef]),
    "vl_ikm_init": (None, [IKMFiltRef, c_void_p, c_size_t, c_size_t]),
    "vl_ikm_init_rand": (None, [IKMFiltRef, c_size_t, c_size_t]),
    "vl_ikm_init_rand_data": (None, [IKMFiltRef, c_void_p, c_size_t, c_size_t, c_size_t]),
    "vl_ikm_train": (c_int, [IKMFiltRef, c_void_p, c_size_t]),
    "vl_ikm_push": (None, [IKMFiltRef, c_void_p, c_void_p, c_size_t]),
    "vl_ikm_push_one": (c_uint32, [c_void_p, c_void_p, c_size_t, c_size_t]),
    "vl_ikm_get_ndims": (c_size_t, [IKMFiltRef]),
    "vl_ikm_get_K": (c_size_t, [IKMFiltRef]),
    "vl_ikm_get_verbosity": (c_int, [IKMFiltRef]),
    "vl_ikm_get_max_niters": (c_size_t, [IKMFiltRef]),
    "vl_ikm_get_centers": (c_void_p, [IKMFiltRef]),
    "vl_ikm_set_verbosity": (None, [IKMFiltRef, c_int]),
    "vl_ikm_set_max_niters": (None, [IKMFiltRef, c_size_t]),
    "vl_hikm_new": (HIKMTreeRef, [c_int]),
    "vl_hikm_delete": (None, [HIKMTreeRef]),
    "vl_hikm_get_ndims": (c_size_t, [HIKMTreeRef]),
    "vl_hikm_get_K": (c_size_t, [HIKMTreeRef]),
    "vl_hikm_get_depth": (c_size_t, [HIKMTreeRef]),
    "vl_hikm_get_verbosity": (c_int, [HIKMTreeRef]),
    "vl_hikm_get_max_niters": (c_size_t, [HIKMTreeRef]),
    "vl_hikm_get_root": (HIKMNodeRef, [HIKMTreeRef]),
    "vl_hikm_set_verbosity": (None, [HIKMTreeRef, c_int]),
    "vl_hikm_set_max_niters": (None, [HIKMTreeRef, c_int]),
    "vl_hikm_init": (None, [HIKMTreeRef, c_size_t, c_size_t, c_size_t]),
    "vl_hikm_train": (None, [HIKMTreeRef, c_void_p, c_size_t]),
    "vl_hikm_push": (None, [HIKMTreeRef, c_void_p, c_void_p, c_size_t]),
}

# Functions that cannot fail; no error check after them.
_NO_CHECK = {"vl_get_last_error", "vl_get_last_error_message"}


def _read_libinfo(path: str) -> dict[str, Any]:
    """The literal assignments of a ``_libinfo.py`` (parsed, never executed)."""
    values: dict[str, Any] = {}
    with open(path, encoding="utf-8") as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def _libinfo() -> tuple[str, dict[str, Any]]:
    """(directory, values) of the ``_libinfo`` module written by the build.

    Normally it sits in the installed package, found with
    ``importlib.resources``. In a source checkout (say, running ``python -m
    pyvl`` in the repository after ``pip install .``), the checkout's ``pyvl``
    shadows the installed one, which has the library: then the installed
    copy's ``_libinfo.py`` is looked for on ``sys.path``. ``LIBRARY_FILE`` is
    the platform's file name chosen by CMake (``libgmm.so.1``,
    ``libgmm.1.dylib``, ``libgmm.dll``)."""
    package = importlib.resources.files(_PACKAGE)
    candidates = [str(package)] if isinstance(package, os.PathLike) else []
    candidates += [os.path.join(os.path.abspath(entry or os.getcwd()), _PACKAGE) for entry in sys.path]
    for directory in candidates:
        path = os.path.join(directory, "_libinfo.py")
        if not os.path.isfile(path):
            continue
        values = _read_libinfo(path)
        if os.path.isfile(os.path.join(directory, str(values.get("LIBRARY_FILE", "")))):
            return directory, values
    raise ImportError(
        "pyvl's shared library is missing: install the package with `pip install .` "
        "(which builds libgmm), or set PYVL_LIBRARY to a built libgmm"
    )


def library_path() -> str:
    """Path of the libgmm shared library pyvl loads."""
    override = os.environ.get("PYVL_LIBRARY")
    if override:
        return override
    directory, info = _libinfo()
    problem = wrong_platform_message(str(info["LIBRARY_FILE"]), sys.platform, int(info["ABI_VERSION"]))
    if problem:
        raise ImportError(problem)
    return os.path.join(directory, info["LIBRARY_FILE"])


# Windows: the DLL's folder stays on the DLL search path while pyvl is loaded.
_dll_directory: Any = None


def _load() -> ctypes.CDLL:
    global _dll_directory
    path = library_path()
    if is_windows(sys.platform):
        # Python 3.8+ loads a DLL's own dependencies only from the system and
        # from directories added here: add the DLL's folder, for a DLL the
        # build may put beside it (libgmm itself needs only Windows' DLLs).
        folder = os.path.dirname(os.path.abspath(path))
        _dll_directory = os.add_dll_directory(folder)  # type: ignore[attr-defined]
    lib = ctypes.CDLL(path)
    get_code = lib.vl_get_last_error
    get_code.restype, get_code.argtypes = c_int, []
    get_msg = lib.vl_get_last_error_message
    get_msg.restype, get_msg.argtypes = c_char_p, []

    def errcheck(result: Any, func: Any, args: Any) -> Any:
        code = get_code()
        if code:
            raise error_for_code(code, (get_msg() or b"").decode("utf-8", "replace"))
        return result

    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)  # AttributeError here: the library lacks a symbol
        fn.restype, fn.argtypes = restype, argtypes
        if name not in _NO_CHECK:
            fn.errcheck = errcheck
    return lib


lib = _load()


def _check_abi() -> None:
    if os.environ.get("PYVL_LIBRARY"):
        return
    ABI_VERSION = _libinfo()[1]["ABI_VERSION"]

    found = lib.vl_get_abi_version()
    if found != ABI_VERSION:  # pragma: no cover - a broken install
        raise ImportError(
            f"libgmm ABI version {found} does not match the {ABI_VERSION} pyvl was built for"
        )


_check_abi()


def version() -> str:
    """Version string of the loaded libgmm."""
    return lib.vl_get_version_string().decode()
