"""Integer k-means (vl_ikm_*) and vocabulary trees (vl_hikm_*) against VLFeat 0.9.21.

* The C API of both libraries, driven by the same ctypes code
  (tests/vlapi.py): random selection (also on chosen random draws, for the
  key order and its ties), random centers, Lloyd and Elkan training from
  every initialisation, push, push_one and whole trees, with identical
  centers, assignments, trees and random streams.
* ``pyvl.ikmeans`` / ``pyvl.hikmeans`` (VLFeat's API in Python): the same
  numbers, handles that die safely, tree nodes that keep their tree alive and
  notice when it is retrained, bad input.
* ``pyvl.compat.cyvlfeat``'s ikmeans, ikmeans_push, hikmeans, hikmeans_push:
  cyvlfeat's signatures, and the results of cyvlfeat's C calls on VLFeat.

Where VLFeat is undefined (it crashes, overflows 32-bit sums, or reads
uninitialised memory: docs/vlfeat-differences.md), the tests check libgmm's
documented behaviour instead of comparing.
"""

from __future__ import annotations

import gc
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest
from vlapi import VLApi

import pyvl
from pyvl.compat import cyvlfeat as cy
from pyvl.compat.cyvlfeat import hikmeans, hikmeans_push, ikmeans, ikmeans_push
from pyvl.compat.cyvlfeat.hikmeans import PyHIKMNode, PyHIKMTree
from pyvl.hikmeans import *
from pyvl.ikmeans import *

LLOYD, ELKAN = VL_IKM_LLOYD, VL_IKM_ELKAN
METHODS = [LLOYD, ELKAN]


