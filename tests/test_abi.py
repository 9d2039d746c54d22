"""The shared library's ABI: exactly the committed symbol list, SONAME, version,
and coexistence with VLFeat's libvl.so in one process."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import pyvl
from pyvl._core.lib import lib, library_path

ROOT = pathlib.Path(__file__).resolve().parents[1]
SYMBOLS = ROOT / "libgmm" / "abi" / "symbols.txt"


def committed_symbols() -> list[str]:
    return [line.strip() for line in SYMBOLS.read_text().splitlines() if line.strip()]


def test_symbols_file_matches_public_headers():
    sys.path.insert(0, str(ROOT / "libgmm" / "abi"))
    try:
        from gen_symbols import exported_functions
    finally:
        sys.path.pop(0)
    assert exported_functions(ROOT / "libgmm" / "include" / "vl") == committed_symbols()


@pytest.mark.skipif(shutil.which("nm") is None, reason="binutils (nm) not installed")
def test_library_exports_exactly_the_committed_symbols():
    out = subprocess.run(
        ["nm", "-D", "--defined-only", library_path()], capture_output=True, text=True, check=True
    ).stdout
    exported = sorted(
        {
            m.group(1)
            for m in re.finditer(r"^\S+ [TDBRVW] (\w+)(?:@@?\w+)?$", out, re.M)
        }
    )
    assert exported == committed_symbols()


@pytest.mark.skipif(shutil.which("objdump") is None, reason="binutils (objdump) not installed")
def test_soname_is_the_abi_major():
    out = subprocess.run(["objdump", "-p", library_path()], capture_output=True, text=True, check=True).stdout
    soname = re.search(r"SONAME\s+(\S+)", out).group(1)
    assert soname == f"libgmm.so.{lib.vl_get_abi_version()}"


def test_version_is_queryable():
    assert pyvl.__version__ == lib.vl_get_version_string().decode()
    assert re.fullmatch(r"\d+\.\d+\.\d+", pyvl.__version__)


_PROBE = r"""
import ctypes, json, sys
import numpy as np
if sys.argv[1] == "vlfeat-first":
    ctypes.CDLL("%s", mode=ctypes.RTLD_GLOBAL)
from pyvl.gmm import *
from pyvl.kmeans import *
rng = np.random.default_rng(0)
x = rng.normal(size=(2000, 4)).astype(np.float32)
out = {}
for init in (VlGMMRand, VlGMMKMeans):
    g = vl_gmm_new(VL_TYPE_FLOAT, 4, 6)
    vl_gmm_set_initialization(g, init)
    vl_rand_seed(vl_get_rand(), 5)
    out[init] = [vl_gmm_cluster(g, x), vl_gmm_get_means(g).tolist()]
km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)
vl_kmeans_set_algorithm(km, VlKMeansElkan)
vl_rand_seed(vl_get_rand(), 5)
out["kmeans"] = [vl_kmeans_cluster(km, x, 4, 2000, 6), vl_kmeans_get_centers(km).tolist()]
import pyvl._core.lib as L
out["version"] = L.lib.vl_get_version_string().decode()
print(json.dumps(out))
"""


def test_runs_unchanged_when_vlfeat_is_loaded_globally_first(vlfeat, tmp_path):
    """libvl.so.1 exports the same vl_* names; loading it RTLD_GLOBAL first
    must not redirect any of libgmm's internal calls."""
    code = _PROBE % vlfeat.path
    results = {}
    for mode in ("alone", "vlfeat-first"):
        proc = subprocess.run(  # cwd: import the installed pyvl, not a source tree
            [sys.executable, "-c", code, mode],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        results[mode] = json.loads(proc.stdout)
    assert results["alone"] == results["vlfeat-first"]
    assert results["alone"]["version"] == pyvl.__version__


def test_imports_from_the_repository_root():
    """`python -m pyvl ...` in the repository after `pip install .` imports the
    checkout's pyvl (the current directory comes first on sys.path); it must
    find the library built into the installed copy."""
    proc = subprocess.run(
        [sys.executable, "-c", "import pyvl.gmm, pyvl._core.lib as L; print(L.library_path())"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(proc.stdout.strip())
