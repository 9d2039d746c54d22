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

from ._arrays import c_int, count, ptr
from ._errors import StateError
from ._handle import Handle
from ._lib import lib
from .ikmeans import (
    VL_IKM_ELKAN,
    VL_IKM_LLOYD,
    VlIKMFilt,
    _method,
    as_uint8_data,
    vl_ikm_get_centers,
)
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

_METHOD_NAMES = {VL_IKM_LLOYD: "Lloyd", VL_IKM_ELKAN: "Elkan"}


class VlHIKMTree(Handle):
    """Handle to a libgmm ``VlHIKMTree``; create it with :func:`vl_hikm_new`."""

    _kind = "integer k-means tree"

    def __init__(self, ptr_: Any, method: int) -> None:
        super().__init__(ptr_, lib.vl_hikm_delete)
        self.method = method
        # Bumped whenever the C tree frees its nodes (init, train, delete):
        # node views compare it with the value they were created under.
        self._generation = 0

    def close(self) -> None:
        self._generation += 1
        super().close()

    def __reduce__(self) -> Any:
        raise TypeError(
            "a VlHIKMTree cannot be pickled or copied (its nodes live in C memory and no "
            "setter rebuilds them): keep the nodes' centers (VlHIKMNode.centers), or use "
            "pyvl.compat.cyvlfeat.hikmeans, whose PyHIKMTree is plain Python"
        )

    def __repr__(self) -> str:
        if self.closed:
            return "<VlHIKMTree deleted>"
        return (
            f"<VlHIKMTree {_METHOD_NAMES.get(self.method, self.method)} "
            f"K={vl_hikm_get_K(self)} depth={vl_hikm_get_depth(self)} "
            f"M={vl_hikm_get_ndims(self)} trained={vl_hikm_get_root(self) is not None}>"
        )


class VlHIKMNode:
    """A node of a trained tree (a view of VLFeat's ``VlHIKMNode``).

    ``filter`` is the node's integer k-means filter (read-only), ``centers``
    its (K, M) int32 centers, ``children`` a list of K nodes or None (leaves
    and nodes that no training point reached).
    """

    __slots__ = ("_tree", "_generation", "_node")

    def __init__(self, tree: VlHIKMTree, node: Any) -> None:
        self._tree = tree  # keeps the C tree alive while this view exists
        self._generation = tree._generation
        self._node = node  # ctypes pointer to the C VlHIKMNode

    @property
    def valid(self) -> bool:
        """False once the tree was retrained, re-initialised or deleted."""
        return not self._tree.closed and self._tree._generation == self._generation

    def _check(self) -> None:
        if not self.valid:
            raise StateError(
                "this node no longer exists: its tree was retrained, re-initialised or deleted"
            )

    @property
    def filter(self) -> VlIKMFilt:
        """The node's filter (read-only; valid as long as this node is)."""
        self._check()
        return VlIKMFilt._borrowed(self._node.contents.filter, self, self._tree.method)

    @property
    def K(self) -> int:
        """Number of centers (and of children, if any)."""
        self._check()
        return int(lib.vl_ikm_get_K(self._node.contents.filter))

    @property
    def centers(self) -> np.ndarray:
        """(K, M) int32 centers (a copy); (0, M) for a node no point reached."""
        f = self.filter
        m = int(lib.vl_ikm_get_ndims(f))
        c = vl_ikm_get_centers(f)
        return np.zeros((0, m), dtype=np.int32) if c is None else c.reshape(-1, m)

    @property
    def children(self) -> list[VlHIKMNode] | None:
        """The K child nodes, or None for a leaf or a node without centers."""
        self._check()
        node = self._node.contents
        if not node.children:
            return None
        return [VlHIKMNode(self._tree, node.children[k]) for k in range(self.K)]

    def __repr__(self) -> str:
        if not self.valid:
            return "<VlHIKMNode (tree gone)>"
        kids = self.children
        return f"<VlHIKMNode K={self.K} children={'none' if kids is None else len(kids)}>"


