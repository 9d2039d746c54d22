"""cyvlfeat.kmeans' vocabulary trees: ``hikmeans``, ``hikmeans_push`` and the
tree classes ``PyHIKMTree`` / ``PyHIKMNode``.

``hikmeans`` makes cyvlfeat's calls through pyvl's VLFeat API
(:mod:`pyvl.hikmeans`) and copies the C tree into plain Python nodes;
``hikmeans_push`` walks such a tree with :func:`ikmeans_push` at every node,
as cyvlfeat does. Differences from cyvlfeat (see ``docs/compat.md``):
``num_centers`` must be >= 2, numpy integers are accepted, bad input raises
``ValueError`` naming the argument, and a point that reaches a node no
training point reached gets 0 from that level down (cyvlfeat crashes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...hikmeans import (
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
from ._common import _integer, _verbosity
from .ikmeans import _algorithm, _num_centers, _uint8_matrix, ikmeans_push

__all__ = ["PyHIKMNode", "PyHIKMTree", "hikmeans", "hikmeans_push"]


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
    method = _algorithm(algorithm)
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
