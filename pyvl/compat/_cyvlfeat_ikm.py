"""cyvlfeat's integer k-means functions (``cyvlfeat.kmeans``), on pyvl.

``ikmeans``, ``ikmeans_push``, ``hikmeans`` and ``hikmeans_push`` with
cyvlfeat's names, arguments, defaults and return values (re-exported by
:mod:`pyvl.compat.cyvlfeat`). They make the calls cyvlfeat makes, through
pyvl's VLFeat API (:mod:`pyvl.ikmeans`, :mod:`pyvl.hikmeans`), so for the
same data and seed they return what cyvlfeat on VLFeat 0.9.21 returns.

Randomness (the choice of initial centers) draws from VLFeat's per-thread
generator; seed it with ``vl_rand_seed(vl_get_rand(), s)`` from
:mod:`pyvl.random` for repeatable results. Differences from cyvlfeat (see
``docs/compat.md``): numpy integers are accepted where cyvlfeat asserts a
Python ``int``, ``num_centers`` must be >= 1 (>= 2 for a tree), any memory
layout is accepted, ``ikmeans_push`` also takes centers of another integer
dtype (or integer-valued floats), bad input raises ``ValueError`` naming
the argument, and a point that reaches a node no training point reached
gets 0 from that level down (cyvlfeat crashes).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ..hikmeans import (
    vl_hikm_delete,
    vl_hikm_get_depth,
    vl_hikm_get_K,
    vl_hikm_get_root,
    vl_hikm_init,
    vl_hikm_new,
    vl_hikm_push,
    vl_hikm_set_verbosity,
    vl_hikm_train,
)
from ..ikmeans import (
    VL_IKM_ELKAN,
    VL_IKM_LLOYD,
    as_int32_centers,
    vl_ikm_delete,
    vl_ikm_get_centers,
    vl_ikm_init,
    vl_ikm_init_rand_data,
    vl_ikm_new,
    vl_ikm_push,
    vl_ikm_set_max_niters,
    vl_ikm_set_verbosity,
    vl_ikm_train,
)

__all__ = ["PyHIKMNode", "PyHIKMTree", "hikmeans", "hikmeans_push", "ikmeans", "ikmeans_push"]

_ALGORITHMS = {"LLOYD": VL_IKM_LLOYD, "ELKAN": VL_IKM_ELKAN}


class PyHIKMNode:
    """A node of a tree returned by :func:`hikmeans` (cyvlfeat's class).

    ``centers``: (K, D) int32 ndarray (K = 0 for a node no training point
    reached); ``children``: a list of K nodes, empty for a leaf.
    """

    def __init__(self) -> None:
        self.centers: np.ndarray | None = None
        self.children: list[PyHIKMNode] = []

    def __repr__(self) -> str:
        k = None if self.centers is None else self.centers.shape[0]
        return f"<{type(self).__name__} K={k} children={len(self.children)}>"


class PyHIKMTree(PyHIKMNode):
    """The root of a tree returned by :func:`hikmeans`, with the branching
    factor ``K`` and the ``depth`` (cyvlfeat's class)."""

    def __init__(self, K: int, depth: int) -> None:
        super().__init__()
        self.K = K
        self.depth = depth


# ---- argument checks -------------------------------------------------------------------


def _uint8_matrix(value: Any, name: str) -> np.ndarray:
    """A 2-D uint8 ndarray (one point per row), C-contiguous (copied if needed)."""
    if value is None:
        raise ValueError(f"{name} is required, got None")
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be a uint8 array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one row per point), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column (dimension)")
    return np.ascontiguousarray(arr)


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


def _num_centers(value: Any, n: int, minimum: int) -> int:
    k = _integer(value, "num_centers", minimum)
    if k > n:
        raise ValueError(
            f"num_centers must be no larger than the number of data points {n}, got {k}"
        )
    return k


def _algorithm(value: Any) -> tuple[str, int]:
    if not isinstance(value, str) or value.upper() not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(_ALGORITHMS)}, got {value!r}")
    return value.upper(), _ALGORITHMS[value.upper()]


def _verbosity(verbose: Any) -> int:
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    try:
        return max(0, operator.index(verbose))
    except TypeError:
        return int(bool(verbose))


# ---- ikmeans ------------------------------------------------------------------------------


