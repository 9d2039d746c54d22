"""Fisher vectors: libgmm against VLFeat, a NumPy reference and scikit-image.

* VLFeat 0.9.21 and libgmm are driven through the same ctypes code
  (tests/vlapi.py): all 8 flag combinations, float and double, edge cases;
  the encodings agree to 1e-4 (float) / 1e-10 (double) relative to max|enc|
  and the term counts are equal.
* An independent NumPy reference of the unnormalised formula (posteriors from
  reference.posteriors, posteriors below 1e-6 and priors below 1e-6 skipped).
* scikit-image's ``fisher_vector`` on the same scikit-learn GMM, after
  undoing the documented differences (see test_skimage_fisher_vector and
  docs/encoders.md).
* pyvl.fisher's wrappers: same vector as the C call, batch == per image bit
  for bit, errors.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import reference as ref
from helpers import assert_close, c_fisher, mixture_data

import pyvl
from pyvl._core.lib import lib
from pyvl.fisher import (
    VL_FISHER_FLAG_FAST,
    VL_FISHER_FLAG_IMPROVED,
    VL_FISHER_FLAG_NORMALIZED,
    VL_FISHER_FLAG_SQUARE_ROOT,
    fisher_encode_batch,
    vl_fisher_encode,
)

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-4, np.float64: 1e-10}
FLAGS = list(range(8))  # every combination of SQUARE_ROOT (1), NORMALIZED (2), FAST (4)
SHAPES = [  # (N, D, K)
    (1, 3, 2),
    (1, 1, 1),
    (0, 4, 3),
    (7, 2, 5),
    (200, 1, 1),
    (500, 8, 5),
    (300, 16, 10),
]


def gmm_for(n: int, d: int, k: int, dtype, seed: int = 0):
    """A GMM (means, covariances, priors) and n descriptors from it."""
    rng = np.random.default_rng(seed + 100 * k + d)
    means = rng.normal(size=(k, d)) * 3
    covs = rng.uniform(0.3, 2.0, size=(k, d))
    priors = rng.dirichlet(np.ones(k) * 3)
    x = mixture_data(n, d, k, np.float64, seed=seed + n) if n else np.zeros((0, d))
    return [a.astype(dtype) for a in (means, covs, priors, x)]


def ssqrt(z):
    return np.sign(z) * np.sqrt(np.abs(z))


def fisher_reference(x, means, covs, priors, flags=0):
    """Independent float64 Fisher vector (spec section 3) and its term count."""
    x, means, covs, priors = (np.asarray(a, np.float64) for a in (x, means, covs, priors))
    n, d = x.shape
    k = means.shape[0]
    u = np.zeros((k, d))
    v = np.zeros((k, d))
    terms = 0
    if n:
        q, _ = ref.posteriors(x, means, covs, priors)
        if flags & VL_FISHER_FLAG_FAST:
            q = np.eye(k)[np.argmax(q, axis=1)]
        for j in range(k):
            if priors[j] < 1e-6:
                continue
            keep = q[:, j] >= 1e-6
            terms += int(keep.sum())
            z = (x[keep] - means[j]) / np.sqrt(covs[j])
            w = q[keep, j][:, None]
            u[j] = (w * z).sum(axis=0) / (n * np.sqrt(priors[j]))
            v[j] = (w * (z * z - 1)).sum(axis=0) / (n * np.sqrt(2 * priors[j]))
    enc = np.concatenate([u.ravel(), v.ravel()])
    if flags & VL_FISHER_FLAG_SQUARE_ROOT:
        enc = ssqrt(enc)
    if flags & VL_FISHER_FLAG_NORMALIZED and n:
        enc = enc / max(np.linalg.norm(enc), 1e-12)
    return enc, terms


# ---- against VLFeat ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N%d-D%d-K%d" % s)
@pytest.mark.parametrize("flags", FLAGS)
def test_vlfeat(ours, vlfeat, dtype, shape, flags):
    means, covs, priors, x = gmm_for(*shape, dtype)
    a, ta = c_fisher(ours, means, covs, priors, x, flags)
    b, tb = c_fisher(vlfeat, means, covs, priors, x, flags)
    assert_close(a, b, TOL[dtype])
    assert ta == tb
    if shape[0] == 0:
        assert ta == 0 and np.all(a == 0)
    # the Python wrapper gives the C function's vector
    w, tw = vl_fisher_encode(means, covs, priors, x, flags, return_num_terms=True)
    assert w.dtype == dtype
    np.testing.assert_array_equal(w, a)
    assert tw == ta


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
def test_vlfeat_far_descriptors(ours, vlfeat, dtype, flags):
    """Descriptors far from every component (+50): one component takes all."""
    means, covs, priors, x = gmm_for(100, 4, 3, dtype, seed=3)
    x = x + dtype(50)
    a, ta = c_fisher(ours, means, covs, priors, x, flags)
    b, tb = c_fisher(vlfeat, means, covs, priors, x, flags)
    assert np.all(np.isfinite(a))
    assert_close(a, b, TOL[dtype])
    assert ta == tb


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
def test_vlfeat_tiny_priors(ours, vlfeat, dtype, flags):
    """Components with a prior below 1e-6 are skipped (zeros); one just above is not."""
    means, covs, priors, x = gmm_for(300, 3, 4, dtype, seed=4)
    priors = np.array([0.6, 5e-7, 0.4 - 2e-6, 1.5e-6], dtype=dtype)
    a, ta = c_fisher(ours, means, covs, priors, x, flags)
    b, tb = c_fisher(vlfeat, means, covs, priors, x, flags)
    assert_close(a, b, TOL[dtype])
    assert ta == tb
    k, d = means.shape
    assert np.all(a[d : 2 * d] == 0) and np.all(a[k * d + d : k * d + 2 * d] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vlfeat_closed_form(ours, vlfeat, dtype):
    """K = 1, the spec's worked example: enc = (0.5, 1, -2, -0.530, 0, 2.121)."""
    x = np.array([[1, 2, -1]], dtype=dtype)
    args = [np.array(v, dtype=dtype) for v in ([[0, 1, 0]], [[4, 1, 0.25]], [1.0])]
    expected = [0.5, 1, -2, -0.75 / np.sqrt(2), 0, 3 / np.sqrt(2)]
    for api in (ours, vlfeat):
        enc, terms = c_fisher(api, *args, x, 0)
        np.testing.assert_allclose(enc, expected, rtol=1e-6)
        assert terms == 1


