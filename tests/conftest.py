"""Shared fixtures: the two libraries behind one API, seeded data, SIMD levels."""

from __future__ import annotations

import pytest

# Shared helpers live in tests/helpers.py; re-exported for test files that import them
# from conftest (branches written before helpers.py existed).
from helpers import custom_init, mixture_data  # noqa: F401
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


@pytest.fixture
def restore_threads():
    """Restore libgmm's thread count after the test, and check it is the one before."""
    before = pyvl.vl_get_max_threads()
    yield
    pyvl.vl_set_num_threads(0)
    assert pyvl.vl_get_max_threads() == before


@pytest.fixture(scope="module")
def client():
    """A Dask cluster for the module that asks for it (closed after it, so that no other
    test runs with a default Dask client): 2 worker processes, 1 thread each."""
    import os

    import distributed  # a test dependency (the [test] extra)

    here = os.path.dirname(os.path.dirname(os.path.abspath(pyvl.__file__)))
    saved = os.environ.get("PYTHONPATH")
    # workers are new processes: they import this pyvl (and PYVL_LIBRARY, if set)
    os.environ["PYTHONPATH"] = os.pathsep.join([here] + ([saved] if saved else []))
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=":0")
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
