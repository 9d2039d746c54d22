"""One ctypes binding of VLFeat's C API, used to drive *either* library.

The differential tests load the real VLFeat (``libvl.so.1`` from Debian's
libvlfeat-dev) and libgmm through this same code, so libgmm is checked as a
drop-in for the VLFeat functions it covers. The only asymmetry is VLFeat's
k-means accessors, which are ``static inline`` in its header (the library
does not export them): for VLFeat they write the public struct's fields at
their x86-64 offsets, for libgmm they call the exported functions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import c_char_p, c_double, c_int, c_size_t, c_uint32, c_void_p

import numpy as np

VL_TYPE_FLOAT = 1
VL_TYPE_DOUBLE = 2
VlGMMKMeans, VlGMMRand, VlGMMCustom = 0, 1, 2
VlKMeansLloyd, VlKMeansElkan, VlKMeansANN = 0, 1, 2
VlKMeansRandomSelection, VlKMeansPlusPlus = 0, 1
VlDistanceL1, VlDistanceL2 = 0, 1

VLFEAT_PATHS = ("/usr/lib/x86_64-linux-gnu/libvl.so.1", "libvl.so.1")


def find_vlfeat() -> str | None:
    """Path of VLFeat's libvl.so.1, or None."""
    for p in VLFEAT_PATHS:
        if os.path.isabs(p) and os.path.exists(p):
            return p
    return ctypes.util.find_library("vl")


_TYPES = {np.dtype(np.float32): VL_TYPE_FLOAT, np.dtype(np.float64): VL_TYPE_DOUBLE}

# VLFeat's public struct VlKMeans (x86-64 byte offsets; spec section 1.5).
_KM_OFFSETS = {
    "dimension": (8, c_size_t),
    "num_centers": (16, c_size_t),
    "num_trees": (24, c_size_t),
    "max_num_comparisons": (32, c_size_t),
    "initialization": (40, c_int),
    "algorithm": (44, c_int),
    "distance": (48, c_int),
    "max_num_iterations": (56, c_size_t),
    "min_energy_variation": (64, c_double),
    "num_repetitions": (72, c_size_t),
    "verbosity": (80, c_int),
    "centers": (88, c_void_p),
}


def _p(a: np.ndarray | None) -> c_void_p | None:
    return None if a is None else a.ctypes.data_as(c_void_p)