def ikmeans(
    data: np.ndarray,
    num_centers: int,
    algorithm: str = "LLOYD",
    max_num_iterations: int = 200,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer k-means of 8-bit data (cyvlfeat's ``ikmeans``).

    Parameters
    ----------
    data : (N, D) uint8 ndarray
        The points, one per row.
    num_centers : int
        Number of centers K, 1 <= K <= N.
    algorithm : {'LLOYD', 'ELKAN'}, optional
        Lloyd, or VLFeat's integer Elkan variant (matched with case ignored).
    max_num_iterations : int, optional
        Maximum number of iterations (>= 1); training stops earlier when no
        point changes center.
    verbose : bool, optional
        Print VLFeat's progress messages to ``sys.stdout``.

    Returns
    -------
    centers : (K, D) int32 ndarray
        Integer centers (the integer part of the mean of their points).
    assignments : (N,) uint32 ndarray
        Index of the nearest center of each point.
    """
    x = _uint8_matrix(data, "data")
    n, d = x.shape
    k = _num_centers(num_centers, n, 1)
    _, method = _algorithm(algorithm)
    iterations = _integer(max_num_iterations, "max_num_iterations", 1)
    level = _verbosity(verbose)

    f = vl_ikm_new(method)
    try:
        vl_ikm_set_verbosity(f, level)
        vl_ikm_set_max_niters(f, iterations)
        vl_ikm_init_rand_data(f, x, d, n, k)
        vl_ikm_train(f, x, n)
        centers = vl_ikm_get_centers(f)
        assignments = vl_ikm_push(f, x, n)
    finally:
        vl_ikm_delete(f)
    if level:
        print("ikmeans: done")
    if centers is None:  # cannot happen after a successful vl_ikm_init_rand_data
        raise RuntimeError("vl_ikm_train produced no centers")
    return centers.reshape(k, d), assignments


def ikmeans_push(data: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Nearest integer center of every point (cyvlfeat's ``ikmeans_push``).

    Parameters
    ----------
    data : (N, D) uint8 ndarray
        The points, one per row.
    centers : (K, D) int32 ndarray
        The centers (K >= 1); another integer dtype, or floats holding
        integers, is converted when every value fits int32.

    Returns
    -------
    assignments : (N,) uint32 ndarray
        Index of the nearest center (the first one on ties).
    """
    x = _uint8_matrix(data, "data")
    if centers is None:
        raise ValueError("centers is required, got None")
    c = np.asarray(centers)
    if c.ndim != 2:
        raise ValueError(f"centers must be a 2-D array (one row per center), got shape {c.shape}")
    if c.shape[0] == 0:
        raise ValueError("centers must contain at least one row")
    if c.shape[1] != x.shape[1]:
        raise ValueError(
            f"data has {x.shape[1]} columns but centers has {c.shape[1]}: they must have the "
            "same dimension"
        )
    try:
        c32 = as_int32_centers(c, c.shape)
    except TypeError as e:
        raise ValueError(str(e)) from None
    k, d = c32.shape
    f = vl_ikm_new(VL_IKM_LLOYD)
    try:
        vl_ikm_init(f, c32, d, k)
        return vl_ikm_push(f, x, x.shape[0])
    finally:
        vl_ikm_delete(f)


# ---- hikmeans ---------------------------------------------------------------------------------


def _to_python(node: Any, out: PyHIKMNode) -> None:
    out.centers = node.centers
    children = node.children
    if children:
        for child in children:
            sub = PyHIKMNode()
            _to_python(child, sub)
            out.children.append(sub)


def hikmeans(
    data: np.ndarray,
    num_centers: int,
    num_leaves: int,
    algorithm: str = "LLOYD",
    verbose: bool = False,
) -> tuple[PyHIKMTree, np.ndarray]:
    """Hierarchical integer k-means: a vocabulary tree (cyvlfeat's ``hikmeans``).

    Parameters
    ----------
    data : (N, D) uint8 ndarray
        The points, one per row.
    num_centers : int
        Branching factor K (clusters per node), 2 <= K <= N.
    num_leaves : int
        Minimum number of leaves (>= 1): the depth is cyvlfeat's
        ``max(1, ceil(log(num_leaves) / log(num_centers)))``, computed in
        floating point as cyvlfeat does.
    algorithm : {'LLOYD', 'ELKAN'}, optional
        The integer k-means algorithm of every node.
    verbose : bool, optional
        Print the sizes and VLFeat's progress messages to ``sys.stdout``.

    Returns
    -------
    tree : PyHIKMTree
        The root: ``K``, ``depth``, ``centers`` (K, D) int32 and
        ``children`` (PyHIKMNode objects with ``centers`` and ``children``).
    assignments : (N, depth) uint32 ndarray
        The child taken by each point at each level.
    """
    x = _uint8_matrix(data, "data")
    n, d = x.shape
    k = _num_centers(num_centers, n, 2)
    leaves = _integer(num_leaves, "num_leaves", 1)
    _, method = _algorithm(algorithm)
    level = _verbosity(verbose)
    depth = max(1, math.ceil(math.log(leaves) / math.log(k)))

    if level:
        print(f"hikmeans: # dims: {d}")
        print(f"hikmeans: # data: {n}")
        print(f"hikmeans: K: {k}")
        print(f"hikmeans: depth: {depth}")
    tree = vl_hikm_new(method)
    try:
        vl_hikm_set_verbosity(tree, level)
        vl_hikm_init(tree, d, k, depth)
        vl_hikm_train(tree, x, n)
        root = vl_hikm_get_root(tree)
        py_tree = PyHIKMTree(vl_hikm_get_K(tree), vl_hikm_get_depth(tree))
        _to_python(root, py_tree)
        assignments = vl_hikm_push(tree, x, n)
    finally:
        vl_hikm_delete(tree)
    if level:
        print("hikmeans: done.")
    return py_tree, assignments


def _check_py_node(node: Any, k: int, d: int | None, path: str) -> int:
    """Validates a PyHIKMNode (recursively); returns the dimension."""
    if not isinstance(node, PyHIKMNode):
        raise ValueError(f"{path} must be a PyHIKMNode, got {type(node).__name__}")
    c = np.asarray(node.centers) if node.centers is not None else None
    if c is None or c.ndim != 2:
        raise ValueError(f"{path}.centers must be a 2-D (K, D) array")
    if d is None:
        d = c.shape[1]
    if c.shape[1] != d or d == 0:
        raise ValueError(f"{path}.centers has {c.shape[1]} columns, expected {d}")
    if c.shape[0] > k:
        raise ValueError(f"{path} has {c.shape[0]} centers, more than the tree's K = {k}")
    children = list(node.children or [])
    if children and len(children) != c.shape[0]:
        raise ValueError(f"{path} has {len(children)} children for {c.shape[0]} centers")
    for i, child in enumerate(children):
        _check_py_node(child, k, d, f"{path}.children[{i}]")
    return d


def _push_python(node: PyHIKMNode, x: np.ndarray, rows: np.ndarray, level: int, out: np.ndarray) -> None:
    """The paths of the points ``rows`` of ``x`` from ``node`` at ``level`` down."""
    depth = out.shape[1]
    if level >= depth or rows.size == 0:
        return
    c = np.asarray(node.centers)
    if c.shape[0] == 0:  # a node no training point reached: 0 from here down
        out[rows, level:] = 0
        return
    a = ikmeans_push(x if rows.size == x.shape[0] else x[rows], c)  # the root reads x itself
    out[rows, level] = a
    if not node.children:  # a leaf above the last level: no finer cells
        out[rows, level + 1 :] = 0
        return
    for k in np.unique(a):
        _push_python(node.children[int(k)], x, rows[a == k], level + 1, out)


def hikmeans_push(data: np.ndarray, py_tree: PyHIKMTree, verbose: bool = False) -> np.ndarray:
    """Path of every point down a tree from :func:`hikmeans` (cyvlfeat's ``hikmeans_push``).

    Parameters
    ----------
    data : (N, D) uint8 ndarray
        The points, one per row.
    py_tree : PyHIKMTree
        A tree returned by :func:`hikmeans` (or built with the same classes).
    verbose : bool, optional
        Print the tree's sizes to ``sys.stdout``.

    Returns
    -------
    assignments : (N, depth) uint32 ndarray
        The child taken at each level: at every node, the nearest of its
        centers (the first one on ties). A point that reaches a node without
        centers (one no training point reached) gets 0 from that level down.
    """
    x = _uint8_matrix(data, "data")
    if not isinstance(py_tree, PyHIKMTree):
        raise ValueError(f"py_tree must be a PyHIKMTree (from hikmeans), got {type(py_tree).__name__}")
    k = _integer(py_tree.K, "py_tree.K", 1)
    depth = _integer(py_tree.depth, "py_tree.depth", 1)
    d = _check_py_node(py_tree, k, None, "py_tree")
    if d != x.shape[1]:
        raise ValueError(f"data has {x.shape[1]} columns but the tree's centers have {d}")
    if _verbosity(verbose):
        print(f"vl_hikmeanspush: ndims: {d} K: {k} depth: {depth}")
    out = np.zeros((x.shape[0], depth), dtype=np.uint32)
    _push_python(py_tree, x, np.arange(x.shape[0]), 0, out)
    return out
