"""Edge cases of the encoders that random data never reaches.

* An all-zero Fisher vector (descriptors at +-1 standard deviation around the mean of a
  single component: every u and v term cancels) stays zero when L2-normalised, as in
  VLFeat (its norm is floored at 1e-12), instead of 0/0 = NaN.
* Exact ties of hard assignments go to the first center / component (VLFeat's and the
  documented rule: "the first minimum wins"), in VLAD, bags of words (k-means and GMM
  codebooks), Fisher's FAST mode and KMeans.predict. Centers symmetric about the
  descriptors make the distances exactly equal in floating point.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import c_fisher

import pyvl
import pyvl.encoders as E
from pyvl import bovw as B
from pyvl import fisher as F
from pyvl import vlad as V


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("flags", [F.VL_FISHER_FLAG_NORMALIZED, F.VL_FISHER_FLAG_IMPROVED])
def test_zero_fisher_vector_stays_zero_when_normalised(vlfeat, dtype, flags):
    means = np.zeros((1, 2), dtype=dtype)
    covs = np.ones((1, 2), dtype=dtype)
    priors = np.ones(1, dtype=dtype)
    x = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=dtype)
    raw = F.vl_fisher_encode(means, covs, priors, x, 0)
    np.testing.assert_array_equal(raw, 0)  # the premise: every term cancels
    ours = F.vl_fisher_encode(means, covs, priors, x, flags)
    np.testing.assert_array_equal(ours, c_fisher(vlfeat, means, covs, priors, x, flags)[0])
    np.testing.assert_array_equal(ours, 0)
    enc = E.FisherEncoder.from_gmm(means, covs, priors, improved=flags == F.VL_FISHER_FLAG_IMPROVED,
                                   normalized=True, dtype=np.dtype(dtype).name)
    np.testing.assert_array_equal(enc.encode(x), 0)


# ---- ties: the first minimum wins ---------------------------------------------------------


def tie_problem(dtype):
    """Two centers symmetric about x = 0: every descriptor is exactly as far from both."""
    centers = np.array([[-1.0, 0.5], [1.0, 0.5]], dtype=dtype)
    x = np.array([[0.0, 0.0], [0.0, 3.0], [0.0, -2.0]], dtype=dtype)
    return centers, x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vlad_tie_goes_to_the_first_center(dtype):
    centers, x = tie_problem(dtype)
    first = np.zeros((len(x), 2), dtype=dtype)
    first[:, 0] = 1
    expected = V.vl_vlad_encode(centers, x, first, V.VL_VLAD_FLAG_UNNORMALIZED)
    got = V.vlad_encode_batch(centers, [x], None, V.VL_VLAD_FLAG_UNNORMALIZED)[0]
    np.testing.assert_array_equal(got, expected)
    enc = E.VladEncoder.from_centers(centers, unnormalized=True)
    np.testing.assert_array_equal(enc.encode(x), expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bovw_tie_goes_to_the_first_center(dtype):
    centers, x = tie_problem(dtype)
    np.testing.assert_array_equal(B.bovw_encode(centers, x), [3, 0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gmm_hard_votes_tie_goes_to_the_first_component(dtype):
    means, x = tie_problem(dtype)
    covs = np.ones_like(means)
    priors = np.full(2, 0.5, dtype=dtype)
    np.testing.assert_array_equal(B.bovw_encode_gmm_batch(means, covs, priors, [x])[0], [3, 0])
    # Fisher's FAST mode: the whole mass on component 0, none on component 1
    enc = F.vl_fisher_encode(means, covs, priors, x, F.VL_FISHER_FLAG_FAST).reshape(2, 2, 2)
    assert np.any(enc[:, 0] != 0) and np.all(enc[:, 1] == 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_predict_tie_goes_to_the_first_center(dtype):
    centers, x = tie_problem(dtype)
    km = pyvl.KMeans(2, init=centers, max_iter=0, n_init=1).fit(np.concatenate([centers, x]))
    np.testing.assert_array_equal(km.cluster_centers_, centers)  # the premise: no update ran
    np.testing.assert_array_equal(km.predict(x), [0, 0, 0])