def _t(tree: Any) -> VlHIKMTree:
    if not isinstance(tree, VlHIKMTree):
        raise TypeError(f"expected a VlHIKMTree from vl_hikm_new, got {type(tree).__name__}")
    tree.ptr  # noqa: B018 - raises StateError if deleted
    return tree


def vl_hikm_new(method: int = VL_IKM_LLOYD) -> VlHIKMTree:
    """New, empty tree; every node uses ``method`` (VL_IKM_LLOYD or VL_IKM_ELKAN)."""
    m = _method(method)
    return VlHIKMTree(lib.vl_hikm_new(m), m)


def vl_hikm_delete(tree: VlHIKMTree) -> None:
    """Free the tree and its nodes now (their views become invalid)."""
    _t(tree).close()


def vl_hikm_init(tree: VlHIKMTree, M: int, K: int, depth: int) -> None:
    """Set the dimension M, the branching factor K and the depth (all >= 1);
    drops a trained tree."""
    t = _t(tree)
    lib.vl_hikm_init(t, count(M, "M"), count(K, "K"), count(depth, "depth"))
    t._generation += 1


def vl_hikm_train(tree: VlHIKMTree, data: Any, N: int | None = None) -> None:
    """Build the tree from the points (N x M uint8, flat or (N, M))."""
    t = _t(tree)
    m = int(lib.vl_hikm_get_ndims(t))
    if m == 0:
        raise StateError("the tree has no shape yet (call vl_hikm_init first)")
    x, n = as_uint8_data(data, m, N)
    lib.vl_hikm_train(t, ptr(x), n)  # raises (tree unchanged) on failure
    t._generation += 1


def vl_hikm_push(tree: VlHIKMTree, data: Any, N: int | None = None) -> np.ndarray:
    """Path of each point down the tree: (N, depth) uint32."""
    t = _t(tree)
    m, depth = int(lib.vl_hikm_get_ndims(t)), int(lib.vl_hikm_get_depth(t))
    if not lib.vl_hikm_get_root(t):
        raise StateError("the tree is not trained (call vl_hikm_train first)")
    x, n = as_uint8_data(data, m, N)
    out = np.zeros((n, depth), dtype=np.uint32)
    lib.vl_hikm_push(t, ptr(out), ptr(x), n)
    return out


def vl_hikm_get_root(tree: VlHIKMTree) -> VlHIKMNode | None:
    """The root node, or None before training."""
    t = _t(tree)
    root = lib.vl_hikm_get_root(t)
    return VlHIKMNode(t, root) if root else None


def vl_hikm_get_ndims(tree: VlHIKMTree) -> int:
    return int(lib.vl_hikm_get_ndims(_t(tree)))


def vl_hikm_get_K(tree: VlHIKMTree) -> int:
    return int(lib.vl_hikm_get_K(_t(tree)))


def vl_hikm_get_depth(tree: VlHIKMTree) -> int:
    return int(lib.vl_hikm_get_depth(_t(tree)))


def vl_hikm_get_verbosity(tree: VlHIKMTree) -> int:
    return int(lib.vl_hikm_get_verbosity(_t(tree)))


def vl_hikm_get_max_niters(tree: VlHIKMTree) -> int:
    return int(lib.vl_hikm_get_max_niters(_t(tree)))


def vl_hikm_set_verbosity(tree: VlHIKMTree, verb: int) -> None:
    """At 1 or more, training prints its progress (nodes get one level less)."""
    lib.vl_hikm_set_verbosity(_t(tree), c_int(verb, "verb"))


def vl_hikm_set_max_niters(tree: VlHIKMTree, max_niters: int) -> None:
    """Maximum number of k-means iterations of every node (>= 0)."""
    lib.vl_hikm_set_max_niters(_t(tree), c_int(max_niters, "max_niters"))