def blobs(n: int, m: int, k: int, seed: int = 0, spread: float = 20.0) -> np.ndarray:
    """n uint8 points around k random centers."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(20, 235, size=(k, m))
    x = centers[rng.integers(0, k, size=n)] + rng.normal(size=(n, m)) * spread
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def coarse(n: int, m: int, levels: int, seed: int = 0) -> np.ndarray:
    """n uint8 points with few distinct values per coordinate (ties, duplicates)."""
    return np.random.default_rng(seed).integers(0, levels, size=(n, m)).astype(np.uint8)


def assert_same_run(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def assert_same_tree(a: dict, b: dict, path: str = "root") -> None:
    np.testing.assert_array_equal(a["centers"], b["centers"], err_msg=path)
    assert (a["children"] is None) == (b["children"] is None), path
    for i, (u, v) in enumerate(zip(a["children"] or [], b["children"] or [])):
        assert_same_tree(u, v, f"{path}.{i}")
    if a["children"] is not None:
        assert len(a["children"]) == len(b["children"])


def has_empty_node(tree: dict) -> bool:
    return tree["centers"].shape[0] == 0 or any(has_empty_node(c) for c in tree["children"] or [])


def seed(s: int) -> None:
    vl_rand_seed(vl_get_rand(), s)


# ---- the C API against VLFeat ------------------------------------------------------------


@pytest.mark.parametrize("data", ["blobs", "coarse", "duplicates"])
@pytest.mark.parametrize("k", [1, 3, 17, 60])
def test_init_rand_data_equals_vlfeat(vlfeat, ours, data, k):
    x = {
        "blobs": blobs(300, 5, 6, seed=1),
        "coarse": coarse(300, 2, 6, seed=2),  # 36 distinct points at most
        "duplicates": np.repeat(coarse(12, 3, 256, seed=3), 25, axis=0),  # 12 distinct
    }[data]
    ref = vlfeat.ikm_run(x, k, LLOYD, seed=5, train=False)
    got = ours.ikm_run(x, k, LLOYD, seed=5, train=False)
    assert_same_run(ref, got)
    assert got["init"].shape == (k, x.shape[1])
    # every center is a data point; padding (too few distinct points) repeats one
    rows = {tuple(r) for r in x}
    assert all(tuple(c) in rows for c in got["init"])
    distinct = len(rows)
    assert len({tuple(c) for c in got["init"]}) == min(k, distinct)


@pytest.mark.parametrize(
    "draws",
    [
        [5, 4, 3, 2, 1, 0],
        [7, 7, 3, 3, 9, 9, 3, 7],
        [0x80000000, 0x7FFFFFFF, 0, 0xFFFFFFFF],
        [0xFFFFFFFF, 0xFFFFFFFC, 0xFFFFFFFD, 3, 0x80000003],
        [(1 << 30) + 3, 1 << 30, (1 << 30) + 4, (1 << 30) - 1],
        list(range(40, 0, -1)),
    ],
)
def test_init_rand_data_order_on_chosen_draws_equals_vlfeat(vlfeat, ours, draws):
    """The visiting order (floor(int32(draw) / 4), ties by index) on draws
    made to collide: point i of the data is the value i."""
    n = len(draws)
    x = np.arange(n, dtype=np.uint8).reshape(n, 1)
    results = []
    for api in (vlfeat, ours):
        api.set_next_draws(draws)
        results.append(api.ikm_run(x, n, LLOYD, train=False)["init"].ravel())
    np.testing.assert_array_equal(results[0], results[1])
    key = np.asarray(draws, dtype=np.uint32).view(np.int32).astype(np.int64) // 4
    np.testing.assert_array_equal(results[1], np.argsort(key, kind="stable"))


@pytest.mark.parametrize("method", METHODS)
def test_init_rand_equals_vlfeat(vlfeat, ours, method):
    x = blobs(50, 7, 3)
    ref = vlfeat.ikm_run(x, 9, method, seed=3, init="rand", train=False)
    got = ours.ikm_run(x, 9, method, seed=3, init="rand", train=False)
    np.testing.assert_array_equal(ref["init"], got["init"])
    assert ref["next_draw"] == got["next_draw"]
    assert got["init"].min() < 0 or got["init"].max() > 255  # full 32-bit values, as VLFeat's


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("max_niters", [0, 1, 2, 5, 200])
@pytest.mark.parametrize(
    "shape", [(400, 2, 5, "blobs"), (600, 16, 12, "blobs"), (300, 3, 7, "coarse"), (80, 1, 6, "coarse")]
)
def test_train_equals_vlfeat(vlfeat, ours, method, max_niters, shape):
    n, m, k, kind = shape
    x = blobs(n, m, k // 2 + 1, seed=n + m) if kind == "blobs" else coarse(n, m, 9, seed=n)
    ref = vlfeat.ikm_run(x, k, method, seed=7, max_niters=max_niters)
    got = ours.ikm_run(x, k, method, seed=7, max_niters=max_niters)
    assert_same_run(ref, got)
    assert got["train_return"] == 0
    assert got["centers"].min() >= 0 and got["centers"].max() <= 255


@pytest.mark.parametrize("method", METHODS)
def test_train_many_random_problems_equal_vlfeat(vlfeat, ours, method):
    """Small problems with many ties: every rule (first minimum, strict
    moves, Elkan's pruning test) decides some of them."""
    rng = np.random.default_rng(100 + method)
    for _ in range(150):
        n = int(rng.integers(2, 60))
        m = int(rng.integers(1, 4))
        k = int(rng.integers(2, min(n, 8) + 1))
        x = coarse(n, m, int(rng.choice([4, 8, 16, 64])), seed=int(rng.integers(1 << 30)))
        s, niters = int(rng.integers(1 << 31)), int(rng.integers(1, 6))
        assert_same_run(vlfeat.ikm_run(x, k, method, s, niters), ours.ikm_run(x, k, method, s, niters))


@pytest.mark.parametrize("method", METHODS)
def test_train_from_given_centers_equals_vlfeat(vlfeat, ours, method):
    x = blobs(500, 6, 5, seed=9)
    rng = np.random.default_rng(4)
    for centers in (rng.integers(0, 256, size=(6, 6)), rng.integers(-3000, 3000, size=(6, 6))):
        assert_same_run(
            vlfeat.ikm_run(x, 6, method, init=centers, max_niters=50),
            ours.ikm_run(x, 6, method, init=centers, max_niters=50),
        )


def test_larger_problem_equals_vlfeat(vlfeat, ours):
    x = blobs(4000, 32, 40, seed=11, spread=30)
    for method in METHODS:
        assert_same_run(vlfeat.ikm_run(x, 32, method, 1, 20), ours.ikm_run(x, 32, method, 1, 20))


def test_push_one_equals_vlfeat(vlfeat, ours):
    rng = np.random.default_rng(6)
    centers = rng.integers(0, 256, size=(11, 5))
    centers[7] = centers[2]  # a tie: the first wins
    for x in rng.integers(0, 256, size=(200, 5)).astype(np.uint8):
        assert vlfeat.ikm_push_one(centers, x) == ours.ikm_push_one(centers, x)
    assert ours.ikm_push_one(centers, centers[7].astype(np.uint8)) == 2


def test_push_is_exact_where_vlfeat_overflows(ours):
    """VLFeat sums squared differences in 32 bits: a center 46341 away wraps
    to a negative distance and wins. libgmm computes exactly."""
    centers = np.array([[46341], [5]])
    assert ours.ikm_push_one(centers, np.array([0], dtype=np.uint8)) == 1
    huge = np.array([[-(2**31), -(2**31)], [2**31 - 1, 2**31 - 1]])
    assert ours.ikm_push_one(huge, np.array([0, 255], dtype=np.uint8)) == 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("k, depth", [(2, 1), (3, 3), (5, 2), (2, 6)])
def test_tree_equals_vlfeat(vlfeat, ours, method, k, depth):
    x = blobs(1200, 8, 10, seed=k * 10 + depth, spread=25)
    y = blobs(300, 8, 10, seed=99, spread=40)
    ref = vlfeat.hikm_run(x, k, depth, method, seed=3, push=y)
    assert not has_empty_node(ref["tree"])  # VLFeat crashes when a point reaches one
    got = ours.hikm_run(x, k, depth, method, seed=3, push=y)
    assert_same_tree(ref["tree"], got["tree"])
    for key in ("paths", "pushed", "next_draw"):
        np.testing.assert_array_equal(ref[key], got[key], err_msg=key)


@pytest.mark.parametrize("method", METHODS)
def test_trees_with_small_and_empty_nodes_equal_vlfeat(vlfeat, ours, method):
    """Few distinct points: nodes with fewer than K centers, duplicate centers
    and nodes that no point reaches (K = 0), as in VLFeat."""
    rng = np.random.default_rng(20 + method)
    empty = 0
    for _ in range(25):
        n = int(rng.integers(1, 120))
        x = coarse(n, int(rng.integers(1, 3)), int(rng.choice([2, 3, 5])), seed=int(rng.integers(1 << 30)))
        k, depth, s = int(rng.integers(2, 5)), int(rng.integers(1, 4)), int(rng.integers(1 << 31))
        niters = int(rng.integers(1, 30))
        ref = vlfeat.hikm_run(x, k, depth, method, s, max_niters=niters)
        got = ours.hikm_run(x, k, depth, method, s, max_niters=niters)
        assert_same_tree(ref["tree"], got["tree"])
        np.testing.assert_array_equal(ref["paths"], got["paths"])
        assert ref["next_draw"] == got["next_draw"]
        empty += has_empty_node(got["tree"])
    assert empty > 0


def test_tree_max_niters_equals_vlfeat(vlfeat, ours):
    x = blobs(800, 4, 12, seed=5, spread=35)
    for niters in (0, 1, 3):
        ref = vlfeat.hikm_run(x, 3, 3, ELKAN, seed=2, max_niters=niters)
        got = ours.hikm_run(x, 3, 3, ELKAN, seed=2, max_niters=niters)
        assert_same_tree(ref["tree"], got["tree"])


# ---- pyvl.ikmeans --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_python_api_equals_c_api(ours, method):
    x = blobs(700, 6, 8, seed=12)
    ref = ours.ikm_run(x, 8, method, seed=4, max_niters=30)
    f = vl_ikm_new(method)
    vl_ikm_set_max_niters(f, 30)
    seed(4)
    vl_ikm_init_rand_data(f, x, 6, 700, 8)
    np.testing.assert_array_equal(vl_ikm_get_centers(f).reshape(8, 6), ref["init"])
    assert vl_ikm_train(f, x) == 0
    np.testing.assert_array_equal(vl_ikm_get_centers(f).reshape(8, 6), ref["centers"])
    a = vl_ikm_push(f, x)
    assert a.dtype == np.uint32 and a.shape == (700,)
    np.testing.assert_array_equal(a, ref["assignments"])
    assert vl_ikm_get_K(f) == 8 and vl_ikm_get_ndims(f) == 6 and vl_ikm_get_max_niters(f) == 30
    c = vl_ikm_get_centers(f)
    assert c.dtype == np.int32 and c.shape == (48,)
    assert vl_ikm_push_one(c, x[17], 6, 8) == a[17]
    vl_ikm_delete(f)


def test_python_api_flat_data_num_data_and_layouts():
    x = blobs(400, 4, 5, seed=13)
    runs = []
    for data, n in ((x, None), (x.ravel(), None), (np.asfortranarray(x), None),
                    (np.vstack([x, x])[:400], 400), (np.vstack([x, x]), 400),
                    (np.repeat(x, 2, axis=1)[:, ::2], None)):
        f = vl_ikm_new(ELKAN)
        seed(8)
        vl_ikm_init_rand_data(f, data, 4, n, 6)
        vl_ikm_train(f, data, n)
        runs.append((vl_ikm_get_centers(f), vl_ikm_push(f, data, n)))
        vl_ikm_delete(f)
    for c, a in runs[1:]:
        np.testing.assert_array_equal(c, runs[0][0])
        np.testing.assert_array_equal(a, runs[0][1])


def test_python_api_defaults_setters_and_init():
    f = vl_ikm_new()
    assert vl_ikm_get_K(f) == 0 and vl_ikm_get_centers(f) is None
    assert vl_ikm_get_max_niters(f) == 200 and vl_ikm_get_verbosity(f) == 0
    vl_ikm_set_verbosity(f, 2)
    vl_ikm_set_max_niters(f, 3)
    assert vl_ikm_get_verbosity(f) == 2 and vl_ikm_get_max_niters(f) == 3
    centers = np.array([[1, 2], [200, 100], [50, 60]], dtype=np.int64)
    vl_ikm_init(f, centers, 2, 3)
    np.testing.assert_array_equal(vl_ikm_get_centers(f), centers.ravel())
    vl_ikm_init(f, centers.astype(np.float64).ravel(), 2, 3)  # integer-valued floats
    np.testing.assert_array_equal(vl_ikm_get_centers(f), centers.ravel())
    seed(1)
    vl_ikm_init_rand(f, 3, 4)
    assert vl_ikm_get_centers(f).shape == (12,)
    assert "Lloyd" in repr(f) and "K=4" in repr(f)
    vl_ikm_delete(f)
    assert repr(f) == "<VlIKMFilt deleted>"


def test_python_api_results_do_not_depend_on_threads(threads):
    x = blobs(12000, 24, 30, seed=14)  # N K M above the parallel threshold
    results = []
    for n in (1, 2):
        pyvl.vl_set_num_threads(n)
        f = vl_ikm_new(ELKAN)
        seed(2)
        vl_ikm_init_rand_data(f, x, 24, None, 24)
        vl_ikm_train(f, x)
        results.append((vl_ikm_get_centers(f), vl_ikm_push(f, x)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_python_api_verbose_output(capsys):
    x = blobs(300, 3, 4, seed=15)
    f = vl_ikm_new(ELKAN)
    seed(1)
    vl_ikm_init_rand_data(f, x, 3, None, 4)
    vl_ikm_train(f, x)
    assert capsys.readouterr().out == ""
    vl_ikm_set_verbosity(f, 1)
    vl_ikm_train(f, x)
    out = capsys.readouterr().out
    assert "ikm: training with 300 data" in out and "ikm: 4 clusters" in out
    assert "Elkan algorithm: total iterations" in out


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda f, x: vl_ikm_init_rand_data(f, x.astype(np.int64), 3, None, 2), TypeError, "uint8"),
        (lambda f, x: vl_ikm_init_rand_data(f, x.astype(np.float32), 3, None, 2), TypeError, "uint8"),
        (lambda f, x: vl_ikm_init_rand_data(f, x.tolist(), 3, None, 2), TypeError, "uint8"),
        (lambda f, x: vl_ikm_init_rand_data(f, None, 3, None, 2), TypeError, "None"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 3, None, 0), ValueError, "K is 0"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 3, None, 11), ValueError, "exceed the N = 10"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 0, None, 2), ValueError, "dimension"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 4, None, 2), ValueError, "expected \\(N, 4\\)"),
        (lambda f, x: vl_ikm_init_rand_data(f, x.ravel()[:-1], 3, None, 2), ValueError, "multiple"),
        (lambda f, x: vl_ikm_init_rand_data(f, x[None], 3, None, 2), ValueError, "1-D"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 3, 11, 2), ValueError, "num_data = 11"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 3, -1, 2), ValueError, ">= 0"),
        (lambda f, x: vl_ikm_init_rand_data(f, x, 3, None, 2.0), TypeError, "integer"),
        (lambda f, x: vl_ikm_train(f, x), pyvl.StateError, "no centers"),
        (lambda f, x: vl_ikm_push(f, x), pyvl.StateError, "no centers"),
        (lambda f, x: vl_ikm_init(f, [[1, 2, 3]], 3, 2), ValueError, "6 values"),
        (lambda f, x: vl_ikm_init(f, [[1.0, np.nan, 3.0]], 3, 1), ValueError, "NaN"),
        (lambda f, x: vl_ikm_init(f, [[1.0, np.inf, 3.0]], 3, 1), ValueError, "NaN or Inf"),
        (lambda f, x: vl_ikm_init(f, [[1.5, 2, 3]], 3, 1), ValueError, "integers"),
        (lambda f, x: vl_ikm_init(f, [[2**31, 2, 3]], 3, 1), ValueError, "int32"),
        (lambda f, x: vl_ikm_init(f, np.array([["a", "b", "c"]]), 3, 1), TypeError, "integer"),
        (lambda f, x: vl_ikm_init(f, [[1, 2, 3]], 3, 0), ValueError, "0 values|K is 0"),
        (lambda f, x: vl_ikm_init_rand(f, 3, 0), ValueError, "K is 0"),
        (lambda f, x: vl_ikm_set_max_niters(f, -1), ValueError, ">= 0"),
        (lambda f, x: vl_ikm_set_verbosity(f, 2**40), ValueError, "C int"),
        (lambda f, x: vl_ikm_push_one([[1, 2, 3]], x[:2], 3, 1), ValueError, "one point"),
        (lambda f, x: vl_ikm_push_one([[1, 2, 3]], x[0], 3, 0), ValueError, "0 values|K is 0"),
        (lambda f, x: vl_ikm_new(2), ValueError, "unknown method"),
        (lambda f, x: vl_ikm_train("filter", x), TypeError, "VlIKMFilt"),
    ],
)
def test_python_api_bad_input(call, exc, match):
    x = coarse(10, 3, 256, seed=16)
    f = vl_ikm_new(LLOYD)
    with pytest.raises(exc, match=match):
        call(f, x)
    # the filter is unchanged and usable
    assert vl_ikm_get_K(f) == 0
    vl_ikm_init_rand_data(f, x, 3, None, 2)
    assert vl_ikm_train(f, x) == 0


