"""libgmm's integer k-means objects as Python objects: :class:`IKMFilt`
(``VlIKMFilt``), :class:`HIKMTree` (``VlHIKMTree``) and :class:`HIKMNode`
(a view of a tree's ``VlHIKMNode``).

As in :mod:`pyvl._core.objects`, every method validates its arguments and
makes one C call; ``pyvl.ikmeans`` and ``pyvl.hikmeans`` are one-line
wrappers over these. Data is uint8, flat (N*M,) or (N, M)
(:func:`~pyvl._core.arrays.as_uint8_data`); centers are int32
(:func:`~pyvl._core.arrays.as_int32_centers`); getters return numpy copies.

Ownership. A filter from :meth:`IKMFilt.new` and a tree own their C
objects (:class:`~pyvl._core.handle.Handle`). A tree's nodes and their
filters belong to the C tree, which frees them when it is retrained,
re-initialised or deleted: a :class:`HIKMNode` and its filter keep the tree
handle (and so the C tree) alive, remember the tree's generation (bumped by
each of those calls), and raise :class:`~pyvl.StateError` once it changed,
instead of reading freed memory. A node's filter is read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .arrays import as_int32_centers, as_uint8_data, c_int, copy_from_c, count, ptr
from .enums import IKMAlgorithm
from .errors import InvalidArgumentError, StateError
from .handle import Handle
from .lib import lib

_INT32 = np.dtype(np.int32)


def _method(method: Any, name: str = "method") -> IKMAlgorithm:
    m = c_int(method, name)
    if m not in set(IKMAlgorithm):
        raise InvalidArgumentError(
            f"unknown {name} {method!r} (VL_IKM_LLOYD = 0, VL_IKM_ELKAN = 1)"
        )
    return IKMAlgorithm(m)


def _not_owned(ptr_: Any) -> None:
    """The deleter of a node's filter: the C tree frees it."""


def push_one(centers: Any, data: Any, M: int, K: int) -> int:
    """Index of the center (of K x M int32 ``centers``) nearest to one point
    (M uint8 values); the first one on ties."""
    m, k = count(M, "M"), count(K, "K")
    c = as_int32_centers(centers, (k, m))
    x, n = as_uint8_data(data, m, None)
    if n != 1:
        raise ValueError(f"data must be one point of {m} values, got {n} points")
    return int(lib.vl_ikm_push_one(ptr(c), ptr(x), m, k))