class VLApi:
    """VLFeat's API over one shared library (VLFeat's or libgmm)."""

    def __init__(self, path: str, mode: int = ctypes.RTLD_LOCAL) -> None:
        self.path = path
        self.lib = lib = ctypes.CDLL(path, mode=mode)
        self.is_vlfeat = not hasattr(lib, "vl_get_abi_version")
        sigs = {
            "vl_get_rand": (c_void_p, []),
            "vl_rand_seed": (None, [c_void_p, c_uint32]),
            "vl_rand_uint32": (c_uint32, [c_void_p]),
            "vl_set_num_threads": (None, [c_size_t]),
            "vl_get_max_threads": (c_size_t, []),
            "vl_set_simd_enabled": (None, [c_int]),
            "vl_get_version_string": (c_char_p, []),
            "vl_gmm_new": (c_void_p, [c_uint32, c_size_t, c_size_t]),
            "vl_gmm_new_copy": (c_void_p, [c_void_p]),
            "vl_gmm_delete": (None, [c_void_p]),
            "vl_gmm_cluster": (c_double, [c_void_p, c_void_p, c_size_t]),
            "vl_gmm_em": (c_double, [c_void_p, c_void_p, c_size_t]),
            "vl_gmm_init_with_rand_data": (None, [c_void_p, c_void_p, c_size_t]),
            "vl_gmm_init_with_kmeans": (None, [c_void_p, c_void_p, c_size_t, c_void_p]),
            "vl_gmm_set_means": (None, [c_void_p, c_void_p]),
            "vl_gmm_set_covariances": (None, [c_void_p, c_void_p]),
            "vl_gmm_set_priors": (None, [c_void_p, c_void_p]),
            "vl_gmm_set_max_num_iterations": (None, [c_void_p, c_size_t]),
            "vl_gmm_set_num_repetitions": (None, [c_void_p, c_size_t]),
            "vl_gmm_set_initialization": (None, [c_void_p, c_int]),
            "vl_gmm_set_kmeans_init_object": (None, [c_void_p, c_void_p]),
            "vl_gmm_set_covariance_lower_bound": (None, [c_void_p, c_double]),
            "vl_gmm_set_covariance_lower_bounds": (None, [c_void_p, c_void_p]),
            "vl_gmm_get_means": (c_void_p, [c_void_p]),
            "vl_gmm_get_covariances": (c_void_p, [c_void_p]),
            "vl_gmm_get_priors": (c_void_p, [c_void_p]),
            "vl_gmm_get_posteriors": (c_void_p, [c_void_p]),
            "vl_gmm_get_loglikelihood": (c_double, [c_void_p]),
            "vl_gmm_get_num_data": (c_size_t, [c_void_p]),
            "vl_get_gmm_data_posteriors_f": (
                c_double,
                [c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_size_t, c_void_p, c_void_p],
            ),
            "vl_get_gmm_data_posteriors_d": (
                c_double,
                [c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_size_t, c_void_p, c_void_p],
            ),
            "vl_kmeans_new": (c_void_p, [c_uint32, c_int]),
            "vl_kmeans_delete": (None, [c_void_p]),
            "vl_kmeans_cluster": (c_double, [c_void_p, c_void_p, c_size_t, c_size_t, c_size_t]),
            "vl_kmeans_quantize": (None, [c_void_p, c_void_p, c_void_p, c_void_p, c_size_t]),
            "vl_kmeans_set_centers": (None, [c_void_p, c_void_p, c_size_t, c_size_t]),
            "vl_kmeans_init_centers_with_rand_data": (
                None,
                [c_void_p, c_void_p, c_size_t, c_size_t, c_size_t],
            ),
            "vl_kmeans_init_centers_plus_plus": (
                None,
                [c_void_p, c_void_p, c_size_t, c_size_t, c_size_t],
            ),
            "vl_kmeans_refine_centers": (c_double, [c_void_p, c_void_p, c_size_t]),
            "vl_fisher_encode": (
                c_size_t,
                [c_void_p, c_uint32, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
                 c_size_t, c_int],
            ),
            "vl_vlad_encode": (
                None,
                [c_void_p, c_uint32, c_void_p, c_size_t, c_size_t, c_void_p, c_size_t, c_void_p,
                 c_int],
            ),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name, None)
            if fn is None:
                continue
            fn.restype, fn.argtypes = res, args
        if not self.is_vlfeat:
            for name, res in [("dimension", c_size_t), ("num_centers", c_size_t), ("centers", c_void_p)]:
                fn = getattr(lib, "vl_kmeans_get_" + name, None)
                if fn is not None:
                    fn.restype, fn.argtypes = res, [c_void_p]
        self._bind_ikm()

    def has(self, name: str) -> bool:
        return hasattr(self.lib, name)

    # ---- random ------------------------------------------------------------
    def seed(self, s: int) -> None:
        self.lib.vl_rand_seed(self.lib.vl_get_rand(), s)

    # ---- gmm ---------------------------------------------------------------
    def gmm_new(self, dtype: np.dtype, d: int, k: int) -> int:
        g = self.lib.vl_gmm_new(_TYPES[np.dtype(dtype)], d, k)
        assert g, "vl_gmm_new failed"
        return g

    def gmm_state(self, g: int, dtype: np.dtype, n: int, d: int, k: int) -> dict:
        def arr(ptr: int | None, count: int) -> np.ndarray | None:
            if not ptr:
                return None
            buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(ptr)
            return np.frombuffer(buf, dtype=dtype).copy()

        post = self.lib.vl_gmm_get_posteriors(g)
        return {
            "means": arr(self.lib.vl_gmm_get_means(g), k * d).reshape(k, d),
            "covariances": arr(self.lib.vl_gmm_get_covariances(g), k * d).reshape(k, d),
            "priors": arr(self.lib.vl_gmm_get_priors(g), k),
            "posteriors": None if not post else arr(post, n * k).reshape(n, k),
            "loglikelihood": self.lib.vl_gmm_get_loglikelihood(g),
        }

    def gmm_em(
        self,
        data: np.ndarray,
        means: np.ndarray,
        covariances: np.ndarray,
        priors: np.ndarray,
        max_iterations: int,
        bound: float | np.ndarray | None = None,
    ) -> dict:
        """EM from a custom initialisation: returns the final state and EM's return value."""
        dtype = data.dtype
        n, d = data.shape
        k = means.shape[0]
        g = self.gmm_new(dtype, d, k)
        try:
            self._set_params(g, dtype, means, covariances, priors, bound)
            self.lib.vl_gmm_set_max_num_iterations(g, max_iterations)
            ll = self.lib.vl_gmm_em(g, _p(np.ascontiguousarray(data)), n)
            state = self.gmm_state(g, dtype, n, d, k)
            state["em_return"] = ll
            return state
        finally:
            self.lib.vl_gmm_delete(g)

    def _set_params(self, g, dtype, means, covariances, priors, bound) -> None:
        m = np.ascontiguousarray(means, dtype=dtype)
        c = np.ascontiguousarray(covariances, dtype=dtype)
        p = np.ascontiguousarray(priors, dtype=dtype)
        self.lib.vl_gmm_set_means(g, _p(m))
        self.lib.vl_gmm_set_covariances(g, _p(c))
        self.lib.vl_gmm_set_priors(g, _p(p))
        if bound is not None:
            if np.ndim(bound) == 0:
                self.lib.vl_gmm_set_covariance_lower_bound(g, float(bound))
            else:
                b = np.ascontiguousarray(bound, dtype=np.float64)
                self.lib.vl_gmm_set_covariance_lower_bounds(g, _p(b))

    def gmm_cluster(
        self,
        data: np.ndarray,
        k: int,
        init: int,
        seed: int,
        max_iterations: int = 50,
        repetitions: int = 1,
        kmeans: int | None = None,
        custom: tuple | None = None,
    ) -> dict:
        dtype = data.dtype
        n, d = data.shape
        g = self.gmm_new(dtype, d, k)
        try:
            self.lib.vl_gmm_set_initialization(g, init)
            self.lib.vl_gmm_set_max_num_iterations(g, max_iterations)
            self.lib.vl_gmm_set_num_repetitions(g, repetitions)
            if kmeans is not None:
                self.lib.vl_gmm_set_kmeans_init_object(g, kmeans)
            if custom is not None:
                self._set_params(g, dtype, *custom, None)
            self.seed(seed)
            ll = self.lib.vl_gmm_cluster(g, _p(np.ascontiguousarray(data)), n)
            state = self.gmm_state(g, dtype, n, d, k)
            state["cluster_return"] = ll
            return state
        finally:
            self.lib.vl_gmm_delete(g)

    def gmm_init_rand(self, data: np.ndarray, k: int, seed: int) -> dict:
        dtype = data.dtype
        n, d = data.shape
        g = self.gmm_new(dtype, d, k)
        try:
            self.seed(seed)
            self.lib.vl_gmm_init_with_rand_data(g, _p(np.ascontiguousarray(data)), n)
            return self.gmm_state(g, dtype, n, d, k)
        finally:
            self.lib.vl_gmm_delete(g)

    def gmm_init_kmeans(self, data: np.ndarray, k: int, kmeans: int) -> dict:
        dtype = data.dtype
        n, d = data.shape
        g = self.gmm_new(dtype, d, k)
        try:
            self.lib.vl_gmm_init_with_kmeans(g, _p(np.ascontiguousarray(data)), n, kmeans)
            return self.gmm_state(g, dtype, n, d, k)
        finally:
            self.lib.vl_gmm_delete(g)

    def posteriors(self, data, means, covariances, priors) -> tuple[np.ndarray, float]:
        dtype = data.dtype
        n, d = data.shape
        k = means.shape[0]
        fn = (
            self.lib.vl_get_gmm_data_posteriors_f
            if dtype == np.float32
            else self.lib.vl_get_gmm_data_posteriors_d
        )
        out = np.zeros((n, k), dtype=dtype)
        args = [np.ascontiguousarray(a, dtype=dtype) for a in (priors, means, covariances, data)]
        ll = fn(_p(out), k, n, _p(args[0]), _p(args[1]), d, _p(args[2]), _p(args[3]))
        return out, ll

    # ---- kmeans -------------------------------------------------------------
    def kmeans_new(self, dtype: np.dtype, distance: int = VlDistanceL2, **settings) -> int:
        km = self.lib.vl_kmeans_new(_TYPES[np.dtype(dtype)], distance)
        assert km, "vl_kmeans_new failed"
        for name, value in settings.items():
            self.kmeans_set(km, name, value)
        return km

    def kmeans_set(self, km: int, name: str, value) -> None:
        if self.is_vlfeat:
            off, ctype = _KM_OFFSETS[name]
            ctype.from_address(km + off).value = value
        else:
            fn = getattr(self.lib, "vl_kmeans_set_" + name)
            argtype = c_double if name == "min_energy_variation" else (
                c_int if name in ("algorithm", "initialization", "verbosity") else c_size_t)
            fn.restype, fn.argtypes = None, [c_void_p, argtype]
            fn(km, value)

    def kmeans_centers(self, km: int, dtype: np.dtype) -> np.ndarray:
        if self.is_vlfeat:
            d = c_size_t.from_address(km + 8).value
            k = c_size_t.from_address(km + 16).value
            ptr = c_void_p.from_address(km + 88).value
        else:
            d = self.lib.vl_kmeans_get_dimension(km)
            k = self.lib.vl_kmeans_get_num_centers(km)
            ptr = self.lib.vl_kmeans_get_centers(km)
        buf = (ctypes.c_char * (k * d * np.dtype(dtype).itemsize)).from_address(ptr)
        return np.frombuffer(buf, dtype=dtype).copy().reshape(k, d)

    def kmeans_delete(self, km: int) -> None:
        self.lib.vl_kmeans_delete(km)


    # ---- integer k-means (vl/ikmeans.h, vl/hikmeans.h) -----------------------------
    # Both libraries export every vl_ikm_* / vl_hikm_* function used here and
    # VlHIKMNode has the same public layout in both, so the same code drives
    # either (VLFeat's VlIKMFilt and VlHIKMTree are read through their getters).
    def _bind_ikm(self) -> None:
        for name, (res, args) in _IKM_SIGS.items():
            fn = getattr(self.lib, name)
            fn.restype, fn.argtypes = res, args

    def set_next_draws(self, values) -> None:
        """Make the default generator's next len(values) (<= 624) draws equal values."""
        r = _VlRand.from_address(self.lib.vl_get_rand())
        for i, v in enumerate(values):
            r.mt[i] = _untemper(int(v) & 0xFFFFFFFF)
        r.mti = 0

    def ikm_centers(self, f: int) -> np.ndarray:
        k, m = self.lib.vl_ikm_get_K(f), self.lib.vl_ikm_get_ndims(f)
        address = self.lib.vl_ikm_get_centers(f)
        if not address or k * m == 0:
            return np.zeros((k, m), dtype=np.int32)
        buf = (ctypes.c_char * (4 * k * m)).from_address(address)
        return np.frombuffer(buf, dtype=np.int32).copy().reshape(k, m)

    def ikm_run(self, data: np.ndarray, k: int, method: int, seed: int | None = None,
                max_niters: int | None = None, init="data", train: bool = True) -> dict:
        """new(method) -> [max_niters] -> seed -> init ("data", "rand" or a (K, M)
        array) -> train -> push on data: every intermediate result and the next draw."""
        x = np.ascontiguousarray(data, dtype=np.uint8)
        n, m = x.shape
        f = self.lib.vl_ikm_new(method)
        assert f, "vl_ikm_new failed"
        try:
            if max_niters is not None:
                self.lib.vl_ikm_set_max_niters(f, max_niters)
            if seed is not None:
                self.seed(seed)
            if isinstance(init, str) and init == "data":
                self.lib.vl_ikm_init_rand_data(f, _p(x), m, n, k)
            elif isinstance(init, str) and init == "rand":
                self.lib.vl_ikm_init_rand(f, m, k)
            else:
                c = np.ascontiguousarray(init, dtype=np.int32)
                self.lib.vl_ikm_init(f, _p(c), c.shape[1], c.shape[0])
            out = {"init": self.ikm_centers(f)}
            if train:
                out["train_return"] = self.lib.vl_ikm_train(f, _p(x), n)
            out["centers"] = self.ikm_centers(f)
            a = np.zeros(n, dtype=np.uint32)
            self.lib.vl_ikm_push(f, _p(a), _p(x), n)
            out["assignments"] = a
            out["next_draw"] = self.lib.vl_rand_uint32(self.lib.vl_get_rand())
            return out
        finally:
            self.lib.vl_ikm_delete(f)

    def ikm_push_one(self, centers: np.ndarray, point: np.ndarray) -> int:
        c = np.ascontiguousarray(centers, dtype=np.int32)
        x = np.ascontiguousarray(point, dtype=np.uint8)
        return int(self.lib.vl_ikm_push_one(_p(c), _p(x), c.shape[1], c.shape[0]))

    def hikm_node(self, node) -> dict:
        n = node.contents
        k = self.lib.vl_ikm_get_K(n.filter)
        children = None
        if n.children and k:
            children = [self.hikm_node(n.children[i]) for i in range(k)]
        return {"centers": self.ikm_centers(n.filter), "children": children}

    def hikm_run(self, data: np.ndarray, k: int, depth: int, method: int, seed: int,
                 max_niters: int | None = None, push=None) -> dict:
        """new -> [max_niters] -> init(M, K, depth) -> seed -> train: the tree as
        nested dicts {centers (K, M) int32, children list or None}, the paths of
        the training data, of ``push`` (if given) and the next draw."""
        x = np.ascontiguousarray(data, dtype=np.uint8)
        n, m = x.shape
        t = self.lib.vl_hikm_new(method)
        assert t, "vl_hikm_new failed"
        try:
            if max_niters is not None:
                self.lib.vl_hikm_set_max_niters(t, max_niters)
            self.lib.vl_hikm_init(t, m, k, depth)
            self.seed(seed)
            self.lib.vl_hikm_train(t, _p(x), n)
            out = {"next_draw": self.lib.vl_rand_uint32(self.lib.vl_get_rand())}
            out["tree"] = self.hikm_node(self.lib.vl_hikm_get_root(t))
            a = np.zeros((n, depth), dtype=np.uint32)
            self.lib.vl_hikm_push(t, _p(a), _p(x), n)
            out["paths"] = a
            if push is not None:
                y = np.ascontiguousarray(push, dtype=np.uint8)
                b = np.zeros((y.shape[0], depth), dtype=np.uint32)
                self.lib.vl_hikm_push(t, _p(b), _p(y), y.shape[0])
                out["pushed"] = b
            return out
        finally:
            self.lib.vl_hikm_delete(t)