def test_python_api_filters_pickle_and_copy():
    import copy
    import pickle

    x = blobs(300, 4, 5, seed=33)
    f = vl_ikm_new(ELKAN)
    vl_ikm_set_max_niters(f, 17)
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):  # no centers yet
        assert g.method == ELKAN and vl_ikm_get_max_niters(g) == 17 and vl_ikm_get_centers(g) is None
    seed(3)
    vl_ikm_init_rand_data(f, x, 4, None, 5)
    vl_ikm_train(f, x)
    g = pickle.loads(pickle.dumps(f))
    assert g.address() != f.address()
    np.testing.assert_array_equal(vl_ikm_get_centers(g), vl_ikm_get_centers(f))
    np.testing.assert_array_equal(vl_ikm_push(g, x), vl_ikm_push(f, x))
    t = vl_hikm_new()
    vl_hikm_init(t, 4, 3, 2)
    vl_hikm_train(t, x)
    h = copy.copy(vl_hikm_get_root(t).filter)  # an owned copy of a node's filter
    assert not h.read_only
    vl_ikm_train(h, x)
    for dump in (pickle.dumps, copy.copy):
        with pytest.raises(TypeError, match="VlHIKMTree cannot be pickled"):
            dump(t)
    vl_hikm_delete(t)
    assert vl_ikm_get_K(h) == 3


