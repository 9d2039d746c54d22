"""Model files written by an earlier pyvl (format version 1, tests/data/models-v1,
made by make.py there) still load, as the same class, and give the outputs
they gave when they were written."""

from __future__ import annotations

import os

import numpy as np
import pytest

import pyvl
import pyvl.io

HERE = os.path.join(os.path.dirname(__file__), "data", "models-v1")
EXPECTED = dict(np.load(os.path.join(HERE, "expected.npz")))
PROBE = np.load(os.path.join(HERE, "probe.npy"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_old_model_file_loads_and_gives_its_outputs(name: str) -> None:
    obj = pyvl.io.load(os.path.join(HERE, f"{name}.npz"))
    if name.startswith("gmm"):
        assert isinstance(obj, pyvl.GaussianMixture)
        got = obj.predict_proba(PROBE)
    elif name == "kmeans":
        assert isinstance(obj, pyvl.KMeans)
        got = obj.transform(PROBE)
    elif name.startswith("enc_"):
        if "vlad" in name:
            pos = np.load(os.path.join(HERE, "positions.npy"))
            got = obj.encode(PROBE, positions=pos, image_size=(40, 40))
        else:
            got = obj.encode(PROBE)
    else:
        got = obj.transform([PROBE, PROBE[:10]])
    want = EXPECTED[name]
    assert got.dtype == want.dtype and got.shape == want.shape
    if "fisher" in name and got.dtype == np.float32:
        # float32 Fisher vectors are computed in double and rounded once since
        # these files were written (they were rounded after every stage): the
        # last bits differ, by design (docs/vlfeat-differences.md)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        return
    np.testing.assert_array_equal(got, want)
