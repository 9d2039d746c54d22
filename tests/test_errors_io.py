"""Bad model files given to pyvl.io.load: the Python rows of docs/errors.md.

Every row gives pyvl.io.load one kind of damaged file and asserts the exact exception
type and a fragment of its message, then that the good file still loads and encodes as
before. The rows' data and helpers are in tests/helpers.py.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest
from helpers import MU, PRI, D, K, X, expect, fisher_encoder_f32, nan_at

import pyvl
import pyvl.io


@pytest.fixture(scope="module")
def model_bytes():
    enc = fisher_encoder_f32()
    buf = io.BytesIO()
    pyvl.io.save(enc, buf)
    return buf.getvalue()


def _tampered(raw, member, array):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == member + ".npy":
                b = io.BytesIO()
                np.save(b, array)
                data = b.getvalue()
            zout.writestr(info.filename, data)
    out.seek(0)
    return out


IO_ROWS = [
    (
        "not a zip",
        lambda raw, tmp: io.BytesIO(b"not a zip file"),
        pyvl.io.ModelFileError,
        "not a readable pyvl model file: BadZipFile",
    ),
    (
        "truncated",
        lambda raw, tmp: io.BytesIO(raw[: len(raw) // 2]),
        pyvl.io.ModelFileError,
        "not a readable pyvl model file",
    ),
    (
        "NaN means",
        lambda raw, tmp: _tampered(raw, "state.means", nan_at(MU, (1, 1)).astype(np.float32)),
        pyvl.io.ModelFileError,
        "member 'state.means' contains NaN or Inf",
    ),
    (
        "covariance 0",
        lambda raw, tmp: _tampered(raw, "state.covariances", np.zeros((K, D), np.float32)),
        pyvl.io.ModelFileError,
        "covariances must be > 0",
    ),
    (
        "priors sum 2",
        lambda raw, tmp: _tampered(raw, "state.priors", (2 * PRI).astype(np.float32)),
        pyvl.io.ModelFileError,
        "priors sum to 2.0, not 1",
    ),
    (
        "wrong dtype",
        lambda raw, tmp: _tampered(raw, "state.means", MU),
        pyvl.io.ModelFileError,
        "is float64, expected float32",
    ),
    (
        "object array",
        lambda raw, tmp: _tampered(raw, "state.means", MU.astype(object)),
        pyvl.io.ModelFileError,
        "has dtype object",
    ),
    (
        "wrong shape",
        lambda raw, tmp: _tampered(raw, "state.means", MU[:2].astype(np.float32)),
        pyvl.io.ModelFileError,
        r"covariances must have the shape of means \(2, 3\) \(diagonal variances\), got \(4, 3\)",
    ),
    ("text-mode file", lambda raw, tmp: io.StringIO("x"), TypeError, "opened in binary mode"),
    (
        "missing file",
        lambda raw, tmp: os.path.join(tmp, "nope.npz"),
        FileNotFoundError,
        "No such file",
    ),
    ("None", lambda raw, tmp: None, TypeError, "expected str, bytes or os.PathLike"),
]


@pytest.mark.parametrize("kind, source, exc, match", IO_ROWS, ids=[r[0] for r in IO_ROWS])
def test_io_load_row(model_bytes, tmp_path, kind, source, exc, match):
    expect(exc, match, pyvl.io.load, source(model_bytes, str(tmp_path)))
    enc = pyvl.io.load(io.BytesIO(model_bytes))  # loading still works
    np.testing.assert_array_equal(enc.encode(X), fisher_encoder_f32().encode(X))


def test_io_load_wrong_class(model_bytes):
    from pyvl import GaussianMixture

    expect(
        pyvl.io.ModelFileError,
        "not a pyvl.GaussianMixture",
        pyvl.io.load,
        io.BytesIO(model_bytes),
        GaussianMixture,
    )