def test_python_api_delete_is_final():
    f = vl_ikm_new()
    vl_ikm_delete(f)
    for call in (lambda: vl_ikm_get_K(f), lambda: vl_ikm_delete(f), lambda: vl_ikm_init_rand(f, 2, 2)):
        with pytest.raises(pyvl.StateError, match="deleted"):
            call()


# ---- pyvl.hikmeans ---------------------------------------------------------------------------


def python_tree(node) -> dict:
    kids = node.children
    return {"centers": node.centers, "children": None if kids is None else [python_tree(c) for c in kids]}


@pytest.mark.parametrize("method", METHODS)
def test_python_tree_equals_c_api(ours, method):
    x = blobs(900, 5, 9, seed=17)
    y = blobs(100, 5, 9, seed=18)
    ref = ours.hikm_run(x, 3, 3, method, seed=6, push=y)
    t = vl_hikm_new(method)
    vl_hikm_init(t, 5, 3, 3)
    seed(6)
    vl_hikm_train(t, x)
    root = vl_hikm_get_root(t)
    assert_same_tree(ref["tree"], python_tree(root))
    p = vl_hikm_push(t, x)
    assert p.dtype == np.uint32 and p.shape == (900, 3)
    np.testing.assert_array_equal(p, ref["paths"])
    np.testing.assert_array_equal(vl_hikm_push(t, y.ravel(), 100), ref["pushed"])
    assert (vl_hikm_get_K(t), vl_hikm_get_depth(t), vl_hikm_get_ndims(t)) == (3, 3, 5)
    assert vl_hikm_get_max_niters(t) == 200 and vl_hikm_get_verbosity(t) == 0
    assert root.K == 3 and root.filter.read_only and vl_ikm_get_K(root.filter) == 3
    np.testing.assert_array_equal(vl_ikm_push(root.filter, x), p[:, 0])
    vl_hikm_delete(t)