class IKMFilt(Handle):
    """A libgmm ``VlIKMFilt`` (integer k-means of 8-bit data).

    ``method`` (``IKMAlgorithm``) is cached. ``node`` is the :class:`HIKMNode`
    a filter belongs to (None for a filter of its own); such a filter is
    read-only and valid as long as its node is.
    """

    _kind = "integer k-means filter"

    def __init__(self, ptr_: Any, method: Any, node: HIKMNode | None = None) -> None:
        super().__init__(ptr_, lib.vl_ikm_delete if node is None else _not_owned)
        self.method = IKMAlgorithm(method)
        self.node = node  # keeps the node, hence the tree, alive

    @classmethod
    def new(cls, method: Any = IKMAlgorithm.LLOYD) -> IKMFilt:
        """New filter for Lloyd or VLFeat's Elkan variant: no centers, at most
        200 iterations, verbosity 0."""
        m = _method(method)
        return cls(lib.vl_ikm_new(int(m)), m)

    @property
    def ptr(self) -> Any:
        if self.node is not None:
            self.node.check()
        return super().ptr

    @property
    def closed(self) -> bool:
        if self.node is not None and not self.node.valid:
            return True
        return super().closed

    @property
    def read_only(self) -> bool:
        """True for a tree node's filter (changing it raises StateError)."""
        return self.node is not None

    def _writable(self) -> Any:
        p = self.ptr
        if self.node is not None:
            raise StateError("this filter belongs to a tree node and is read-only")
        return p

    def close(self) -> None:
        if self.node is not None:
            raise StateError("this filter belongs to a tree node: delete the tree instead")
        super().close()

    def __exit__(self, *exc: object) -> None:
        if self.node is None:  # leaving a ``with`` block frees only a filter of its own
            super().__exit__(*exc)

    def __repr__(self) -> str:
        if self.closed:
            return "<VlIKMFilt deleted>"
        return (
            f"<VlIKMFilt {self.method.name.capitalize()} K={self.K} M={self.ndims}"
            f"{' (tree node)' if self.read_only else ''}>"
        )

    def _fitted_dimension(self) -> int:
        m = self.ndims
        if m == 0:
            raise StateError(
                "the filter has no centers yet (call vl_ikm_init, vl_ikm_init_rand or "
                "vl_ikm_init_rand_data first)"
            )
        return m

    # ---- processing ------------------------------------------------------------------

    def init(self, centers: Any, M: int, K: int) -> None:
        """Set K centers of dimension M (K*M integers, flat or (K, M); copied)."""
        p = self._writable()
        m, k = count(M, "M"), count(K, "K")
        c = as_int32_centers(centers, (k, m))
        lib.vl_ikm_init(p, ptr(c), m, k)

    def init_rand(self, M: int, K: int) -> None:
        """K x M centers from K*M draws of the default generator, each read as a
        signed 32-bit integer."""
        lib.vl_ikm_init_rand(self._writable(), count(M, "M"), count(K, "K"))

    def init_rand_data(self, data: Any, M: int, N: int | None, K: int) -> None:
        """K distinct points of ``data`` as centers, in VLFeat's random order
        (N draws of the default generator; 1 <= K <= N)."""
        p = self._writable()
        x, n = as_uint8_data(data, count(M, "M"), N)
        lib.vl_ikm_init_rand_data(p, ptr(x), x.shape[1], n, count(K, "K"))

    def train(self, data: Any, N: int | None = None) -> int:
        """Refine the centers on the points; returns 0."""
        p = self._writable()
        x, n = as_uint8_data(data, self._fitted_dimension(), N)
        return int(lib.vl_ikm_train(p, ptr(x), n))

    def push(self, data: Any, N: int | None = None) -> np.ndarray:
        """Nearest center of each point: (N,) uint32."""
        x, n = as_uint8_data(data, self._fitted_dimension(), N)
        out = np.zeros(n, dtype=np.uint32)
        lib.vl_ikm_push(self.ptr, ptr(out), ptr(x), n)
        return out

    # ---- parameters -----------------------------------------------------------------

    @property
    def centers(self) -> np.ndarray | None:
        """The centers, flat (K*M,) int32 (a copy), or None before any are set."""
        n = self.K * self.ndims
        address = lib.vl_ikm_get_centers(self.ptr)
        if not address or n == 0:
            return None
        return copy_from_c(address, n, _INT32)

    @property
    def ndims(self) -> int:
        """Dimension M of the centers (0 before any are set)."""
        return int(lib.vl_ikm_get_ndims(self.ptr))

    @property
    def K(self) -> int:
        """Number of centers (0 before any are set)."""
        return int(lib.vl_ikm_get_K(self.ptr))

    @property
    def verbosity(self) -> int:
        return int(lib.vl_ikm_get_verbosity(self.ptr))

    @verbosity.setter
    def verbosity(self, value: int) -> None:
        lib.vl_ikm_set_verbosity(self._writable(), c_int(value, "verb"))

    @property
    def max_niters(self) -> int:
        return int(lib.vl_ikm_get_max_niters(self.ptr))

    @max_niters.setter
    def max_niters(self, value: int) -> None:
        lib.vl_ikm_set_max_niters(self._writable(), count(value, "max_niters"))

    # ---- state (pickling) -------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """``method``, ``max_niters``, ``verbosity`` and ``centers`` ((K, M) int32 or
        None): what the setters restore (also from a tree node's filter)."""
        centers = self.centers
        return {
            "kind": "VlIKMFilt",
            "method": int(self.method),
            "max_niters": self.max_niters,
            "verbosity": self.verbosity,
            "centers": None if centers is None else centers.reshape(self.K, self.ndims),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> IKMFilt:
        """A new, owned filter with :meth:`state`'s values."""
        f = cls.new(state["method"])
        f.max_niters = state["max_niters"]
        f.verbosity = state["verbosity"]
        centers = state["centers"]
        if centers is not None:
            c = np.asarray(centers)
            f.init(c, c.shape[1], c.shape[0])
        return f

    def __reduce__(self) -> Any:
        """Pickle (and copy) through the getters and setters: a new, owned filter
        with the same method, settings and centers (also from a tree node's filter)."""
        return (from_state, (self.state(),))


def from_state(state: Mapping[str, Any]) -> IKMFilt:
    """The filter of an :meth:`IKMFilt.state` dict (unpickling)."""
    if state.get("kind") != "VlIKMFilt":
        raise ValueError(f"not an integer k-means filter state (kind {state.get('kind')!r})")
    return IKMFilt.from_state(state)


class HIKMTree(Handle):
    """A libgmm ``VlHIKMTree`` (hierarchical integer k-means: a vocabulary tree).

    ``method`` (``IKMAlgorithm``, that of every node) is cached;
    ``generation`` counts the calls that freed the C tree's nodes (init,
    train, close), so that node views notice them.
    """

    _kind = "integer k-means tree"

    def __init__(self, ptr_: Any, method: Any) -> None:
        super().__init__(ptr_, lib.vl_hikm_delete)
        self.method = IKMAlgorithm(method)
        self.generation = 0

    @classmethod
    def new(cls, method: Any = IKMAlgorithm.LLOYD) -> HIKMTree:
        """New, empty tree; every node uses ``method``."""
        m = _method(method)
        return cls(lib.vl_hikm_new(int(m)), m)

    def close(self) -> None:
        """Free the tree and its nodes now (their views become invalid)."""
        self.generation += 1
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
            f"<VlHIKMTree {self.method.name.capitalize()} K={self.K} depth={self.depth} "
            f"M={self.ndims} trained={self.root is not None}>"
        )

    # ---- processing ------------------------------------------------------------------

    def init(self, M: int, K: int, depth: int) -> None:
        """Set the dimension M, the branching factor K and the depth (all >= 1);
        drops a trained tree."""
        lib.vl_hikm_init(self.ptr, count(M, "M"), count(K, "K"), count(depth, "depth"))
        self.generation += 1

    def train(self, data: Any, N: int | None = None) -> None:
        """Build the tree from the points (N x M uint8, flat or (N, M)). On failure
        the tree is unchanged (its nodes stay valid)."""
        m = self.ndims
        if m == 0:
            raise StateError("the tree has no shape yet (call vl_hikm_init first)")
        x, n = as_uint8_data(data, m, N)
        lib.vl_hikm_train(self.ptr, ptr(x), n)
        self.generation += 1

    def push(self, data: Any, N: int | None = None) -> np.ndarray:
        """Path of each point down the tree: (N, depth) uint32."""
        if self.root is None:
            raise StateError("the tree is not trained (call vl_hikm_train first)")
        x, n = as_uint8_data(data, self.ndims, N)
        out = np.zeros((n, self.depth), dtype=np.uint32)
        lib.vl_hikm_push(self.ptr, ptr(out), ptr(x), n)
        return out

    # ---- parameters -----------------------------------------------------------------

    @property
    def root(self) -> HIKMNode | None:
        """The root node, or None before training."""
        node = lib.vl_hikm_get_root(self.ptr)
        return HIKMNode(self, node) if node else None

    @property
    def ndims(self) -> int:
        return int(lib.vl_hikm_get_ndims(self.ptr))

    @property
    def K(self) -> int:
        return int(lib.vl_hikm_get_K(self.ptr))

    @property
    def depth(self) -> int:
        return int(lib.vl_hikm_get_depth(self.ptr))

    @property
    def verbosity(self) -> int:
        return int(lib.vl_hikm_get_verbosity(self.ptr))

    @verbosity.setter
    def verbosity(self, value: int) -> None:
        lib.vl_hikm_set_verbosity(self.ptr, c_int(value, "verb"))

    @property
    def max_niters(self) -> int:
        return int(lib.vl_hikm_get_max_niters(self.ptr))

    @max_niters.setter
    def max_niters(self, value: int) -> None:
        lib.vl_hikm_set_max_niters(self.ptr, c_int(value, "max_niters"))


class HIKMNode:
    """A node of a trained tree (a view of VLFeat's ``VlHIKMNode``).

    ``filter`` is the node's integer k-means filter (read-only), ``centers``
    its (K, M) int32 centers, ``children`` a list of K nodes or None (leaves
    and nodes that no training point reached). The node holds its tree's
    handle, so the C tree lives while the node does.
    """

    __slots__ = ("_tree", "_generation", "_node")

    def __init__(self, tree: HIKMTree, node: Any) -> None:
        self._tree = tree
        self._generation = tree.generation
        self._node = node  # ctypes pointer to the C VlHIKMNode

    @property
    def valid(self) -> bool:
        """False once the tree was retrained, re-initialised or deleted."""
        return not self._tree.closed and self._tree.generation == self._generation

    def check(self) -> None:
        """Raise :class:`StateError` unless :attr:`valid`."""
        if not self.valid:
            raise StateError(
                "this node no longer exists: its tree was retrained, re-initialised or deleted"
            )

    @property
    def filter(self) -> IKMFilt:
        """The node's filter (read-only; valid as long as this node is)."""
        self.check()
        return IKMFilt(self._node.contents.filter, self._tree.method, node=self)

    @property
    def K(self) -> int:
        """Number of centers (and of children, if any)."""
        return self.filter.K

    @property
    def centers(self) -> np.ndarray:
        """(K, M) int32 centers (a copy); (0, M) for a node no point reached."""
        f = self.filter
        c = f.centers
        return np.zeros((0, f.ndims), dtype=np.int32) if c is None else c.reshape(-1, f.ndims)

    @property
    def children(self) -> list[HIKMNode] | None:
        """The K child nodes, or None for a leaf or a node without centers."""
        k = self.K  # checks validity
        node = self._node.contents
        if not node.children:
            return None
        return [HIKMNode(self._tree, node.children[i]) for i in range(k)]

    def __repr__(self) -> str:
        if not self.valid:
            return "<VlHIKMNode (tree gone)>"
        kids = self.children
        return f"<VlHIKMNode K={self.K} children={'none' if kids is None else len(kids)}>"
