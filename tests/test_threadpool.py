"""threadpoolctl sees and limits libgmm's threads (pyvl/_core/threadpool.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import threadpoolctl

import pyvl
from pyvl import simd
from pyvl._core.lib import library_path


def test_threadpoolctl_is_recent_enough():
    """pyvl's threadpoolctl controller needs threadpoolctl >= 3.5 (a test dependency)."""
    major, minor = (int(v) for v in threadpoolctl.__version__.split(".")[:2])
    assert (major, minor) >= (3, 5), threadpoolctl.__version__


def _pyvl_entries() -> list[dict]:
    return [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "libgmm"]


def _why_not_seen() -> str:
    """What threadpoolctl knows, for a failure message: every library it lists,
    the controllers registered, and what it cached for libgmm's path."""
    cache = getattr(getattr(threadpoolctl, "_CDLL_CACHE", None), "_controller_cache", {})
    return (f"threadpool_info={threadpoolctl.threadpool_info()!r}; "
            f"controllers={[c.__name__ for c in getattr(threadpoolctl, '_ALL_CONTROLLERS', [])]}; "
            f"libgmm cache entries={[(k, v) for k, v in dict(cache).items() if 'libgmm' in k]!r}; "
            f"library_path={library_path()!r}")


def test_threadpool_info_lists_libgmm(threads):
    entries = _pyvl_entries()
    assert len(entries) == 1, _why_not_seen()
    info = entries[0]
    assert info["user_api"] == "openmp"
    assert info["internal_api"] == "libgmm"
    assert info["prefix"] == "libgmm"
    assert info["version"] == pyvl.__version__
    assert os.path.realpath(info["filepath"]) == os.path.realpath(library_path())
    assert info["num_threads"] == pyvl.vl_get_max_threads()
    assert info["simd_level"] == simd.simd_level()
    pyvl.vl_set_num_threads(1)
    assert _pyvl_entries()[0]["num_threads"] == 1


def test_registered_once():
    import importlib

    from pyvl._core import threadpool as _threadpool

    importlib.reload(_threadpool)  # registering again must not add a second controller
    assert _threadpool.register() is True
    assert len(_pyvl_entries()) == 1, _why_not_seen()


@pytest.mark.parametrize("user_api", [None, "openmp"])
def test_threadpool_limits_limits_and_restores(threads, user_api):
    pyvl.vl_set_num_threads(2)
    before = pyvl.vl_get_max_threads()
    with threadpoolctl.threadpool_limits(limits=1, user_api=user_api):
        assert pyvl.vl_get_max_threads() == 1
        assert _pyvl_entries()[0]["num_threads"] == 1
    assert pyvl.vl_get_max_threads() == before


def test_blas_limit_leaves_libgmm_alone(threads):
    pyvl.vl_set_num_threads(2)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert pyvl.vl_get_max_threads() == 2


def test_controller_select_and_limit(threads):
    controller = threadpoolctl.ThreadpoolController().select(internal_api="libgmm")
    assert len(controller.lib_controllers) == 1
    pyvl.vl_set_num_threads(2)
    with controller.limit(limits=1):
        assert pyvl.vl_get_max_threads() == 1
    assert pyvl.vl_get_max_threads() == 2


def test_results_do_not_depend_on_the_limit(threads):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 1.0, size=(3000, 8)) for c in (-4, 0, 4)]).astype(np.float32)
    free = pyvl.GaussianMixture(6, random_state=0, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(X)
    with threadpoolctl.threadpool_limits(1):
        limited = pyvl.GaussianMixture(6, random_state=0, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(free, name), getattr(limited, name))
    assert free.lower_bounds_ == limited.lower_bounds_

    import pyvl.encoders as E

    enc = E.FisherEncoder.from_gmm(free.means_, free.covariances_, free.weights_)
    sets = [X[i::7] for i in range(7)]
    a = enc.encode_batch(sets)
    with threadpoolctl.threadpool_limits(1):
        b = enc.encode_batch(sets)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("imports", ["threadpoolctl, pyvl", "pyvl, threadpoolctl"])
def test_registered_on_import_in_a_fresh_process(tmp_path, imports):
    """`import pyvl` alone registers the controller, whichever is imported first."""
    code = (
        f"import {imports}\n"
        "info = [i for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'libgmm']\n"
        "assert len(info) == 1, info\n"
        "with threadpoolctl.threadpool_limits(1):\n"
        "    assert pyvl.vl_get_max_threads() == 1\n"
        "print(info[0]['version'])\n"
    )
    env = os.environ.copy()
    here = os.path.dirname(os.path.dirname(os.path.abspath(pyvl.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == pyvl.__version__