def test_python_tree_nodes_keep_the_tree_alive():
    x = blobs(500, 3, 6, seed=19)
    t = vl_hikm_new()
    vl_hikm_init(t, 3, 2, 4)
    seed(1)
    vl_hikm_train(t, x)
    leaf = vl_hikm_get_root(t).children[1].children[0].children[1]
    f = leaf.filter
    expected = leaf.centers.copy()
    del t
    gc.collect()
    np.testing.assert_array_equal(leaf.centers, expected)  # the C tree is still there
    assert vl_ikm_get_K(f) == expected.shape[0] and leaf.children is None


def test_python_tree_node_filter_alone_keeps_the_tree_alive():
    x = blobs(500, 3, 6, seed=34)
    t = vl_hikm_new(ELKAN)
    vl_hikm_init(t, 3, 3, 3)
    seed(2)
    vl_hikm_train(t, x)
    f = vl_hikm_get_root(t).children[2].filter
    expected = (vl_ikm_get_centers(f), vl_ikm_push(f, x))
    del t
    gc.collect()  # only the filter is left: it holds its node, which holds the tree
    np.testing.assert_array_equal(vl_ikm_get_centers(f), expected[0])
    np.testing.assert_array_equal(vl_ikm_push(f, x), expected[1])


@pytest.mark.parametrize("name", ["ikmeans", "hikmeans"])
def test_modules_are_attributes_of_a_fresh_import(name):
    code = f"import pyvl, importlib; m = pyvl.{name}; assert m is importlib.import_module('pyvl.{name}')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def assert_node_gone(node, f, x) -> None:
    assert not node.valid
    with pytest.raises(pyvl.StateError, match="no longer exists"):
        _ = node.centers
    with pytest.raises(pyvl.StateError, match="no longer exists"):
        _ = node.children
    with pytest.raises(pyvl.StateError, match="no longer exists"):
        vl_ikm_get_K(f)
    with pytest.raises(pyvl.StateError, match="no longer exists"):
        vl_ikm_push(f, x)
    assert "tree gone" in repr(node) and "deleted" in repr(f)


def test_python_tree_nodes_notice_retraining_and_deletion():
    x = blobs(300, 2, 4, seed=20)
    t = vl_hikm_new(ELKAN)
    vl_hikm_init(t, 2, 3, 2)
    vl_hikm_train(t, x)
    node = vl_hikm_get_root(t).children[0]
    f = node.filter
    vl_hikm_train(t, x)  # retrained: the old nodes are freed
    assert_node_gone(node, f, x)
    node = vl_hikm_get_root(t).children[0]
    f = node.filter
    assert node.valid and vl_ikm_get_K(f) == 3
    vl_hikm_init(t, 2, 3, 2)  # re-initialised
    assert_node_gone(node, f, x)
    vl_hikm_train(t, x)
    node = vl_hikm_get_root(t)
    f = node.filter
    with pytest.raises(ValueError, match="N = 0"):  # a failed training keeps the tree
        vl_hikm_train(t, x[:0])
    assert node.valid
    vl_hikm_delete(t)
    assert_node_gone(node, f, x)


