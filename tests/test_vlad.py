"""VLAD: libgmm against VLFeat (same ctypes code, tests/vlapi.py), and the batch path.

All 16 flag combinations, float and double, one descriptor, no descriptors,
an empty cluster, soft weights, negative and NaN weights (ignored); agreement
to 1e-5 (float) / 1e-10 (double) relative to max|enc|. The batch encoder
with hard assignments computed in C equals the batch with explicit one-hot
rows, and every batch row equals the single-image encoding bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, c_vlad, mixture_data

import pyvl
from pyvl.vlad import (
    VL_VLAD_FLAG_NORMALIZE_COMPONENTS,
    VL_VLAD_FLAG_NORMALIZE_MASS,
    VL_VLAD_FLAG_SQUARE_ROOT,
    VL_VLAD_FLAG_UNNORMALIZED,
    vl_vlad_encode,
    vlad_encode_batch,
)

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-10}
FLAGS = list(range(16))


def nearest(x, centers):
    d2 = ((x[:, None, :].astype(np.float64) - centers[None].astype(np.float64)) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1)


def one_hot(x, centers):
    return np.eye(centers.shape[0], dtype=centers.dtype)[nearest(x, centers)]


def problem(n, d, k, dtype, seed=0):
    x = mixture_data(max(n, 1), d, k, np.float64, seed=seed)[:n]
    rng = np.random.default_rng(seed)
    centers = x[rng.choice(n, size=k, replace=False)] if n >= k else rng.normal(size=(k, d)) * 3
    return centers.astype(dtype), x.astype(dtype)


CASES = {
    "hard": lambda x, c, rng: one_hot(x, c),
    "soft": lambda x, c, rng: rng.dirichlet(np.ones(c.shape[0]), size=x.shape[0]),
    "unnormalised-soft": lambda x, c, rng: rng.uniform(0, 3, size=(x.shape[0], c.shape[0])),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(
    "shape", [(500, 8, 6), (1, 3, 2), (40, 1, 3)], ids=lambda s: "N%d-D%d-K%d" % s
)
def test_vlfeat(ours, vlfeat, dtype, flags, case, shape):
    centers, x = problem(*shape, dtype, seed=sum(shape))
    a = CASES[case](x, centers, np.random.default_rng(flags)).astype(dtype)
    ea = c_vlad(ours, centers, x, a, flags)
    eb = c_vlad(vlfeat, centers, x, a, flags)
    assert_close(ea, eb, TOL[dtype])
    np.testing.assert_array_equal(vl_vlad_encode(centers, x, a, flags), ea)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
def test_vlfeat_empty_cluster_and_ignored_weights(ours, vlfeat, dtype, flags):
    """Center 2 gets no weight (zeros, its mean not subtracted); negative and NaN
    weights count as nothing."""
    centers, x = problem(300, 5, 4, dtype, seed=5)
    rng = np.random.default_rng(flags)
    a = rng.uniform(0, 1, size=(300, 4)).astype(dtype)
    a[:, 2] = 0
    a[::7, 0] = -1.5
    a[::11, 1] = np.nan
    a[::13, 3] = -np.inf
    ea = c_vlad(ours, centers, x, a, flags)
    eb = c_vlad(vlfeat, centers, x, a, flags)
    assert np.all(np.isfinite(ea))
    assert_close(ea, eb, TOL[dtype])
    assert np.all(ea[2 * 5 : 3 * 5] == 0)
    cleaned = np.where(a > 0, a, 0).astype(dtype)
    np.testing.assert_array_equal(vl_vlad_encode(centers, x, cleaned, flags), ea)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
def test_vlfeat_no_descriptors(ours, vlfeat, dtype, flags):
    centers, _ = problem(10, 3, 2, dtype)
    x = np.zeros((0, 3), dtype=dtype)
    a = np.zeros((0, 2), dtype=dtype)
    ea = c_vlad(ours, centers, x, a, flags)
    assert np.all(ea == 0)
    np.testing.assert_array_equal(ea, c_vlad(vlfeat, centers, x, a, flags))


def test_flag_layout_by_hand():
    """K = 2, D = 1: each flag's effect computed by hand."""
    c = np.array([[0.0], [10.0]])
    x = np.array([[1.0], [3.0], [12.0]])
    a = np.array([[1.0, 0], [1, 0], [0, 1]])
    raw = np.array([4.0, 2.0])  # (1-0)+(3-0), 12-10
    np.testing.assert_allclose(vl_vlad_encode(c, x, a, VL_VLAD_FLAG_UNNORMALIZED), raw)
    np.testing.assert_allclose(vl_vlad_encode(c, x, a, 0), raw / np.linalg.norm(raw))
    np.testing.assert_allclose(
        vl_vlad_encode(c, x, a, VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_MASS), [2.0, 2.0]
    )
    np.testing.assert_allclose(
        vl_vlad_encode(c, x, a, VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_SQUARE_ROOT), np.sqrt(raw)
    )
    np.testing.assert_allclose(
        vl_vlad_encode(c, x, a, VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_COMPONENTS),
        [1.0, 1.0],
    )


