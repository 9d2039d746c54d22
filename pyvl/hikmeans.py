"""VLFeat's hierarchical integer k-means (vocabulary trees), function for function
(``from pyvl.hikmeans import *``).

::

    tree = vl_hikm_new(VL_IKM_LLOYD)
    vl_hikm_init(tree, M, K, depth)
    vl_rand_seed(vl_get_rand(), 0)
    vl_hikm_train(tree, data)             # data: (N, M) uint8
    paths = vl_hikm_push(tree, data)      # (N, depth) uint32: the child taken at each level
    root = vl_hikm_get_root(tree)         # VlHIKMNode
    root.centers, root.children           # (K, M) int32, list of nodes (None for leaves)

The same data and seed give VLFeat's tree (every node's centers) and paths.
Each node clusters the points that reach it into min(K, n) groups; a node
that no training point reaches has no centers (K = 0) and no children, and a
new point that reaches it gets 0 from that level down (VLFeat crashes there).

Nodes are views into the C tree: a :class:`VlHIKMNode` keeps its tree alive
(deleting the last reference to the tree does not free nodes still in use),
and becomes invalid, raising :class:`~pyvl.StateError`, once the tree is
retrained, re-initialised or deleted explicitly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core.enums import IKMAlgorithm
from ._core.ikmeans import HIKMNode as VlHIKMNode
from ._core.ikmeans import HIKMTree as VlHIKMTree
from .random import vl_get_rand, vl_rand_seed

__all__ = [
    "VL_IKM_LLOYD",
    "VL_IKM_ELKAN",
    "VlHIKMTree",
    "VlHIKMNode",
    "vl_hikm_new",
    "vl_hikm_delete",
    "vl_hikm_init",
    "vl_hikm_train",
    "vl_hikm_push",
    "vl_hikm_get_ndims",
    "vl_hikm_get_K",
    "vl_hikm_get_depth",
    "vl_hikm_get_verbosity",
    "vl_hikm_get_max_niters",
    "vl_hikm_get_root",
    "vl_hikm_set_verbosity",
    "vl_hikm_set_max_niters",
    "vl_get_rand",
    "vl_rand_seed",
]

VL_IKM_LLOYD = IKMAlgorithm.LLOYD
VL_IKM_ELKAN = IKMAlgorithm.ELKAN


def _t(tree: Any) -> VlHIKMTree:
    if not isinstance(tree, VlHIKMTree):
        raise TypeError(f"expected a VlHIKMTree from vl_hikm_new, got {type(tree).__name__}")
    return tree  # a deleted tree raises StateError when used


def vl_hikm_new(method: int = VL_IKM_LLOYD) -> VlHIKMTree:
    """New, empty tree; every node uses ``method`` (VL_IKM_LLOYD or VL_IKM_ELKAN)."""
    return VlHIKMTree.new(method)


def vl_hikm_delete(tree: VlHIKMTree) -> None:
    """Free the tree and its nodes now (their views become invalid)."""
    _t(tree).close()


def vl_hikm_init(tree: VlHIKMTree, M: int, K: int, depth: int) -> None:
    """Set the dimension M, the branching factor K and the depth (all >= 1);
    drops a trained tree."""
    _t(tree).init(M, K, depth)


def vl_hikm_train(tree: VlHIKMTree, data: Any, N: int | None = None) -> None:
    """Build the tree from the points (N x M uint8, flat or (N, M))."""
    _t(tree).train(data, N)


def vl_hikm_push(tree: VlHIKMTree, data: Any, N: int | None = None) -> np.ndarray:
    """Path of each point down the tree: (N, depth) uint32."""
    return _t(tree).push(data, N)


def vl_hikm_get_root(tree: VlHIKMTree) -> VlHIKMNode | None:
    """The root node, or None before training."""
    return _t(tree).root


def vl_hikm_get_ndims(tree: VlHIKMTree) -> int:
    return _t(tree).ndims


def vl_hikm_get_K(tree: VlHIKMTree) -> int:
    return _t(tree).K


def vl_hikm_get_depth(tree: VlHIKMTree) -> int:
    return _t(tree).depth


def vl_hikm_get_verbosity(tree: VlHIKMTree) -> int:
    return _t(tree).verbosity


def vl_hikm_get_max_niters(tree: VlHIKMTree) -> int:
    return _t(tree).max_niters


def vl_hikm_set_verbosity(tree: VlHIKMTree, verb: int) -> None:
    """At 1 or more, training prints its progress (nodes get one level less)."""
    _t(tree).verbosity = verb


def vl_hikm_set_max_niters(tree: VlHIKMTree, max_niters: int) -> None:
    """Maximum number of k-means iterations of every node (>= 0)."""
    _t(tree).max_niters = max_niters