def test_python_tree_node_filters_are_read_only():
    x = blobs(200, 2, 4, seed=21)
    t = vl_hikm_new()
    vl_hikm_init(t, 2, 2, 2)
    vl_hikm_train(t, x)
    f = vl_hikm_get_root(t).filter
    for change in (
        lambda: vl_ikm_init(f, [[1, 2]], 2, 1),
        lambda: vl_ikm_init_rand(f, 2, 2),
        lambda: vl_ikm_init_rand_data(f, x, 2, None, 2),
        lambda: vl_ikm_train(f, x),
        lambda: vl_ikm_set_max_niters(f, 1),
        lambda: vl_ikm_set_verbosity(f, 1),
        lambda: vl_ikm_delete(f),
    ):
        with pytest.raises(pyvl.StateError, match="tree"):
            change()
    assert vl_ikm_get_K(f) == 2 and "(tree node)" in repr(f)
    with vl_hikm_get_root(t).filter as g:  # leaving the block leaves the tree's filter alone
        assert vl_ikm_get_K(g) == 2
    assert vl_ikm_get_K(f) == 2 and vl_hikm_push(t, x).shape == (200, 2)
    with vl_ikm_new() as h:  # a filter of its own is freed
        pass
    with pytest.raises(pyvl.StateError, match="deleted"):
        vl_ikm_get_K(h)


def test_python_tree_empty_nodes_and_points_reaching_them():
    x = np.array([[5]] * 6 + [[9]] * 2, dtype=np.uint8)
    t = vl_hikm_new()
    vl_hikm_init(t, 1, 3, 3)
    seed(1)
    vl_hikm_train(t, x)
    root = vl_hikm_get_root(t)
    kinds = [c.K for c in root.children]
    assert 0 in kinds
    empty = kinds.index(0)
    node = root.children[empty]
    assert node.children is None and node.centers.shape == (0, 1)
    assert root.centers[empty, 0] == 0  # the duplicate center lost its points
    np.testing.assert_array_equal(vl_hikm_push(t, np.array([[0]], dtype=np.uint8)), [[empty, 0, 0]])


def test_python_tree_verbose_output(capsys):
    x = blobs(300, 2, 4, seed=22)
    t = vl_hikm_new()
    vl_hikm_init(t, 2, 3, 2)
    vl_hikm_train(t, x)
    assert capsys.readouterr().out == ""
    vl_hikm_set_verbosity(t, 1)
    vl_hikm_train(t, x)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"hikmeans: branch at depth 0: {p:5.1f} % completed" for p in (100 / 3, 200 / 3, 100)]
    vl_hikm_set_verbosity(t, 2)
    vl_hikm_train(t, x)
    assert "ikm: training with 300 data" in capsys.readouterr().out


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda t, x: vl_hikm_train(t, x), pyvl.StateError, "vl_hikm_init"),
        (lambda t, x: vl_hikm_push(t, x), pyvl.StateError, "not trained"),
        (lambda t, x: vl_hikm_init(t, 3, 0, 2), ValueError, ">= 1"),
        (lambda t, x: vl_hikm_init(t, 3, 2, 0), ValueError, ">= 1"),
        (lambda t, x: vl_hikm_set_max_niters(t, -2), ValueError, ">= 0"),
        (lambda t, x: vl_hikm_new(5), ValueError, "unknown method"),
        (lambda t, x: vl_hikm_get_root(object()), TypeError, "VlHIKMTree"),
    ],
)
def test_python_tree_bad_input(call, exc, match):
    x = coarse(20, 3, 256, seed=23)
    t = vl_hikm_new()
    with pytest.raises(exc, match=match):
        call(t, x)


def test_python_tree_bad_data():
    x = coarse(20, 3, 256, seed=23)
    t = vl_hikm_new()
    vl_hikm_init(t, 3, 2, 2)
    with pytest.raises(TypeError, match="uint8"):
        vl_hikm_train(t, x.astype(np.float64))
    with pytest.raises(ValueError, match="expected \\(N, 3\\)"):
        vl_hikm_train(t, x[:, :2])
    with pytest.raises(ValueError, match="N = 0"):
        vl_hikm_train(t, x[:0])
    assert vl_hikm_get_root(t) is None
    vl_hikm_train(t, x)
    with pytest.raises(TypeError, match="uint8"):
        vl_hikm_push(t, x.astype(np.int32))
    np.testing.assert_array_equal(vl_hikm_push(t, x[::2]), vl_hikm_push(t, np.ascontiguousarray(x[::2])))


# ---- pyvl.compat.cyvlfeat ----------------------------------------------------------------------

CYVLFEAT_SIGNATURES = {
    "ikmeans": [("data", inspect.Parameter.empty), ("num_centers", inspect.Parameter.empty),
                ("algorithm", "LLOYD"), ("max_num_iterations", 200), ("verbose", False)],
    "ikmeans_push": [("data", inspect.Parameter.empty), ("centers", inspect.Parameter.empty)],
    "hikmeans": [("data", inspect.Parameter.empty), ("num_centers", inspect.Parameter.empty),
                 ("num_leaves", inspect.Parameter.empty), ("algorithm", "LLOYD"), ("verbose", False)],
    "hikmeans_push": [("data", inspect.Parameter.empty), ("py_tree", inspect.Parameter.empty),
                      ("verbose", False)],
}


@pytest.mark.parametrize("name", sorted(CYVLFEAT_SIGNATURES))
def test_compat_signature_is_cyvlfeats(name):
    params = list(inspect.signature(getattr(cy, name)).parameters.values())
    assert [(p.name, p.default) for p in params] == CYVLFEAT_SIGNATURES[name]
    assert all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params)
    assert getattr(cy, name).__doc__
    assert name in cy.__all__


