"""Data safety of the encoders: finite input never gives NaN or Inf silently,
and a caller's offsets changing during a batch call never crash the process.

* Finite descriptors and parameters that pass every check, but whose sums or
  distances overflow the data type (float32 data x 1e20, covariances of
  1.4e-45, means of 3e38, float64 data near 1e308): the encoding is computed
  safely and matches a float64 NumPy reference, or, when the result itself is
  not representable in the data type, the call fails with libgmm's overflow
  error (``pyvl.SizeOverflowError``) instead of returning NaN or zeros.
* A second Python thread changing the offsets array in place while another
  thread runs the batch encoders (ctypes releases the GIL during the C call),
  in a subprocess so that a crash fails the test instead of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import reference as ref
from helpers import assert_close

import pyvl
from pyvl.bovw import VL_BOVW_FLAG_SOFT, bovw_encode, bovw_encode_gmm_batch
from pyvl.fisher import (
    VL_FISHER_FLAG_IMPROVED,
    VL_FISHER_FLAG_SQUARE_ROOT,
    fisher_encode_batch,
    vl_fisher_encode,
)
from pyvl.vlad import VL_VLAD_FLAG_UNNORMALIZED, vlad_encode_batch

K, D = 4, 6


def model(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(K, D)) * 3, rng.uniform(0.5, 2.0, size=(K, D)), rng.dirichlet(np.ones(K) * 3)


def descriptors(n: int = 300, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, D)) * 3


def fisher_ref(means, covs, priors, x, flags: int) -> np.ndarray:
    """Fisher vector in float64 (posteriors and priors below 1e-6 skipped)."""
    means, covs, priors, x = (np.asarray(a, np.float64) for a in (means, covs, priors, x))
    q, _ = ref.posteriors(x, means, covs, priors)
    q = np.where(q >= 1e-6, q, 0.0)
    n = x.shape[0]
    u = np.zeros((K, D))
    v = np.zeros((K, D))
    for k in range(K):
        if priors[k] < 1e-6:
            continue
        z = (x - means[k]) / np.sqrt(covs[k])
        u[k] = q[:, k] @ z / (n * np.sqrt(priors[k]))
        v[k] = q[:, k] @ (z * z - 1) / (n * np.sqrt(2 * priors[k]))
    enc = np.concatenate([u.ravel(), v.ravel()])
    if flags & VL_FISHER_FLAG_SQUARE_ROOT:
        enc = np.sign(enc) * np.sqrt(np.abs(enc))
    if flags & 2:
        enc = enc / max(np.linalg.norm(enc), 1e-12)
    return enc


# ---- Fisher ----------------------------------------------------------------------------


def test_fisher_float_data_scaled_by_1e20():
    m, c, p = model()
    x = descriptors() * 1e20
    mf, cf, pf, xf = (a.astype(np.float32) for a in (m, c, p, x))
    want = fisher_ref(mf, cf, pf, xf, VL_FISHER_FLAG_IMPROVED)
    assert_close(vl_fisher_encode(mf, cf, pf, xf, VL_FISHER_FLAG_IMPROVED), want, 1e-5)
    # the square root alone brings the values (~1e40) back into float's range
    want = fisher_ref(mf, cf, pf, xf, VL_FISHER_FLAG_SQUARE_ROOT)
    assert_close(vl_fisher_encode(mf, cf, pf, xf, VL_FISHER_FLAG_SQUARE_ROOT), want, 1e-5)
    # the plain vector does not fit float: an error, not Inf or NaN
    with pytest.raises(pyvl.SizeOverflowError, match="not representable"):
        vl_fisher_encode(mf, cf, pf, xf, 0)
    # the same in a batch, next to an ordinary image (whose row is unaffected)
    out = fisher_encode_batch(mf, cf, pf, [xf, descriptors(50).astype(np.float32)],
                              VL_FISHER_FLAG_IMPROVED)
    assert_close(out[0], fisher_ref(mf, cf, pf, xf, VL_FISHER_FLAG_IMPROVED), 1e-5)
    with pytest.raises(pyvl.SizeOverflowError, match="image 1"):
        fisher_encode_batch(mf, cf, pf, [descriptors(50).astype(np.float32), xf], 0)


def test_fisher_double_data_near_the_limit_is_an_error():
    m, c, p = model()
    x = np.full((10, D), 1e308)
    with pytest.raises(pyvl.SizeOverflowError, match="not representable"):
        vl_fisher_encode(m, c, p, x, VL_FISHER_FLAG_IMPROVED)
    # 1e150 still fits: the squared distances (1e300) do
    x = descriptors(20) * 1e150
    assert_close(vl_fisher_encode(m, c, p, x, VL_FISHER_FLAG_IMPROVED),
          fisher_ref(m, c, p, x, VL_FISHER_FLAG_IMPROVED), 1e-10)


def test_fisher_tiny_float_covariances():
    m, c, p = model()
    c = np.full((K, D), 1.4e-45, np.float32)  # the smallest float: 1/c = 7e44
    mf, pf = m.astype(np.float32), p.astype(np.float32)
    x = (m[np.arange(40) % K] + 1e-21 * np.random.default_rng(3).normal(size=(40, D))).astype(np.float32)
    want = fisher_ref(mf, c, pf, x, VL_FISHER_FLAG_IMPROVED)
    assert_close(vl_fisher_encode(mf, c, pf, x, VL_FISHER_FLAG_IMPROVED), want, 1e-5)
    with pytest.raises(pyvl.SizeOverflowError):
        vl_fisher_encode(mf, c, pf, x * 1e5, 0)


def test_fisher_huge_float_means():
    m, c, p = model()
    mf = (3e37 * np.sign(m) + m).astype(np.float32) * 10  # |means| up to 3e38
    cf, pf = c.astype(np.float32), p.astype(np.float32)
    x = descriptors(200).astype(np.float32)
    want = fisher_ref(mf, cf, pf, x, VL_FISHER_FLAG_IMPROVED)
    assert_close(vl_fisher_encode(mf, cf, pf, x, VL_FISHER_FLAG_IMPROVED), want, 1e-5)


def test_fisher_ordinary_input_unchanged_by_the_safe_path():
    """The safe path is only a fallback: ordinary data give the NumPy reference."""
    m, c, p = model()
    for dt, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        a = [t.astype(dt) for t in (m, c, p, descriptors())]
        for flags in range(4):
            assert_close(vl_fisher_encode(*a, flags), fisher_ref(*a, flags), tol)


# ---- VLAD ------------------------------------------------------------------------------


def vlad_ref(centers, x, flags: int = 0) -> np.ndarray:
    centers, x = np.asarray(centers, np.float64), np.asarray(x, np.float64)
    nearest = np.argmin(((x[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    v = np.zeros_like(centers)
    for k in range(K):
        sel = x[nearest == k]
        if len(sel):
            v[k] = (sel - centers[k]).sum(0)
    v = v.ravel()
    if not flags & VL_VLAD_FLAG_UNNORMALIZED:
        v = v / max(np.linalg.norm(v), 1e-12)
    return v


def test_vlad_float_data_far_from_every_center():
    m, _, _ = model()
    rng = np.random.default_rng(4)
    # points 1e20 away from the centers in float: every squared distance overflows float
    x = (np.float64(1e20) * (1 + 0.1 * rng.normal(size=(200, D)))).astype(np.float32)
    centers = (m + 1e19 * np.arange(K)[:, None]).astype(np.float32)
    got = vlad_encode_batch(centers, [x])[0]
    assert_close(got, vlad_ref(centers, x), 1e-5)
    # unnormalised sums of 3e37-sized descriptors do not fit float
    big = (x / np.float32(1e20) * np.float32(3e37)).astype(np.float32)
    with pytest.raises(pyvl.SizeOverflowError, match="not representable"):
        vlad_encode_batch(centers, [big], flags=VL_VLAD_FLAG_UNNORMALIZED)
    assert_close(vlad_encode_batch(centers, [big])[0], vlad_ref(centers, big), 1e-5)


def test_vlad_double_sums_that_overflow_are_an_error():
    m, _, _ = model()
    x = np.full((4, D), 1.5e308)
    with pytest.raises(pyvl.SizeOverflowError):
        vlad_encode_batch(m, [x])


# ---- bags of words ---------------------------------------------------------------------


def test_bovw_float_data_far_from_every_center():
    m, c, p = model()
    centers = (1e20 * np.arange(K)[:, None] + m).astype(np.float32)
    x = (np.float64(1e20) * (2.2 + 0.05 * np.random.default_rng(6).normal(size=(100, D)))).astype(np.float32)
    d2 = ((x.astype(np.float64)[:, None, :] - centers.astype(np.float64)[None]) ** 2).sum(-1)
    hard = np.bincount(np.argmin(d2, 1), minlength=K).astype(np.float64)
    assert_close(bovw_encode(centers, x), hard, 1e-6)
    sigma = 3e19
    w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * sigma**2))
    soft = (w / w.sum(1, keepdims=True)).sum(0)
    assert_close(bovw_encode(centers, x, sigma=sigma, flags=VL_BOVW_FLAG_SOFT), soft, 1e-5)
    # GMM votes: float distances overflow, the E-step is redone in double
    mf = centers
    cf = np.ones((K, D), np.float32)
    pf = p.astype(np.float32)
    q, _ = ref.posteriors(x.astype(np.float64), mf.astype(np.float64), cf.astype(np.float64),
                          pf.astype(np.float64))
    assert_close(bovw_encode_gmm_batch(mf, cf, pf, [x], VL_BOVW_FLAG_SOFT)[0], q.sum(0), 1e-5)


def test_bovw_double_data_too_far_is_an_error():
    m, c, p = model()
    x = np.full((3, D), 1e308)
    with pytest.raises(pyvl.SizeOverflowError):
        bovw_encode_gmm_batch(m, c, p, [x], VL_BOVW_FLAG_SOFT)
    # the codebook's nearest center is still found (distances of halved points)
    got = bovw_encode(m, np.full((3, D), 1e154))  # squared distances 6e308, halved 1.5e308
    want = np.zeros(K)
    want[np.argmin(((0.5e154 - 0.5 * m) ** 2).sum(1))] = 3
    assert_close(got, want, 0)


# ---- offsets changed by another thread during a batch call ------------------------------

RACE = textwrap.dedent(
    """
    import threading
    import numpy as np
    import pyvl
    from pyvl import bovw, fisher, vlad

    rng = np.random.default_rng(0)
    K, D, N = 4, 5, 600
    m = rng.normal(size=(K, D)).astype(np.float32)
    c = np.ones((K, D), np.float32)
    p = np.full(K, 0.25, np.float32)
    x = rng.normal(size=(N, D)).astype(np.float32)
    valid = np.array([0, 200, 450, N], dtype=np.uintp)
    # past the data and decreasing; any element-wise mix with `valid` is
    # either `valid` or decreasing somewhere
    invalid = np.array([0, 1 << 40, (1 << 40) + 1, 5], dtype=np.uintp)
    offsets = valid.copy()
    calls = [
        lambda: fisher.encode_sets(m, c, p, x, offsets, fisher.VL_FISHER_FLAG_IMPROVED),
        lambda: vlad.encode_sets(m, x, offsets),
        lambda: bovw.encode_sets(m, x, offsets),
        lambda: bovw.encode_gmm_sets(m, c, p, x, offsets, bovw.VL_BOVW_FLAG_SOFT),
    ]
    want = [f() for f in calls]
    stop = False

    def flip():
        while not stop:
            offsets[:] = invalid
            offsets[:] = valid

    t = threading.Thread(target=flip)
    t.start()
    ok = rejected = 0
    try:
        for i in range(CALLS):
            f = calls[i % 4]
            try:
                got = f()
            except ValueError:  # the invalid offsets seen by Python's or C's check
                rejected += 1
                continue
            assert got.tobytes() == want[i % 4].tobytes()
            ok += 1
    finally:
        stop = True
        t.join()
    print(ok, rejected)
    """
)


@pytest.mark.parametrize("threads", [1, 2])
def test_offsets_changed_by_another_thread(threads):
    code = f"import pyvl\npyvl.vl_set_num_threads({threads})\nCALLS = 1500\n" + RACE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ok, rejected = map(int, proc.stdout.split())
    assert ok + rejected == 1500
