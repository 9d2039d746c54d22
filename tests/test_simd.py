"""Every SIMD level this machine has gives the scalar kernels' results."""

from __future__ import annotations

import platform

import numpy as np
import pytest
from helpers import custom_init, mixture_data

from pyvl import InvalidArgumentError, simd
from pyvl.gmm import (
    VL_TYPE_DOUBLE,
    VL_TYPE_FLOAT,
    vl_get_gmm_data_posteriors_d,
    vl_get_gmm_data_posteriors_f,
    vl_gmm_em,
    vl_gmm_get_covariances,
    vl_gmm_get_means,
    vl_gmm_get_posteriors,
    vl_gmm_get_priors,
    vl_gmm_new,
    vl_gmm_set_covariances,
    vl_gmm_set_max_num_iterations,
    vl_gmm_set_means,
    vl_gmm_set_priors,
)


def em_result(x, k, iterations):
    vt = VL_TYPE_DOUBLE if x.dtype == np.float64 else VL_TYPE_FLOAT
    means, covs, priors = custom_init(x, k)
    g = vl_gmm_new(vt, x.shape[1], k)
    vl_gmm_set_means(g, means)
    vl_gmm_set_covariances(g, covs)
    vl_gmm_set_priors(g, priors)
    vl_gmm_set_max_num_iterations(g, iterations)
    ll = vl_gmm_em(g, x)
    return ll, [vl_gmm_get_means(g), vl_gmm_get_covariances(g), vl_gmm_get_priors(g), vl_gmm_get_posteriors(g)]


def at_level(level, fn, *args):
    before = simd.simd_level()
    simd.set_simd_level(level)
    try:
        return fn(*args)
    finally:
        simd.set_simd_level(before)


def test_levels_are_reported():
    levels = simd.available_levels()
    assert levels[0] == "scalar"
    assert simd.simd_level() in levels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1000, 3, 5), (777, 67, 17), (513, 128, 40)], ids=str)
def test_em_every_level_matches_scalar(simd_level, dtype, shape):
    n, d, k = shape
    x = mixture_data(n, d, k, dtype, seed=k)
    ll_s, scalar = at_level("scalar", em_result, x, k, 5)
    ll_v, vector = em_result(x, k, 5)
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    assert ll_v == pytest.approx(ll_s, rel=rtol)
    for a, b in zip(vector, scalar):
        assert np.max(np.abs(a - b)) <= rtol * max(1.0, np.max(np.abs(b)))


@pytest.mark.parametrize("fn,dtype", [(vl_get_gmm_data_posteriors_f, np.float32), (vl_get_gmm_data_posteriors_d, np.float64)])
def test_posteriors_every_level(simd_level, fn, dtype):
    rng = np.random.default_rng(1)
    n, d, k = 301, 19, 23
    x = rng.normal(size=(n, d)).astype(dtype)
    means = rng.normal(size=(k, d)).astype(dtype)
    covs = rng.uniform(0.3, 2, size=(k, d)).astype(dtype)
    priors = rng.dirichlet(np.ones(k)).astype(dtype)
    q_s, ll_s = at_level("scalar", fn, None, k, n, priors, means, d, covs, x)
    q_v, ll_v = fn(None, k, n, priors, means, d, covs, x)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.max(np.abs(q_v - q_s)) <= tol
    assert ll_v == pytest.approx(ll_s, rel=tol)


def test_vlfeat_switch():
    before = simd.simd_level()
    simd.vl_set_simd_enabled(False)
    assert simd.simd_level() == "scalar" and not simd.vl_get_simd_enabled()
    simd.vl_set_simd_enabled(True)
    assert simd.simd_level() == before


def test_env_var_forces_scalar(tmp_path):
    import os
    import subprocess
    import sys

    out = subprocess.run(  # cwd: import the installed pyvl, not a source tree
        [sys.executable, "-c", "from pyvl import simd; print(simd.simd_level())"],
        env={**os.environ, "GMM_SIMD": "scalar"},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip() == "scalar"


def test_unknown_level_is_an_error():
    before = simd.simd_level()
    with pytest.raises(InvalidArgumentError, match="unknown SIMD level 'avx9000'"):
        simd.set_simd_level("avx9000")
    assert simd.simd_level() == before


def test_neon_exactly_on_aarch64():
    on_arm = platform.machine().lower() in ("aarch64", "arm64")
    assert ("neon" in simd.available_levels()) == on_arm
    x86 = {"sse2", "avx2", "avx512"} & set(simd.available_levels())
    assert not (on_arm and x86)


def test_available_levels_are_exactly_the_settable_ones():
    """available_levels() against what libgmm accepts, for every level it names
    (neon on x86-64 and the x86 levels on aarch64 are named but refused)."""
    before = simd.simd_level()
    available = simd.available_levels()
    try:
        for name in ("scalar", "sse2", "avx2", "avx512", "neon"):
            if name in available:
                simd.set_simd_level(name)
                assert simd.simd_level() == name
            else:
                level = simd.simd_level()
                with pytest.raises(InvalidArgumentError, match="is not available"):
                    simd.set_simd_level(name)
                assert simd.simd_level() == level
    finally:
        simd.set_simd_level(before)
    assert available[0] == "scalar" and before in available