def cyvlfeat_ikmeans_on(api: VLApi, x, k, method, s, niters=200):
    """cyvlfeat's cy_ikmeans: new, verbosity, max iterations, init_rand_data, train, push."""
    run = api.ikm_run(x, k, method, seed=s, max_niters=niters)
    return run["centers"], run["assignments"]


@pytest.mark.parametrize("algorithm", ["LLOYD", "ELKAN", "elkan"])
def test_compat_ikmeans_equals_vlfeat(vlfeat, algorithm):
    x = blobs(800, 10, 8, seed=24)
    seed(3)
    centers, assignments = ikmeans(x, 8, algorithm=algorithm, max_num_iterations=50)
    ref = cyvlfeat_ikmeans_on(vlfeat, x, 8, ELKAN if algorithm.upper() == "ELKAN" else LLOYD, 3, 50)
    assert centers.dtype == np.int32 and centers.shape == (8, 10)
    assert assignments.dtype == np.uint32 and assignments.shape == (800,)
    np.testing.assert_array_equal(centers, ref[0])
    np.testing.assert_array_equal(assignments, ref[1])
    np.testing.assert_array_equal(ikmeans_push(x, centers), assignments)


def test_compat_ikmeans_push_equals_vlfeat(vlfeat):
    rng = np.random.default_rng(25)
    centers = rng.integers(0, 256, size=(9, 4)).astype(np.int32)
    x = rng.integers(0, 256, size=(300, 4)).astype(np.uint8)
    ref = np.array([vlfeat.ikm_push_one(centers, p) for p in x], dtype=np.uint32)
    np.testing.assert_array_equal(ikmeans_push(x, centers), ref)
    np.testing.assert_array_equal(ikmeans_push(x, centers.astype(np.int64)), ref)
    np.testing.assert_array_equal(ikmeans_push(x, centers.astype(np.float64)), ref)
    np.testing.assert_array_equal(ikmeans_push(np.asfortranarray(x), centers[:, :]), ref)


def to_dict(node: PyHIKMNode) -> dict:
    return {"centers": node.centers, "children": [to_dict(c) for c in node.children] or None}


@pytest.mark.parametrize("algorithm", ["LLOYD", "ELKAN"])
@pytest.mark.parametrize("k, leaves", [(2, 8), (3, 10), (4, 4), (10, 100)])
def test_compat_hikmeans_equals_vlfeat(vlfeat, algorithm, k, leaves):
    x = blobs(1500, 6, 12, seed=26 + k)
    y = blobs(200, 6, 12, seed=27)
    depth = max(1, math.ceil(math.log(leaves) / math.log(k)))
    seed(5)
    tree, paths = hikmeans(x, k, leaves, algorithm=algorithm)
    ref = vlfeat.hikm_run(x, k, depth, ELKAN if algorithm == "ELKAN" else LLOYD, seed=5, push=y)
    assert isinstance(tree, PyHIKMTree) and (tree.K, tree.depth) == (k, depth)
    assert paths.dtype == np.uint32 and paths.shape == (1500, depth)
    assert tree.centers.dtype == np.int32
    ref_tree = ref["tree"]
    # a PyHIKMNode has children == [] at the leaves (None in the C walk)
    assert_same_tree(ref_tree, to_dict(tree))
    np.testing.assert_array_equal(paths, ref["paths"])
    assert not has_empty_node(ref_tree)
    np.testing.assert_array_equal(hikmeans_push(y, tree), ref["pushed"])
    np.testing.assert_array_equal(hikmeans_push(x, tree), paths)


def test_compat_hikmeans_depth_is_cyvlfeats_formula():
    """log(125) / log(5) is 3.0000000000000004 in floating point: cyvlfeat's
    depth is 4, and so is this one."""
    x = blobs(700, 2, 30, seed=28, spread=60)
    tree, paths = hikmeans(x, 5, 125)
    assert tree.depth == 4 and paths.shape == (700, 4)
    assert hikmeans(x, 3, 1)[0].depth == 1


def test_compat_hikmeans_push_empty_nodes_and_hand_built_trees():
    x = np.array([[5]] * 6 + [[9]] * 2, dtype=np.uint8)
    seed(1)
    tree, paths = hikmeans(x, 3, 27)
    empties = [i for i, c in enumerate(tree.children) if c.centers.shape[0] == 0]
    assert empties and tree.children[empties[0]].children == []
    np.testing.assert_array_equal(hikmeans_push(x, tree), paths)
    np.testing.assert_array_equal(hikmeans_push(np.array([[0]], dtype=np.uint8), tree), [[empties[0], 0, 0]])
    # a tree built by hand: a leaf above the last level gives 0 below it
    t = PyHIKMTree(2, 3)
    t.centers = np.array([[0], [100]], dtype=np.int32)
    a, b = PyHIKMNode(), PyHIKMNode()
    a.centers, b.centers = np.array([[10], [20]], dtype=np.int32), np.array([[90]], dtype=np.int32)
    t.children = [a, b]
    np.testing.assert_array_equal(
        hikmeans_push(np.array([[18], [95]], dtype=np.uint8), t), [[0, 1, 0], [1, 0, 0]]
    )