# ---- integer k-means helpers ------------------------------------------------------------


class HIKMNode(ctypes.Structure):
    """VlHIKMNode: {VlIKMFilt *filter; VlHIKMNode **children;}."""


HIKMNode._fields_ = [("filter", c_void_p), ("children", ctypes.POINTER(ctypes.POINTER(HIKMNode)))]

_IKM_SIGS = {
    "vl_ikm_new": (c_void_p, [c_int]),
    "vl_ikm_delete": (None, [c_void_p]),
    "vl_ikm_init": (None, [c_void_p, c_void_p, c_size_t, c_size_t]),
    "vl_ikm_init_rand": (None, [c_void_p, c_size_t, c_size_t]),
    "vl_ikm_init_rand_data": (None, [c_void_p, c_void_p, c_size_t, c_size_t, c_size_t]),
    "vl_ikm_train": (c_int, [c_void_p, c_void_p, c_size_t]),
    "vl_ikm_push": (None, [c_void_p, c_void_p, c_void_p, c_size_t]),
    "vl_ikm_push_one": (ctypes.c_uint, [c_void_p, c_void_p, c_size_t, c_size_t]),
    "vl_ikm_get_K": (c_size_t, [c_void_p]),
    "vl_ikm_get_ndims": (c_size_t, [c_void_p]),
    "vl_ikm_get_max_niters": (c_size_t, [c_void_p]),
    "vl_ikm_get_verbosity": (c_int, [c_void_p]),
    "vl_ikm_get_centers": (c_void_p, [c_void_p]),
    "vl_ikm_set_max_niters": (None, [c_void_p, c_size_t]),
    "vl_ikm_set_verbosity": (None, [c_void_p, c_int]),
    "vl_hikm_new": (c_void_p, [c_int]),
    "vl_hikm_delete": (None, [c_void_p]),
    "vl_hikm_init": (None, [c_void_p, c_size_t, c_size_t, c_size_t]),
    "vl_hikm_train": (None, [c_void_p, c_void_p, c_size_t]),
    "vl_hikm_push": (None, [c_void_p, c_void_p, c_void_p, c_size_t]),
    "vl_hikm_get_root": (ctypes.POINTER(HIKMNode), [c_void_p]),
    "vl_hikm_get_K": (c_size_t, [c_void_p]),
    "vl_hikm_get_depth": (c_size_t, [c_void_p]),
    "vl_hikm_get_ndims": (c_size_t, [c_void_p]),
    "vl_hikm_set_max_niters": (None, [c_void_p, c_int]),
    "vl_hikm_set_verbosity": (None, [c_void_p, c_int]),
}


class _VlRand(ctypes.Structure):
    _fields_ = [("mt", c_uint32 * 624), ("mti", c_size_t)]


def _untemper(y: int) -> int:
    """The MT19937 state word whose tempered output is y."""

    def unshift_right(v: int, s: int) -> int:
        r = v
        for _ in range(32 // s + 1):
            r = v ^ (r >> s)
        return r & 0xFFFFFFFF

    def unshift_left(v: int, s: int, mask: int) -> int:
        r = v
        for _ in range(32 // s + 1):
            r = v ^ ((r << s) & mask)
        return r & 0xFFFFFFFF

    y = unshift_right(y, 18)
    y = unshift_left(y, 15, 0xEFC60000)
    y = unshift_left(y, 7, 0x9D2C5680)
    return unshift_right(y, 11)
