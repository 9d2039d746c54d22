"""Shared fixtures: the two libraries behind one API, seeded data, SIMD levels."""

from __future__ import annotations

import numpy as np
import pytest
from skip_guard import (  # noqa: F401 - hooks: an unlisted skip fails the run
    pytest_collectreport,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)
from vlapi import VLApi, find_vlfeat

import pyvl
from pyvl import simd
from pyvl._core.lib import library_path


@pytest.fixture(scope="session")
def vlfeat() -> VLApi:
    """The real VLFeat 0.9.21 (Debian's libvlfeat-dev), the oracle."""
    path = find_vlfeat()
    if path is None:
        pytest.fail("VLFeat's libvl.so.1 is required by the tests: apt-get install libvlfeat-dev")
    return VLApi(path)


@pytest.fixture(scope="session")
def ours() -> VLApi:
    """libgmm, driven through the same ctypes code as VLFeat."""
    return VLApi(library_path())


def mixture_data(n: int, d: int, k: int, dtype=np.float64, seed: int = 0, spread: float = 3.0):
    """n points from a random diagonal GMM with k components in d dimensions."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * spread
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = centers[labels] + rng.normal(size=(n, d)) * scales[labels]
    return x.astype(dtype)


def custom_init(x: np.ndarray, k: int, seed: int = 1):
    """Means at k distinct data points, unit variances, uniform priors."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    means = x[rng.choice(n, size=k, replace=False)].copy()
    covs = np.ones((k, d), dtype=x.dtype)
    priors = np.full(k, 1.0 / k, dtype=x.dtype)
    return means, covs, priors


@pytest.fixture(params=simd.available_levels())
def simd_level(request):
    """Run the test once per SIMD level this machine supports."""
    before = simd.simd_level()
    simd.set_simd_level(request.param)
    yield request.param
    simd.set_simd_level(before)


@pytest.fixture
def threads():
    """Restore libgmm's thread count after a test changes it."""
    yield
    pyvl.vl_set_num_threads(0)