def test_compat_verbose(capsys):
    x = blobs(300, 2, 4, seed=29)
    ikmeans(x, 3, verbose=True)
    out = capsys.readouterr().out
    assert "ikm: training with 300 data" in out and out.rstrip().endswith("ikmeans: done")
    tree, _ = hikmeans(x, 3, 9, verbose=True)
    out = capsys.readouterr().out
    for line in ("hikmeans: # dims: 2", "hikmeans: # data: 300", "hikmeans: K: 3", "hikmeans: depth: 2",
                 "hikmeans: branch at depth 0", "hikmeans: done."):
        assert line in out
    hikmeans_push(x, tree, verbose=True)
    assert capsys.readouterr().out == "vl_hikmeanspush: ndims: 2 K: 3 depth: 2\n"
    ikmeans(x, 3)
    hikmeans(x, 3, 9)
    assert capsys.readouterr().out == ""


def test_compat_accepts_non_contiguous_and_numpy_integers():
    x = blobs(400, 6, 5, seed=30)
    seed(2)
    ref = ikmeans(x, 5)
    seed(2)
    got = ikmeans(np.asfortranarray(x), np.int64(5), max_num_iterations=np.int32(200))
    for u, v in zip(ref, got):
        np.testing.assert_array_equal(u, v)
    wide = np.zeros((400, 12), dtype=np.uint8)
    wide[:, ::2] = x
    seed(2)
    np.testing.assert_array_equal(ikmeans(wide[:, ::2], 5)[0], ref[0])
    seed(4)
    t1, p1 = hikmeans(x, 2, 4)
    seed(4)
    t2, p2 = hikmeans(wide[:, ::2], np.uint8(2), np.int16(4))
    np.testing.assert_array_equal(p1, p2)
    assert_same_tree(to_dict(t1), to_dict(t2))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: ikmeans(x.astype(np.float32), 3), "uint8"),
        (lambda x: ikmeans(x.astype(np.int32), 3), "uint8"),
        (lambda x: ikmeans(x.ravel(), 3), "2-D"),
        (lambda x: ikmeans(None, 3), "required"),
        (lambda x: ikmeans(x[:, :0], 3), "column"),
        (lambda x: ikmeans(x, 0), "num_centers"),
        (lambda x: ikmeans(x, 21), "no larger than the number of data points 20"),
        (lambda x: ikmeans(x, 3.0), "num_centers"),
        (lambda x: ikmeans(x, True), "num_centers"),
        (lambda x: ikmeans(x, 3, algorithm="ANN"), "algorithm"),
        (lambda x: ikmeans(x, 3, algorithm=None), "algorithm"),
        (lambda x: ikmeans(x, 3, max_num_iterations=0), "max_num_iterations"),
        (lambda x: ikmeans_push(x.astype(np.float64), np.zeros((2, 3), np.int32)), "uint8"),
        (lambda x: ikmeans_push(x, np.zeros((2, 4), np.int32)), "same dimension"),
        (lambda x: ikmeans_push(x, np.zeros((0, 3), np.int32)), "at least one row"),
        (lambda x: ikmeans_push(x, np.zeros(3, np.int32)), "2-D"),
        (lambda x: ikmeans_push(x, None), "required"),
        (lambda x: ikmeans_push(x, np.array([[np.nan, 1, 2]])), "NaN"),
        (lambda x: ikmeans_push(x, np.array([[0.5, 1, 2]])), "integers"),
        (lambda x: ikmeans_push(x, np.array([[2**40, 1, 2]])), "int32"),
        (lambda x: ikmeans_push(x, np.array([["a", "b", "c"]])), "integer array"),
        (lambda x: hikmeans(x.astype(np.float64), 2, 4), "uint8"),
        (lambda x: hikmeans(x, 1, 4), "num_centers must be an integer >= 2"),
        (lambda x: hikmeans(x, 21, 4), "no larger"),
        (lambda x: hikmeans(x, 2, 0), "num_leaves"),
        (lambda x: hikmeans(x, 2, 4, algorithm="fast"), "algorithm"),
        (lambda x: hikmeans_push(x, "tree"), "PyHIKMTree"),
        (lambda x: hikmeans_push(x.astype(np.int8), PyHIKMTree(2, 2)), "uint8"),
    ],
)
def test_compat_bad_input(call, match):
    x = coarse(20, 3, 256, seed=31)
    with pytest.raises(ValueError, match=match):
        call(x)


def test_compat_hikmeans_push_rejects_inconsistent_trees():
    x = coarse(20, 3, 256, seed=32)
    seed(1)
    tree, _ = hikmeans(x, 2, 4)
    with pytest.raises(ValueError, match="columns"):
        hikmeans_push(x[:, :2], tree)
    tree.children[1].centers = np.zeros((3, 3), np.int32)  # more than K
    with pytest.raises(ValueError, match="more than the tree's K"):
        hikmeans_push(x, tree)
    tree.children[1].centers = np.zeros((1, 3), np.int32)  # a leaf: fine
    hikmeans_push(x, tree)
    root_centers, tree.centers = tree.centers, np.zeros((1, 3), np.int32)  # 1 center, 2 children
    with pytest.raises(ValueError, match="2 children for 1 centers"):
        hikmeans_push(x, tree)
    tree.centers = root_centers
    tree.children[1] = "node"
    with pytest.raises(ValueError, match="PyHIKMNode"):
        hikmeans_push(x, tree)
    tree.depth = 0
    with pytest.raises(ValueError, match="depth"):
        hikmeans_push(x, tree)