def test_unknown_flag_bit_is_an_error(ours):
    means, covs, priors, x = gmm_for(10, 3, 2, np.float64)
    with pytest.raises(ValueError, match="flag"):
        vl_fisher_encode(means, covs, priors, x, 8)
    with pytest.raises(ValueError, match="flag"):
        vl_fisher_encode(means, covs, priors, x, VL_FISHER_FLAG_IMPROVED | 16)
    # the C function itself rejects it too (not only the Python wrapper)
    with pytest.raises(pyvl.InvalidArgumentError, match="flags"):
        c_fisher_checked(means, covs, priors, x, 8)


def c_fisher_checked(means, covs, priors, x, flags):
    """The C function through pyvl's signature table (its errcheck raises)."""
    k, d = means.shape
    enc = np.zeros(2 * k * d)
    p = [np.ascontiguousarray(a).ctypes.data_as(ctypes.c_void_p) for a in (means, covs, priors, x)]
    return lib.vl_fisher_encode(
        enc.ctypes.data_as(ctypes.c_void_p), 2, p[0], d, k, p[1], p[2], p[3], x.shape[0], flags
    )


# ---- against an independent NumPy reference ----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N%d-D%d-K%d" % s)
@pytest.mark.parametrize(
    "flags",
    [
        0,
        VL_FISHER_FLAG_SQUARE_ROOT,
        VL_FISHER_FLAG_IMPROVED,
        VL_FISHER_FLAG_FAST,
        VL_FISHER_FLAG_FAST | VL_FISHER_FLAG_NORMALIZED,
    ],
)
def test_reference(dtype, shape, flags):
    means, covs, priors, x = gmm_for(*shape, dtype, seed=7)
    enc, terms = vl_fisher_encode(means, covs, priors, x, flags, return_num_terms=True)
    expected, expected_terms = fisher_reference(x, means, covs, priors, flags)
    assert_close(enc, expected, TOL[dtype])
    if dtype == np.float64:
        assert terms == expected_terms
    else:  # float posteriors may cross the 1e-6 threshold differently
        assert abs(terms - expected_terms) <= max(1, expected_terms // 1000)


def test_reference_tiny_priors_and_far_points():
    means, covs, priors, x = gmm_for(400, 5, 6, np.float64, seed=8)
    priors[2] = 1e-7
    priors /= priors.sum()
    x[:50] += 50
    enc, terms = vl_fisher_encode(means, covs, priors, x, return_num_terms=True)
    expected, expected_terms = fisher_reference(x, means, covs, priors)
    assert_close(enc, expected, 1e-10)
    assert terms == expected_terms


# ---- against scikit-image ----------------------------------------------------------
#
# skimage.feature.fisher_vector(descriptors, gmm, improved=False, alpha=0.5)
# (scikit-image 0.26, skimage/feature/_fisher_vector.py) on a scikit-learn
# GaussianMixture(covariance_type="diag") differs from vl_fisher_encode on the
# same GMM (means_, covariances_, weights_) in exactly these ways:
#
# 1. Layout and length: skimage returns 2*K*D + K values,
#    [d_pi (K), d_mu (K*D, component-major), d_sigma (K*D)]: a leading block
#    of prior gradients d_pi_k = (mean_i q_ik - pi_k) / sqrt(pi_k) that VLFeat
#    does not compute. d_mu equals VLFeat's u block.
# 2. Sign of the variance block: skimage's d_sigma_k =
#    1/(N sqrt(2 pi_k)) sum_i q_ik (1 - (x_i - mu_k)^2 / sigma_k^2) = -v_k.
# 3. Posteriors: skimage uses every posterior of gmm.predict_proba; VLFeat
#    skips posteriors below 1e-6 (and components with a prior below 1e-6,
#    where skimage divides by sqrt(pi_k) -> inf/NaN for pi_k = 0).
# 4. improved=True: skimage applies sign(z)|z|^alpha (alpha = 0.5 gives the
#    signed square root) and divides by the L2 norm of all 2KD+K values,
#    d_pi included, with no guard against a zero norm; VLFeat normalises
#    the 2KD values by max(norm, 1e-12). There are no separate square-root /
#    normalised options and no FAST mode in skimage.
# 5. Empty descriptor sets: skimage raises (predict_proba needs >= 1 sample);
#    VLFeat returns zeros.
# 6. dtype: skimage computes in float64 (the GMM's dtype); VLFeat in the
#    GMM parameters' dtype.
# (Numerically, skimage forms d_sigma from raw moments E[x^2] - 2 mu E[x] +
# mu^2, which cancels for descriptors far from the origin; VLFeat
# accumulates (x - mu)^2 directly.)


def skimage_to_vlfeat(fv: np.ndarray, k: int, d: int) -> np.ndarray:
    """Drop skimage's prior block and flip the sign of its variance block."""
    assert fv.shape == (2 * k * d + k,)
    return np.concatenate([fv[k : k + k * d], -fv[k + k * d :]])


def skipped_posteriors_term(x, gmm) -> np.ndarray:
    """The (u, v) contribution of the posteriors below 1e-6, which VLFeat skips."""
    q = gmm.predict_proba(x)
    q = np.where(q < 1e-6, q, 0.0)
    n = x.shape[0]
    z = (x[:, None, :] - gmm.means_[None]) / np.sqrt(gmm.covariances_)[None]
    u = np.einsum("nk,nkd->kd", q, z) / (n * np.sqrt(gmm.weights_))[:, None]
    v = np.einsum("nk,nkd->kd", q, z * z - 1) / (n * np.sqrt(2 * gmm.weights_))[:, None]
    return np.concatenate([u.ravel(), v.ravel()])


@pytest.mark.parametrize("k", [1, 4, 8])
def test_skimage_fisher_vector(k):
    skimage_feature = pytest.importorskip(
        "skimage.feature", reason="scikit-image is needed for the comparison with fisher_vector"
    )
    from sklearn.mixture import GaussianMixture

    d = 6
    x = mixture_data(1500, d, max(k, 2), seed=k)
    gmm = GaussianMixture(k, covariance_type="diag", random_state=0).fit(x)
    params = (gmm.means_, gmm.covariances_, gmm.weights_)
    for y in (x[:1], x[:200], mixture_data(300, d, 3, seed=99)):
        sk = skimage_feature.fisher_vector(y, gmm)
        ours = vl_fisher_encode(*params, y)
        assert ours.dtype == np.float64 and sk.dtype == np.float64
        # 1 + 2: layout and sign; 3: the posteriors below 1e-6 VLFeat skips
        expected = skimage_to_vlfeat(sk, k, d) - skipped_posteriors_term(y, gmm)
        assert_close(ours, expected, 1e-10)
        if k == 1:  # one component: every posterior is 1, nothing is skipped
            assert_close(ours, skimage_to_vlfeat(sk, k, d), 1e-12)
        # the prior block is what the formula says
        q = gmm.predict_proba(y)
        np.testing.assert_allclose(
            sk[:k], (q.mean(axis=0) - gmm.weights_) / np.sqrt(gmm.weights_), atol=1e-12
        )
        # 4: improved = power (alpha 0.5) + L2 over all 2KD+K values
        sk_improved = skimage_to_vlfeat(skimage_feature.fisher_vector(y, gmm, improved=True), k, d)
        unnormalised = ssqrt(ours + skipped_posteriors_term(y, gmm))
        scale = np.linalg.norm(np.concatenate([ssqrt(sk[:k]), unnormalised]))
        assert_close(sk_improved, unnormalised / scale, 1e-10)
        # dropping d_pi and renormalising gives VLFeat's IMPROVED vector of the
        # same (unthresholded) statistics; with K = 1 that is exactly ours
        renormalised = sk_improved / np.linalg.norm(sk_improved)
        assert_close(renormalised, unnormalised / np.linalg.norm(unnormalised), 1e-10)
        if k == 1:
            ours_improved = vl_fisher_encode(*params, y, VL_FISHER_FLAG_IMPROVED)
            assert_close(ours_improved, renormalised, 1e-12)
    # 5: no descriptors
    with pytest.raises(ValueError):
        skimage_feature.fisher_vector(x[:0], gmm)
    assert np.all(vl_fisher_encode(*params, x[:0], VL_FISHER_FLAG_IMPROVED) == 0)


@pytest.mark.parametrize("k", [1, 4])
def test_fisher_encoder_skimage_layout(k):
    """FisherEncoder(layout="skimage") is scikit-image's fisher_vector on the same GMM."""
    skimage_feature = pytest.importorskip(
        "skimage.feature", reason="scikit-image is needed for the comparison with fisher_vector"
    )
    from sklearn.mixture import GaussianMixture

    from pyvl.encoders import FisherEncoder

    d = 5
    x = mixture_data(1200, d, max(k, 2), seed=10 + k)
    gmm = GaussianMixture(k, covariance_type="diag", random_state=0).fit(x)
    params = (gmm.means_, gmm.covariances_, gmm.weights_)
    sets = [x[:1], x[:300], mixture_data(250, d, 3, seed=98)]
    for improved in (False, True):
        enc = FisherEncoder.from_gmm(*params, layout="skimage", improved=improved,
                                     dtype="float64")
        assert enc.output_dim == 2 * k * d + k
        ours = enc.encode_batch(sets)
        assert ours.shape == (len(sets), 2 * k * d + k) and ours.dtype == np.float64
        for j, y in enumerate(sets):
            raw = skimage_feature.fisher_vector(y, gmm)
            # ours leaves out the posteriors below 1e-6 in the u and v blocks, as VLFeat;
            # the weight block uses every posterior, as scikit-image
            skipped = skipped_posteriors_term(y, gmm)
            expected = raw - np.concatenate([np.zeros(k), skipped[: k * d], -skipped[k * d :]])
            if improved:
                expected = ssqrt(expected) / np.linalg.norm(ssqrt(expected))
                sk = skimage_feature.fisher_vector(y, gmm, improved=True)
                np.testing.assert_allclose(sk, ssqrt(raw) / np.linalg.norm(ssqrt(raw)),
                                           rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(ours[j], expected, rtol=1e-9, atol=1e-12)
            if k == 1:  # every posterior is 1: exactly scikit-image's vector
                sk = skimage_feature.fisher_vector(y, gmm, improved=improved)
                np.testing.assert_allclose(ours[j], sk, rtol=1e-9, atol=1e-12)
    # the default layout is VLFeat's, and it drops the weight block and flips v
    vl = FisherEncoder.from_gmm(*params, improved=False, dtype="float64").encode(x[:300])
    sk = FisherEncoder.from_gmm(*params, layout="skimage", improved=False,
                                dtype="float64").encode(x[:300])
    np.testing.assert_allclose(vl, skimage_to_vlfeat(sk, k, d), rtol=1e-12, atol=1e-15)
    # an image without descriptors (scikit-image raises) encodes as zeros, as VLFeat's
    for improved in (False, True):
        enc = FisherEncoder.from_gmm(*params, layout="skimage", improved=improved)
        assert np.all(enc.encode_batch([x[:0], x[:5]])[0] == 0)


# ---- batch -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
def test_batch_equals_single(dtype, flags, threads):
    means, covs, priors, x = gmm_for(1000, 6, 5, dtype, seed=11)
    cuts = [0, 1, 1, 40, 41, 400, 1000]  # includes an empty image and a one-descriptor one
    sets = [x[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    for n_threads in (1, 2, 0):
        pyvl.vl_set_num_threads(n_threads)
        batch, terms = fisher_encode_batch(means, covs, priors, sets, flags, return_num_terms=True)
        assert batch.shape == (len(sets), 2 * 5 * 6) and batch.dtype == dtype
        assert terms.dtype == np.uint64
        for j, s in enumerate(sets):
            single, t = vl_fisher_encode(means, covs, priors, s, flags, return_num_terms=True)
            np.testing.assert_array_equal(batch[j], single)
            assert terms[j] == t


def test_batch_no_images_and_conversions():
    means, covs, priors, x = gmm_for(50, 3, 2, np.float32)
    assert fisher_encode_batch(means, covs, priors, []).shape == (0, 12)
    # float64 descriptors with a float32 GMM: computed in float32
    out = fisher_encode_batch(means, covs, priors, [x.astype(np.float64), x[:0].ravel()])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], vl_fisher_encode(means, covs, priors, x))
    assert np.all(out[1] == 0)
    # non-contiguous input
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(vl_fisher_encode(means, covs, priors, wide), out[0])


# ---- errors ------------------------------------------------------------------------


def test_errors():
    means, covs, priors, x = gmm_for(20, 3, 2, np.float64)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vl_fisher_encode(means, covs, priors, bad)
    with pytest.raises(ValueError, match="NaN"):
        fisher_encode_batch(means, covs, priors, [x, bad])
    for c in (0.0, -1.0, np.inf):
        c2 = covs.copy()
        c2[1, 2] = c
        with pytest.raises(ValueError, match="covariance"):
            vl_fisher_encode(means, c2, priors, x)
    with pytest.raises(ValueError, match="prior"):
        vl_fisher_encode(means, covs, np.array([0.5, -0.1]), x)
    with pytest.raises(ValueError, match="means"):
        vl_fisher_encode(means.ravel(), covs, priors, x)
    with pytest.raises(ValueError, match="covariances"):
        vl_fisher_encode(means, covs[:, :2], priors, x)
    with pytest.raises(ValueError, match="priors"):
        vl_fisher_encode(means, covs, priors[:1], x)
    with pytest.raises(ValueError, match="dimension 3"):
        vl_fisher_encode(means, covs, priors, x[:, :2])
    with pytest.raises(ValueError, match=r"\(N_j, D\)|expected"):
        fisher_encode_batch(means, covs, priors, [x, x[:, :2]])
    with pytest.raises(TypeError, match="list"):
        fisher_encode_batch(means, covs, priors, x)
    with pytest.raises(ValueError, match="flag"):
        vl_fisher_encode(means, covs, priors, x, -1)
    with pytest.raises(TypeError, match="flags"):
        vl_fisher_encode(means, covs, priors, x, "improved")
    with pytest.raises(TypeError, match="flags"):
        vl_fisher_encode(means, covs, priors, x, 1.0)
    with pytest.raises(TypeError, match="numeric"):
        vl_fisher_encode(means, covs, priors, x.astype(complex))
    with pytest.raises(TypeError, match="numeric"):
        vl_fisher_encode(means.astype(str), covs, priors, x)