# ---- batch -------------------------------------------------------------------------


def image_sets(x, cuts=(0, 1, 1, 30, 31, 250, 400)):
    return [x[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
def test_batch_hard_equals_one_hot_and_single(dtype, flags, threads):
    centers, x = problem(400, 7, 5, dtype, seed=9)
    sets = image_sets(x)
    hots = [one_hot(s, centers) for s in sets]
    for n_threads in (1, 2, 0):
        pyvl.vl_set_num_threads(n_threads)
        hard = vlad_encode_batch(centers, sets, None, flags)
        assert hard.shape == (len(sets), 35) and hard.dtype == dtype
        explicit = vlad_encode_batch(centers, sets, hots, flags)
        np.testing.assert_array_equal(hard, explicit)
        # one concatenated (N_total, K) array works too
        np.testing.assert_array_equal(
            vlad_encode_batch(centers, sets, np.concatenate(hots), flags), hard
        )
        for j, s in enumerate(sets):
            np.testing.assert_array_equal(hard[j], vl_vlad_encode(centers, s, hots[j], flags))
        assert np.all(hard[1] == 0)  # the empty image


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_soft_equals_single(dtype):
    centers, x = problem(400, 4, 6, dtype, seed=10)
    sets = image_sets(x)
    rng = np.random.default_rng(0)
    weights = [rng.dirichlet(np.ones(6), size=len(s)).astype(dtype) for s in sets]
    flags = VL_VLAD_FLAG_SQUARE_ROOT | VL_VLAD_FLAG_NORMALIZE_COMPONENTS
    batch = vlad_encode_batch(centers, sets, weights, flags)
    for j, s in enumerate(sets):
        np.testing.assert_array_equal(batch[j], vl_vlad_encode(centers, s, weights[j], flags))


def test_errors():
    centers, x = problem(50, 3, 4, np.float64)
    a = one_hot(x, centers)
    with pytest.raises(ValueError, match="flag"):
        vl_vlad_encode(centers, x, a, 16)
    with pytest.raises(ValueError, match="assignments"):
        vl_vlad_encode(centers, x, a[:10], 0)
    with pytest.raises(ValueError, match="assignments"):
        vl_vlad_encode(centers, x, a[:, :3], 0)
    with pytest.raises(ValueError, match="means"):
        vl_vlad_encode(centers.ravel(), x, a, 0)
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN|Inf"):
        vl_vlad_encode(centers, bad, a, 0)
    with pytest.raises(ValueError, match="NaN|Inf"):
        vlad_encode_batch(centers, [x, bad])
    with pytest.raises(ValueError, match="assignments"):
        vlad_encode_batch(centers, [x[:10], x[10:]], [a[:10], a[10:20]])
    with pytest.raises(TypeError, match="list"):
        vlad_encode_batch(centers, x)
